"""S3: a bucket's notifications from its template, and their object keys as AWS writes them.

moto's `AWS::S3::Bucket` ignores `NotificationConfiguration` (no warning: the bucket has no
notification and an upload triggers nothing), and SAM's `S3` events are written there. The
replacement creates the bucket as moto does, then gives it the notification configuration
CloudFormation describes (Lambda functions, SQS queues, SNS topics with their events and key
filters, and EventBridge), in the shape moto's own PutBucketNotificationConfiguration stores,
so moto's notifications (and the simulator's route from S3 into Lambda) deliver them. Applied
with moto's CloudFormation, like the `cloudformation` module's parser patch.

A notification's object key is URL-encoded ("red flower.jpg" becomes "red+flower.jpg",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html) with
its "/" kept; moto also encodes "/" (as %2F), for every destination: Lambda, SQS and SNS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._patching import Patch

#: CloudFormation's list of each kind of target, moto's stored key and the target's property.
_KINDS = (("LambdaConfigurations", "CloudFunctionConfiguration", "Function", "CloudFunction"),
          ("QueueConfigurations", "QueueConfiguration", "Queue", "Queue"),
          ("TopicConfigurations", "TopicConfiguration", "Topic", "Topic"))


def notification_configuration(template: dict[str, Any]) -> dict[str, Any]:
    """A template's NotificationConfiguration as moto stores a bucket's
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-notificationconfiguration.html)."""
    stored: dict[str, Any] = {}
    for listed, key, target, moto_target in _KINDS:
        configurations = []
        for entry in template.get(listed) or []:
            rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            configuration = {moto_target: entry[target], "Event": [entry["Event"]]}
            if rules:
                configuration["Filter"] = {"S3Key": {"FilterRule": [
                    {"Name": rule["Name"], "Value": rule["Value"]} for rule in rules]}}
            configurations.append(configuration)
        if configurations:
            stored[key] = configurations
    if (template.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled") in (True, "true"):
        stored["EventBridgeConfiguration"] = {}
    return stored


def _wrap_bucket_from_cloudformation(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> Any:
        """FakeBucket.create_from_cloudformation_json, with the bucket's NotificationConfiguration."""
        bucket = original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        template = (cloudformation_json.get("Properties") or {}).get("NotificationConfiguration")
        if template:
            bucket.set_notification_configuration(notification_configuration(template))
        return bucket

    return classmethod(create_from_cloudformation_json)


def _wrap_s3_event(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        from urllib.parse import quote_plus

        event = original(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            record["s3"]["object"]["key"] = quote_plus(key.name, safe="/")
        return event

    return get_s3_event


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    import moto.s3.notifications as notifications

    return [Patch(notifications, "_get_s3_event", None, ("event_name", "bucket", "key", "notification_id"),
                  "notification object keys", wrap=_wrap_s3_event)]


def deferred_patches() -> list[Patch]:
    """The patches of S3's models, applied with moto's CloudFormation's."""
    from moto.s3.models import FakeBucket

    return [
        Patch(FakeBucket, "create_from_cloudformation_json", None,
              ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
              "AWS::S3::Bucket NotificationConfiguration (SAM's S3 events)",
              wrap=_wrap_bucket_from_cloudformation),
    ]
