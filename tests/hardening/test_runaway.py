"""A function that writes to the queue it reads, stopped by Lambda's recursive loop detection,
and the price of a day of it unstopped (`serverless_course.hardening.runaway`, lesson 05-03)."""

from __future__ import annotations

import pytest

from lambdasim import Simulator
from lambdasim.rules import recursion
from serverless_course import prices
from serverless_course.hardening.runaway import daily_cost, deploy_loop, run_loop

pytestmark = pytest.mark.xdist_group("hardening-runaway")


def test_the_loop_is_stopped_after_16_invocations_and_the_order_lands_in_the_dead_letter_queue() -> None:
    with Simulator(seed=1) as sim:
        run = run_loop(sim, deploy_loop(sim))
    assert run.invocations == recursion.MAX_CHAIN_INVOCATIONS
    assert run.stops >= 1 and run.in_dead_letter_queue == 1


def test_with_recursive_loop_allow_the_loop_keeps_going() -> None:
    with Simulator(seed=1) as sim:
        run = run_loop(sim, deploy_loop(sim), recursive_loop="Allow", seconds=1.0)
    assert run.invocations > recursion.MAX_CHAIN_INVOCATIONS and run.stops == 0 and run.in_dead_letter_queue == 0


def test_a_day_of_the_loop_costs_its_requests_and_gb_seconds() -> None:
    cost = daily_cost(seconds_per_hop=1.0, billed_ms_per_invocation=100, memory_mb=1024)
    assert cost.invocations == 86_400 and cost.sqs_requests == 3 * 86_400
    assert cost.lambda_usd == pytest.approx(86_400 * (prices.LAMBDA_REQUEST.usd + 0.1 * prices.LAMBDA_GB_SECOND_X86.usd))
    assert cost.sqs_usd == pytest.approx(3 * 86_400 * prices.SQS_STANDARD_REQUEST.usd)
    assert cost.total_usd == pytest.approx(cost.lambda_usd + cost.sqs_usd)
