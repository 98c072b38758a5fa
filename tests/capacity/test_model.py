"""The capacity model on its own: arrival patterns, the rules it takes from lambdasim, costs.

The agreement with the simulator is test_agreement.py; this file checks the model's own
bookkeeping and that it calls the simulator's rules rather than copies of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lambdasim.rules import concurrency, pricing, sqs_scaling
from serverless_course.capacity import CapacityModel, Function, arrivals
from serverless_course.capacity.noisy_lab import Forecast, Settings, problems


def test_arrival_patterns_are_seeded_sorted_and_sized():
    assert np.array_equal(arrivals.poisson(10, 60, seed=4), arrivals.poisson(10, 60, seed=4))
    assert not np.array_equal(arrivals.poisson(10, 60, seed=4), arrivals.poisson(10, 60, seed=5))
    steady = arrivals.steady(4, 10)
    assert steady.size == 40 and np.all(np.diff(steady) == 250_000)
    spike = arrivals.spike(1000, 5.0, 2.0, seed=1)
    assert spike.size == 1000 and spike.min() >= 5_000_000 and spike.max() < 7_000_000
    daily = arrivals.daily(100, 3600, seed=2, day_s=3600, peak_at_s=1800)
    # more traffic around the peak than around the trough
    assert np.sum((daily > 1500e6) & (daily < 2100e6)) > 3 * np.sum(daily < 300e6)
    merged = arrivals.combine(steady, spike)
    assert merged.size == 1040 and np.all(np.diff(merged) >= 0)


def test_steady_traffic_under_the_limits_reuses_warm_environments():
    m = CapacityModel(seed=1)
    # one request every 100 ms, 20 ms each; the first also runs INIT (about 54 ms at 1,769 MB)
    m.add_function(Function("fn", duration_ms=20, memory_mb=1769))
    m.invoke_sync("fn", arrivals.steady(10, 60))
    r = m.run()
    f = r.functions["fn"]
    assert (f.invocations, f.throttles, f.cold_starts, f.peak_concurrency) == (600, 0, 1, 1)


def test_cost_uses_the_simulators_prices_with_init_billed():
    m = CapacityModel(seed=1)
    m.add_function(Function("fn", duration_ms=100.4, memory_mb=256, code_init_ms=250))
    m.invoke_sync("fn", arrivals.steady(1, 10))
    f = m.run().functions["fn"]
    init_ms = f.init_ms
    billed = pricing.billed_duration_ms(100.4, init_ms) + 9 * pricing.billed_duration_ms(100.4)
    assert f.billed_ms == billed
    expected = pricing.request_cost(10) + pricing.duration_cost(pricing.gb_seconds(billed, 256), "x86_64")
    assert math.isclose(f.cost_usd, expected)


def test_reserved_concurrency_zero_drops_async_events_without_retries():
    m = CapacityModel(seed=1)
    m.add_function(Function("off", reserved=0))
    m.invoke_async("off", arrivals.steady(5, 2))
    f = m.run().functions["off"]
    assert (f.invocations, f.throttles, f.async_dropped) == (0, 10, 10)


def test_function_errors_are_retried_twice_then_dropped():
    m = CapacityModel(seed=1)
    m.add_function(Function("bad", fails=lambda event_id, attempt: True))
    m.invoke_async("bad", arrivals.steady(1, 3))
    r = m.run()
    f = r.functions["bad"]
    assert (f.invocations, f.errors, f.async_retries, f.async_dropped) == (9, 9, 6, 3)
    assert r.end_us >= (60 + 120) * 1_000_000  # 60 s then 120 s after the failed attempts


def test_sqs_mapping_ramps_from_five_and_stops_at_maximum_concurrency():
    m = CapacityModel(seed=1)
    m.add_function(Function("worker", duration_ms=1000))
    m.add_queue("q")
    m.add_mapping("q", "worker", batch_size=1, maximum_concurrency=40)
    m.send("q", arrivals.spike(5000, 0, 1, seed=3))
    r = m.run()
    q, f = r.queues["q"], r.functions["worker"]
    assert q.deleted == 5000 and q.peak_batches == 40 and f.peak_concurrency == 40
    conc = r.timeline.array("concurrency:worker")
    assert conc[1] <= sqs_scaling.INITIAL_CONCURRENCY + sqs_scaling.SCALE_UP_PER_MINUTE // 60 * 2


def test_the_model_calls_the_simulators_concurrency_rule(monkeypatch):
    """One source of truth: change the rule in lambdasim and the model changes with it."""
    calls = []
    original = concurrency.ConcurrencyLimits.check

    def spy(self, function, **kwargs):
        calls.append(function)
        return original(self, function, **kwargs)

    monkeypatch.setattr(concurrency.ConcurrencyLimits, "check", spy)
    m = CapacityModel(seed=1)
    m.add_function(Function("fn"))
    m.invoke_sync("fn", arrivals.steady(10, 1))
    m.run()
    assert calls == ["fn"] * 10


def test_the_model_refuses_reservations_aws_refuses():
    m = CapacityModel(seed=1, account_concurrency=1000)
    m.add_function(Function("a", reserved=800))
    with pytest.raises(ValueError, match="UnreservedConcurrentExecution"):
        m.add_function(Function("b", reserved=150))


def test_lab_settings_validation():
    f = Forecast()
    assert problems(f, Settings()) is None
    assert "unreserved" in problems(f, Settings(critical_reserved=500, noisy_reserved=450))
    assert "MaximumConcurrency" in problems(f, Settings(maximum_concurrency=10))
    assert "reserved" in problems(f, Settings(route_through_queue=True, noisy_reserved=5, maximum_concurrency=10))
    assert "BatchSize" in problems(f, Settings(route_through_queue=True, batch_size=11))
