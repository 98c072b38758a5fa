"""The capacity model plays the orders pipeline as the simulator plays it (issue 16).

Each scenario is scaled down so that one ceiling of the pipeline binds: API Gateway's account
bucket, the stage's throttle, the account's concurrency pool (the ingest function), the
processor's reserved concurrency, EventBridge's PutEvents quota, its target-invocation quota, the
mapping's MaximumConcurrency, the batching window, the orders table's provisioned writes, and
writes so scarce that records reach the dead-letter queue. Each runs twice with the same seed:
through `lambdasim.Simulator` (the real template and handlers on moto, fixed base durations with
`sim.set_duration`; `capacity.scenarios.simulate_pipeline`) and through the capacity model
(`capacity.pipeline.run_pipeline`). The counts (answers by status, throttles at every stage,
invocations, orders processed, dead-lettered) must be equal.

Latency percentiles must agree within 1 ms: both engines place every event at the same integer
microsecond, except that the simulator's SQS poller wakes 2 us after a hidden message's
visibility time (moto compares float milliseconds, `pollers.sqs._after_ms`) where the model
compares microseconds, so an order retried after its visibility timeout can finish a few
microseconds apart. Arrival times carry odd microseconds so that no request ties with the end of
an invocation.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from lambdasim.dynamodb_capacity import DynamoDBLimits
from serverless_course.capacity import arrivals
from serverless_course.capacity.pipeline import ApiStageThrottle, Durations, run_pipeline
from serverless_course.capacity.scenarios import simulate_pipeline
from serverless_course.scaling.settings import Ceilings, PipelineSettings

pytestmark = pytest.mark.xdist_group("pipeline_agreement")  # one worker runs the module's fixture

LATENCY_TOLERANCE_S = 0.001


def _odd(times_us: np.ndarray) -> np.ndarray:
    return (times_us // 1000) * 1000 + 7


def _spike(count: int, over_s: float, seed: int) -> np.ndarray:
    return _odd(arrivals.spike(count, 0.5, over_s, seed=seed))


# name -> (what binds, keyword arguments of both runners); `claim` names the count that shows it.
SCENARIOS = {
    "api_account_bucket": ("api_429_account", dict(
        settings=PipelineSettings(), ceilings=Ceilings(api_rate_per_s=10, api_burst=5),
        arrivals=_spike(25, 1.5, 1))),
    "api_stage_throttle": ("api_429_method", dict(
        settings=PipelineSettings(), ceilings=Ceilings(), api_stage=ApiStageThrottle(8, 4),
        arrivals=_spike(25, 1.5, 2))),
    "ingest_account_pool": ("ingest_throttles", dict(
        settings=PipelineSettings(), ceilings=Ceilings(account_concurrency=3), arrivals=_spike(25, 0.3, 3))),
    "processor_reserved_concurrency": ("processor_throttles", dict(
        settings=PipelineSettings(batch_size=2, batching_window_s=0, processor_reserved_concurrency=1),
        ceilings=Ceilings(), arrivals=_spike(25, 1.0, 4))),
    "put_events_tps": ("put_events_throttles", dict(
        settings=PipelineSettings(), ceilings=Ceilings(put_events_tps=8), arrivals=_spike(20, 1.0, 5))),
    "target_invocations": ("target_throttles", dict(
        settings=PipelineSettings(), ceilings=Ceilings(target_invocations_tps=5), arrivals=_spike(20, 1.0, 6))),
    "maximum_concurrency": ("processor_invocations", dict(
        settings=PipelineSettings(batch_size=2, batching_window_s=0, maximum_concurrency=2),
        ceilings=Ceilings(), arrivals=_spike(24, 0.5, 7), durations=Durations(processor_fixed_ms=200))),
    "batching_window": ("processor_invocations", dict(
        settings=PipelineSettings(batch_size=50, batching_window_s=3), ceilings=Ceilings(),
        arrivals=_odd(arrivals.poisson(12, 4.0, seed=8)))),
    "dynamodb_provisioned_writes": ("orders_table_throttles", dict(
        settings=PipelineSettings(table_billing_mode="PROVISIONED", table_write_capacity_units=8,
                                  table_read_capacity_units=1),
        ceilings=Ceilings(), arrivals=_spike(20, 1.0, 9), dynamodb_limits=DynamoDBLimits(burst_seconds=1))),
    "dynamodb_to_dead_letter_queue": ("dead_lettered", dict(
        settings=PipelineSettings(table_billing_mode="PROVISIONED", table_write_capacity_units=1,
                                  table_read_capacity_units=1),
        ceilings=Ceilings(), arrivals=_spike(30, 0.5, 10), dynamodb_limits=DynamoDBLimits(burst_seconds=1))),
}


@pytest.fixture(scope="module")
def runs():
    """Every scenario through both engines, once (a deploy per scenario)."""
    out = {}
    for name, (_, kwargs) in SCENARIOS.items():
        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' Powertools log lines
            simulated = simulate_pipeline(seed=11, **kwargs)
        out[name] = (simulated, run_pipeline(seed=11, **kwargs))
    return out


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_model_counts_what_the_simulator_counts(runs, name):
    (counts, _), modelled = runs[name]
    assert modelled.counts() == counts


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_latency_percentiles_agree(runs, name):
    (_, latencies), modelled = runs[name]
    for q in (50, 99):
        assert abs(np.percentile(modelled.latencies_s, q) - np.percentile(latencies, q)) <= LATENCY_TOLERANCE_S


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_scenario_binds_where_it_says(runs, name):
    """Not vacuous: the ceiling a scenario is named for refuses or shapes work."""
    claim, _ = SCENARIOS[name]
    counts = runs[name][1].counts()
    if claim == "processor_invocations":  # batches shaped by MaximumConcurrency or the window
        baseline = run_pipeline(seed=11, **{**SCENARIOS[name][1], "settings": PipelineSettings()})
        assert counts[claim] != baseline.counts()[claim]
    else:
        assert counts[claim] > 0
