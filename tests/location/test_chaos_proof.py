"""The chaos proof at the suite's scale: the reference consumers against seeded fleets with
duplicates, late fixes, offline bursts, imprecise fixes, poison, jitter at geofence edges and
DynamoDB throttles and 500s; positions, transitions and history equal the ground truth.
(The issue's scale, 20 seeds of 1,000 devices for 10 minutes: reference/benchmarks/location_chaos.py.)

Rules relied on: records of one partition key stay in order in their shard
(https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html); with ReportBatchItemFailures
Lambda retries from the lowest reported sequence number
(https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html).
"""

from __future__ import annotations

from serverless_course.location import fleet, run

CHAOS = run.DynamoDBFaults(throttle_rate=0.05, failing_writes=0.03)
DENSE = fleet.FleetMix(duplicates=0.06, late=0.06, offline=0.01, imprecise=0.03, poison=0.02)


def test_reference_pipeline_matches_the_ground_truth() -> None:
    """Two seeded fleets through one deployment (each audited on its own)."""
    reports = run.run_fleets([(fleet.generate(10, 6, seed=seed, mix=DENSE, prefix=f"s{seed}"), CHAOS)
                              for seed in (21, 22)])
    for report in reports:
        assert report.ok, report.summary()
        # The run met what it is meant to survive.
        assert report.transitions_expected > 0 and report.poison > 0
        assert report.faults_injected["failing write"] > 0 and report.partial_failures > 0
