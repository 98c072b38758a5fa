"""Lab 00b reference solution: protect `checkout` from the `thumbnails` burst, at the lowest cost.

- Route the uploads through an SQS queue: the queue holds the burst, nothing is throttled, and
  no upload ages out of Lambda's asynchronous queue.
- BatchSize 10: the per-invocation overhead is paid once per ten uploads (the biggest saving;
  above 10 a batching window would be needed).
- MaximumConcurrency just high enough to finish before the deadline, after the pollers' ramp
  (5 concurrent batches, then up to 300 more per minute: services-sqs-scaling.html), and
  reserved concurrency equal to it, so the burst can never take more of the account than that
  and the mapping is never throttled (do not set MaximumConcurrency above reserved concurrency).
- `checkout` needs no reservation then: the unreserved pool is far larger than its need.
"""

from __future__ import annotations

import math

from serverless_course.capacity.noisy_lab import Forecast, Settings

BATCH = 10
SAFETY = 0.8  # plan to finish within 80 % of the deadline


def choose(forecast: Forecast) -> Settings:
    per_batch_s = (forecast.noisy_overhead_ms + BATCH * forecast.noisy_record_ms) / 1000
    work = math.ceil(forecast.noisy_events / BATCH) * per_batch_s  # batch-seconds of work
    budget = SAFETY * forecast.drain_deadline_s - per_batch_s
    checkout_need = math.ceil(forecast.critical_rate_per_s * forecast.critical_duration_ms / 1000 * 2) + 20
    ceiling = min(1000, forecast.account_concurrency - 100 - checkout_need)
    mc = 2
    # Batch-seconds done by `budget` when the mapping ramps from 5 by 5 per second up to mc.
    while mc < ceiling and mc * budget - mc * mc / 10 < work:
        mc += 1
    return Settings(critical_reserved=None, noisy_reserved=mc, route_through_queue=True,
                    batch_size=BATCH, maximum_concurrency=mc)
