"""Processor: reads OrderPlaced events from the orders queue (SQS event source mapping).
Lab 04's instrumented version of the pipeline's processor: every log line carries a correlation
id, and a failed write to the orders table is a metric (OrderWritesFailed) an alarm can name.

For each record: parse the EventBridge event and its detail (the contract), then, once per
event id (Powertools idempotency, DynamoDB persistence), write the order with a conditional
put (``attribute_not_exists``) and put its ``OrderAccepted`` event on the bus. The write and the
event are one idempotent unit: the idempotency record is COMPLETED only after both succeeded.
Failed records are reported in ``batchItemFailures`` (``ReportBatchItemFailures`` on the
mapping), so only they are retried. A record that can never succeed (not JSON, an event that
breaks the contract, no event id) is not retried: it is sent to the dead-letter queue with its
reason in message attributes, and the queue's redrive policy stays the backstop for the rest.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyKeyError
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import ValidationError

import orders_contract as contract
from event_sender import send_events

logger = Logger()
metrics = Metrics(namespace="Orders")
processor = BatchProcessor(event_type=EventType.SQS)
# Standard retry mode, 3 attempts, instead of the legacy mode's 10 retries for DynamoDB
# (https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html): when the table is
# down, a write fails in well under a second and the record goes back to SQS, instead of holding
# the batch through ten backoffs.
table = boto3.resource("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3})).Table(
    os.environ["ORDERS_TABLE"])
events = boto3.client("events")
sqs = boto3.client("sqs")
BUS_NAME = os.environ["EVENT_BUS_NAME"]
DEAD_LETTER_QUEUE_URL = os.environ["DEAD_LETTER_QUEUE_URL"]
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
# --8<-- [start:idempotency]
config = IdempotencyConfig(
    event_key_jmespath="metadata.event_id",  # our event id, not EventBridge's per-entry id
    expires_after_seconds=24 * 3600,
    raise_on_no_idempotency_key=True,
)
# --8<-- [end:idempotency]
stored_in_this_invocation = 0


# --8<-- [start:accept]
# The order's write and its OrderAccepted event are one idempotent unit: the event is put on
# the bus *inside* the idempotent function, so the idempotency record is COMPLETED only once
# both are done. If the invocation dies in between (timeout, crash, PutEvents failing), the
# record stays INPROGRESS (and expires with the invocation) or is deleted (on an exception),
# and the SQS retry runs the function again: the conditional put then finds the order already
# written *by this event* and goes on to put the event. At least once: a retry can send a second
# OrderAccepted (same metadata.event_id, consumers are idempotent); none is dropped: a record
# leaves the queue only once its event is sent (or ends in the DLQ, to redrive, if never).
# Trade-off: one PutEvents call per order instead of one per batch of up to 10. EventBridge bills
# per event (64 KB chunk), not per call, so the cost is the same; the price is request count
# (PutEvents' per-second quota) and one round trip per order. Batching the batch's events at the
# end of the handler, after the idempotency records were COMPLETED, lost every event of a batch
# that timed out before the call (the retry returned the saved results and sent nothing).
@idempotent_function(data_keyword_argument="detail", config=config, persistence_store=persistence)
def accept_order(detail: dict[str, Any]) -> dict[str, Any]:
    global stored_in_this_invocation
    placed = contract.OrderPlacedDetail.model_validate(detail)
    order = placed.data
    event_id = str(placed.metadata.event_id)
    try:
        table.put_item(
            Item={
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "currency": order.currency,
                "total": contract.order_total(order),
                "items": len(order.items),
                "event_id": event_id,
                "correlation_id": placed.metadata.correlation_id,
            },
            ConditionExpression="attribute_not_exists(order_id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        stored_in_this_invocation += 1
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            # The table refused the write after the SDK's retries: the one metric that says
            # which stage failed (Errors only says the function did).
            metrics.add_metric(name="OrderWritesFailed", unit=MetricUnit.Count, value=1)
            logger.error("order write failed", extra={"order_id": order.order_id,
                                                      "error_code": exc.response["Error"]["Code"]})
            raise
        stored_by = exc.response.get("Item", {}).get("event_id", {}).get("S")
        if stored_by != event_id:  # another event's order: its own unit sends its event
            logger.warning("order already stored", extra={"order_id": order.order_id})
            return {"order_id": order.order_id, "status": "already stored"}
        # Written by an earlier attempt of this event that did not complete: send the event.
        logger.info("order stored by an earlier attempt", extra={"order_id": order.order_id})
    report = send_events(events, [contract.order_accepted_entry(placed, BUS_NAME)])
    if report["failed"]:  # raise: the idempotency record is deleted and SQS retries the record
        metrics.add_metric(name="AcceptedEventsNotSent", unit=MetricUnit.Count, value=1)
        raise RuntimeError(f"OrderAccepted not sent for {order.order_id}: {report['failed'][0]}")
    logger.info("order stored", extra={"order_id": order.order_id})
    return {"order_id": order.order_id, "status": "stored"}
# --8<-- [end:accept]


# --8<-- [start:poison]
# Errors that no retry can fix: the body is not JSON or breaks the contract (pydantic), or the
# event has no id to be idempotent on. Anything else (throttles, 5xx, timeouts) may pass on a
# retry and is reported in batchItemFailures.
PERMANENT_ERRORS = (ValidationError, IdempotencyKeyError)
REASON_LIMIT = 1024  # characters of the error kept in the message attribute


def dead_letter(record: SQSRecord, error: Exception) -> None:
    """Send a poison record to the DLQ now, body unchanged and the reason attached, instead of
    failing it maxReceiveCount times (each a wasted invocation, each holding up no one else but
    the record, and reaching the DLQ with no reason). If this send fails, the error propagates:
    the record is reported failed and retried, so it is never lost."""
    sqs.send_message(
        QueueUrl=DEAD_LETTER_QUEUE_URL,
        MessageBody=record.body,
        MessageAttributes={
            "ErrorType": {"DataType": "String", "StringValue": type(error).__name__},
            "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:REASON_LIMIT]},
            "SourceMessageId": {"DataType": "String", "StringValue": record.message_id},
            "ApproximateReceiveCount": {"DataType": "Number",
                                        "StringValue": record.attributes.approximate_receive_count},
        },
    )
    metrics.add_metric(name="RecordsDeadLettered", unit=MetricUnit.Count, value=1)
    logger.error("poison record dead-lettered", extra={"message_id": record.message_id,
                                                       "error_type": type(error).__name__})


def record_handler(record: SQSRecord) -> None:
    # A record that cannot be parsed has no correlation id of its own: its SQS message id
    # stands in, so that no line of this record is left without one.
    logger.append_keys(correlation_id=record.message_id, event_id=None)
    try:
        event = contract.BusEvent.model_validate_json(record.body)
        detail = event.detail
        metadata = detail.get("metadata") if isinstance(detail.get("metadata"), dict) else {}
        logger.append_keys(correlation_id=metadata.get("correlation_id") or record.message_id,
                           event_id=metadata.get("event_id"))
        accept_order(detail=detail)
    except PERMANENT_ERRORS as error:
        dead_letter(record, error)
# --8<-- [end:poison]


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global stored_in_this_invocation
    config.register_lambda_context(context)
    stored_in_this_invocation = 0
    # When every record fails, Powertools raises BatchProcessingError (the whole batch goes back
    # to the queue): those records are failures too, or an outage would vanish from the SLO.
    failures = len(event["Records"])
    try:
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        failures = len(response.get("batchItemFailures", []))
        return response
    finally:
        logger.remove_keys(["correlation_id", "event_id"])
        metrics.add_metric(name="OrdersStored", unit=MetricUnit.Count, value=stored_in_this_invocation)
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failures)
