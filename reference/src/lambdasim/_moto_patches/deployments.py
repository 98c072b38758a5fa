"""Versions, aliases and CodeDeploy's Lambda deployments: what moto lacks for SAM's
`AutoPublishAlias` and `DeploymentPreference`.

moto's CloudFormation has AWS::Lambda::Version without `Fn::GetAtt Version` (SAM's alias reads
it) and lacks AWS::Lambda::Alias, AWS::CodeDeploy::Application and
AWS::CodeDeploy::DeploymentGroup: the four are added here (the alias with its RoutingConfig, the
application and group stored in moto's CodeDeploy backend, where `get_deployment_group` reads
them). moto's CodeDeploy lacks PutLifecycleEventHookExecutionStatus, which a pre- or post-traffic
hook calls: the route hands the status to the simulator's `deployments.Deployments` (set by
`set_deployments`). Publishing a version (the API or a template) pins the code $LATEST runs now
to that version, as a published version is immutable
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import moto_state
from . import _shared
from ._patching import Patch

if TYPE_CHECKING:
    from ..deployments import Deployments

_deployments: Deployments | None = None


def set_deployments(deployments: Deployments | None) -> None:
    """The simulator's CodeDeploy player (None: hook statuses are refused)."""
    global _deployments
    _deployments = deployments


def _wrap_publish_version(original: Callable[..., Any]) -> Callable[..., Any]:
    def publish_version(self: Any, name_or_arn: str, description: str = "") -> Any:
        fn = original(self, name_or_arn, description)
        if fn is not None and _shared.service is not None:
            _shared.service.runtime.pin_version(fn.function_name, str(fn.version))
        return fn

    publish_version.__wrapped__ = original  # type: ignore[attr-defined]
    return publish_version


class VersionResource(_shared.AddedResource):
    """AWS::Lambda::Version (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-version.html):
    publishes $LATEST; `Ref` is the version's ARN, `Fn::GetAtt Version` its number. Deleting the
    stack keeps it (SAM sets DeletionPolicy Retain)."""

    CFN_ATTRIBUTES = ("Version", "FunctionArn")

    def __init__(self, arn: str, version: str):
        self.physical_resource_id, self.version = arn, version

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Version"

    def cfn_attributes(self) -> dict[str, str]:
        return {"Version": self.version, "FunctionArn": self.physical_resource_id.rsplit(":", 1)[0]}

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> VersionResource:
        props = cloudformation_json["Properties"]
        fn = moto_state.lambda_backend(account_id, region_name).publish_version(
            str(props["FunctionName"]), str(props.get("Description") or ""))
        return cls(fn.function_arn, str(fn.version))

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None

    def delete(self, account_id: str, region: str) -> None:
        return None


def routing_config(cfn_routing: Any) -> dict[str, Any] | None:
    """CloudFormation's `RoutingConfig` (a list of FunctionVersion/FunctionWeight) as the API's
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-alias-aliasroutingconfiguration.html)."""
    weights = (cfn_routing or {}).get("AdditionalVersionWeights") or []
    if not weights:
        return None
    return {"AdditionalVersionWeights": {str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights}}


class AliasResource(_shared.AddedResource):
    """AWS::Lambda::Alias (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-alias.html),
    which moto's CloudFormation lacks: created with CreateAlias's backend method. `Ref` is the
    alias's ARN. Its UpdatePolicy (CodeDeployLambdaAliasUpdate) stays in the template, where
    `deployments.Deployments` reads it."""

    CFN_ATTRIBUTES = ("AliasArn",)

    def __init__(self, arn: str, name: str, function_name: str):
        self.physical_resource_id, self.name, self.function_name = arn, name, function_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::Alias"

    def cfn_attributes(self) -> dict[str, str]:
        return {"AliasArn": self.physical_resource_id}

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> AliasResource:
        props = cloudformation_json["Properties"]
        function_name = str(props["FunctionName"]).split(":function:")[-1].split(":")[0]
        alias = moto_state.lambda_backend(account_id, region_name).create_alias(
            str(props["Name"]), function_name, str(props["FunctionVersion"]), str(props.get("Description") or ""),
            routing_config(props.get("RoutingConfig")))
        return cls(alias.arn, alias.name, function_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json["Properties"]
        cls("", str(props["Name"]), str(props["FunctionName"])).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        from moto.awslambda.exceptions import LambdaClientError

        try:
            moto_state.lambda_backend(account_id, region).delete_alias(self.name, self.function_name)
        except LambdaClientError:  # the function is gone already
            pass


def _codedeploy(account_id: str, region: str) -> Any:
    from moto.codedeploy.models import codedeploy_backends

    return codedeploy_backends[account_id][region]


class ApplicationResource(_shared.AddedResource):
    """AWS::CodeDeploy::Application (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-codedeploy-application.html):
    `Ref` is its name."""

    def __init__(self, name: str):
        self.physical_resource_id = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeDeploy::Application"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ApplicationResource:
        props = cloudformation_json.get("Properties") or {}
        name = str(props.get("ApplicationName") or resource_name)
        _codedeploy(account_id, region_name).create_application(name, str(props.get("ComputePlatform") or "Server"), [])
        return cls(name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json.get("Properties") or {}
        cls(str(props.get("ApplicationName") or resource_name)).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        backend = _codedeploy(account_id, region)
        backend.applications.pop(self.physical_resource_id, None)
        backend.deployment_groups.pop(self.physical_resource_id, None)


class DeploymentGroupResource(_shared.AddedResource):
    """AWS::CodeDeploy::DeploymentGroup (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-codedeploy-deploymentgroup.html):
    its DeploymentConfigName, AlarmConfiguration and AutoRollbackConfiguration are what a
    deployment plays. `Ref` is its name."""

    def __init__(self, application: str, name: str):
        self.application, self.physical_resource_id = application, name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeDeploy::DeploymentGroup"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> DeploymentGroupResource:
        props = cloudformation_json["Properties"]
        application, name = str(props["ApplicationName"]), str(props.get("DeploymentGroupName") or resource_name)
        from moto.codedeploy.models import AlarmConfiguration

        alarms = props.get("AlarmConfiguration")
        _codedeploy(account_id, region_name).create_deployment_group(
            application_name=application, deployment_group_name=name,
            deployment_config_name=props.get("DeploymentConfigName"), ec2_tag_filters=None,
            on_premises_instance_tag_filters=None, auto_scaling_groups=None,
            service_role_arn=str(props.get("ServiceRoleArn") or ""),
            alarm_configuration=AlarmConfiguration(
                alarms=[{"name": str(a["Name"])} for a in alarms.get("Alarms") or []],
                enabled=_bool(alarms.get("Enabled", True)),
                ignore_poll_alarm_failure=_bool(alarms.get("IgnorePollAlarmFailure", False))) if alarms else None,
            auto_rollback_configuration={"enabled": _bool(props["AutoRollbackConfiguration"].get("Enabled", False)),
                                         "events": list(props["AutoRollbackConfiguration"].get("Events") or [])}
            if props.get("AutoRollbackConfiguration") else None,
            deployment_style={"deploymentType": props.get("DeploymentStyle", {}).get("DeploymentType", "BLUE_GREEN"),
                              "deploymentOption": props.get("DeploymentStyle", {}).get("DeploymentOption",
                                                                                       "WITH_TRAFFIC_CONTROL")})
        return cls(application, name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json["Properties"]
        cls(str(props["ApplicationName"]), str(props.get("DeploymentGroupName") or resource_name)).delete(
            account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        _codedeploy(account_id, region).deployment_groups.get(self.application, {}).pop(self.physical_resource_id, None)


def _bool(value: Any) -> bool:
    return value in (True, "true", "True")


ADDED_RESOURCES = (VersionResource, AliasResource, ApplicationResource, DeploymentGroupResource)


def _response_put_hook_status(self: Any) -> str:
    """PutLifecycleEventHookExecutionStatus
    (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html)."""
    from moto.core.exceptions import JsonRESTError

    body = json.loads(self.body or "{}")
    if _deployments is None:
        raise JsonRESTError("DeploymentDoesNotExistException", "no deployment runs in this simulation")
    try:
        execution_id = _deployments.hook_status(str(body.get("deploymentId", "")),
                                                str(body.get("lifecycleEventHookExecutionId", "")),
                                                str(body.get("status", "")))
    except LookupError as missing:
        raise JsonRESTError("LifecycleEventAlreadyCompletedException"
                            if "already" in str(missing) else "DeploymentDoesNotExistException", str(missing)) from None
    except ValueError as bad:
        raise JsonRESTError("InvalidLifecycleEventHookExecutionStatusException", str(bad)) from None
    return json.dumps({"lifecycleEventHookExecutionId": execution_id})


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.awslambda.models import LambdaBackend
    from moto.codedeploy.responses import CodeDeployResponse

    return [
        Patch(LambdaBackend, "publish_version", None, ("self", "function_name", "description"),
              "a published version keeps the code $LATEST runs now", wrap=_wrap_publish_version),
        Patch(CodeDeployResponse, "put_lifecycle_event_hook_execution_status", _response_put_hook_status, "absent",
              "PutLifecycleEventHookExecutionStatus, for pre- and post-traffic hooks"),
    ]
