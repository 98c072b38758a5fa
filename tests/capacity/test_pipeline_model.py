"""`capacity.pipeline.run_pipeline` as lab 02 and the cost-latency lesson use it: the SLO breach
names the stage and the minute, the levers move cost and latency the way they should, and the
cost adds up from the prices. (Agreement with the simulator: test_pipeline_agreement.py.)"""

from __future__ import annotations

import math

import pytest

from serverless_course import prices
from serverless_course.capacity import arrivals
from serverless_course.capacity.pipeline import ORDER_WRITE_UNITS, Slo, run_pipeline
from serverless_course.scaling.settings import Ceilings, PipelineSettings


def test_a_breach_names_the_stage_and_the_minute():
    """Refused at the front door in minute 1 only (a spike over the account's bucket): the lost
    orders point at API Gateway and minute 1; the spike's latency is fine."""
    traffic = arrivals.combine(arrivals.steady(5, 180.0), arrivals.spike(300, 75.0, 2.0, seed=1))
    result = run_pipeline(PipelineSettings(), Ceilings(api_rate_per_s=50, api_burst=50), traffic, seed=1)
    assert result.api_throttles["account"] > 0
    assert result.series["api_throttled"].nonzero()[0].tolist() == [1]
    (breach,) = result.breaches(Slo(p99_latency_s=10.0))
    assert (breach.stage, breach.minute, breach.metric, breach.value) == ("api", 1, "orders lost", result.lost)


def test_a_latency_breach_points_at_the_stage_that_held_orders_back():
    """One processor at a time, batches of 1 with no window: the queue backs up behind the
    reserved concurrency and the p99 passes 5 s in the first minute."""
    result = run_pipeline(PipelineSettings(batch_size=1, batching_window_s=0, processor_reserved_concurrency=1),
                          Ceilings(), arrivals.steady(40, 30.0), seed=2)
    assert result.lost == 0 and result.p99_s > 5
    breach = result.breaches(Slo(p99_latency_s=5.0))[0]
    assert (breach.stage, breach.minute) == ("processor", 0)


@pytest.mark.parametrize(("batch_size", "short_s", "long_s"), [(10, 0, 1), (100, 1, 5)])
def test_a_longer_window_means_fewer_invocations_and_slower_orders(batch_size, short_s, long_s):
    """20 orders a second: a window shorter than a full batch's arrival invokes sooner and more."""
    traffic = arrivals.poisson(20, 60.0, seed=3)
    short, long = (run_pipeline(PipelineSettings(batch_size=batch_size, batching_window_s=w), Ceilings(), traffic,
                                seed=3) for w in (short_s, long_s))
    assert long.processor_invocations < short.processor_invocations
    assert long.p50_s > short.p50_s


def test_a_provisioned_table_pays_for_its_capacity_hours_not_its_writes():
    traffic = arrivals.steady(10, 60.0)
    on_demand = run_pipeline(PipelineSettings(), Ceilings(), traffic, seed=4)
    provisioned = run_pipeline(PipelineSettings(table_billing_mode="PROVISIONED", table_write_capacity_units=50,
                                                table_read_capacity_units=5), Ceilings(), traffic, seed=4)
    assert provisioned.processed == on_demand.processed == 600
    hours = provisioned.end_s / 3600
    orders_on_demand = 600 * ORDER_WRITE_UNITS * prices.DYNAMODB_WRITE_REQUEST_UNIT.usd
    orders_provisioned = hours * (50 * prices.DYNAMODB_WCU_HOUR.usd + 5 * prices.DYNAMODB_RCU_HOUR.usd)
    assert math.isclose(provisioned.cost_usd["dynamodb"] - on_demand.cost_usd["dynamodb"],
                        orders_provisioned - orders_on_demand, rel_tol=1e-9)


def test_an_event_the_target_quota_delays_past_its_maximum_age_is_dead_lettered():
    """The rule's target keeps an event it cannot invoke for MaximumEventAgeInSeconds (24 h by
    default, eb-rule-retry-policy.html), then sends it to the target's DLQ (the orders DLQ)."""
    result = run_pipeline(PipelineSettings(), Ceilings(target_invocations_tps=0.0001), arrivals.steady(2, 5.0), seed=1)
    assert (result.processed, result.dead_lettered) == (1, 9)  # the bucket held one token
    (breach,) = result.breaches(Slo())
    assert (breach.stage, breach.minute) == ("dlq", 24 * 60)
