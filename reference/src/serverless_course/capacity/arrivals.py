"""Arrival patterns for the capacity model: when events arrive, in integer microseconds.

Every pattern returns a sorted NumPy array of arrival times (microseconds from the start of the
run, int64), drawn from a seeded generator so a seed replays to the same events. Patterns add up
with `combine`.

- `steady(rate, seconds)`: evenly spaced, `rate` per second.
- `poisson(rate, seconds, seed)`: a Poisson process (exponential gaps), `rate` per second on average.
- `spike(count, at_s, over_s, seed)`: `count` events uniformly over `over_s` seconds from `at_s`.
- `daily(peak_rate, seconds, seed, ...)`: a Poisson process whose rate follows a daily curve
  (a cosine between `trough` x peak at night and the peak in the afternoon), compressed into
  `seconds` of simulated time if `day_s` is shorter than a day.
"""

from __future__ import annotations

import math

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
    rng = _rng(seed)
    peak_at = 0.625 * day_s if peak_at_s is None else peak_at_s
    # Thinning (Lewis and Shedler): draw at the peak rate, keep each with rate(t) / peak.
    candidates = np.sort(rng.uniform(0.0, seconds, rng.poisson(peak_rate * seconds)))
    phase = 2 * math.pi * (candidates - peak_at) / day_s
    keep = (trough + (1 - trough) * (1 + np.cos(phase)) / 2) >= rng.uniform(0.0, 1.0, candidates.size)
    return (candidates[keep] * US).astype(np.int64)


def combine(*patterns: np.ndarray) -> np.ndarray:
    """Several patterns as one sorted array of arrival times."""
    if not patterns:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(patterns)).astype(np.int64)
