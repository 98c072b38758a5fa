"""IoT Core: the rules engine moto lacks (it stores topic rules and never runs them).

- `IoTDataPlaneBackend.publish` (boto3 `iot-data` Publish): a payload over 128 KB is refused with
  RequestEntityTooLargeException (HTTP 413, API_iotdata_Publish.html) and nothing is kept; a
  Basic Ingest topic (`$aws/rules/<rule>/...`) skips moto's broker record, as it skips AWS's
  broker; then the message goes to the simulator's `iot.IotRulesEngine` (set by
  `set_iot_rules_engine`; None while no simulation runs or with `Simulator(iot_rules=False)`,
  and then moto is unchanged).
- `IoTBackend.create_topic_rule` (ReplaceTopicRule calls it too): the SQL is parsed as the rules
  engine parses it, and refused with SqlParseException (HTTP 400, API_CreateTopicRule.html); a
  rule without `awsIotSqlVersion` keeps AWS's default, 2015-10-08, where moto stored 2016-03-23.
- AWS::IoT::TopicRule for moto's CloudFormation, which lacks it (`TopicRuleResource`; SAM's
  `IoTRule` events of a function become one, with the function's Lambda action).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..rules import iot as rules
from . import _shared
from ._patching import Patch

if TYPE_CHECKING:
    from ..iot import IotRulesEngine

_engine: IotRulesEngine | None = None


def set_iot_rules_engine(engine: IotRulesEngine | None) -> None:
    """The simulator's rules engine (None: moto's behaviour, messages only kept)."""
    global _engine
    _engine = engine


def _error(code: str, message: str, status: int) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(code, message)
    error.code = status
    return error


def _wrap_publish(original: Callable[..., Any]) -> Callable[..., Any]:
    def publish(self: Any, topic: str, payload: bytes) -> None:
        if _engine is None:
            return original(self, topic, payload)
        body = payload if isinstance(payload, bytes) else str(payload or "").encode()
        if len(body) > rules.MAX_PAYLOAD_BYTES:
            raise _error(rules.PAYLOAD_TOO_LARGE_CODE, rules.PAYLOAD_TOO_LARGE_MESSAGE, rules.PAYLOAD_TOO_LARGE_STATUS)
        if rules.basic_ingest(topic) is None:
            original(self, topic, body)
        # An HTTPS publish has no MQTT client id: clientid() answers "n/a" (iot-sql-functions.html).
        _engine.receive(self.account_id, self.region_name, topic, body, None)

    publish.__wrapped__ = original  # type: ignore[attr-defined]
    return publish


def _wrap_create_topic_rule(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_topic_rule(self: Any, rule_name: str, sql: str, **kwargs: Any) -> None:
        if _engine is None:
            return original(self, rule_name, sql, **kwargs)
        version = kwargs.get("aws_iot_sql_version") or rules.DEFAULT_SQL_VERSION
        try:
            rules.parse(sql or "", version)
        except rules.SqlParseError as error:
            raise _error(rules.SQL_PARSE_CODE, str(error), 400) from None
        return original(self, rule_name, sql, **{**kwargs, "aws_iot_sql_version": version})

    create_topic_rule.__wrapped__ = original  # type: ignore[attr-defined]
    return create_topic_rule


def _api_keys(value: Any) -> Any:
    """A template's TopicRulePayload (PascalCase keys) as the API's (camelCase): `Lambda` ->
    `lambda`, `FunctionArn` -> `functionArn`, `DynamoDBv2` -> `dynamoDBv2`."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _api_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_api_keys(item) for item in value]
    return value


class TopicRuleResource(_shared.AddedResource):
    """AWS::IoT::TopicRule for moto's CloudFormation
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iot-topicrule.html).
    Created with the IoT API's backend method, so a template's rule runs as one created with
    boto3. `Ref` is the rule's name; `Arn` its ARN."""

    def __init__(self, name: str, arn: str):
        self.name, self.arn = name, arn
        self.physical_resource_id = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::IoT::TopicRule"

    CFN_ATTRIBUTES = ("Arn",)

    def cfn_attributes(self) -> dict[str, str]:
        return {"Arn": self.arn}

    @staticmethod
    def _name(resource_name: str, props: dict[str, Any]) -> str:
        # A rule name allows only letters, digits and underscores (API_CreateTopicRule.html).
        return str(props.get("RuleName") or re.sub(r"[^A-Za-z0-9_]", "_", resource_name))

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> TopicRuleResource:
        from moto.iot.models import iot_backends

        props = cloudformation_json["Properties"]
        payload = _api_keys(props["TopicRulePayload"])
        name = cls._name(resource_name, props)
        backend = iot_backends[account_id][region_name]
        backend.create_topic_rule(
            rule_name=name, sql=payload["sql"], description=payload.get("description"),
            rule_disabled=payload.get("ruleDisabled"), actions=payload.get("actions"),
            error_action=payload.get("errorAction"), aws_iot_sql_version=payload.get("awsIotSqlVersion"))
        return cls(name, backend.rules[name].arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls(cls._name(resource_name, cloudformation_json["Properties"]), "").delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        from moto.iot.models import iot_backends

        iot_backends[account_id][region].rules.pop(self.name, None)  # deleted already (by the API): nothing to do


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.iot.models import IoTBackend
    from moto.iotdata.models import IoTDataPlaneBackend

    return [
        Patch(IoTDataPlaneBackend, "publish", None, ("self", "topic", "payload"),
              "IoT rules engine: published messages run the topic rules; the 128 KB payload limit",
              wrap=_wrap_publish),
        Patch(IoTBackend, "create_topic_rule", None, ("self", "rule_name", "sql", "kwargs"),
              "IoT rule SQL parsed at creation (SqlParseException); the 2015-10-08 default version",
              wrap=_wrap_create_topic_rule),
    ]
