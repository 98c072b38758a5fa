"""Conformance: versions, weighted aliases and CodeDeploy's gradual deployments of SAM's
`AutoPublishAlias` + `DeploymentPreference` (`lambdasim.deployments`, `lambdasim.rules.deployments`,
`lambdasim._moto_patches.deployments`).

One simulation serves the module; each deployment test deploys a stack of its own from
fixtures/sam/deployments (version 1's code in v1/, the new code in v2/, hooks that report the
status their environment names, an alarm on the function's Errors).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import deployments as rules

FIXTURE = Path(__file__).parent / "fixtures" / "sam" / "deployments"
pytestmark = pytest.mark.xdist_group("deployments")


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=5) as simulator:
        yield simulator


def _deploy(sim, name: str, **parameters):
    # Not linted: cfn-lint costs about a second of CPU, and moto's CloudFormation refuses what it cannot create.
    stack = sim.deploy(FIXTURE, stack_name=name, parameters=parameters or None, validate=False)
    return stack, stack.function_name("Fn")


def _invoke(sim, qualified: str, payload: dict) -> tuple[str, dict | None]:
    response = sim.client("lambda").invoke(FunctionName=qualified, Payload=json.dumps(payload).encode())
    body = response["Payload"].read()
    return response["ExecutedVersion"], json.loads(body) if body else None


def _two_versions_behind_an_alias(sim, name: str, weight: float) -> None:
    """Version 1 runs v1/, version 2 runs v2/; the alias `live` sends `weight` of its traffic to 2."""
    lam = sim.client("lambda")
    sim.create_function(FunctionName=name, Handler="app.handler", code_dir=FIXTURE / "v1")
    assert lam.publish_version(FunctionName=name)["Version"] == "1"
    sim.map_handler(name, code_dir=FIXTURE / "v2")
    lam.update_function_code(FunctionName=name, ZipFile=b"PK\x05\x06" + b"\x00" * 18)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1",
                     RoutingConfig={"AdditionalVersionWeights": {"2": weight}})


def test_a_weighted_alias_routes_its_share_to_the_additional_version_and_each_version_runs_its_own_code(sim) -> None:
    """An alias's RoutingConfig sends the weight's share of invocations to the additional version
    by a probabilistic draw; each version runs the code it was published with and says so in
    X-Amz-Executed-Version (https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html,
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html)."""
    _two_versions_behind_an_alias(sim, "weighted", 0.3)
    runs = [_invoke(sim, "weighted:live", {}) for _ in range(200)]
    versions = Counter(version for version, _ in runs)
    assert 0.2 <= versions["2"] / 200 <= 0.4  # 0.3 +- about 3 standard deviations of 200 draws
    assert {(version, body["code"]) for version, body in runs} == {("1", "v1"), ("2", "v2")}
    assert {r.version for r in sim.invocations if r.function_name == "weighted"} == {"1", "2"}
    assert _invoke(sim, "weighted:1", {}) == ("1", {"code": "v1"})  # a version named directly is never drawn


def test_an_sqs_event_source_mapping_that_names_an_alias_keeps_it_and_its_batches_follow_the_weights(sim) -> None:
    """An event source mapping's FunctionName may be an alias ARN, kept as the mapping's
    FunctionArn (https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html);
    its invocations go through the alias, so a weighted alias splits them
    (https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html)."""
    _two_versions_behind_an_alias(sim, "routed", 0.5)
    sqs = sim.client("sqs")
    url = sqs.create_queue(QueueName="routed-orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = sim.client("lambda").create_event_source_mapping(FunctionName="routed:live", EventSourceArn=arn,
                                                               BatchSize=1)
    assert mapping["FunctionArn"].endswith(":function:routed:live")
    for i in range(40):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": i}))
    sim.run_for(60)
    batches = [r for r in sim.invocations if r.function_name == "routed" and r.source == "sqs"]
    assert len(batches) == 40 and {r.version for r in batches} == {"1", "2"}


def test_auto_publish_alias_deploys_a_version_and_an_alias_that_invocations_go_through(sim) -> None:
    """SAM's AutoPublishAlias generates an AWS::Lambda::Version and an AWS::Lambda::Alias on it
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-alias.html);
    DeploymentPreference adds a CodeDeploy application and deployment group
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-deploymentpreference.html)."""
    stack, fn = _deploy(sim, "published")
    assert stack.not_created == {}
    alias = sim.client("lambda").get_alias(FunctionName=fn, Name="live")
    assert alias["FunctionVersion"] == "1"
    assert _invoke(sim, f"{fn}:live", {}) == ("1", {"code": "v1"})
    group = sim.client("codedeploy").get_deployment_group(
        applicationName=stack.physical_id("ServerlessDeploymentApplication"),
        deploymentGroupName=stack.physical_id("FnDeploymentGroup"))["deploymentGroupInfo"]
    assert group["deploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"


def test_canary_10_percent_5_minutes_runs_the_pre_traffic_hook_then_10_percent_for_5_minutes_then_all(sim) -> None:
    """CodeDeployDefault.LambdaCanary10Percent5Minutes shifts 10 % of traffic first and the
    remaining 90 % five minutes later
    (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html); the
    BeforeAllowTraffic hook runs and reports before any traffic moves, the AfterAllowTraffic hook
    after all of it has (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html,
    https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html)."""
    stack, fn = _deploy(sim, "canary")
    deployment = sim.deployments.deploy_code(stack, "Fn", FIXTURE / "v2")
    assert deployment.status == rules.IN_PROGRESS and deployment.new_version == "2"
    sim.run_for(600)
    assert deployment.status == rules.SUCCEEDED, deployment.reason
    pre, post = deployment.hooks
    assert (pre.event, pre.status, post.event, post.status) == (
        "BeforeAllowTraffic", "Succeeded", "AfterAllowTraffic", "Succeeded")
    shifts = [p for p in deployment.traffic if p.percent > 0]
    assert [p.percent for p in shifts] == [10.0, 100.0]
    assert pre.reported_at <= shifts[0].at
    assert (shifts[1].at - shifts[0].at).total_seconds() == 300
    assert post.invoked_at == shifts[1].at and deployment.ended_at == post.reported_at
    alias = sim.client("lambda").get_alias(FunctionName=fn, Name="live")
    assert alias["FunctionVersion"] == "2" and not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert _invoke(sim, f"{fn}:live", {}) == ("2", {"code": "v2"})


def test_linear_10_percent_every_minute_adds_10_percent_a_minute(sim) -> None:
    """CodeDeployDefault.LambdaLinear10PercentEvery1Minute shifts 10 % of traffic every minute
    until all of it has moved (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html)."""
    stack, _ = _deploy(sim, "linear", DeploymentType="Linear10PercentEvery1Minute")
    deployment = sim.deployments.deploy_code(stack, "Fn", FIXTURE / "v2")
    sim.run_for(900)
    assert deployment.status == rules.SUCCEEDED, deployment.reason
    shifts = [p for p in deployment.traffic if p.percent > 0]
    assert [p.percent for p in shifts] == [10.0 * i for i in range(1, 11)]
    assert [(b.at - a.at).total_seconds() for a, b in zip(shifts, shifts[1:])] == [60.0] * 9


def test_an_alarm_in_alarm_during_the_canary_rolls_all_traffic_back_to_the_old_version(sim) -> None:
    """A watched CloudWatch alarm in ALARM stops the deployment and, with automatic rollback on
    DEPLOYMENT_STOP_ON_ALARM (SAM's deployment group), sends all traffic back to the original
    version (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html,
    https://docs.aws.amazon.com/lambda/latest/dg/automating-updates-to-serverless-apps.html)."""
    stack, fn = _deploy(sim, "rollback")
    deployment = sim.deployments.deploy_code(stack, "Fn", FIXTURE / "v2")
    assert "DEPLOYMENT_STOP_ON_ALARM" in deployment.rollback_events
    first_error = None
    for _ in range(120):  # an order every 2 s for 4 minutes, all through the alias
        version, _body = _invoke(sim, f"{fn}:live", {"fail": True})
        if version == "2" and first_error is None:
            first_error = sim.now
        sim.run_for(2)
    assert deployment.status == rules.ROLLED_BACK, deployment.reason
    assert stack.physical_id("ErrorsAlarm") in deployment.reason
    assert [p.percent for p in deployment.traffic if p.percent > 0] == [10.0]  # never past the canary
    assert deployment.traffic[-1].percent == 0.0
    assert (deployment.ended_at - first_error).total_seconds() <= 120
    assert [o.state for o in deployment.alarm_states][-1] == "ALARM"
    assert sim.client("lambda").get_alias(FunctionName=fn, Name="live")["FunctionVersion"] == "1"
    assert {_invoke(sim, f"{fn}:live", {"fail": True})[0] for _ in range(20)} == {"1"}


def test_a_pre_traffic_hook_that_reports_failed_fails_the_deployment_before_any_traffic_moves(sim) -> None:
    """A lifecycle hook that reports Failed fails the deployment
    (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html);
    only Succeeded and Failed can be reported, once
    (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html)."""
    stack, fn = _deploy(sim, "failing-hook", HookStatus="Failed")
    deployment = sim.deployments.deploy_code(stack, "Fn", FIXTURE / "v2")
    sim.run_for(60)
    assert deployment.status == rules.FAILED and "BeforeAllowTraffic" in deployment.reason
    assert [h.status for h in deployment.hooks] == ["Failed"]
    assert all(p.percent == 0 for p in deployment.traffic)
    assert sim.client("lambda").get_alias(FunctionName=fn, Name="live")["FunctionVersion"] == "1"
    codedeploy = sim.client("codedeploy")
    with pytest.raises(ClientError, match="already completed"):
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment.deployment_id,
            lifecycleEventHookExecutionId=deployment.hooks[0].execution_id, status="Succeeded")
    with pytest.raises(ClientError, match="Succeeded and Failed"):
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=deployment.deployment_id, lifecycleEventHookExecutionId="x", status="Skipped")
