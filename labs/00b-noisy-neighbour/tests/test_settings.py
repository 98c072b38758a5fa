"""Graded tests of lab 00b: protect a critical function from a noisy neighbour.

Each test calls your `choose(forecast)` and plays the forecast with your settings in the course's
capacity model (`serverless_course.capacity`: the simulator's own concurrency, scaling-rate,
asynchronous-invocation and SQS-poller rules), then checks what happened. Nothing reads your
source. Forecasts you do not see are graded too: the seeds below, and instructors may add
others with the environment variable LAB00B_SEEDS (comma-separated).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from serverless_course.capacity.noisy_lab import Forecast, Settings, meets_goals, run, variant

VISIBLE = Forecast()
UNSEEN = [101, 303, 606] + [int(s) for s in os.environ.get("LAB00B_SEEDS", "").split(",") if s.strip()]
COST_TOLERANCE = 1.02


@pytest.fixture
def choose(submission: Any) -> Any:
    module = submission.load("settings")
    assert callable(getattr(module, "choose", None)), "settings.py must define choose(forecast)"
    return module.choose


def settings_for(choose: Any, forecast: Forecast) -> Settings:
    settings = choose(forecast)
    assert isinstance(settings, Settings), "choose(forecast) must return a Settings"
    return settings


def cheapest_known_cost(forecast: Forecast) -> float:
    """The cost of processing the burst through a queue in batches of 10 (what the cost is
    compared with; it does not depend much on MaximumConcurrency)."""
    reference = Settings(noisy_reserved=50, route_through_queue=True, batch_size=10, maximum_concurrency=50)
    return run(forecast, reference).cost_usd


@pytest.mark.points(1)
def test_settings_are_ones_aws_accepts(choose: Any) -> None:
    """At least 100 of the account stay unreserved; MaximumConcurrency 2 to 1,000, on a queue
    route, not above the function's reserved concurrency; BatchSize 1 to 10."""
    outcome = run(VISIBLE, settings_for(choose, VISIBLE))
    assert outcome.valid is None, outcome.valid


@pytest.mark.points(3)
def test_checkout_is_never_throttled(choose: Any) -> None:
    outcome = run(VISIBLE, settings_for(choose, VISIBLE))
    assert outcome.valid is None, outcome.valid
    assert outcome.critical_throttles == 0, (
        f"checkout was throttled {outcome.critical_throttles:,} times (HTTP 429s to customers)")


@pytest.mark.points(3)
def test_every_upload_is_processed_before_the_deadline(choose: Any) -> None:
    outcome = run(VISIBLE, settings_for(choose, VISIBLE))
    assert outcome.valid is None, outcome.valid
    assert outcome.noisy_processed == VISIBLE.noisy_events and not outcome.noisy_lost, (
        f"{outcome.noisy_processed:,} of {VISIBLE.noisy_events:,} uploads processed, {outcome.noisy_lost:,} lost")
    assert outcome.noisy_done_s <= VISIBLE.drain_deadline_s, (
        f"the last upload was processed {outcome.noisy_done_s:,.0f} s after the burst began; "
        f"the deadline is {VISIBLE.drain_deadline_s:,.0f} s")


@pytest.mark.points(2)
def test_at_the_lowest_cost(choose: Any) -> None:
    outcome = run(VISIBLE, settings_for(choose, VISIBLE))
    problem = meets_goals(VISIBLE, outcome)
    assert problem is None, f"the goals come first: {problem}"
    best = cheapest_known_cost(VISIBLE)
    assert outcome.cost_usd <= COST_TOLERANCE * best, (
        f"the run cost ${outcome.cost_usd:.4f}; a cheaper configuration that meets the goals costs ${best:.4f}")


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", UNSEEN)
def test_a_forecast_you_have_not_seen(choose: Any, seed: int) -> None:
    """A forecast drawn from a seed: other rates, burst sizes, durations and deadlines."""
    forecast = variant(seed)
    outcome = run(forecast, settings_for(choose, forecast))
    problem = meets_goals(forecast, outcome)
    assert problem is None, f"forecast {forecast}: {problem}"
    best = cheapest_known_cost(forecast)
    assert outcome.cost_usd <= COST_TOLERANCE * best, (
        f"forecast {forecast}: the run cost ${outcome.cost_usd:.4f}; a cheaper configuration costs ${best:.4f}")
