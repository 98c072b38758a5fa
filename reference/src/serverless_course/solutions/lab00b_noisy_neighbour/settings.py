"""Lab 00b reference solution: protect `checkout` from the `thumbnails` burst, at the lowest cost.

- Route the uploads through an SQS queue: the queue holds the burst, and no upload waits out
  Lambda's asynchronous retry backoff (up to 5 minutes after a throttle:
  invocation-async-error-handling.html).
- BatchSize 10: the per-invocation overhead is paid once per ten uploads (the biggest saving;
  above 10 a batching window would be needed).
- Cap the burst. Left alone, the mapping's pollers add 300 concurrent batches a minute up to
  1,250 (services-sqs-scaling.html), more than the account's 1,000: the burst takes the account
  and checkout is throttled. MaximumConcurrency caps the mapping, and reserved concurrency equal
  to it caps the function (never MaximumConcurrency above reserved concurrency: the mapping
  would be throttled, services-sqs-scaling.html).
- The cap leaves checkout its peak concurrency, and at least the 100 that must stay unreserved
  (configuration-concurrency.html); it is just high enough to finish within 80 % of the
  deadline after the pollers' ramp (5 concurrent batches at first, then 5 more a second).
- `checkout` needs no reservation then: the unreserved pool is its own.
"""

from __future__ import annotations

import math

from serverless_course.capacity.noisy_lab import Forecast, Settings

BATCH = 10
SAFETY = 0.8  # plan to finish within 80 % of the deadline
MIN_UNRESERVED = 100
MAXIMUM_CONCURRENCY_MAX = 1000


def checkout_peak(forecast: Forecast) -> int:
    """Checkout keeps rate x duration environments busy on average (Poisson arrivals); its peak
    over the run is a few standard deviations above that, plus environments in their INIT."""
    mean = forecast.critical_rate_per_s * forecast.critical_duration_ms / 1000
    return math.ceil(mean + 5 * math.sqrt(mean)) + 20


def choose(forecast: Forecast) -> Settings:
    per_batch_s = (forecast.noisy_overhead_ms + BATCH * forecast.noisy_record_ms) / 1000
    work = math.ceil(forecast.noisy_events / BATCH) * per_batch_s  # batch-seconds of work
    budget = SAFETY * forecast.drain_deadline_s - forecast.noisy_burst_s - per_batch_s
    ceiling = min(MAXIMUM_CONCURRENCY_MAX,
                  forecast.account_concurrency - max(MIN_UNRESERVED, checkout_peak(forecast)))
    mc = 2
    # Batch-seconds done by `budget` when the mapping ramps by 5 a second up to mc: mc x budget,
    # less the mc * mc / 10 lost while ramping.
    while mc < ceiling and mc * budget - mc * mc / 10 < work:
        mc += 1
    return Settings(critical_reserved=None, noisy_reserved=mc, route_through_queue=True,
                    batch_size=BATCH, maximum_concurrency=mc)
