"""Lab 00b's scenarios teach their lesson: left alone, the burst takes the account and checkout is
throttled; a cap checkout can afford meets every goal. These pin the design of `variant` and the
visible forecast against changes to the model or to the simulator's rules (the grading of whole
submissions is the lab fixtures' test)."""

from __future__ import annotations

import math

import pytest

from serverless_course.capacity.noisy_lab import (
    ACCOUNTS,
    MAX_DEADLINE_S,
    MAX_UPLOADS,
    Forecast,
    Settings,
    meets_goals,
    problems,
    run,
    variant,
)
from serverless_course.solutions.lab00b_noisy_neighbour.settings import choose

QUEUE_ONLY = Settings(route_through_queue=True, batch_size=10)


def test_graded_forecasts_replay_are_bounded_and_cover_every_account_size():
    forecasts = [variant(seed) for seed in range(200)]
    assert forecasts == [variant(seed) for seed in range(200)]
    assert all(f.noisy_events <= MAX_UPLOADS and f.drain_deadline_s <= MAX_DEADLINE_S for f in forecasts)
    assert {f.account_concurrency for f in forecasts} == set(ACCOUNTS)


@pytest.mark.parametrize("forecast", [Forecast(), variant(104)], ids=["visible", "account-400"])
def test_a_queue_alone_lets_the_burst_take_the_account(forecast: Forecast):
    outcome = run(forecast, QUEUE_ONLY)
    assert outcome.noisy_processed == forecast.noisy_events  # the burst is done in time ...
    assert outcome.critical_throttles > 0  # ... by starving checkout


@pytest.mark.parametrize("forecast", [Forecast(), variant(104)], ids=["visible", "account-400"])
def test_a_cap_checkout_can_afford_meets_every_goal(forecast: Forecast):
    assert meets_goals(forecast, run(forecast, choose(forecast))) is None


def test_a_run_ends_at_the_deadline():
    forecast = Forecast()
    outcome = run(forecast, Settings())  # asynchronous invocations back off for minutes
    assert 0 < outcome.noisy_processed < forecast.noisy_events and outcome.noisy_done_s == math.inf
    assert outcome.result is not None and outcome.result.end_us <= forecast.horizon_s * 1e6


def test_settings_of_the_wrong_type_are_refused():
    f = Forecast()
    assert "batch_size" in problems(f, Settings(route_through_queue=True, batch_size="10"))
    assert "noisy_reserved" in problems(f, Settings(noisy_reserved=True))
    assert "route_through_queue" in problems(f, Settings(route_through_queue="yes"))
