"""`scaling.settings`: the ranges AWS documents are refused with a clear message, the settings
become the orders template's parameters, and the ceilings become the simulator's quotas."""

from __future__ import annotations

import pytest
from cfnlint.decode import decode

from lambdasim.rules.throughput import RateLimit
from serverless_course.pipeline import TEMPLATE
from serverless_course.scaling.settings import Ceilings, PipelineSettings


@pytest.mark.parametrize(("settings", "message"), [
    (dict(batch_size=0), "batch_size must be 1 to 10000"),
    (dict(batch_size=11, batching_window_s=0), "needs batching_window_s of at least 1"),
    (dict(batching_window_s=301), "batching_window_s must be 0 to 300"),
    (dict(maximum_concurrency=1), "maximum_concurrency must be 2 to 1000"),
    (dict(processor_reserved_concurrency=-1), "processor_reserved_concurrency must be at least 0"),
    (dict(processor_memory_mb=10_241), "processor_memory_mb must be 128 to 10240"),
    (dict(table_billing_mode="ON_DEMAND"), "table_billing_mode must be one of"),
    (dict(table_billing_mode="PROVISIONED", table_write_capacity_units=5), "needs table_read_capacity_units"),
    (dict(table_write_capacity_units=5), "applies to a PROVISIONED table only"),
])
def test_out_of_range_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        PipelineSettings(**settings)


@pytest.mark.parametrize(("settings", "message"), [
    (dict(batch_size="10"), r"batch_size must be a whole number, not '10' \(str\)"),
    (dict(batching_window_s=0.5), r"batching_window_s must be a whole number, not 0.5 \(float\)"),
    (dict(maximum_concurrency=True), r"maximum_concurrency must be a whole number, not True \(bool\)"),
])
def test_settings_of_the_wrong_type_are_refused_in_words(settings, message):
    with pytest.raises(TypeError, match=message):
        PipelineSettings(**settings)


def test_rates_may_be_fractions_but_counts_may_not():
    assert Ceilings(put_events_tps=2.5).put_events_tps == 2.5
    with pytest.raises(TypeError, match="account_concurrency must be a whole number"):
        Ceilings(account_concurrency=10.0)


def test_a_reservation_must_leave_a_hundred_unreserved():
    PipelineSettings(processor_reserved_concurrency=900).check_against(Ceilings())
    with pytest.raises(ValueError, match="more than the 900"):
        PipelineSettings(processor_reserved_concurrency=901).check_against(Ceilings())
    with pytest.raises(ValueError, match="more than the 0"):  # under 100, the whole quota stays unreserved
        PipelineSettings(processor_reserved_concurrency=1).check_against(Ceilings(account_concurrency=50))


def test_the_defaults_are_the_templates_defaults():
    template, problems = decode(str(TEMPLATE))
    assert not problems
    defaults = {name: str(p["Default"]) for name, p in template["Parameters"].items()}
    parameters = PipelineSettings().template_parameters()
    assert parameters == {name: defaults[name] for name in parameters}
    provisioned = PipelineSettings(table_billing_mode="PROVISIONED", table_write_capacity_units=5,
                                   table_read_capacity_units=2).template_parameters()
    # Every parameter a load test tunes; Tracing and LogFormat are module 4's (observability.orders_run).
    assert set(provisioned) == set(defaults) - {"Tracing", "LogFormat"}
    assert (provisioned["OrdersTableWriteCapacity"], provisioned["OrdersTableReadCapacity"]) == ("5", "2")


def test_the_ceilings_become_the_simulators_quotas():
    sim = Ceilings(account_concurrency=20, api_rate_per_s=7.5, api_burst=3, put_events_tps=4,
                   target_invocations_tps=2.5).simulator(seed=1)
    assert sim.concurrency_limits.account_limit == 20
    assert sim.api_gateway.account_throttle == RateLimit(7.5, 3)
    assert sim.eventbridge.put_events_limit == RateLimit.per_second(4)
    assert sim.eventbridge.invocations_limit == RateLimit.per_second(2.5)
