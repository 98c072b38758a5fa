"""Delivering asynchronous invocation records and dead letters, through moto's public APIs.

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html (table
"Destination-specific JSON format"): SQS and SNS receive the invocation record as the message;
a Lambda function is invoked asynchronously with it; an EventBridge bus receives it as the
`detail` of a PutEvents entry; an S3 bucket (on failure only) stores it as a JSON object. A
dead-letter queue (SQS or SNS) receives the event itself, with RequestID, ErrorCode and
ErrorMessage attributes. The shapes are built by `rules.async_invoke`; this module only sends.

Lambda sends with the function's execution role; moto enforces no IAM here, so a missing
permission does not fail a delivery. What does fail (a missing queue, topic, bus, bucket or
function, a FIFO queue without a message group, a payload over the target's quota, an ARN of
an unsupported service) raises `DeliveryFailed`, which the queue counts as
DestinationDeliveryFailures or DeadLetterErrors, as AWS does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import running
from .errors import SimulatorNotRunning
from .rules import async_invoke as ai
from .rules import invoke as inv


class DeliveryFailed(Exception):
    """Lambda could not deliver a record or a dead letter to its target."""


def _default_client(service: str, region: str) -> Any:
    sim = running.active_simulator()
    if sim is None:
        raise DeliveryFailed("no simulator is running")
    if region == sim.region:
        return sim.client(service)
    return sim.client(service, region_name=region)


def _default_lambda(account_id: str, function_arn: str, payload: bytes) -> None:
    sim = running.active_simulator()
    if sim is None:
        raise SimulatorNotRunning("a Lambda function was invoked while no Simulator is running")
    sim._service.enqueue_by_arn(account_id, function_arn, payload, source="destination")


class Destinations:
    """Sends invocation records and dead letters. `client(service, region)` gives a boto3
    client; `invoke_async(account_id, function_arn, payload)` queues an asynchronous
    invocation (both replaceable, e.g. by a model without moto)."""

    def __init__(
        self,
        client: Callable[[str, str], Any] = _default_client,
        invoke_async: Callable[[str, str, bytes], None] = _default_lambda,
    ):
        self._client = client
        self._invoke_async = invoke_async

    def send_record(self, target_arn: str, record: dict[str, Any], *, function_name: str, at: datetime,
                    random_uuid: str) -> None:
        """Deliver an invocation record to a destination. Raises `DeliveryFailed`."""
        service, region, account, resource = _split(target_arn)
        body = ai.record_json(record)
        try:
            if service == "sqs":
                self._send_sqs(region, account, resource, body, None)
            elif service == "sns":
                self._client("sns", region).publish(TopicArn=target_arn, Message=body)
            elif service == "events":
                answer = self._client("events", region).put_events(Entries=[ai.eventbridge_entry(record, target_arn)])
                if answer.get("FailedEntryCount"):
                    raise DeliveryFailed(f"PutEvents to {target_arn} failed: {answer['Entries']}")
            elif service == "lambda":
                payload = body.encode("utf-8")
                if len(payload) > inv.ASYNC_REQUEST_LIMIT_BYTES:
                    raise DeliveryFailed(inv.request_too_large_message("Event", len(payload)))
                self._invoke_async(account, target_arn, payload)
            elif service == "s3":
                key = ai.s3_object_key(function_name, at, random_uuid)
                self._client("s3", region or "us-east-1").put_object(
                    Bucket=resource, Key=key, Body=body.encode("utf-8"), ContentType="application/json")
            else:
                raise DeliveryFailed(f"unsupported destination {target_arn}")
        except DeliveryFailed:
            raise
        except Exception as e:  # a ClientError, moto's ResourceNotFound, ...
            raise DeliveryFailed(f"{type(e).__name__}: {e}") from e

    def send_dead_letter(self, target_arn: str, payload: bytes, attributes: dict[str, dict[str, str]]) -> None:
        """Deliver the event itself to the function's dead-letter queue or topic."""
        service, region, account, resource = _split(target_arn)
        body = payload.decode("utf-8") if payload.strip() else "{}"
        try:
            if service == "sqs":
                self._send_sqs(region, account, resource, body, attributes)
            elif service == "sns":
                self._client("sns", region).publish(TopicArn=target_arn, Message=body, MessageAttributes=attributes)
            else:
                raise DeliveryFailed(f"a dead-letter queue must be an SQS queue or SNS topic, not {target_arn}")
        except DeliveryFailed:
            raise
        except Exception as e:
            raise DeliveryFailed(f"{type(e).__name__}: {e}") from e

    def _send_sqs(self, region: str, account: str, name: str, body: str,
                  attributes: dict[str, dict[str, str]] | None) -> None:
        sqs = self._client("sqs", region)
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
        if attributes:
            kwargs["MessageAttributes"] = attributes
        sqs.send_message(**kwargs)


def _split(arn: str) -> tuple[str, str, str, str]:
    # arn:partition:service:region:account:resource (S3: arn:aws:s3:::bucket)
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise DeliveryFailed(f"not an ARN: {arn!r}")
    return parts[2], parts[3], parts[4], parts[5]


def decoded(payload: bytes) -> Any:
    """A JSON payload as the record carries it (None when empty, text when not JSON)."""
    if not payload.strip():
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", "replace")
