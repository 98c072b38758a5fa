"""Graded tests of lab 02: meet the SLO.

Each test calls your `choose(forecast)` and plays the forecast's traffic through the whole orders
pipeline with your settings in the course's capacity model (`serverless_course.capacity.pipeline`:
the simulator's own API Gateway, Lambda, EventBridge, SQS and DynamoDB rules), then checks the
SLO's terms. Nothing reads your source. A test pays only when most orders were stored (a pipeline
that stores nothing loses nothing to the DLQ and costs nothing), and the terms come in order: the
others pay only when the p99 term is met (a pipeline too slow for its SLO is not rescued by being
cheap), and cost only when nothing was lost as well. Forecasts you do not see are graded too: the
seeds below, one per traffic shape, and instructors may add others with the environment variable
LAB02_SEEDS (comma-separated).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import pytest

from labgrader import NothingDone, require_work
from serverless_course.capacity.pipeline import MAX_RECEIVE_COUNT, PipelineResult, SloBreach
from serverless_course.capacity.slo_lab import Forecast, problems, run, variant
from serverless_course.scaling.settings import PipelineSettings

VISIBLE = Forecast()
UNSEEN = [138, 109, 101] + [int(s) for s in os.environ.get("LAB02_SEEDS", "").split(",") if s.strip()]
LATENCY, LOST = "p99 latency s", "orders lost"
SHOWN = 3  # breaches named in a failure message


@pytest.fixture
def choose(submission: Any) -> Any:
    # Runs in a process of its own; what it returns crosses back only as a PipelineSettings.
    module = submission.load("settings", accepts=(PipelineSettings,))
    assert callable(getattr(module, "choose", None)), "settings.py must define choose(forecast)"
    return module.choose


@functools.cache
def played(forecast: Forecast, settings: PipelineSettings) -> PipelineResult:
    """One run per forecast and settings, whichever tests ask for it."""
    return run(forecast, settings)


def described(breaches: list[SloBreach]) -> str:
    more = f"; and {len(breaches) - SHOWN} more" if len(breaches) > SHOWN else ""
    return "; ".join(str(b) for b in breaches[:SHOWN]) + more


def result_for(choose: Any, forecast: Forecast) -> PipelineResult:
    """The run of your settings for `forecast`, once they are settings AWS accepts and most
    orders were stored."""
    settings = choose(forecast)
    assert isinstance(settings, PipelineSettings), "choose(forecast) must return a PipelineSettings"
    problem = problems(forecast, settings)
    if problem:
        pytest.fail(f"AWS would refuse these settings: {problem}", pytrace=False)
    result = played(forecast, settings)
    try:
        require_work(result.processed, result.orders, "orders stored")
    except NothingDone as exc:
        raise NothingDone(f"{exc}: {described(result.breaches(forecast.slo))}") from None
    return result


def breaches_of(forecast: Forecast, result: PipelineResult, metric: str) -> list[SloBreach]:
    return [b for b in result.breaches(forecast.slo) if b.metric == metric]


def require_latency(forecast: Forecast, result: PipelineResult) -> None:
    late = breaches_of(forecast, result, LATENCY)
    if late:
        pytest.fail(f"the terms come in order: the p99 term failed first ({described(late)})", pytrace=False)


@pytest.mark.points(3)
def test_p99_latency_is_under_the_bound_every_minute(choose: Any) -> None:
    """Settings AWS accepts, most orders stored, and in every minute the p99 of the orders that
    arrived in it (API request to order stored) is under the bound."""
    result = result_for(choose, VISIBLE)
    late = breaches_of(VISIBLE, result, LATENCY)
    if late:
        pytest.fail(f"p99 over {VISIBLE.slo.p99_latency_s:g} s in {len(late)} minute(s), by stage and minute: "
                    f"{described(late)}", pytrace=False)


@pytest.mark.points(2)
def test_nothing_is_lost(choose: Any) -> None:
    """Every request the clients sent is an order stored: a refusal at the front door (429,
    500, 502, 503), a dead-lettered order or one still queued is lost."""
    result = result_for(choose, VISIBLE)
    require_latency(VISIBLE, result)
    if result.lost:
        refused = {status: n for status, n in result.responses.items() if status != 202}
        pytest.fail(f"{result.lost:,} of {result.orders:,} orders lost (answers other than 202: {refused or 'none'}; "
                    f"dead-lettered {result.dead_lettered:,}), first: {described(breaches_of(VISIBLE, result, LOST))}",
                    pytrace=False)


@pytest.mark.points(1)
def test_the_dead_letter_queue_stays_empty(choose: Any) -> None:
    result = result_for(choose, VISIBLE)
    require_latency(VISIBLE, result)
    if result.dead_lettered:
        minute = int(result.series["dead_lettered"].nonzero()[0][0])
        pytest.fail(f"dlq in minute {minute}: {result.dead_lettered:,} orders dead-lettered after "
                    f"{MAX_RECEIVE_COUNT} receives each (DynamoDB refused {sum(result.dynamodb_throttles.values()):,} "
                    f"writes; Lambda throttled the processor {result.processor_throttles:,} times)", pytrace=False)


@pytest.mark.points(2)
def test_cost_per_million_orders_is_within_budget(choose: Any) -> None:
    result = result_for(choose, VISIBLE)
    require_latency(VISIBLE, result)
    if result.lost:
        pytest.fail(f"the terms come in order: {result.lost:,} orders were lost", pytrace=False)
    budget = VISIBLE.slo.max_cost_per_million_usd
    if result.cost_per_million_usd > budget:
        lines = ", ".join(f"{line} ${usd / result.processed * 1e6:.2f}" for line, usd in result.cost_usd.items())
        pytest.fail(f"cost: ${result.cost_per_million_usd:.2f} per million orders, over the budget of ${budget:.2f} "
                    f"({lines})", pytrace=False)


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", UNSEEN)
def test_traffic_you_have_not_seen(choose: Any, seed: int) -> None:
    """A forecast drawn from a seed: another traffic shape (a spike, a sawtooth, a thundering herd
    after an outage), rates, handler durations and SLO; every term."""
    forecast = variant(seed)
    result = result_for(choose, forecast)
    breaches = result.breaches(forecast.slo)
    if breaches:
        pytest.fail(f"forecast {seed} ({forecast}): {described(breaches)}", pytrace=False)
