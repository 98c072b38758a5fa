"""Benchmark: one virtual day of a 1,000-sensor fleet through Firehose into the S3 lake, then
three Athena queries (issue 21).

Not a timed test: run it by hand and put the figures in the issue note.

    .venv/bin/python reference/benchmarks/iot_analytics_day.py [sensors] [period_s]

The module 7 pipeline (serverless_course.analytics, its template as `sam deploy` takes it) with
AWS's default buffering for Parquet (128 MiB / 300 s). 1,000 sensors reporting once a minute
(1.44 million readings, about 0.3 % malformed, 1 % late) go into Firehose with PutRecordBatch,
as an IoT rule's Firehose action in batch mode sends a gateway's batch every 10 s
(`lake.put_batches`):
through the Lambda transformation, JQ partitioning by event day and device type, Parquet
conversion, to S3. Then the day's three questions (`queries`) run in Athena. Prints wall and CPU
time of each phase, objects and bytes written, each query's DataScannedInBytes, and the peak
resident memory of the process (ru_maxrss).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lambdasim import Simulator  # noqa: E402
from serverless_course.analytics import fleet, lake, queries  # noqa: E402


def main(sensors: int = 1000, period_s: float = 60.0) -> None:
    spec = fleet.FleetSpec(sensors=sensors, period_s=period_s)
    # os.times().elapsed: the simulation's clock replaces time.time and time.perf_counter.
    clock = os.times().elapsed, time.process_time()

    def lap(label: str) -> None:
        nonlocal clock
        now = os.times().elapsed, time.process_time()
        print(f"{label:<28} {now[0] - clock[0]:8.1f} s wall {now[1] - clock[1]:8.1f} s CPU", flush=True)
        clock = now

    telemetry = fleet.generate(spec, seed=1)
    lap(f"generate {len(telemetry.messages):,} readings")
    with Simulator(seed=1, start=spec.start - timedelta(minutes=1)) as sim:
        deployed = lake.deploy(sim)
        lap("deploy")
        lake.put_batches(sim, deployed.stream, telemetry.messages)
        lake.drain(sim)
        lap("a day through Firehose")
        summary = sim.firehose.summary(deployed.stream)
        errors = sum(o.records for o in sim.firehose.objects if o.kind != "data")
        print(f"  {summary.objects:,} objects, {summary.records:,} records, {summary.bytes / 2**20:.1f} MiB "
              f"of Parquet; {errors} records in the error output; mean freshness {summary.mean_freshness_s:.0f} s")
        day = spec.start.strftime("%Y-%m-%d")
        for name, sql in (("daily max by type", queries.daily_max_by_type(day)),
                          ("hourly anomalies", queries.hourly_anomalies(day)),
                          ("thermometer per minute", queries.readings_per_minute(day, "thermometer"))):
            result = lake.query(sim, deployed, sql)
            lap(f"query: {name}")
            print(f"  {result.state}, {len(result.rows)} rows, {result.bytes_scanned / 2**20:.2f} MiB scanned, "
                  f"${result.cost_usd:.6f}")
    print(f"peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main(*(int(a) if i == 0 else float(a) for i, a in enumerate(sys.argv[1:])))
