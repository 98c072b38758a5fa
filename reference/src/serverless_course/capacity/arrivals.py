"""Arrival patterns for the capacity model: when events arrive, in integer microseconds.

Every pattern returns a sorted NumPy array of arrival times (microseconds from the start of the
run, int64), drawn from a seeded generator so a seed replays to the same events. Patterns add up
with `combine`.

- `steady(rate, seconds)`: evenly spaced, `rate` per second.
- `poisson(rate, seconds, seed)`: a Poisson process (exponential gaps), `rate` per second on average.
- `spike(count, at_s, over_s, seed)`: `count` events uniformly over `over_s` seconds from `at_s`.
- `daily(peak_rate, seconds, seed, ...)`: the diurnal shape, a Poisson process whose rate follows
  a daily curve (a cosine between `trough` x peak at night and the peak in the afternoon),
  compressed into `seconds` of simulated time if `day_s` is shorter than a day.
- `stages([(seconds, rate), ...], seed)`: a Poisson process whose rate steps from stage to stage;
  steady traffic with a 10x spike is `stages([(60, 2), (20, 20), (60, 2)])`.
- `sawtooth(low_rate, high_rate, period_s, seconds, seed)`: a rate that climbs from low to high
  over each period, then drops back (batch jobs, cron-driven clients).
- `thundering_herd(rate, seconds, outage_at_s, outage_s, seed, ...)`: steady clients, a dependency
  in front of the system down for `outage_s`, and every client that could not get through
  retrying with capped exponential backoff: the retries land together once it is back.
- `varying(rate_at, peak_rate, seconds, seed)`: any rate curve (the one the others use).

The load tests of module 2 (`serverless_course.scaling.load`) play these same arrays through the
simulated pipeline, so the capacity model and the simulator see the same traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

US = 1_000_000


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def steady(rate: float, seconds: float, *, start_s: float = 0.0) -> np.ndarray:
    """`rate` events per second, evenly spaced, for `seconds`."""
    n = int(round(rate * seconds))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    gap_us = US / rate
    return (start_s * US + np.arange(n, dtype=np.float64) * gap_us).astype(np.int64)


def poisson(rate: float, seconds: float, seed: int | np.random.Generator = 0, *, start_s: float = 0.0) -> np.ndarray:
    """A Poisson process of `rate` events per second on average, for `seconds`."""
    rng = _rng(seed)
    n = rng.poisson(rate * seconds)
    times = np.sort(rng.uniform(0.0, seconds, n)) + start_s
    return (times * US).astype(np.int64)


def spike(count: int, at_s: float, over_s: float, seed: int | np.random.Generator = 0) -> np.ndarray:
    """`count` events arriving uniformly at random within [at_s, at_s + over_s)."""
    rng = _rng(seed)
    times = np.sort(rng.uniform(at_s, at_s + over_s, count))
    return (times * US).astype(np.int64)


def daily(peak_rate: float, seconds: float, seed: int | np.random.Generator = 0, *,
          trough: float = 0.1, day_s: float = 86_400.0, peak_at_s: float | None = None) -> np.ndarray:
    """A Poisson process whose rate follows a daily cosine: `peak_rate` at `peak_at_s` (default
    15:00 of the day), `trough` x `peak_rate` twelve hours (half a `day_s`) away."""
    peak_at = 0.625 * day_s if peak_at_s is None else peak_at_s

    def rate_at(t: np.ndarray) -> np.ndarray:
        return peak_rate * (trough + (1 - trough) * (1 + np.cos(2 * math.pi * (t - peak_at) / day_s)) / 2)

    return varying(rate_at, peak_rate, seconds, seed)


def varying(rate_at: Callable[[np.ndarray], np.ndarray], peak_rate: float, seconds: float,
            seed: int | np.random.Generator = 0, *, start_s: float = 0.0) -> np.ndarray:
    """A Poisson process whose rate at `t` seconds (from the pattern's start) is `rate_at(t)`,
    never above `peak_rate`, for `seconds`."""
    rng = _rng(seed)
    # Thinning (Lewis and Shedler): draw at the peak rate, keep each with rate(t) / peak.
    candidates = np.sort(rng.uniform(0.0, seconds, rng.poisson(peak_rate * seconds)))
    keep = rate_at(candidates) >= peak_rate * rng.uniform(0.0, 1.0, candidates.size)
    return ((candidates[keep] + start_s) * US).astype(np.int64)


# --8<-- [start:stages]
def stages(levels: Sequence[tuple[float, float]], seed: int | np.random.Generator = 0) -> np.ndarray:
    """A Poisson process in stages, one after the other: each `(seconds, rate)` lasts `seconds`
    at `rate` events per second on average."""
    rng = _rng(seed)
    parts, start = [], 0.0
    for seconds, rate in levels:
        parts.append(poisson(rate, seconds, rng, start_s=start))
        start += seconds
    return combine(*parts)
# --8<-- [end:stages]


def sawtooth(low_rate: float, high_rate: float, period_s: float, seconds: float,
             seed: int | np.random.Generator = 0) -> np.ndarray:
    """A Poisson process whose rate climbs linearly from `low_rate` to `high_rate` over each
    `period_s`, then drops back to `low_rate`."""
    return varying(lambda t: low_rate + (high_rate - low_rate) * (t % period_s) / period_s,
                   max(low_rate, high_rate), seconds, seed)


# --8<-- [start:thundering_herd]
def thundering_herd(rate: float, seconds: float, outage_at_s: float, outage_s: float,
                    seed: int | np.random.Generator = 0, *, first_retry_s: float = 1.0,
                    max_backoff_s: float = 20.0, jitter: bool = False) -> np.ndarray:
    """What a system sees after an outage in front of it: clients send at `rate` (Poisson) for
    `seconds`; from `outage_at_s` for `outage_s` no request gets through, and each client whose
    request fails retries after `first_retry_s`, doubling up to `max_backoff_s` between tries
    (each wait drawn uniformly up to that bound with `jitter`, "full jitter"), until a try lands
    after the outage. Every request arrives exactly once: outside the outage when it was sent,
    else at its first try after it; the tries that failed never arrive. Without jitter, clients
    that failed at the same moment come back at the same moment."""
    rng = _rng(seed)
    sent = poisson(rate, seconds, rng)
    start, end = round(outage_at_s * US), round((outage_at_s + outage_s) * US)
    failed = (sent >= start) & (sent < end)
    tries = sent[failed].astype(np.float64)
    backoff = np.full(tries.size, first_retry_s * US)
    waiting = np.ones(tries.size, dtype=bool)
    while waiting.any():
        wait = backoff[waiting] * (rng.uniform(0.0, 1.0, int(waiting.sum())) if jitter else 1.0)
        tries[waiting] += wait
        backoff[waiting] = np.minimum(backoff[waiting] * 2, max_backoff_s * US)
        waiting = tries < end
    return combine(sent[~failed], tries.astype(np.int64))
# --8<-- [end:thundering_herd]


def combine(*patterns: np.ndarray) -> np.ndarray:
    """Several patterns as one sorted array of arrival times."""
    if not patterns:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(patterns)).astype(np.int64)
