"""CloudFormation: every AWS::Lambda::Function property, AWS::Lambda::EventInvokeConfig, and the
resource types moto's CloudFormation lacks that other modules define: AWS::ApiGateway::Stage,
AWS::ApiGatewayV2::Api, ::Stage, ::Integration, ::Route and ::Authorizer (`apigateway`) and
AWS::SNS::Subscription (`sns`), AWS::Scheduler::Schedule (`schedules`), AWS::CloudWatch::Alarm and
AWS::CloudWatch::CompositeAlarm (`cloudwatch`), AWS::IoT::TopicRule (`iot`), AWS::SQS::QueuePolicy (`iam`).

Lambda-backed custom resources (AWS::CloudFormation::CustomResource, Custom::<Name>) come from
`custom_resources`; a resource that fails to create gets its CREATE_FAILED event and reason.

moto's CloudFormation passes 7 properties of AWS::Lambda::Function to create_function (no
DeadLetterConfig, Architectures, Layers, TracingConfig, EphemeralStorage, Tags...): all of them
go now; and it lacks AWS::Lambda::EventInvokeConfig (SAM's EventInvokeConfig), which is added.
moto's CloudFormation imports every service's models (EC2's and API Gateway's among them): 1-3 s,
more than the rest of the simulator's start, and only templates need it. So the patch of its
parser (`deferred_patches`) is applied when a simulation first imports it (a template deployed,
a stack created through the API), or at start if it was imported already.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import moto_state
from . import _shared
from ._patching import Patch
from .apigateway import ADDED_RESOURCES as APIGATEWAY_RESOURCES
from .cloudwatch import ADDED_RESOURCES as CLOUDWATCH_RESOURCES
from .custom_resources import is_custom_resource_type
from .custom_resources import resource_class as custom_resource_class
from .deployments import ADDED_RESOURCES as DEPLOYMENT_RESOURCES
from .firehose import DeliveryStreamResource
from .glue import ADDED_RESOURCES as GLUE_RESOURCES
from .iam import ADDED_RESOURCES as IAM_RESOURCES
from .iot import TopicRuleResource
from .lambda_config import lookup_event_invoke_config, put_event_invoke_config
from .location import ADDED_RESOURCES as LOCATION_RESOURCES
from .pipes import PipeResource
from .schedules import ScheduleResource
from .sns import SubscriptionResource


def _function_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    **kwargs: Any,
) -> Any:
    """Replaces LambdaFunction.create_from_cloudformation_json: moto passes 7 properties to
    create_function and drops DeadLetterConfig, Architectures, Layers, TracingConfig,
    EphemeralStorage, Tags... Here every property goes, as CloudFormation passes them
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html)."""
    import base64

    props = cloudformation_json["Properties"]
    spec = {k: v for k, v in props.items() if k != "Tags"}
    spec["FunctionName"] = resource_name
    spec["Code"] = dict(props["Code"])
    if "ZipFile" in spec["Code"]:
        spec["Code"]["ZipFile"] = base64.b64encode(cls._create_zipfile_from_plaintext_code(spec["Code"]["ZipFile"]))
    spec["Tags"] = {t["Key"]: t["Value"] for t in props.get("Tags") or []}
    if "StackId" in kwargs:
        # The stack-level tags CloudFormation gives every resource it creates
        # (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html):
        # they also tell a deploy which template function a new function is.
        spec["Tags"].update({"aws:cloudformation:stack-id": kwargs["StackId"],
                             "aws:cloudformation:stack-name": kwargs["StackId"].split("/")[1],
                             "aws:cloudformation:logical-id": kwargs["LogicalId"]})
    return moto_state.lambda_backend(account_id, region_name).create_function(spec)


class _EventInvokeConfigResource(_shared.AddedResource):
    """AWS::Lambda::EventInvokeConfig for moto's CloudFormation, which lacks it
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventinvokeconfig.html;
    SAM's EventInvokeConfig property becomes one). The config lands where the API puts it.
    The qualifier is not checked: the alias may be created after it."""

    _PROPS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")

    def __init__(self, function_name: str, qualifier: str, physical_id: str):
        self.function_name = function_name
        self.qualifier = qualifier
        self.physical_resource_id = physical_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _EventInvokeConfigResource:
        props = cloudformation_json["Properties"]
        body = {k: props[k] for k in cls._PROPS if k in props}
        name, qualifier = str(props["FunctionName"]), str(props["Qualifier"])
        put_event_invoke_config(moto_state.lambda_backend(account_id, region_name), name, qualifier, body,
                                check_qualifier=False)
        return cls(name, qualifier, resource_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json["Properties"]
        cls(str(props["FunctionName"]), str(props["Qualifier"]), resource_name).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        from moto.awslambda.exceptions import LambdaClientError

        try:
            backend = moto_state.lambda_backend(account_id, region)
            _, q, configs = lookup_event_invoke_config(backend, self.function_name, self.qualifier)
        except LambdaClientError:  # the function (or the config) is gone already
            return
        del configs[q]


def _wrap_resource_class_from_type(original: Callable[[str], Any]) -> Callable[[str], Any]:
    added = {cls.cloudformation_type(): cls
             for cls in (_EventInvokeConfigResource, *DEPLOYMENT_RESOURCES, *APIGATEWAY_RESOURCES, SubscriptionResource,
                         ScheduleResource,
                         *CLOUDWATCH_RESOURCES, TopicRuleResource, PipeResource, *LOCATION_RESOURCES, *IAM_RESOURCES,
                         DeliveryStreamResource, *GLUE_RESOURCES)}

    def resource_class_from_type(resource_type: str) -> Any:
        if is_custom_resource_type(resource_type):  # both spellings, Lambda-backed (custom_resources)
            return custom_resource_class()
        return added.get(resource_type) or original(resource_type)

    resource_class_from_type.__wrapped__ = original  # type: ignore[attr-defined]
    return resource_class_from_type


def _failure_reason(error: BaseException) -> str:
    """A resource's error as its CREATE_FAILED status reason: moto's error code and message, a
    failed custom resource's reason, or the exception."""
    reason = getattr(error, "reason", None)
    if isinstance(reason, str):
        return reason
    code = getattr(error, "error_type", None) or getattr(error, "code", None)
    message = getattr(error, "message", None)
    if isinstance(code, str) and isinstance(message, str):
        return f"{code}: {message}"
    return f"{type(error).__name__}: {error}"


def _wrap_parse_and_create_resource(original: Callable[..., Any]) -> Callable[..., Any]:
    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                                  account_id: str, region_name: str) -> Any:
        """parse_and_create_resource, and a resource that fails gets its CREATE_FAILED stack
        event with the reason, as describe_stack_events shows it on AWS
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html):
        moto turns most errors into an API error response, which no longer says which resource
        failed. Only the resource that failed first: those referring to it fail with it."""
        try:
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as error:
            if not getattr(error, "_lambdasim_failed_resource", None):
                error._lambdasim_failed_resource = logical_id  # type: ignore[attr-defined]
                from moto.cloudformation import cloudformation_backends
                from moto.cloudformation.models import Event

                stack = cloudformation_backends[account_id][region_name].stacks.get(resources_map.stack_id)
                if stack is not None:
                    stack.events.append(Event(stack.stack_id, stack.name, logical_id, "",
                                              str(resource_json.get("Type", "")), "CREATE_FAILED",
                                              _failure_reason(error), None))
            raise

    parse_and_create_resource.__wrapped__ = original  # type: ignore[attr-defined]
    return parse_and_create_resource


def _json_first(original: Callable[[str], dict[str, Any]]) -> staticmethod:
    """Stack.parse_template: moto reads every template with PyYAML's pure-Python loader
    first, about 30 ms for the orders pipeline's, twice a deploy; the simulator sends its
    templates as JSON (a subset of YAML, so the result is the same), which `json` reads at once."""

    def parse_template(template: str) -> dict[str, Any]:
        if template.lstrip().startswith("{"):
            try:
                parsed = json.loads(template)
            except ValueError:
                return original(template)
            if isinstance(parsed, dict):
                return parsed
        return original(template)

    parse_template.__wrapped__ = original  # type: ignore[attr-defined]
    return staticmethod(parse_template)


# The module whose import applies `deferred_patches`, slow to import (see above): moto's
# CloudFormation models, which import its parser first, so both are there.
DEFERRED_MODULE = "moto.cloudformation.models"


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.awslambda.models import LambdaFunction

    return [
        Patch(LambdaFunction, "create_from_cloudformation_json", classmethod(_function_from_cloudformation),
              ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
              "CloudFormation AWS::Lambda::Function properties"),
    ]


def deferred_patches() -> list[Patch]:
    """The patches of moto's CloudFormation parser, applied when it is imported (`DEFERRED_MODULE`)."""
    import moto.cloudformation.parsing as cfn_parsing
    from moto.cloudformation.models import Stack

    return [
        Patch(Stack, "parse_template", None, ("template",),
              "templates read as JSON first (the simulator sends JSON)", wrap=_json_first),
        Patch(cfn_parsing, "resource_class_from_type", None, ("resource_type",),
              "CloudFormation AWS::Lambda::EventInvokeConfig, AWS::ApiGateway(V2) stages and HTTP APIs, "
              "AWS::SNS::Subscription",
              wrap=_wrap_resource_class_from_type),
        Patch(cfn_parsing, "parse_and_create_resource", None,
              ("logical_id", "resource_json", "resources_map", "account_id", "region_name"),
              "a failed resource's CREATE_FAILED event and reason", wrap=_wrap_parse_and_create_resource),
    ]
