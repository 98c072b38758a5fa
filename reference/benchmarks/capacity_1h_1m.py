"""Benchmark: the capacity model on a 1-hour, 1,000,000-event spike scenario.

Not a timed test: run it by hand and put the figures in the issue note.

    .venv/bin/python reference/benchmarks/capacity_1h_1m.py

The scenario: one hour of traffic on one account. 100,000 events arrive as a Poisson baseline
over the hour and 900,000 in a 5-minute spike from minute 20, all published to EventBridge.
Scenario "direct": the rule targets the consumer function (asynchronous invocation; every event
is an invocation; 3,000 events per second of 200 ms). Scenario "queued": the rule targets an
SQS queue whose event source mapping has BatchSize 10 and MaximumConcurrency 50 (the backlog
drains over the following minutes). A critical API function takes 20 requests per second
throughout. Wall time (untraced) and peak memory (tracemalloc, a second run) of building and running each
model.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from serverless_course.capacity import CapacityModel, Function, arrivals  # noqa: E402

HOUR = 3600.0


def traffic(seed: int = 1):
    return arrivals.combine(arrivals.poisson(100_000 / HOUR, HOUR, seed=seed),
                            arrivals.spike(900_000, 1200.0, 300.0, seed=seed + 1))


def direct(seed: int = 1) -> CapacityModel:
    m = CapacityModel(seed)
    m.add_function(Function("consumer", duration_ms=200, memory_mb=256))
    m.add_function(Function("api", duration_ms=50, memory_mb=512, reserved=50))
    m.eventbridge(traffic(seed), function="consumer")
    m.invoke_sync("api", arrivals.steady(20, HOUR))
    return m


def queued(seed: int = 1) -> CapacityModel:
    m = CapacityModel(seed)
    m.add_function(Function("consumer", duration_ms=200 + 10 * 20, memory_mb=256))  # 20 ms per record
    m.add_function(Function("api", duration_ms=50, memory_mb=512, reserved=50))
    m.add_queue("buffer", visibility_timeout_s=60, max_receive_count=5)
    m.add_mapping("buffer", "consumer", batch_size=10, maximum_concurrency=50)
    m.eventbridge(traffic(seed), queue="buffer")
    m.invoke_sync("api", arrivals.steady(20, HOUR))
    return m


def measure(name: str, build) -> None:
    # Wall time of building (arrivals included) and running, untraced; then the same again
    # under tracemalloc for the peak memory Python allocates (tracing slows the run down).
    t0 = time.perf_counter()
    result = build().run()
    wall = time.perf_counter() - t0
    tracemalloc.start()
    build().run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    c = result.functions["consumer"]
    line = (f"{name:7s} wall {wall:5.2f} s  peak {peak / 2**20:6.1f} MiB  events processed {result.processed_events:,}  "
            f"consumer invocations {c.invocations:,}  throttles {c.throttles:,}  cold starts {c.cold_starts:,}  "
            f"peak concurrency {c.peak_concurrency}  ends at {result.end_us / 1e6 / 60:.1f} min  "
            f"cost ${result.cost_usd:.2f}")
    if result.queues:
        q = result.queues["buffer"]
        line += f"  max depth {q.max_depth:,}"
    print(line)


if __name__ == "__main__":
    measure("direct", direct)
    measure("queued", queued)
