"""Conformance: concurrency, reserved concurrency, the scaling rate and throttling
(lambdasim/rules/concurrency.py, lambdasim/environments.py; gettingstarted-limits.html,
configuration-concurrency.html, scaling-behavior.html).

Scenarios stay small: the account pool is a parameter (`Simulator(account_concurrency=...)`),
and so is the scaling rate, which is also tested at AWS's scale on the pure rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from lambdasim import Simulator, Throttled
from lambdasim.rules import concurrency as cc

FIXTURES = Path(__file__).parent / "fixtures"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def _function(sim, name, **kwargs):
    kwargs.setdefault("Timeout", 30)
    sim.create_function(FunctionName=name, Handler="handlers.work", code_dir=FIXTURES / "coldstart", **kwargs)


def _burst(sim, name, n, sleep=1.0, at=0.0):
    """n synchronous invokes from scheduled callbacks at the same instant; returns their
    outcomes ("ok" or the 429 Reason), in order."""
    lam = sim.client("lambda", config=NO_RETRIES)
    outcomes: list[str] = []

    def call():
        try:
            lam.invoke(FunctionName=name, Payload=json.dumps({"sleep": sleep}))
            outcomes.append("ok")
        except lam.exceptions.TooManyRequestsException as e:
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            outcomes.append(e.response["Reason"])

    for _ in range(n):
        sim.schedule(at, call)
    return outcomes


def test_invocations_at_the_same_instant_run_in_parallel_environments():
    """lambda-concurrency.html: an environment handles one request at a time; concurrent
    requests (scheduled callbacks or async events at the same instant) get new environments,
    and concurrency is the number busy at an instant."""
    with Simulator(seed=3) as sim:
        _function(sim, "f")
        outcomes = _burst(sim, "f", 3)
        lam = boto3.client("lambda")
        for _ in range(2):
            lam.invoke(FunctionName="f", InvocationType="Event", Payload=b'{"sleep": 1}')
        sim.run_for(0.5)
        assert outcomes == ["ok"] * 3
        assert sim.concurrency("f") == sim.concurrency() == 5
        assert len(sim.environments("f")) == 5
        assert len({r.environment_id for r in sim.invocations}) == 5
        assert all(r.cold_start for r in sim.invocations)
        sim.run_for(2)
        assert sim.concurrency() == 0


def test_account_pool_exhaustion_throttles_sync_with_aws_429_body():
    """gettingstarted-limits.html / invocation-retries.html: beyond the account's concurrency
    a synchronous Invoke fails with 429 TooManyRequestsException, body
    {"Reason": "ConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."};
    the throttle is not an invocation (monitoring-metrics-types.html: Throttles)."""
    with Simulator(seed=3, account_concurrency=2) as sim:
        _function(sim, "f")
        outcomes = _burst(sim, "f", 3)
        sim.run_for(0.1)
        assert outcomes == ["ok", "ok", "ConcurrentInvocationLimitExceeded"]
        lam = sim.client("lambda", config=NO_RETRIES)
        with pytest.raises(lam.exceptions.TooManyRequestsException) as info:
            lam.invoke(FunctionName="f", Payload=b"{}")
        response = info.value.response
        assert response["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
        assert (response["Reason"], response["Type"], response["message"]) == (
            "ConcurrentInvocationLimitExceeded", "User", "Rate Exceeded.")
        assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "TooManyRequestsException"
        assert len(sim.invocations) == 2
        assert [(t.function_name, t.reason, t.limit, t.invocation_type) for t in sim.throttles] == [
            ("f", "ConcurrentInvocationLimitExceeded", "account", "RequestResponse")] * 2
        assert sim.throttles[1].at_us - sim.throttles[0].at_us == 100_000
        sim.run_for(2)  # both environments are free again: the next call runs warm
        lam.invoke(FunctionName="f", Payload=b"{}")
        assert sim.invocations[-1].cold_start is False


def test_a_timed_out_invocation_holds_its_concurrency_until_its_end():
    """lambda-concurrency.html: concurrency is in-flight requests; an invocation that times out
    is in flight until its timeout, even though its environment is then discarded."""
    with Simulator(seed=3, account_concurrency=1) as sim:
        _function(sim, "f", Timeout=2)
        first = _burst(sim, "f", 1, sleep=5, at=0.0)
        during = _burst(sim, "f", 1, sleep=0, at=1.0)
        after = _burst(sim, "f", 1, sleep=0, at=2.5)
        sim.run_for(3)
        assert (first, during, after) == (["ok"], [cc.REASON_ACCOUNT], ["ok"])
        assert sim.invocations[0].timed_out and sim.invocations[0].environment_id not in {
            e.id for e in sim.environments("f")}


def test_execute_raises_throttled_for_every_invocation_type():
    """errors.Throttled is the one signal of a refusal (the async queue and pollers apply their
    own rules); the 429 body comes from rules/concurrency.py."""
    with Simulator(seed=3, account_concurrency=1) as sim:
        _function(sim, "f")
        service = sim._service
        from lambdasim.moto_state import resolve_function

        config, arn = resolve_function(sim.account_id, sim.region, "f", None)
        service.execute(service.new_request(config, arn, b'{"sleep": 1}', "Event", source="test"))
        with pytest.raises(Throttled) as info:
            service.execute(service.new_request(config, arn, b"{}", "RequestResponse", source="sqs"))
        assert info.value.reason == cc.REASON_ACCOUNT and info.value.function_name == "f"
        assert sim.throttles[-1].source == "sqs"
        assert cc.throttle_body(info.value.reason) == {
            "Reason": "ConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}


def test_reserved_concurrency_caps_and_guarantees():
    """configuration-concurrency.html: reserved concurrency is both the function's cap
    (Reason ReservedFunctionConcurrentInvocationLimitExceeded) and a guarantee: a spike on
    another function cannot take it, and it is taken out of the unreserved pool."""
    with Simulator(seed=3, account_concurrency=104) as sim:
        _function(sim, "noisy")
        _function(sim, "critical")
        lam = boto3.client("lambda")
        lam.put_function_concurrency(FunctionName="critical", ReservedConcurrentExecutions=3)
        assert lam.get_function_concurrency(FunctionName="critical")["ReservedConcurrentExecutions"] == 3
        noisy = _burst(sim, "noisy", 103)
        critical = _burst(sim, "critical", 4)
        sim.run_for(0.5)
        assert noisy.count("ok") == 101 and noisy[-2:] == [cc.REASON_ACCOUNT] * 2  # 104 - 3
        assert critical == ["ok"] * 3 + [cc.REASON_RESERVED]
        assert sim.concurrency("critical") == 3 and sim.concurrency() == 104
        settings = lam.get_account_settings()["AccountLimit"]
        assert (settings["ConcurrentExecutions"], settings["UnreservedConcurrentExecutions"]) == (104, 101)


def test_reserved_concurrency_zero_throttles_everything():
    """configuration-concurrency.html: reserved concurrency 0 throttles every invocation."""
    with Simulator(seed=3) as sim:
        _function(sim, "off")
        lam = sim.client("lambda", config=NO_RETRIES)
        lam.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
        with pytest.raises(lam.exceptions.TooManyRequestsException) as info:
            lam.invoke(FunctionName="off", Payload=b"{}")
        assert info.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert sim.invocations == [] and sim.environments("off") == []
        lam.delete_function_concurrency(FunctionName="off")
        lam.invoke(FunctionName="off", Payload=b"{}")
        assert len(sim.invocations) == 1


def test_at_least_100_stays_unreserved():
    """configuration-concurrency.html: you can reserve up to the unreserved account concurrency
    minus 100; AWS answers 400 InvalidParameterValueException "... below its minimum value of
    [100]." (accounts with a quota under 100 report the quota as the minimum). moto checks this
    only with MOTO_LAMBDA_CONCURRENCY_QUOTA; the simulator always does."""
    with Simulator(seed=3) as sim:
        for name in ("a", "b"):
            _function(sim, name)
        lam = boto3.client("lambda")
        lam.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=900)
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match=r"minimum value of \[100\]\.$"):
            lam.put_function_concurrency(FunctionName="b", ReservedConcurrentExecutions=1)
        lam.put_function_concurrency(FunctionName="a", ReservedConcurrentExecutions=899)  # replaces its own
        lam.put_function_concurrency(FunctionName="b", ReservedConcurrentExecutions=1)
        assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    assert cc.reserved_concurrency_error(50, {}, "f", 1) == (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [50].")
    assert cc.reserved_concurrency_error(1000, {"x": 400}, "f", 500) is None


def test_scaling_rate_rule_at_aws_scale():
    """scaling-behavior.html: each function can add 1,000 execution environments every 10 s,
    refilled continuously, never banking more than 1,000; functions scale independently."""
    rate = cc.ScalingRate()
    assert (rate.environments, rate.per_seconds) == (1000, 10.0)
    t0 = 1_000_000_000
    assert all(rate.try_take("f", t0) for _ in range(1000))
    assert rate.try_take("f", t0) is False
    assert rate.try_take("g", t0) is True  # per function
    assert rate.available("f", t0 + 5_000_000) == 500
    assert rate.available("f", t0 + 60_000_000) == 1000  # not 6,000: unused rate is not banked
    assert rate.try_take("f", t0 + 10_000) is True  # 10 ms refill 1 environment


def test_scaling_rate_throttles_new_environments_not_warm_ones():
    """scaling-behavior.html, at a small configured rate (2 per 10 s): a burst beyond the rate
    throttles (429), warm environments are reused without using the rate, and the rate refills."""
    with Simulator(seed=3, scaling_rate=(2, 10.0)) as sim:
        _function(sim, "f")
        first = _burst(sim, "f", 3, at=0.0)
        warm = _burst(sim, "f", 2, at=2.0)
        third = _burst(sim, "f", 3, at=5.0)
        sim.run_for(6)
        assert first == ["ok", "ok", cc.REASON_SCALING_RATE]
        assert warm == ["ok", "ok"]
        assert third == ["ok", "ok", "ok"]  # two warm, one new (5 s refilled one environment)
        assert [t.limit for t in sim.throttles] == ["scaling-rate"]
        assert [r.cold_start for r in sim.invocations] == [True, True, False, False, False, False, True]


def test_concurrency_limits_rule_with_provisioned_concurrency():
    """provisioned-concurrency.html: provisioned concurrency counts against the function's
    reserved concurrency, or else against the unreserved pool, busy or idle."""
    limits = cc.ConcurrencyLimits(1000)
    assert limits.check("a", busy={"a": 899}, reserved={}, provisioned={"p": 100}) is None
    assert limits.check("a", busy={"a": 900}, reserved={}, provisioned={"p": 100}).reason == cc.REASON_ACCOUNT
    assert limits.check("r", busy={"r": 1}, reserved={"r": 3}, provisioned={"r": 2}).limit == "reserved"
    assert limits.check("r", busy={}, reserved={"r": 3}, provisioned={"r": 2}) is None
    assert cc.provisioned_concurrency_error(1000, {"r": 3}, {}, "r", 4) is not None
    assert cc.provisioned_concurrency_error(1000, {}, {}, "p", 900) is None
    assert cc.provisioned_concurrency_error(1000, {}, {}, "p", 901) is not None
