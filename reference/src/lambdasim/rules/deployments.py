"""Lambda versions, weighted aliases and CodeDeploy's gradual deployments, as pure functions.

Weighted aliases (https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html):
an alias points to one version and may send a share of its invocations to one additional
version (`RoutingConfig.AdditionalVersionWeights`, a weight between 0 and 1); Lambda "uses a
simple probabilistic model to distribute the traffic between the two function versions", so at
low traffic the observed share varies around the weight. The invocation runs the version drawn
and reports it (`X-Amz-Executed-Version`, the log's `START ... Version:`).

CodeDeploy's predefined deployment configurations for the Lambda compute platform
(https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html,
"Predefined deployment configurations for an AWS Lambda compute platform"):
`CodeDeployDefault.LambdaCanary10Percent{5,10,15,30}Minutes` shift 10 % of the traffic first
and the remaining 90 % that many minutes later; `CodeDeployDefault.LambdaLinear10PercentEvery
{1,2,3,10}Minute(s)` shift 10 % more every that many minutes until all of it has moved;
`CodeDeployDefault.LambdaAllAtOnce` shifts everything at once. SAM's `DeploymentPreference.Type`
is the name without its prefix (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-deploymentpreference.html),
and SAM's translator writes `CodeDeployDefault.Lambda<Type>` into the deployment group.

A deployment (https://docs.aws.amazon.com/lambda/latest/dg/automating-updates-to-serverless-apps.html,
https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html):
the BeforeAllowTraffic hook (SAM's `PreTraffic`) runs first, then traffic shifts step by step,
then the AfterAllowTraffic hook (`PostTraffic`). A hook function is invoked with
`{"DeploymentId", "LifecycleEventHookExecutionId"}` and reports `Succeeded` or `Failed` with
PutLifecycleEventHookExecutionStatus
(https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html;
the event's shape: https://docs.aws.amazon.com/codedeploy/latest/userguide/tutorial-lambda-sam-create-lambda-before-traffic.html).
A failed hook fails the deployment. CodeDeploy stops a deployment whose monitored alarm is in
ALARM and, with automatic rollback on DEPLOYMENT_STOP_ON_ALARM (SAM's deployment group asks for
it), sends all traffic back to the original version
(https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html).

Not on an AWS page, so modelled here: how long CodeDeploy waits for a hook's status before it
fails the deployment (`HOOK_TIMEOUT_S`, one hour), and that alarms are read at each alarm state
change and at every traffic step (CodeDeploy documents no polling interval).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

CONFIG_PREFIX: Final = "CodeDeployDefault.Lambda"
HOOK_TIMEOUT_S: Final = 3_600.0  # not on an AWS page: modelled
BEFORE_ALLOW_TRAFFIC: Final = "BeforeAllowTraffic"
AFTER_ALLOW_TRAFFIC: Final = "AfterAllowTraffic"
HOOK_STATUSES: Final = ("Succeeded", "Failed")  # what PutLifecycleEventHookExecutionStatus accepts

SUCCEEDED: Final = "Succeeded"
ROLLED_BACK: Final = "RolledBack"  # CodeDeploy's status is Stopped (alarm) with a rollback; named for what happened
FAILED: Final = "Failed"
IN_PROGRESS: Final = "InProgress"

_CANARY = re.compile(r"Canary(\d+)Percent(\d+)Minutes?")
_LINEAR = re.compile(r"Linear(\d+)PercentEvery(\d+)Minutes?")

#: The predefined configurations by SAM's Type (deployment-configurations.html).
PREDEFINED_TYPES: Final = (
    "Canary10Percent5Minutes", "Canary10Percent10Minutes", "Canary10Percent15Minutes", "Canary10Percent30Minutes",
    "Linear10PercentEvery1Minute", "Linear10PercentEvery2Minutes", "Linear10PercentEvery3Minutes",
    "Linear10PercentEvery10Minutes", "AllAtOnce",
)


@dataclass(frozen=True)
class TrafficStep:
    """At `offset_s` after traffic starts shifting, the new version gets `percent` of it."""

    offset_s: float
    percent: float


def config_name(sam_type: str) -> str:
    """The deployment group's DeploymentConfigName for SAM's `DeploymentPreference.Type`."""
    return sam_type if sam_type.startswith("CodeDeployDefault.") else CONFIG_PREFIX + sam_type


def traffic_steps(deployment_config_name: str) -> list[TrafficStep]:
    """The shifts of a predefined Lambda deployment configuration, in order; the last is 100 %.

    Raises ValueError for a name that is not a predefined Lambda configuration (custom
    configurations, AWS::CodeDeploy::DeploymentConfig, are not simulated)."""
    name = deployment_config_name.removeprefix(CONFIG_PREFIX)
    if name not in PREDEFINED_TYPES:
        raise ValueError(f"{deployment_config_name!r} is not one of CodeDeploy's predefined Lambda deployment "
                         f"configurations ({', '.join(CONFIG_PREFIX + t for t in PREDEFINED_TYPES)})")
    if name == "AllAtOnce":
        return [TrafficStep(0.0, 100.0)]
    canary = _CANARY.fullmatch(name)
    if canary:
        percent, minutes = int(canary.group(1)), int(canary.group(2))
        return [TrafficStep(0.0, float(percent)), TrafficStep(minutes * 60.0, 100.0)]
    linear = _LINEAR.fullmatch(name)
    assert linear is not None
    percent, minutes = int(linear.group(1)), int(linear.group(2))
    count = -(-100 // percent)  # 10 steps of 10 %
    return [TrafficStep(i * minutes * 60.0, float(min(100, (i + 1) * percent))) for i in range(count)]


def alias_weights(routing_config: object) -> dict[str, float]:
    """`AdditionalVersionWeights` of an alias's RoutingConfig (as the API or moto keeps it)."""
    if not isinstance(routing_config, dict):
        return {}
    weights = routing_config.get("AdditionalVersionWeights") or {}
    return {str(version): float(weight) for version, weight in weights.items()}


def pick_version(primary: str, additional: dict[str, float], draw: float) -> str:
    """The version an invocation through a weighted alias runs: `draw` is uniform in [0, 1)
    (configuring-alias-routing.html: a simple probabilistic model)."""
    threshold = 0.0
    for version, weight in sorted(additional.items()):
        threshold += weight
        if draw < threshold:
            return version
    return primary
