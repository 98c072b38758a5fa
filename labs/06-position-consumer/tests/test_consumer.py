"""Graded tests of lab 06: the position consumer.

Each test deploys the fleet pipeline (the module 6 SAM template) into the course's Lambda
simulator with your `app.py` as the position consumer's `positions/app.py`, publishes a seeded
fleet through IoT Core (the topic rule writes every fix to Kinesis, the device id as partition
key) and audits the result against the ground truth computed from the generated fixes alone
(`serverless_course.location.truth`): each device's stored position, the ENTER/EXIT events on the
bus, the poison queue, the records the mapping gave up. Nothing reads your source. Your consumer
runs in processes of its own (one per execution environment, as on AWS).

The graded fleets' seeds are not the ones the README and the notebook show; instructors may add
others with the environment variable LAB06_SEEDS (comma-separated).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from labgrader import require_work
from serverless_course.location import fleet, run

SEEDS = [632, 653] + [int(s) for s in os.environ.get("LAB06_SEEDS", "").split(",") if s.strip()]
DEVICES, MINUTES = 6, 3
# The graded fleets: every kind of fault, late fixes often enough that some device's last
# message is an older fix.
GRADED_MIX = fleet.FleetMix(duplicates=0.08, late=0.10, offline=0.01, imprecise=0.03, poison=0.03)
GRADED_FAULTS = run.DynamoDBFaults(throttle_rate=0.05, failing_writes=0.04)
CLEAN_SEED = 600

# The function's environment (template.yaml), for importing app.py once on its own.
ENVIRONMENT = {"POSITIONS_TABLE": "positions", "EVENT_BUS_NAME": "fleet",
               "POISON_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/poison",
               "POWERTOOLS_SERVICE_NAME": "fleet"}

_runs: dict[str, list[run.FleetReport]] = {}


@dataclass
class Consumer:
    path: Path
    isolation: Any

    def runs(self) -> list[run.FleetReport]:
        """The clean fleet's run, then the graded fleets', through one deployment, made when a
        test first needs them and cached by the file's content: every test reads the same runs."""
        key = hashlib.sha256(self.path.read_bytes()).hexdigest()
        if key not in _runs:
            fleets = [(fleet.generate(DEVICES, MINUTES, seed=CLEAN_SEED, mix=fleet.NO_FAULTS, prefix="clean"),
                       run.NO_DYNAMODB_FAULTS)]
            fleets += [(fleet.generate(DEVICES, MINUTES, seed=seed, mix=GRADED_MIX, prefix=f"s{seed}"), GRADED_FAULTS)
                       for seed in SEEDS]
            _runs[key] = run.run_fleets(fleets, positions_app=self.path, isolation=self.isolation, history=False)
        return _runs[key]

    def clean_run(self) -> run.FleetReport:
        return self.runs()[0]

    def graded_runs(self) -> list[run.FleetReport]:
        return self.runs()[1:]


@pytest.fixture
def consumer(submission: Any) -> Consumer:
    path = submission.path / "app.py"
    if not path.is_file():
        pytest.fail("app.py is missing from the submission", pytrace=False)
    # Imported once in the function's code folder: a clear message if it cannot be.
    folder = run.code_folder({"positions/app.py": path})
    submission.load("positions.app", code_dir=folder, environ=ENVIRONMENT)
    return Consumer(path, submission.isolation)


def first(items: list[Any], n: int = 5) -> str:
    return ", ".join(map(str, items[:n])) + (f" and {len(items) - n} more" if len(items) > n else "")


def most_positions_right(report: run.FleetReport) -> None:
    """The guard of the tests that check an absence: the consumer really stored positions."""
    require_work(report.positions_right, report.devices, f"devices with the right position on seed {report.seed}")


# ---------------------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_without_faults_positions_and_transitions_are_right(consumer: Consumer) -> None:
    """A fleet with nothing injected (every fix once, in order, every write succeeds): every
    device's stored position is its latest fix and each geofence transition is published once."""
    report = consumer.clean_run()
    assert not report.positions_wrong, f"wrong positions: {first(report.positions_wrong)}\n{report.summary()}"
    assert report.transitions_expected > 0
    assert not report.transitions_missing and not report.transitions_extra, (
        f"missing {first(report.transitions_missing)}; extra {first(report.transitions_extra)}\n{report.summary()}")


@pytest.mark.points(3)
def test_the_latest_position_never_moves_back_in_time(consumer: Consumer) -> None:
    """On every graded fleet (duplicates, late fixes, offline bursts, poison, DynamoDB throttles
    and 500s), every device's stored position is the newest fix it sent. Kinesis keeps one
    partition key's records in order, but the device sent them out of order: only a write
    conditional on a newer fix time keeps an older fix from overwriting a newer one
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html)."""
    for report in consumer.graded_runs():
        assert not report.positions_wrong, (
            f"seed {report.seed}: {len(report.positions_wrong)} devices with a position that is not their "
            f"newest fix: {first(report.positions_wrong)}\n{report.summary()}")


@pytest.mark.points(3)
def test_each_transition_is_published_exactly_once(consumer: Consumer) -> None:
    """On every graded fleet, the ENTER and EXIT events on the bus, per device, geofence and fix
    time, are exactly the ground truth's: none missing, none twice, none for a duplicate or a
    late fix, none for a fix that stays inside. A record is delivered again after a failure
    (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html):
    the transition belongs to the write that changed the device's geofences, not to the delivery."""
    reports = consumer.graded_runs()
    assert sum(report.transitions_expected for report in reports) > 0
    for report in reports:
        assert not report.transitions_missing, (
            f"seed {report.seed}: {len(report.transitions_missing)} transitions never published: "
            f"{first(report.transitions_missing)}\n{report.summary()}")
        assert not report.transitions_extra, (
            f"seed {report.seed}: {len(report.transitions_extra)} transitions published that did not happen "
            f"or more than once: {first(report.transitions_extra)}\n{report.summary()}")


@pytest.mark.points(2)
def test_poison_is_set_aside_and_nothing_is_lost(consumer: Consumer) -> None:
    """On every graded fleet, each poison record is in the poison queue (its data as the body),
    and no valid fix was given up to the mapping's on-failure destination. A record reported
    as failed, or a whole batch failing, is retried until the mapping's MaximumRetryAttempts
    run out; then the batch goes to the destination, valid fixes with it
    (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html)."""
    reports = consumer.graded_runs()
    assert sum(report.poison for report in reports) > 0
    for report in reports:
        most_positions_right(report)
        assert report.poison_accounted == report.poison, (
            f"seed {report.seed}: {report.poison_accounted} distinct records in the poison queue, "
            f"{report.poison} poison records sent\n{report.summary()}")
        assert report.valid_records_given_up == 0, (
            f"seed {report.seed}: {report.valid_records_given_up} valid fixes given up to the on-failure "
            f"destination\n{report.summary()}")


@pytest.mark.points(2)
def test_failed_writes_are_reported_as_partial_batch_failures(consumer: Consumer) -> None:
    """On every graded fleet, some position writes fail on every attempt (a 500 after
    botocore's retries): the consumer reports those records as failed (in ``batchItemFailures``;
    an invocation error counts too when every record of its batch failed), never swallows them,
    and never fails another device's records with them (no invocation error for a batch of
    several devices); the failed records are applied on their retry
    (https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-batchfailurereporting.html)."""
    reports = consumer.graded_runs()
    for report in reports:
        most_positions_right(report)
    assert sum(report.faults_injected["failing write"] for report in reports) > 0
    for report in reports:
        assert not report.faults_injected["failing write"] or report.partial_failures + report.failed_invocations > 0, (
            f"seed {report.seed}: {report.faults_injected['failing write']} writes failed and no record was "
            f"reported as failed\n{report.summary()}")
        assert report.whole_batch_failures == 0, (
            f"seed {report.seed}: {report.whole_batch_failures} invocations failed as a whole for a batch of "
            f"several devices' records: report the failed records in batchItemFailures\n{report.summary()}")
        assert not report.positions_wrong and not report.transitions_missing, (
            f"seed {report.seed}: failed records were not applied on their retry\n{report.summary()}")
