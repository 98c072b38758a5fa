"""The queueing arithmetic of module 2: how many environments a stage needs, how fast a backlog
grows or drains, what batching costs in latency and buys in invocations, and percentiles.

Pure functions of numbers (rates in items per second, times in seconds): no AWS, no simulator.
The lesson `notebooks/02-scaling/02-littles-law.ipynb` predicts with them, then measures the
same numbers in `lambdasim`.

Little's law (L = λW) holds for any stable system in a steady state, whatever the distribution of
arrivals and service times: the average number of items in the system equals their average
arrival rate times the average time each spends there. For a Lambda consumer, "in the system"
is "in an invocation", so L is the average concurrency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Prediction",
    "backlog_after",
    "batch_wait_s",
    "drain_time_s",
    "invocations_per_second",
    "littles_law_concurrency",
    "percentile",
    "predict",
    "service_rate",
    "utilisation",
]


def _non_negative(**values: float) -> None:
    for name, value in values.items():
        if not value >= 0:  # also refuses NaN
            raise ValueError(f"{name} must be >= 0, not {value!r}")


# --8<-- [start:littles_law]
def littles_law_concurrency(arrival_rate: float, duration_s: float) -> float:
    """Average concurrency a stage needs: L = λ × W.

    `arrival_rate`: invocations per second reaching the function (for a queue consumer, batches
    per second); `duration_s`: average duration of one invocation. 200 requests/s of 250 ms keep
    50 environments busy on average; the peak is higher (see `percentile`).
    """
    _non_negative(arrival_rate=arrival_rate, duration_s=duration_s)
    return arrival_rate * duration_s


def service_rate(concurrency: float, duration_s: float, batch_size: float = 1) -> float:
    """Items per second a consumer finishes when all `concurrency` environments are busy, each
    invocation taking `duration_s` for `batch_size` items: μ = concurrency × batch_size / duration."""
    _non_negative(concurrency=concurrency, batch_size=batch_size)
    if not duration_s > 0:
        raise ValueError(f"duration_s must be > 0, not {duration_s!r}")
    return concurrency * batch_size / duration_s


def utilisation(arrival_rate: float, service_rate: float) -> float:
    """ρ = λ / μ: the share of the capacity in use. At 1 or above the backlog never drains."""
    _non_negative(arrival_rate=arrival_rate)
    if not service_rate > 0:
        raise ValueError(f"service_rate must be > 0, not {service_rate!r}")
    return arrival_rate / service_rate
# --8<-- [end:littles_law]


# --8<-- [start:backlog]
def drain_time_s(backlog: float, arrival_rate: float, service_rate: float) -> float:
    """Seconds until a backlog of `backlog` items is gone while `arrival_rate` items/s keep
    arriving and the consumer finishes `service_rate` items/s: B / (μ - λ).

    Only the spare capacity μ - λ drains the backlog: at 80 % utilisation a backlog takes five
    times longer to drain than the same consumer would need with no new arrivals. `math.inf`
    when μ <= λ and there is a backlog (it never drains; it grows when μ < λ).
    """
    _non_negative(backlog=backlog, arrival_rate=arrival_rate, service_rate=service_rate)
    if backlog == 0:
        return 0.0
    spare = service_rate - arrival_rate
    return backlog / spare if spare > 0 else math.inf


def backlog_after(backlog: float, arrival_rate: float, service_rate: float, seconds: float) -> float:
    """The backlog `seconds` later, in the fluid approximation: B + (λ - μ) t, never below 0.

    It grows by λ - μ items per second while arrivals outpace the consumer, and falls by μ - λ
    while the consumer has spare capacity."""
    _non_negative(backlog=backlog, arrival_rate=arrival_rate, service_rate=service_rate, seconds=seconds)
    return max(0.0, backlog + (arrival_rate - service_rate) * seconds)
# --8<-- [end:backlog]


# --8<-- [start:batching]
def batch_wait_s(arrival_rate: float, batch_size: int, window_s: float) -> float:
    """How long the first message of a batch waits for the batch to be invoked, with a batching
    window: until the batch is full (batch_size / λ) or the window ends, whichever comes first.

    This is latency the window adds to the first message (later ones wait less); the 6 MB
    payload limit, which can also close a batch, is left out."""
    _non_negative(arrival_rate=arrival_rate, window_s=window_s)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size!r}")
    if arrival_rate == 0:
        return window_s
    return min(window_s, (batch_size - 1) / arrival_rate)


def invocations_per_second(arrival_rate: float, batch_size: int, window_s: float) -> float:
    """Invocations per second a steady stream of `arrival_rate` messages/s causes: one per batch,
    and a batch holds what arrives until it is full or its window ends (at least 1 message).

    Fewer invocations mean fewer requests billed and less fixed time per message, paid for in
    latency (`batch_wait_s`)."""
    _non_negative(arrival_rate=arrival_rate, window_s=window_s)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size!r}")
    if arrival_rate == 0:
        return 0.0
    per_batch = min(batch_size, max(1.0, 1 + arrival_rate * window_s))
    return arrival_rate / per_batch
# --8<-- [end:batching]


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method: the smallest value such that at
    least q % of the values are less than or equal to it. p50 is the median, p99 the value only
    1 % exceed. Means hide a backlog's tail; percentiles show it."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be 0 to 100, not {q!r}")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Prediction:
    """What the arithmetic says about an SQS queue drained by a Lambda function."""

    arrival_rate: float  # messages per second arriving
    service_rate: float  # messages per second the capped consumer finishes at most
    utilisation: float  # arrival_rate / service_rate
    steady_concurrency: float  # Little's law once the backlog is gone, λ × (time per message), at most the cap
    drain_s: float  # seconds until the initial backlog is gone (math.inf: never)


# --8<-- [start:predict]
def predict(*, backlog: int, arrival_rate: float, seconds_per_message: float, max_concurrency: int) -> Prediction:
    """Predict a queue consumer whose invocations take `seconds_per_message` per message, capped
    at `max_concurrency` environments (an SQS mapping's MaximumConcurrency), fed `arrival_rate`
    messages/s on top of a `backlog` already waiting.

    The batch size cancels out: a batch of n messages takes n × seconds_per_message, so the
    consumer finishes max_concurrency / seconds_per_message messages per second however the
    messages are grouped, and keeps λ × seconds_per_message environments busy on average (all
    max_concurrency of them while there is a backlog, and for good when λ >= μ).
    """
    mu = service_rate(max_concurrency, seconds_per_message)
    return Prediction(
        arrival_rate=arrival_rate,
        service_rate=mu,
        utilisation=utilisation(arrival_rate, mu),
        steady_concurrency=min(float(max_concurrency), littles_law_concurrency(arrival_rate, seconds_per_message)),
        drain_s=drain_time_s(backlog, arrival_rate, mu),
    )
# --8<-- [end:predict]
