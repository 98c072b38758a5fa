"""The traffic shapes of `serverless_course.capacity.arrivals` that load tests play: the rate each
one promises over time, and properties that hold for any seed and numbers (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from serverless_course.capacity import arrivals

US = arrivals.US


def count_between(times: np.ndarray, start_s: float, end_s: float) -> int:
    return int(((times >= start_s * US) & (times < end_s * US)).sum())


def within_poisson_noise(observed: int, expected: float) -> bool:
    """Five standard deviations of a Poisson count: a seeded draw outside it is a wrong rate."""
    return abs(observed - expected) <= 5 * math.sqrt(expected) + 1


def test_a_ten_times_spike_between_two_steady_stages():
    times = arrivals.stages([(60, 2.0), (20, 20.0), (60, 2.0)], seed=1)
    assert within_poisson_noise(count_between(times, 0, 60), 120)
    assert within_poisson_noise(count_between(times, 60, 80), 400)
    assert within_poisson_noise(count_between(times, 80, 140), 120)
    assert count_between(times, 140, 1e9) == 0


def test_sawtooth_climbs_through_each_period_and_drops():
    times = arrivals.sawtooth(1.0, 21.0, period_s=60, seconds=600, seed=2)
    # Mean rate over the first and last sixth of every period: 1 + 20/12 and 21 - 20/12.
    early = sum(count_between(times, p, p + 10) for p in range(0, 600, 60))
    late = sum(count_between(times, p + 50, p + 60) for p in range(0, 600, 60))
    assert within_poisson_noise(early, 10 * 10 * (1 + 20 / 12))
    assert within_poisson_noise(late, 10 * 10 * (21 - 20 / 12))


def test_daily_peaks_in_the_afternoon():
    times = arrivals.daily(10.0, seconds=86_400, seed=3, day_s=86_400)
    afternoon, night = count_between(times, 14 * 3600, 16 * 3600), count_between(times, 2 * 3600, 4 * 3600)
    assert afternoon > 5 * night


def test_the_herd_arrives_when_the_outage_ends():
    times = arrivals.thundering_herd(5.0, seconds=120, outage_at_s=30, outage_s=30, seed=4)
    assert count_between(times, 30, 60) == 0
    # The clients of 30 s of traffic, on top of the usual 5 per second, within seconds of recovery.
    assert count_between(times, 60, 65) > 4 * 5 * 5


@settings(max_examples=25, deadline=None)
@given(rate=st.floats(0.5, 50), seconds=st.floats(1, 120), outage_at=st.floats(0, 100), outage=st.floats(0.1, 60),
       first=st.floats(0.1, 5), cap=st.floats(5, 60), jitter=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_every_client_of_an_outage_arrives_once_after_it(rate, seconds, outage_at, outage, first, cap, jitter, seed):
    sent = arrivals.poisson(rate, seconds, np.random.default_rng(seed))
    herd = arrivals.thundering_herd(rate, seconds, outage_at, outage, seed, first_retry_s=first,
                                    max_backoff_s=cap, jitter=jitter)
    start, end = round(outage_at * US), round((outage_at + outage) * US)
    assert herd.size == sent.size and herd.dtype == np.int64
    assert np.all(np.diff(herd) >= 0)
    assert not np.any((herd >= start) & (herd < end))
    # A client retries at most max_backoff_s after the previous try, so none is later than that.
    failed = (sent >= start) & (sent < end)
    if failed.any():
        assert herd.max() <= max(sent.max(), end + cap * US)


@settings(max_examples=25, deadline=None)
@given(levels=st.lists(st.tuples(st.floats(0.5, 30), st.floats(0, 40)), min_size=1, max_size=4),
       seed=st.integers(0, 2**32 - 1))
def test_stages_stay_in_their_window_and_replay(levels, seed):
    times = arrivals.stages(levels, seed)
    assert np.array_equal(times, arrivals.stages(levels, seed))
    assert np.all(np.diff(times) >= 0)
    assert times.size == 0 or (times[0] >= 0 and times[-1] < sum(s for s, _ in levels) * US)


@pytest.mark.parametrize("shape", [
    lambda seed: arrivals.sawtooth(2, 8, 30, 90, seed),
    lambda seed: arrivals.daily(5, 600, seed, day_s=300),
    lambda seed: arrivals.thundering_herd(5, 90, 20, 20, seed, jitter=True),
])
def test_a_seed_replays_the_same_arrivals(shape):
    assert np.array_equal(shape(7), shape(7)) and not np.array_equal(shape(7), shape(8))
