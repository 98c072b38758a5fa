"""A bad version of the orders processor, deployed by a canary and rolled back by its alarm
(`serverless_course.hardening.canary`, lesson 05-02)."""

from __future__ import annotations

import pytest

from lambdasim import Simulator
from serverless_course.hardening.bad_processor.regression import fails
from serverless_course.hardening.canary import PROCESSOR, bad_version_canary

pytestmark = pytest.mark.xdist_group("hardening-canary")


@pytest.fixture(scope="module")
def run():
    with Simulator(seed=2) as sim:
        result = bad_version_canary(sim, orders_per_minute=12, minutes=5)
        stored = sim.client("dynamodb").scan(TableName=sim.stacks["orders"].outputs["OrdersTableName"],
                                             Select="COUNT")["Count"]
        yield result, stored


def test_the_bad_version_fails_about_30_percent_of_orders() -> None:
    share = sum(fails(f"o-{i:06d}") for i in range(1000)) / 1000
    assert 0.25 <= share <= 0.35


def test_the_alarm_stops_the_canary_and_all_traffic_goes_back_to_version_1(run) -> None:
    result, _ = run
    deployment = result.deployment
    assert deployment.status == "RolledBack" and result.alarm in deployment.reason
    assert [p.percent for p in deployment.traffic] == [0.0, 10.0, 0.0]  # never past the canary
    rollback_minute = int((deployment.ended_at - deployment.started_at).total_seconds() // 60)
    first_error = next(m.minute for m in result.minutes if m.errors)
    assert rollback_minute == first_error + 1  # the alarm's next evaluation, at the next whole minute
    assert (deployment.ended_at, "ALARM") in result.alarm_states
    assert all(set(m.by_version) == {"1"} for m in result.minutes if m.minute >= rollback_minute and m.by_version)
    canary = [m for m in result.minutes if m.minute < rollback_minute]
    on_new = sum(m.by_version.get("2", 0) for m in canary) / sum(sum(m.by_version.values()) for m in canary)
    assert 0 < on_new < 0.3  # a 10 % canary, drawn invocation by invocation


def test_no_order_is_lost_the_failed_ones_are_retried_by_version_1(run) -> None:
    result, stored = run
    assert result.orders == 60 and stored == result.orders
