"""Lab 00b, "protect a critical function from a noisy neighbour": the traffic forecast, the
settings a student chooses, and the run that grades them (through the capacity model).

The account runs two functions. `checkout` is critical: synchronous, a steady Poisson stream;
a throttle is a failed checkout (HTTP 429). `thumbnails` is noisy: a burst of uploads whose
work can wait, but must be finished by a deadline. The burst is big enough that, left
uncapped, it takes the account's concurrency: asynchronous invocations at once, an SQS event
source mapping as its pollers ramp up (services-sqs-scaling.html: up to 1,250 concurrent
invocations per mapping, more than the account's default 1,000). The student writes
`choose(forecast) -> Settings`; `run(forecast, settings)` plays the forecast in
`serverless_course.capacity.CapacityModel` (the simulator's own concurrency, scaling, async and
SQS poller rules) until the deadline and returns the `Outcome` the tests grade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from random import Random

from lambdasim.rules.concurrency import minimum_unreserved, reserved_concurrency_error
from lambdasim.rules.sqs_scaling import (
    INITIAL_CONCURRENCY,
    MAXIMUM_CONCURRENCY_MAX,
    MAXIMUM_CONCURRENCY_MIN,
    SCALE_UP_PER_MINUTE,
)
from lambdasim.sources.sqs import MIN_MAX_RECEIVE_COUNT, minimum_visibility_timeout_s

from . import arrivals
from .model import CapacityModel, Function, Result

MEMORY_MB = 512
BATCH_SIZE_MAX = 10  # without a batching window (API_CreateEventSourceMapping.html)


@dataclass(frozen=True)
class Forecast:
    """What the traffic will be. Times in seconds from the start of the run."""

    account_concurrency: int = 1000  # the Region's quota: 1,000 by default, lower in new accounts
    critical_rate_per_s: float = 100.0  # checkout requests per second (Poisson)
    critical_duration_ms: float = 240.0
    noisy_events: int = 24_000  # uploads in the burst
    noisy_burst_at_s: float = 30.0
    noisy_burst_s: float = 15.0  # the uploads arrive within this many seconds
    noisy_overhead_ms: float = 1000.0  # per invocation of `thumbnails` (set-up, connections)
    noisy_record_ms: float = 8000.0  # per upload processed
    drain_deadline_s: float = 600.0  # every upload processed this long after the burst starts
    seed: int = 1

    @property
    def horizon_s(self) -> float:
        """The end of the graded run: the deadline. Checkout traffic lasts until then."""
        return self.noisy_burst_at_s + self.drain_deadline_s


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
    noisy_processed: int = 0  # by the deadline
    noisy_lost: int = 0  # dropped or dead-lettered
    noisy_done_s: float = math.inf  # when the last upload was processed (if all were), from the burst's start
    cost_usd: float = math.inf
    result: Result | None = None


def _type_problem(settings: Settings) -> str | None:
    """Settings that crossed from the student's code may hold any JSON value: name the wrong one."""
    if not isinstance(settings.route_through_queue, bool):
        return f"route_through_queue must be True or False, not {settings.route_through_queue!r}"
    for name in ("critical_reserved", "noisy_reserved", "batch_size", "maximum_concurrency"):
        value = getattr(settings, name)
        optional = name != "batch_size"
        if value is None and optional:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be a whole number{' or None' if optional else ''}, not {value!r}"
    return None


def problems(forecast: Forecast, settings: Settings) -> str | None:
    """Why AWS would refuse these settings (or the course's guidance forbids them), or None."""
    wrong_type = _type_problem(settings)
    if wrong_type:
        return wrong_type
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
        if not 1 <= settings.batch_size <= BATCH_SIZE_MAX:
            return f"BatchSize must be 1 to {BATCH_SIZE_MAX} (no batching window in this lab)"
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
    """Play the forecast with these settings up to the deadline and measure what the lab grades
    (what is still running then is not processed in time)."""
    problem = problems(forecast, settings)
    if problem:
        return Outcome(valid=problem)
    r = build(forecast, settings).run(until_s=forecast.horizon_s)
    noisy = r.functions["thumbnails"]
    if settings.route_through_queue:
        q = r.queues["uploads"]
        processed, lost = q.deleted, q.dead_lettered
    else:
        processed, lost = noisy.async_succeeded, noisy.async_dropped
    done = noisy.last_end_us / 1e6 - forecast.noisy_burst_at_s if processed == forecast.noisy_events else math.inf
    return Outcome(None, r.functions["checkout"].throttles, processed, lost, done, r.cost_usd, r)


# -- the graded forecasts you do not see -------------------------------------------------------
# New accounts start with a reduced concurrency quota (gettingstarted-limits.html), so graded
# forecasts run in smaller accounts too: settings must be computed from the forecast.
ACCOUNTS = (400, 600, 800, 1000)
MAX_DEADLINE_S = 900.0  # these two keep one graded run short
MAX_UPLOADS = 25_000


def _pollers_ramp(cap: float) -> tuple[float, float, float]:
    """How an SQS mapping's pollers ramp up to `cap` concurrent batches: 5 at first, then 300
    more a minute (services-sqs-scaling.html). (first batches, batches added per second, seconds
    to reach `cap`)."""
    start = min(INITIAL_CONCURRENCY, cap)
    per_s = SCALE_UP_PER_MINUTE / 60
    return start, per_s, (cap - start) / per_s


def _pollers_work_s(cap: float) -> float:
    """Batch-seconds of work the pollers do while they ramp up to `cap`."""
    start, _, seconds = _pollers_ramp(cap)
    return seconds * (start + cap) / 2


def _pollers_drain_s(work_s: float, cap: float) -> float:
    """Seconds for the pollers, capped at `cap` concurrent batches, to do `work_s` batch-seconds."""
    start, per_s, ramp_s = _pollers_ramp(cap)
    ramp_work = _pollers_work_s(cap)
    if work_s > ramp_work:
        return ramp_s + (work_s - ramp_work) / cap
    return (math.sqrt(start * start + 2 * per_s * work_s) - start) / per_s


def _checkout_peak(rate_per_s: float, duration_ms: float) -> int:
    """A generous peak of checkout's concurrency: Poisson arrivals keep λ = rate x duration busy
    on average and peak a few standard deviations above it; some environments are still in INIT."""
    mean = rate_per_s * duration_ms / 1000
    return math.ceil(mean + 4 * math.sqrt(mean) + 10)


def variant(seed: int) -> Forecast:
    """A forecast drawn from a seed: the graded cases the student does not see.

    Each one teaches the lesson. The burst holds a few times the work the uncapped pollers do
    (and hold in flight) by the time they reach what checkout leaves free, so left alone they
    take the account and checkout is throttled. The deadline is what a cap of 35 to 65 % of the
    concurrency checkout can spare achieves (rounded up to a minute), so a cap that protects
    checkout can meet it. Draws beyond MAX_DEADLINE_S or MAX_UPLOADS are drawn again (in the
    same account).
    """
    rng = Random(seed)
    account = rng.choice(ACCOUNTS)
    while True:
        rate = rng.choice([50.0, 100.0, 150.0])
        duration = rng.choice([200.0, 400.0, 600.0])
        overhead = rng.choice([500.0, 1000.0, 2000.0])
        record = rng.choice([4000.0, 6000.0, 8000.0, 10000.0])
        burst_s = rng.choice([5.0, 15.0, 30.0])
        batch_s = (overhead + BATCH_SIZE_MAX * record) / 1000
        free = account - rate * duration / 1000
        work_when_full = _pollers_work_s(free) + free * batch_s
        batches = math.ceil(rng.choice([1.25, 1.5, 2.0]) * work_when_full / batch_s / 100) * 100
        spare = account - max(minimum_unreserved(account), _checkout_peak(rate, duration))
        cap = rng.choice([0.35, 0.5, 0.65]) * spare
        deadline = 60.0 * math.ceil((burst_s + _pollers_drain_s(batches * batch_s, cap) + batch_s) / 60)
        if deadline <= MAX_DEADLINE_S and batches * BATCH_SIZE_MAX <= MAX_UPLOADS:
            return Forecast(account_concurrency=account, critical_rate_per_s=rate, critical_duration_ms=duration,
                            noisy_events=batches * BATCH_SIZE_MAX, noisy_burst_s=burst_s,
                            noisy_overhead_ms=overhead, noisy_record_ms=record, drain_deadline_s=deadline,
                            seed=seed)


def meets_goals(forecast: Forecast, outcome: Outcome) -> str | None:
    """None if the outcome meets the lab's goals, else what is wrong."""
    if outcome.valid:
        return outcome.valid
    if outcome.critical_throttles:
        return f"checkout was throttled {outcome.critical_throttles:,} times"
    if outcome.noisy_processed < forecast.noisy_events or outcome.noisy_lost:
        return (f"by the deadline only {outcome.noisy_processed:,} of {forecast.noisy_events:,} uploads were "
                f"processed ({outcome.noisy_lost:,} lost)")
    if outcome.noisy_done_s > forecast.drain_deadline_s:
        return (f"the last upload was processed {outcome.noisy_done_s:,.0f} s after the burst began; "
                f"the deadline is {forecast.drain_deadline_s:,.0f} s")
    return None
