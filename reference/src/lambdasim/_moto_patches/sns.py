"""SNS to Lambda: AWS's event, delivered asynchronously; subscriptions from templates.

For `lambda` subscriptions moto sends a fixed sample event (topic `arn:aws:sns:EXAMPLE`, made-up
attributes, a 1970 timestamp); `Subscription.publish` sends the real topic, subscription, message
id, attributes and time (with-sns.html) as an asynchronous invocation. Other protocols go to
moto as before. moto's CloudFormation has no `AWS::SNS::Subscription` (every SAM `SNS` event
and SNS-to-SQS subscription is one): `SubscriptionResource` is added to it (through the
`cloudformation` module's parser patch).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .. import moto_state
from . import _shared
from ._patching import Patch


def _wrap_sns_publish(original: Callable[..., None]) -> Callable[..., None]:
    def publish(self: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                deduplication_id: str | None = None, message_structure: str | None = None) -> None:
        """Subscription.publish for `lambda` subscriptions: moto sends a fixed sample
        event (topic `arn:aws:sns:EXAMPLE`, made-up attributes, 1970 timestamp); AWS sends the real
        topic, subscription, message id, attributes and time (with-sns.html), asynchronously."""
        if self.protocol != "lambda":
            return original(self, message, message_id, subject, message_attributes, group_id,
                            deduplication_id, message_structure)
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None
        if _shared.push_refused("sns.amazonaws.com", self.endpoint, self.topic.arn):
            # sns-dead-letter-queues.html: a client-side error, which SNS does not retry.
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        region = self.topic.arn.split(":")[3]
        base = f"https://sns.{region}.amazonaws.com"
        attributes = {
            name: {"Type": value.get("Type", value.get("DataType", "String")),
                   "Value": value.get("Value", value.get("StringValue", value.get("BinaryValue", "")))}
            for name, value in (message_attributes or {}).items()
        }
        when = datetime.fromtimestamp(moto_state.now_ms() / 1000, tz=timezone.utc)
        event = {"Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": self.arn,
            "Sns": {
                "Type": "Notification",
                "MessageId": message_id,
                "TopicArn": self.topic.arn,
                "Subject": subject,
                "Message": message,
                "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": f"{base}/SimpleNotificationService-0000000000000000000000.pem",
                "UnsubscribeUrl": f"{base}/?Action=Unsubscribe&SubscriptionArn={self.arn}",
                "MessageAttributes": attributes,
            },
        }]}
        # xray-services-sns.html: SNS passes the publisher's trace context to its subscribers
        # (loop detection's chain with it: rules/recursion.py).
        _shared.deliver_to_lambda(self.account_id, self.endpoint, json.dumps(event).encode("utf-8"), "sns",
                                  trace_header=_shared.trace_header)
        return None

    publish.__wrapped__ = original  # type: ignore[attr-defined]
    return publish


def _attribute_text(value: Any) -> str:
    """A template's attribute value as SetSubscriptionAttributes takes it: policies as JSON,
    booleans as "true"/"false"."""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class SubscriptionResource(_shared.AddedResource):
    """AWS::SNS::Subscription for moto's CloudFormation, with its attributes
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-subscription.html)."""

    _ATTRIBUTES = ("RawMessageDelivery", "DeliveryPolicy", "FilterPolicy", "FilterPolicyScope",
                   "RedrivePolicy", "SubscriptionRoleArn")

    def __init__(self, arn: str):
        self.physical_resource_id = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> SubscriptionResource:
        from moto.sns.models import sns_backends

        props = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(str(props["TopicArn"]), str(props.get("Endpoint", "")),
                                         str(props["Protocol"]))
        for name in cls._ATTRIBUTES:
            if name in props:
                backend.set_subscription_attributes(subscription.arn, name, _attribute_text(props[name]))
        return cls(subscription.arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None  # the subscription's ARN is not known from the template; `delete` has it

    def delete(self, account_id: str, region: str) -> None:
        from moto.sns.models import sns_backends

        sns_backends[account_id][region].unsubscribe(self.physical_resource_id)


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.sns.models import Subscription

    return [
        Patch(Subscription, "publish", None,
              ("self", "message", "message_id", "subject", "message_attributes", "group_id", "deduplication_id",
               "message_structure"), "SNS to Lambda: AWS's event", wrap=_wrap_sns_publish),
    ]
