"""The capacity model agrees with the moto-backed simulator on small scenarios.

Each scenario runs twice with the same seed: through `lambdasim.Simulator` (real handlers,
boto3 calls into moto, the simulator's pollers and async queue) and through
`serverless_course.capacity.CapacityModel` (counts only, the same `lambdasim.rules`). The counts
of invocations, function errors, throttles, cold starts and dead-lettered events must be equal:
on four named scenarios, and on random mixes drawn from seeds.
Arrival times carry odd microseconds so that no arrival ties with the end of an invocation.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from serverless_course.capacity import arrivals
from serverless_course.capacity.scenarios import FunctionSetup, QueueSetup, Scenario, Traffic, run_model, run_simulator


def _odd(times_us: np.ndarray) -> np.ndarray:
    return (times_us // 1000) * 1000 + 7


def eventbridge_to_lambda() -> Scenario:
    """A spike through EventBridge to a function capped by reserved concurrency: throttles,
    throttle backoff, function-error retries and events given up to the DLQ (event age 60 s)."""
    return Scenario(
        seed=3,
        functions=[FunctionSetup("consumer", duration_ms=400, reserved=4, fail_every=9,
                                 maximum_retry_attempts=1, maximum_event_age_s=60)],
        traffic=[Traffic("eventbridge", "consumer", _odd(arrivals.spike(120, 1.0, 2.0, seed=3)))],
    )


def account_pool() -> Scenario:
    """A noisy synchronous spike and a steady critical function share a small account pool,
    with a slow scaling rate: account and scaling-rate throttles of both."""
    return Scenario(
        seed=5,
        account_concurrency=30,
        scaling_rate=(20, 1.0),
        functions=[FunctionSetup("noisy", duration_ms=900), FunctionSetup("critical", duration_ms=150, fail_every=17)],
        traffic=[
            Traffic("sync", "noisy", _odd(arrivals.spike(200, 2.0, 1.5, seed=5))),
            Traffic("sync", "critical", _odd(arrivals.poisson(8, 6.0, seed=6))),
        ],
    )


def sqs_with_dlq() -> Scenario:
    """SQS -> Lambda with MaximumConcurrency and a redrive policy: a failing record fails its
    whole batch, which is retried after the visibility timeout and ends in the DLQ."""
    return Scenario(
        seed=11,
        functions=[FunctionSetup("worker", duration_ms=250, fail_every=23)],
        queues=[QueueSetup("jobs", function="worker", visibility_timeout_s=5, max_receive_count=2,
                           batch_size=5, maximum_concurrency=3)],
        traffic=[Traffic("sqs", "jobs", _odd(arrivals.poisson(60, 2.0, seed=11)))],
    )


def eventbridge_to_sqs_partial() -> Scenario:
    """EventBridge -> SQS -> Lambda with ReportBatchItemFailures and a neighbour: only the
    failing records are retried; the queue absorbs the spike."""
    return Scenario(
        seed=13,
        account_concurrency=1000,
        functions=[FunctionSetup("worker", duration_ms=300, fail_every=10),
                   FunctionSetup("api", duration_ms=50, reserved=5)],
        queues=[QueueSetup("buffer", function="worker", visibility_timeout_s=4, max_receive_count=3,
                           batch_size=10, maximum_concurrency=2, report_batch_item_failures=True)],
        traffic=[Traffic("eventbridge", "buffer", _odd(arrivals.spike(150, 0.5, 1.0, seed=13))),
                 Traffic("sync", "api", _odd(arrivals.steady(40, 3.0, start_s=0.0011)))],
    )


def random_scenario(seed: int) -> Scenario:
    """A small scenario mixing everything, drawn from a seed: async or EventBridge -> Lambda with
    reserved concurrency, errors, retries and event age; SQS or EventBridge -> SQS -> Lambda with
    MaximumConcurrency, redrive and partial batch responses; synchronous calls; sometimes a small
    account pool or a slow scaling rate. (60 seeds were checked when this test was written; the
    suite plays three, beside the four named scenarios.)"""
    rng = random.Random(seed)
    functions = [
        FunctionSetup("a", duration_ms=rng.choice([120, 300, 700]), reserved=rng.choice([None, 3, 6]),
                      fail_every=rng.choice([0, 7, 13]), maximum_retry_attempts=rng.choice([0, 1, 2]),
                      maximum_event_age_s=rng.choice([60, 120])),
        FunctionSetup("b", duration_ms=rng.choice([80, 250]), fail_every=rng.choice([0, 11])),
    ]
    queues = [QueueSetup("q", function="b", visibility_timeout_s=rng.choice([3, 5, 10]),
                         max_receive_count=rng.choice([2, 3]), batch_size=rng.choice([1, 4, 10]),
                         maximum_concurrency=rng.choice([None, 2, 5]),
                         report_batch_item_failures=rng.choice([False, True]))]
    traffic = [
        Traffic(rng.choice(["async", "eventbridge"]), "a",
                _odd(arrivals.spike(rng.randint(20, 80), 0.5, 2.0, seed=seed))),
        Traffic(rng.choice(["sqs", "eventbridge"]), "q", _odd(arrivals.poisson(rng.choice([10, 40]), 3.0, seed=seed + 1))),
        Traffic("sync", "b", _odd(arrivals.poisson(5, 4.0, seed=seed + 2))),
    ]
    small_pool = rng.choice([20, 1000])
    return Scenario(seed=seed, functions=functions, queues=queues, traffic=traffic,
                    account_concurrency=small_pool if all(f.reserved is None for f in functions) else 1000,
                    scaling_rate=rng.choice([(1000, 10.0), (5, 1.0)]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_model_agrees_with_simulator_on_random_scenarios(seed):
    scenario = random_scenario(seed)
    assert run_model(scenario).counts() == run_simulator(scenario)


SCENARIOS = {f.__name__: f for f in (eventbridge_to_lambda, account_pool, sqs_with_dlq, eventbridge_to_sqs_partial)}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_model_agrees_with_simulator(name):
    scenario = SCENARIOS[name]()
    simulated = run_simulator(scenario)
    modelled = run_model(scenario).counts()
    assert modelled == simulated


def test_scenarios_exercise_what_they_claim():
    """The scenarios are not vacuous: each rule they are about fires."""
    eb = run_model(eventbridge_to_lambda()).counts()["consumer"]
    assert eb["throttles"] > 0 and eb["errors"] > 0 and eb["async_dropped"] > 0
    pool = run_model(account_pool())
    assert pool.functions["critical"].throttles > 0
    assert set(pool.functions["noisy"].throttles_by_limit) == {"account", "scaling-rate"}
    sqs = run_model(sqs_with_dlq()).counts()
    assert sqs["jobs"]["dead_lettered"] > 0 and sqs["worker"]["errors"] > 0
    partial = run_model(eventbridge_to_sqs_partial()).counts()
    assert partial["buffer"]["dead_lettered"] == 15 and partial["buffer"]["deleted"] == 135
