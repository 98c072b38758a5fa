"""The queueing arithmetic of module 2 (`serverless_course.scaling.queueing`): worked examples
from the guide, and properties that must hold for any numbers (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serverless_course.scaling import (
    backlog_after,
    batch_wait_s,
    drain_time_s,
    invocations_per_second,
    littles_law_concurrency,
    percentile,
    predict,
    service_rate,
    utilisation,
)

rates = st.floats(min_value=0, max_value=1e5, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False)
backlogs = st.integers(min_value=0, max_value=10_000_000)


def test_the_guide_examples():
    assert littles_law_concurrency(200, 0.25) == 50
    assert service_rate(5, 2.0) == 2.5
    assert service_rate(10, 5.0, batch_size=10) == 20
    assert utilisation(1, 2.5) == pytest.approx(0.4)
    assert drain_time_s(100, 1, 2.5) == pytest.approx(66.667, abs=1e-3)
    assert drain_time_s(0, 5, 1) == 0
    assert drain_time_s(10, 5, 5) == math.inf
    assert backlog_after(100, 1, 2.5, 40) == pytest.approx(40)
    assert backlog_after(100, 3, 2.5, 40) == pytest.approx(120)
    assert batch_wait_s(arrival_rate=5, batch_size=100, window_s=1) == 1
    assert batch_wait_s(arrival_rate=1000, batch_size=10, window_s=1) == pytest.approx(0.009)
    assert invocations_per_second(5, batch_size=100, window_s=1) == pytest.approx(5 / 6)
    assert invocations_per_second(5, batch_size=10, window_s=0) == 5


def test_the_lesson_prediction():
    p = predict(backlog=100, arrival_rate=1.0, seconds_per_message=2.0, max_concurrency=5)
    assert (p.service_rate, p.utilisation, p.steady_concurrency) == (2.5, 0.4, 2.0)
    assert p.drain_s == pytest.approx(200 / 3)
    saturated = predict(backlog=100, arrival_rate=3.0, seconds_per_message=2.0, max_concurrency=5)
    assert saturated.steady_concurrency == 5 and saturated.drain_s == math.inf


@pytest.mark.parametrize("call", [
    lambda: littles_law_concurrency(-1, 1), lambda: littles_law_concurrency(1, float("nan")),
    lambda: service_rate(1, 0), lambda: utilisation(1, 0), lambda: drain_time_s(-1, 1, 1),
    lambda: batch_wait_s(1, 0, 1), lambda: invocations_per_second(1, 0, 1),
    lambda: percentile([], 50), lambda: percentile([1], 101),
])
def test_nonsense_is_refused(call):
    with pytest.raises(ValueError):
        call()


@given(rate=rates, duration=rates)
def test_littles_law_scales_with_both_factors(rate, duration):
    assert littles_law_concurrency(2 * rate, duration) == pytest.approx(2 * littles_law_concurrency(rate, duration))


@given(backlog=backlogs, arrival=rates, service=positive)
def test_the_fluid_backlog_is_empty_at_the_drain_time(backlog, arrival, service):
    t = drain_time_s(backlog, arrival, service)
    if math.isinf(t):
        assert backlog > 0 and service <= arrival
        assert backlog_after(backlog, arrival, service, 1000) >= backlog
    else:
        assert backlog_after(backlog, arrival, service, t) == pytest.approx(0, abs=1e-6 * max(1, backlog))
        assert t == 0 or backlog_after(backlog, arrival, service, t / 2) > 0


@given(backlog=st.integers(min_value=1, max_value=10**6), arrival=rates, service=positive, extra=positive)
def test_more_capacity_never_drains_slower(backlog, arrival, service, extra):
    assert drain_time_s(backlog, arrival, service + extra) <= drain_time_s(backlog, arrival, service)


@given(rate=positive, batch=st.integers(min_value=1, max_value=10_000), window=st.floats(0, 300))
def test_batching_trades_invocations_for_latency(rate, batch, window):
    assert 0 <= batch_wait_s(rate, batch, window) <= window
    per_second = invocations_per_second(rate, batch, window)
    assert rate / batch - 1e-9 <= per_second <= rate + 1e-9
    # A longer window never means more invocations.
    assert invocations_per_second(rate, batch, window + 1) <= per_second + 1e-9


@given(values=st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=200), q=st.floats(0, 100))
def test_percentiles_are_values_in_order(values, q):
    p = percentile(values, q)
    assert p in values
    assert min(values) <= p <= max(values)
    assert percentile(values, 100) == max(values) and percentile(values, 0) == min(values)
    assert sum(v <= p for v in values) >= q / 100 * len(values) - 1e-9


def test_the_mean_hides_the_tail():
    waits = [0.1] * 98 + [30.0, 60.0]
    assert sum(waits) / len(waits) < 1 < percentile(waits, 99)
