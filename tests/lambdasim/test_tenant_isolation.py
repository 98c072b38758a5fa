"""Conformance: Lambda's tenant isolation mode (rules/tenancy.py; service.py, environments.py,
_moto_patches/lambda_config.py and lambda_invoke.py). moto dropped the function's TenancyConfig
and Invoke's TenantId, so `context.tenant_id` was None and environments were shared by all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import tenancy

CODE = Path(__file__).parent / "fixtures" / "tenants"
PER_TENANT = {"TenantIsolationMode": "PER_TENANT"}


@pytest.fixture
def sim():
    with Simulator(seed=5) as simulator:
        yield simulator


def _function(sim: Simulator, name: str = "runner", **kwargs) -> None:
    sim.create_function(FunctionName=name, Handler="handlers.remember", code_dir=CODE, **kwargs)


def _invoke(sim: Simulator, name: str = "runner", **kwargs) -> dict:
    answer = sim.client("lambda").invoke(FunctionName=name, Payload=b"{}", **kwargs)
    return json.loads(answer["Payload"].read())


def test_tenancy_config_is_kept_and_returned(sim):
    """https://docs.aws.amazon.com/lambda/latest/api/API_TenancyConfig.html: TenancyConfig
    (TenantIsolationMode PER_TENANT) is set when the function is created and returned with its
    configuration, published versions included; a function created without it has none."""
    _function(sim, TenancyConfig=PER_TENANT)
    _function(sim, "plain")
    lam = sim.client("lambda")
    assert lam.get_function_configuration(FunctionName="runner")["TenancyConfig"] == PER_TENANT
    version = lam.publish_version(FunctionName="runner")["Version"]
    assert lam.get_function(FunctionName="runner", Qualifier=version)["Configuration"]["TenancyConfig"] == PER_TENANT
    assert "TenancyConfig" not in lam.get_function_configuration(FunctionName="plain")


def test_invoke_needs_a_tenant_id_exactly_when_the_function_isolates_tenants(sim):
    """https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-invoke.html and
    tenant-isolation-troubleshooting.html: invoking a tenant-isolated function without a tenant
    id, or a function without tenant isolation with one, fails with 400
    InvalidParameterValueException, for every invocation type; nothing runs."""
    _function(sim, TenancyConfig=PER_TENANT)
    _function(sim, "plain")
    lam = sim.client("lambda")
    for name, kwargs in (("runner", {}), ("runner", {"InvocationType": "Event"}),
                         ("runner", {"InvocationType": "DryRun"}), ("plain", {"TenantId": "blue"})):
        with pytest.raises(ClientError) as refused:
            lam.invoke(FunctionName=name, Payload=b"{}", **kwargs)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as refused:
        lam.invoke_async(FunctionName="runner", InvokeArgs=b"{}")  # no tenant id in InvokeAsync
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert sim.invocations == [] and sim.run_until_idle() and sim.invocations == []


def test_environments_serve_one_tenant_and_context_has_its_id(sim):
    """https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation.html and
    tenant-isolation-context.html: Lambda reuses an available environment of the invocation's
    tenant and creates one for a tenant that has none, so an environment never serves two
    tenants (a warm environment of another tenant is not used); the handler reads the tenant id
    as `context.tenant_id`, synchronous and asynchronous alike."""
    _function(sim, TenancyConfig=PER_TENANT)
    blue = _invoke(sim, TenantId="blue")
    green = _invoke(sim, TenantId="green")
    again = _invoke(sim, TenantId="blue")
    sim.client("lambda").invoke(FunctionName="runner", Payload=b"{}", TenantId="green", InvocationType="Event")
    assert sim.run_until_idle()
    assert blue == {"tenant_id": "blue", "seen": ["blue"]}
    assert green == {"tenant_id": "green", "seen": ["green"]}
    assert again == {"tenant_id": "blue", "seen": ["blue", "blue"]}  # the tenant's warm environment
    assert [r.cold_start for r in sim.invocations] == [True, True, False, False]
    assert json.loads(sim.invocations[-1].payload)["seen"] == ["green", "green"]
    assert sorted(env.tenant_id for env in sim.environments("runner")) == ["blue", "green"]


def test_tenant_environments_are_limited_per_function_concurrency(sim):
    """https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-troubleshooting.html: at
    most 2,500 tenant-aware environments (active or idle) for every 1,000 concurrent executions
    of the function; one more tenant is refused with 429 TooManyRequestsException while idle
    environments of earlier tenants still exist, and the tenants that have one keep using it."""
    assert tenancy.max_tenant_environments(1000) == 2500
    _function(sim, TenancyConfig=PER_TENANT)
    sim.client("lambda").put_function_concurrency(FunctionName="runner", ReservedConcurrentExecutions=2)
    for tenant in ("a", "b", "c", "d", "e"):  # 2 x 2,500 / 1,000 = 5 environments
        _invoke(sim, TenantId=tenant)
    with pytest.raises(ClientError) as refused:
        _invoke(sim, TenantId="f")
    assert refused.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert sim.throttles[-1].limit == "tenant-environments"
    assert _invoke(sim, TenantId="a")["seen"] == ["a", "a"]


def test_a_sam_templates_tenancy_config_deploys(sim):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-tenancyconfig.html
    and the SAM function's TenancyConfig
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html):
    the function deploys in tenant isolation mode and its invocations carry their tenant."""
    stack = sim.deploy(Path(__file__).parent / "fixtures" / "sam" / "tenants", stack_name="tenants", validate=False)
    name = stack.function_name("Runner")
    assert sim.client("lambda").get_function_configuration(FunctionName=name)["TenancyConfig"] == PER_TENANT
    assert _invoke(sim, name, TenantId="blue") == {"tenant_id": "blue", "seen": ["blue"]}


def test_an_eventbridge_target_cannot_invoke_a_tenant_isolated_function(sim):
    """https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-troubleshooting.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html:
    EventBridge's Invoke call carries no tenant id, so Lambda refuses it with a 400, which
    EventBridge does not retry: the event is a failed invocation, not run untenanted."""
    _function(sim, TenancyConfig=PER_TENANT)
    arn = sim.client("lambda").get_function(FunctionName="runner")["Configuration"]["FunctionArn"]
    events = sim.client("events")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "fn", "Arn": arn}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "x", "Detail": "{}"}])
    assert sim.run_until_idle()
    (delivery,) = sim.eventbridge.deliveries
    assert (delivery.state, delivery.retries, delivery.attempts[0].code) == (
        "dropped", 0, "InvalidParameterValueException")
    assert sim.invocations == []
