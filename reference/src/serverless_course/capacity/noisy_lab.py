"""Lab 00b, "protect a critical function from a noisy neighbour": the traffic forecast, the
settings a student chooses, and the run that grades them (through the capacity model).

The account runs two functions. `checkout` is critical: synchronous, a steady Poisson stream;
a throttle is a failed checkout (HTTP 429). `thumbnails` is noisy: a burst of uploads whose
work can wait, but must be finished within a stated time. The student writes
`choose(forecast) -> Settings`; `run(forecast, settings)` plays the hour in
`serverless_course.capacity.CapacityModel` (the simulator's own concurrency, scaling, async and
SQS poller rules) and returns the `Outcome` the tests grade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from lambdasim.rules.concurrency import minimum_unreserved, reserved_concurrency_error
from lambdasim.rules.sqs_scaling import MAXIMUM_CONCURRENCY_MAX, MAXIMUM_CONCURRENCY_MIN
from lambdasim.sources.sqs import MIN_MAX_RECEIVE_COUNT, minimum_visibility_timeout_s

from . import arrivals
from .model import CapacityModel, Function, Result

MEMORY_MB = 512


@dataclass(frozen=True)
class Forecast:
    """What the traffic will be. Times in seconds from the start of the run."""

    account_concurrency: int = 1000
    critical_rate_per_s: float = 200.0  # checkout requests per second (Poisson)
    critical_duration_ms: float = 120.0
    noisy_events: int = 30_000  # uploads in the burst
    noisy_burst_at_s: float = 30.0
    noisy_burst_s: float = 15.0  # the uploads arrive within this many seconds
    noisy_overhead_ms: float = 200.0  # per invocation of `thumbnails` (set-up, connections)
    noisy_record_ms: float = 300.0  # per upload processed
    drain_deadline_s: float = 600.0  # every upload processed this long after the burst starts
    horizon_s: float = 900.0  # checkout traffic lasts this long
    seed: int = 1


@dataclass(frozen=True)
class Settings:
    """What the student sets. None: not set (no reserved concurrency, no MaximumConcurrency)."""

    critical_reserved: int | None = None
    noisy_reserved: int | None = None
    route_through_queue: bool = False  # uploads -> SQS -> thumbnails, instead of async invokes
    batch_size: int = 1  # the event source mapping's BatchSize (queue route only), 1 to 10
    maximum_concurrency: int | None = None  # the mapping's MaximumConcurrency (queue route only)


@dataclass(frozen=True)
class Outcome:
    valid: str | None  # None, or why AWS would refuse the settings
    critical_throttles: int = 0
    noisy_processed: int = 0
    noisy_lost: int = 0  # dropped or dead-lettered
    noisy_done_s: float = math.inf  # when the last upload was processed, from the burst's start
    cost_usd: float = math.inf
    result: Result | None = None


def problems(forecast: Forecast, settings: Settings) -> str | None:
    """Why AWS would refuse these settings (or the course's guidance forbids them), or None."""
    reserved: dict[str, int] = {}
    for name, value in (("checkout", settings.critical_reserved), ("thumbnails", settings.noisy_reserved)):
        if value is None:
            continue
        if value < 0:
            return f"reserved concurrency of {name} must be >= 0"
        error = reserved_concurrency_error(forecast.account_concurrency, reserved, name, value)
        if error:
            return f"{name}: {error} (at least {minimum_unreserved(forecast.account_concurrency)} stay unreserved)"
        reserved[name] = value
    if settings.route_through_queue:
        if not 1 <= settings.batch_size <= 10:
            return "BatchSize must be 1 to 10 (no batching window in this lab)"
        mc = settings.maximum_concurrency
        if mc is not None:
            if not MAXIMUM_CONCURRENCY_MIN <= mc <= MAXIMUM_CONCURRENCY_MAX:
                return f"MaximumConcurrency must be {MAXIMUM_CONCURRENCY_MIN} to {MAXIMUM_CONCURRENCY_MAX}"
            if settings.noisy_reserved is not None and mc > settings.noisy_reserved:
                return "MaximumConcurrency above the function's reserved concurrency only produces throttles"
    elif settings.maximum_concurrency is not None:
        return "MaximumConcurrency is a setting of an SQS event source mapping: route through the queue"
    return None


def noisy_duration_ms(forecast: Forecast, settings: Settings) -> float:
    """How long one invocation of `thumbnails` takes: the overhead plus the records of its batch."""
    batch = settings.batch_size if settings.route_through_queue else 1
    return forecast.noisy_overhead_ms + batch * forecast.noisy_record_ms


def build(forecast: Forecast, settings: Settings) -> CapacityModel:
    """The forecast and settings as a capacity model, ready to run."""
    m = CapacityModel(seed=forecast.seed, account_concurrency=forecast.account_concurrency, bin_s=5.0)
    m.add_function(Function("checkout", duration_ms=forecast.critical_duration_ms, memory_mb=MEMORY_MB,
                            reserved=settings.critical_reserved))
    m.add_function(Function("thumbnails", duration_ms=noisy_duration_ms(forecast, settings), memory_mb=MEMORY_MB,
                            reserved=settings.noisy_reserved))
    uploads = arrivals.spike(forecast.noisy_events, forecast.noisy_burst_at_s, forecast.noisy_burst_s,
                             seed=forecast.seed)
    if settings.route_through_queue:
        timeout_s = math.ceil(noisy_duration_ms(forecast, settings) / 1000)
        m.add_queue("uploads", visibility_timeout_s=max(30, minimum_visibility_timeout_s(timeout_s)),
                    max_receive_count=MIN_MAX_RECEIVE_COUNT)
        m.add_mapping("uploads", "thumbnails", batch_size=settings.batch_size,
                      maximum_concurrency=settings.maximum_concurrency)
        m.send("uploads", uploads)
    else:
        m.invoke_async("thumbnails", uploads)
    m.invoke_sync("checkout", arrivals.poisson(forecast.critical_rate_per_s, forecast.horizon_s,
                                               seed=forecast.seed + 1))
    return m


def run(forecast: Forecast, settings: Settings) -> Outcome:
    """Play the forecast with these settings and measure what the lab grades."""
    problem = problems(forecast, settings)
    if problem:
        return Outcome(valid=problem)
    r = build(forecast, settings).run()
    noisy = r.functions["thumbnails"]
    if settings.route_through_queue:
        q = r.queues["uploads"]
        processed, lost = q.deleted, q.dead_lettered
    else:
        processed, lost = noisy.async_succeeded, noisy.async_dropped
    done = noisy.last_end_us / 1e6 - forecast.noisy_burst_at_s if processed else math.inf
    return Outcome(None, r.functions["checkout"].throttles, processed, lost, done, r.cost_usd, r)


def variant(seed: int) -> Forecast:
    """A forecast drawn from a seed: the graded cases the student does not see."""
    rng = Random(seed)
    return Forecast(
        critical_rate_per_s=rng.choice([50.0, 100.0, 200.0, 300.0]),
        critical_duration_ms=rng.choice([80.0, 120.0, 200.0]),
        noisy_events=rng.randrange(10_000, 40_001, 1000),
        noisy_burst_s=rng.choice([5.0, 10.0, 20.0]),
        noisy_overhead_ms=rng.choice([100.0, 200.0, 400.0]),
        noisy_record_ms=rng.choice([100.0, 200.0, 300.0]),
        drain_deadline_s=rng.choice([300.0, 600.0, 900.0]),
        horizon_s=900.0,
        seed=seed,
    )


def meets_goals(forecast: Forecast, outcome: Outcome) -> str | None:
    """None if the outcome meets the lab's goals, else what is wrong."""
    if outcome.valid:
        return outcome.valid
    if outcome.critical_throttles:
        return f"checkout was throttled {outcome.critical_throttles:,} times"
    if outcome.noisy_processed < forecast.noisy_events or outcome.noisy_lost:
        return (f"only {outcome.noisy_processed:,} of {forecast.noisy_events:,} uploads were processed "
                f"({outcome.noisy_lost:,} lost)")
    if outcome.noisy_done_s > forecast.drain_deadline_s:
        return (f"the last upload was processed {outcome.noisy_done_s:,.0f} s after the burst began; "
                f"the deadline is {forecast.drain_deadline_s:,.0f} s")
    return None

