"""Conformance: execution environments, cold starts, the INIT duration model, idle reclaim and
provisioned concurrency (lambdasim/rules/cold_start.py, lambdasim/environments.py).

The INIT duration's platform part is a model with illustrative constants (AWS publishes no
figures): these tests pin the documented *directions* (memory, package size, VPC, runtime)
and the simulator's use of the model, not AWS numbers.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from lambdasim import Simulator
from lambdasim.environments import ConfigurationRejected
from lambdasim.rules import cold_start as cs

FIXTURES = Path(__file__).parent / "fixtures"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


def _function(sim, name, init_sleep=0.0, **kwargs):
    kwargs.setdefault("Timeout", 30)
    kwargs.setdefault("Environment", {"Variables": {"INIT_SLEEP": str(init_sleep)}})
    return sim.create_function(FunctionName=name, Handler="handlers.work", code_dir=FIXTURES / "coldstart", **kwargs)


def _invoke(name, payload=None, **kwargs):
    lam = boto3.client("lambda")
    body = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}), **kwargs)["Payload"].read()
    return json.loads(body)


def test_first_invoke_is_cold_and_warm_environment_is_reused():
    """lambda-runtime-environment.html: the first invocation creates an environment and runs
    INIT (the module's init, for real, in a fresh module); the next one reuses it warm: same
    module instance, no INIT. Init Duration is reported on the cold one only."""
    with Simulator(seed=5) as sim:
        _function(sim, "f", init_sleep=0.25, MemorySize=512)
        first, second = _invoke("f"), _invoke("f")
        cold, warm = sim.invocations
        assert (cold.cold_start, warm.cold_start) == (True, False)
        assert first["instance"] == second["instance"] and cold.environment_id == warm.environment_id
        platform = sim.init_model.platform_init_ms(runtime="python3.12", memory_mb=512,
                                                   package_bytes=_code_size(sim, "f"))
        assert cold.init_duration_ms == pytest.approx(platform + 250.0, abs=0.001)
        assert warm.init_duration_ms is None
        # The module's init ran on the virtual clock after the platform part of INIT.
        assert first["init_at"] == pytest.approx(sim.invocations[0].start_us / 1e6 + platform / 1000 + 0.25)
        assert len(sim.environments("f")) == 1


def test_environment_is_reclaimed_after_its_idle_lifetime():
    """An idle environment is reclaimed after some idle time and the next invocation is cold
    again. AWS documents no idle lifetime: it is a parameter (here 60 s)."""
    with Simulator(seed=5, idle_lifetime=60) as sim:
        _function(sim, "f")
        first = _invoke("f")
        sim.run_for(59)
        _invoke("f")
        sim.run_for(61)
        third = _invoke("f")
        assert [r.cold_start for r in sim.invocations] == [True, False, True]
        (gone,) = sim.retired_environments("f")
        assert gone.retired_reason == "idle"
        assert gone.retired_at_us == gone.last_used_us + 60_000_000
        assert third["instance"] != first["instance"]  # a fresh module: INIT ran again
        assert [e.id for e in sim.environments("f")] == [sim.invocations[-1].environment_id]


def test_default_idle_lifetime_is_a_seeded_range():
    """The default idle lifetime is drawn per environment from 5-15 min (illustrative), from
    the seed: the same seed gives the same lifetimes."""
    def lifetimes(seed):
        with Simulator(seed=seed) as sim:
            _function(sim, "f")
            lam = sim.client("lambda")
            for _ in range(3):
                sim.schedule(0, lambda: lam.invoke(FunctionName="f", Payload=b'{"sleep": 1}'))
            sim.run_for(2)
            return [e.idle_lifetime_us for e in sim.environments("f")]

    first = lifetimes(11)
    assert first == lifetimes(11) != lifetimes(12)
    assert all(300_000_000 <= us <= 900_000_000 for us in first) and len(set(first)) == 3
    assert cs.IdleLifetime(None).draw_us(random.Random(1)) is None


def test_init_duration_model_directions():
    """configuration-memory.html: CPU scales with memory, 1,769 MB = 1 vCPU (less memory, slower
    CPU-bound init; more than one vCPU does not speed a single-threaded init); smaller
    packages load faster; VPC adds nothing since 2019 (Hyperplane ENIs, AWS Compute blog)."""
    model = cs.InitDurationModel()
    ms = lambda **kw: model.platform_init_ms(**{"runtime": "python3.12", "memory_mb": 1769, **kw})  # noqa: E731
    assert ms(memory_mb=128) > ms(memory_mb=512) > ms(memory_mb=1769) == ms(memory_mb=3008)
    assert ms(package_bytes=50 * cs.MIB) - ms() == pytest.approx(50 * model.package_ms_per_mib)
    assert ms(vpc=True) == ms()
    assert model.platform_init_ms(runtime="java21", memory_mb=1769) > ms()
    assert cs.runtime_family("provided.al2023") == "provided"
    assert cs.runtime_family(None, "Image") == "image"
    assert model.init_duration_ms(runtime="python3.12", memory_mb=1769, code_init_ms=300) == ms() + 300
    assert cs.NO_PLATFORM_INIT.platform_init_ms(runtime="python3.12", memory_mb=128) == 0.0


def test_simulator_charges_the_modelled_init_duration():
    """The simulator charges each cold start the model's INIT for the function's memory and
    deployment package (CodeSize of the uploaded zip) and VPC setting."""
    with Simulator(seed=5) as sim:
        _function(sim, "small", MemorySize=128)
        _function(sim, "big", MemorySize=1769)
        _function(sim, "heavy", MemorySize=1769, Code={"ZipFile": _zip_of(4 * cs.MIB)})
        for name in ("small", "big", "heavy"):
            _invoke(name)
        small, big, heavy = (r.init_duration_ms for r in sim.invocations)
        assert small > big and heavy > big
        assert heavy - big == pytest.approx(
            model_ms(sim, "heavy") - model_ms(sim, "big"), abs=0.001)
        assert heavy - big > 4 * sim.init_model.package_ms_per_mib * 0.99


def test_init_over_10_seconds_is_retried_under_the_function_timeout():
    """lambda-runtime-environment.html: an on-demand INIT is limited to 10 s; if it does not
    finish, Lambda retries it at the first invocation under the function's timeout (modelled
    as a retry as long as the first try, counted in the invocation's duration)."""
    with Simulator(seed=5, init_model=cs.NO_PLATFORM_INIT) as sim:
        _function(sim, "slow", init_sleep=12, Timeout=30)
        _function(sim, "slower", init_sleep=12, Timeout=5)
        _invoke("slow")
        ok = sim.invocations[-1]
        assert ok.init_duration_ms == 10_000 and ok.succeeded
        assert ok.duration_ms == pytest.approx(12_000 + 1)  # the retried INIT + the 1 ms handler
        body = _invoke("slower")
        failed = sim.invocations[-1]
        assert failed.timed_out and failed.error_type == "Sandbox.Timedout"
        assert body["errorMessage"].endswith("Task timed out after 5.00 seconds")
        assert failed.init_duration_ms == 10_000 and failed.duration_ms == 5_000
        assert sim.environments("slower") == []


def test_provisioned_concurrency_keeps_invocations_warm():
    """provisioned-concurrency.html: n environments are initialised ahead for a published
    version or alias; invocations up to n are never cold; beyond n they spill over to
    on-demand environments (cold); $LATEST is not covered and cannot be configured."""
    with Simulator(seed=5) as sim:
        _function(sim, "api", init_sleep=0.5)
        lam = sim.client("lambda")
        version = lam.publish_version(FunctionName="api")["Version"]
        lam.create_alias(FunctionName="api", Name="live", FunctionVersion=version)
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match="unpublished function versions"):
            lam.put_provisioned_concurrency_config(FunctionName="api", Qualifier="$LATEST",
                                                   ProvisionedConcurrentExecutions=1)
        put = lam.put_provisioned_concurrency_config(FunctionName="api", Qualifier="live",
                                                     ProvisionedConcurrentExecutions=2)
        assert (put["RequestedProvisionedConcurrentExecutions"], put["Status"]) == (2, "IN_PROGRESS")
        assert len(sim.environments("api")) == 2  # initialised now, before any invocation
        sim.run_for(60)
        got = lam.get_provisioned_concurrency_config(FunctionName="api", Qualifier="live")
        assert (got["AllocatedProvisionedConcurrentExecutions"], got["Status"]) == (2, "READY")
        assert sim.concurrency("api") == 0  # provisioned and idle: claimed, not running
        for _ in range(3):
            sim.schedule(0, lambda: lam.invoke(FunctionName="api", Qualifier="live", Payload=b'{"sleep": 1}'))
        sim.run_for(5)
        assert [r.cold_start for r in sim.invocations] == [False, False, True]
        assert [r.init_duration_ms for r in sim.invocations[:2]] == [None, None]
        assert all(r.version == version for r in sim.invocations)
        _invoke("api")  # $LATEST: a different version, on-demand
        assert sim.invocations[-1].cold_start is True
        sim.run_for(3600)  # provisioned environments are never reclaimed when idle
        assert sum(e.provisioned for e in sim.environments("api")) == 2


def test_provisioned_concurrency_counts_against_reserved_concurrency():
    """provisioned-concurrency.html: provisioned concurrency counts towards the function's
    reserved concurrency (and cannot exceed it): with 3 reserved and 2 provisioned, a third
    concurrent invocation runs on demand and a fourth is throttled."""
    with Simulator(seed=5, account_concurrency=103) as sim:
        _function(sim, "api")
        lam = sim.client("lambda", config=NO_RETRIES)
        version = lam.publish_version(FunctionName="api")["Version"]
        lam.put_function_concurrency(FunctionName="api", ReservedConcurrentExecutions=3)
        with pytest.raises(ConfigurationRejected):
            sim.set_provisioned_concurrency("api", version, 4)
        sim.set_provisioned_concurrency("api", version, 2)
        sim.run_for(1)
        outcomes = []

        def call():
            try:
                lam.invoke(FunctionName="api", Qualifier=version, Payload=b'{"sleep": 1}')
                outcomes.append("ok")
            except lam.exceptions.TooManyRequestsException as e:
                outcomes.append(e.response["Reason"])

        for _ in range(4):
            sim.schedule(0, call)
        sim.run_for(5)
        assert outcomes == ["ok", "ok", "ok", "ReservedFunctionConcurrentInvocationLimitExceeded"]
        assert [r.cold_start for r in sim.invocations] == [False, False, True]
        sim.set_provisioned_concurrency("api", version, 0)
        assert lam.list_provisioned_concurrency_configs(FunctionName="api")["ProvisionedConcurrencyConfigs"] == []


def _zip_of(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        info = zipfile.ZipInfo("blob.bin", date_time=(1980, 1, 1, 0, 0, 0))
        zf.writestr(info, random.Random(0).randbytes(size))
    return buf.getvalue()


def _code_size(sim, name: str) -> int:
    return sim.client("lambda").get_function(FunctionName=name)["Configuration"]["CodeSize"]


def model_ms(sim, name: str) -> float:
    config = sim.client("lambda").get_function(FunctionName=name)["Configuration"]
    return sim.init_model.platform_init_ms(runtime=config["Runtime"], memory_mb=config["MemorySize"],
                                           package_bytes=config["CodeSize"])
