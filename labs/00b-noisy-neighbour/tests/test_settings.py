"""Graded tests of lab 00b: protect a critical function from a noisy neighbour.

Each test calls your `choose(forecast)` and plays the forecast with your settings in the course's
capacity model (`serverless_course.capacity`: the simulator's own concurrency, scaling-rate,
asynchronous-invocation and SQS-poller rules) up to the deadline, then checks what happened.
Nothing reads your source. The goals come in order: a test pays only when the goals before its
own are met, and "checkout is never throttled" pays only when the burst was processed too
(checkout is not protected by not running thumbnails). Forecasts you do not see are graded too:
the seeds below, and instructors may add others with the environment variable LAB00B_SEEDS
(comma-separated).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import pytest

from labgrader import require_work
from lambdasim.rules.concurrency import minimum_unreserved
from lambdasim.rules.sqs_scaling import MAXIMUM_CONCURRENCY_MAX
from serverless_course.capacity.noisy_lab import Forecast, Outcome, Settings, meets_goals, problems, run, variant

VISIBLE = Forecast()
UNSEEN = [100, 101, 102, 103, 104, 105] + [
    int(s) for s in os.environ.get("LAB00B_SEEDS", "").split(",") if s.strip()]
COST_TOLERANCE = 1.02
# The cheapest known cost (`cheapest_known_cost`) of the visible forecast and of the graded
# seeds, so that grading does not replay them for every submission; the project's tests check
# these against fresh runs. An instructor's extra seed is played live.
VISIBLE_CHEAPEST_COST = 1.7740952323724
UNSEEN_CHEAPEST_COSTS = {100: 1.4510416911630002, 101: 1.2130393061352, 102: 1.4102271682,
                         103: 2.2674777324472006, 104: 0.7409802303114, 105: 1.2670806265871999}


@pytest.fixture
def choose(submission: Any) -> Any:
    # Runs in a process of its own; what it returns crosses back only as a Settings.
    module = submission.load("settings", accepts=(Settings,))
    assert callable(getattr(module, "choose", None)), "settings.py must define choose(forecast)"
    return module.choose


@functools.cache
def played(forecast: Forecast, settings: Settings) -> Outcome:
    """One run per forecast and settings, whichever tests ask for it."""
    return run(forecast, settings)


def outcome_for(choose: Any, forecast: Forecast) -> Outcome:
    settings = choose(forecast)
    assert isinstance(settings, Settings), "choose(forecast) must return a Settings"
    problem = problems(forecast, settings)
    assert problem is None, f"AWS would refuse these settings: {problem}"
    return played(forecast, settings)


def cheapest_known_cost(forecast: Forecast) -> float:
    """The cost of processing the burst through a queue in batches of 10, as fast as the account
    allows (the cost hardly depends on the cap; checkout throttled there would make it cheaper,
    never dearer): stored for the visible forecast and the graded seeds, played for others."""
    stored = STORED_CHEAPEST_COSTS.get(forecast)
    if stored is not None:
        return stored
    return played_cheapest_cost(forecast)


def played_cheapest_cost(forecast: Forecast) -> float:
    """`cheapest_known_cost` played in the capacity model."""
    most = min(MAXIMUM_CONCURRENCY_MAX, forecast.account_concurrency - minimum_unreserved(forecast.account_concurrency))
    return played(forecast, Settings(noisy_reserved=most, route_through_queue=True, batch_size=10,
                                     maximum_concurrency=most)).cost_usd


STORED_CHEAPEST_COSTS = {VISIBLE: VISIBLE_CHEAPEST_COST,
                         **{variant(seed): cost for seed, cost in UNSEEN_CHEAPEST_COSTS.items()}}


@pytest.mark.points(3)
def test_checkout_is_never_throttled_while_the_burst_is_processed(choose: Any) -> None:
    """Settings AWS accepts (at least 100 of the account stay unreserved; MaximumConcurrency 2 to
    1,000, on a queue route, not above the function's reserved concurrency; BatchSize 1 to 10),
    with which most of the burst is processed by the deadline and checkout is never throttled."""
    outcome = outcome_for(choose, VISIBLE)
    require_work(outcome.noisy_processed, VISIBLE.noisy_events, "uploads processed by the deadline")
    assert outcome.critical_throttles == 0, (
        f"checkout was throttled {outcome.critical_throttles:,} times (HTTP 429s to customers): "
        "the burst took the account's concurrency")


@pytest.mark.points(2)
def test_every_upload_is_processed_before_the_deadline(choose: Any) -> None:
    outcome = outcome_for(choose, VISIBLE)
    assert outcome.critical_throttles == 0, (
        f"the goals come in order: checkout was throttled {outcome.critical_throttles:,} times")
    assert outcome.noisy_processed == VISIBLE.noisy_events and not outcome.noisy_lost, (
        f"by the deadline {outcome.noisy_processed:,} of {VISIBLE.noisy_events:,} uploads were processed, "
        f"{outcome.noisy_lost:,} lost")
    assert outcome.noisy_done_s <= VISIBLE.drain_deadline_s, (
        f"the last upload was processed {outcome.noisy_done_s:,.0f} s after the burst began; "
        f"the deadline is {VISIBLE.drain_deadline_s:,.0f} s")


@pytest.mark.points(1)
def test_at_the_lowest_cost(choose: Any) -> None:
    outcome = outcome_for(choose, VISIBLE)
    problem = meets_goals(VISIBLE, outcome)
    assert problem is None, f"the goals come first: {problem}"
    best = cheapest_known_cost(VISIBLE)
    assert outcome.cost_usd <= COST_TOLERANCE * best, (
        f"the run cost ${outcome.cost_usd:.4f}; a cheaper configuration that meets the goals costs ${best:.4f}")


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", UNSEEN)
def test_a_forecast_you_have_not_seen(choose: Any, seed: int) -> None:
    """A forecast drawn from a seed: other accounts, rates, bursts, durations and deadlines; every
    goal, cost included."""
    forecast = variant(seed)
    outcome = outcome_for(choose, forecast)
    problem = meets_goals(forecast, outcome)
    assert problem is None, f"forecast {forecast}: {problem}"
    best = cheapest_known_cost(forecast)
    assert outcome.cost_usd <= COST_TOLERANCE * best, (
        f"forecast {forecast}: the run cost ${outcome.cost_usd:.4f}; a cheaper configuration costs ${best:.4f}")
