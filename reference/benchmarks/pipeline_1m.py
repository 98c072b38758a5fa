"""Benchmark: the capacity model plays the whole orders pipeline on 1,000,000 orders in an hour.

Not a timed test: run it by hand and put the figures in the issue note.

    .venv/bin/python reference/benchmarks/pipeline_1m.py

One hour of POST /orders requests, one order each: 900,000 as a Poisson baseline (250 a
second) and 100,000 more in a one-minute spike from minute 30 (about 1,900 a second then), through
`capacity.pipeline.run_pipeline` with module 1's settings (BatchSize 10, a 1 s window, an
on-demand table) and AWS's default quotas in us-east-1. Wall time (untraced) and peak memory
(tracemalloc, a second run) of building the arrivals and running the model.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from serverless_course.capacity import arrivals, run_pipeline  # noqa: E402
from serverless_course.scaling.settings import Ceilings, PipelineSettings  # noqa: E402

HOUR = 3600.0


def run(seed: int = 1):
    traffic = arrivals.combine(arrivals.poisson(250, HOUR, seed=seed), arrivals.spike(100_000, 1800.0, 60.0, seed=seed))
    return run_pipeline(PipelineSettings(), Ceilings(), traffic, seed=seed)


def main() -> None:
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    result = run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(f"orders {result.orders:,}  model events {result.model_events:,}  wall {wall:.1f} s  cpu {cpu:.1f} s")
    print(f"processed {result.processed:,}  lost {result.lost:,}  dead-lettered {result.dead_lettered:,}  "
          f"p50 {result.p50_s:.2f} s  p99 {result.p99_s:.2f} s  ends at {result.end_s / 60:.1f} min")
    print(f"ingest invocations {result.ingest_invocations:,}  processor invocations {result.processor_invocations:,}  "
          f"PutEvents calls {result.put_events_calls:,}  DynamoDB throttles {result.dynamodb_throttles}  "
          f"peak processor concurrency {int(result.series['processor_concurrency'].max())}")
    costs = "  ".join(f"{k} ${v:.2f}" for k, v in result.cost_usd.items())
    print(f"cost ${result.total_cost_usd:.2f} ({costs}): ${result.cost_per_million_usd:.2f} per million orders",
          flush=True)
    del result
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory (tracemalloc, a second run) {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
