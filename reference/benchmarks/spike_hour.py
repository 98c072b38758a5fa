"""Benchmark: a virtual hour of the bottleneck lesson's spike through the real orders pipeline in
the simulator, at the lesson's scale.

Not a timed test: run it by hand and put the figures in the issue note.

    .venv/bin/python reference/benchmarks/spike_hour.py

One hour of POST /orders requests, one order each, through `scaling.load.run_load` with module
1's settings and the lesson's account (`LESSON_CEILINGS`: AWS's rate quotas divided by 1,000):
1 order per second (Poisson) for 30 minutes, the lesson's 10 x spike (10 per second) for a
minute, then 1 per second to the end of the hour, with series per 10 s. Wall and CPU time of the
run (untraced: deploy, the hour, the series), then peak memory (tracemalloc) of a second run.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from serverless_course.capacity import arrivals  # noqa: E402
from serverless_course.scaling.load import run_load  # noqa: E402

SPIKE_HOUR = [(1800.0, 1.0), (60.0, 10.0), (1740.0, 1.0)]


def run(seed: int = 1):
    return run_load(arrivals.stages(SPIKE_HOUR, seed=seed), seed=seed, bin_s=10.0)


def main() -> None:
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    s, ledger = result.series, result.ledger
    print(f"orders {ledger['sent']:,} in {result.elapsed_s / 60:.1f} virtual minutes  wall {wall:.1f} s  "
          f"cpu {cpu:.1f} s  peak {peak / 2**20:.0f} MiB")
    print("  ".join(f"{name} {count:,}" for name, count in ledger.items()))
    print(f"first limited: {result.first_saturated()} at {min(result.first_limited_s.values(), default=0):.1f} s  "
          f"PutEvents throttles {s['put_events_throttles'].sum():,}  API 429s {s['api_throttles'].sum():,}  "
          f"Lambda throttles {s['ingest_throttles'].sum() + s['processor_throttles'].sum():,}")
    p50, p99 = np.percentile(result.latency_s, [50, 99])
    print(f"latency p50 {p50:.2f} s  p99 {p99:.2f} s  max {result.latency_s.max():.2f} s  "
          f"oldest message {s['queue_oldest_age_s'].max():.0f} s")
    costs = "  ".join(f"{name} ${usd * 1e6 / ledger['stored']:.2f}" for name, usd in result.cost_usd.items())
    print(f"per million orders: ${result.cost_per_million_orders_usd:.2f} ({costs})")


if __name__ == "__main__":
    main()
