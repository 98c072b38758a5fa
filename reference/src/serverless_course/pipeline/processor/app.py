"""Processor: reads OrderPlaced events from the orders queue (SQS event source mapping).

For each record: parse the EventBridge event and its detail (the contract), then, once per
event id (Powertools idempotency, DynamoDB persistence), write the order with a conditional
put (``attribute_not_exists``) and put its ``OrderAccepted`` event on the bus. The write and the
event are one idempotent unit: the idempotency record is COMPLETED only after both succeeded.
Failed records are reported in ``batchItemFailures`` (``ReportBatchItemFailures`` on the
mapping), so only they are retried.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
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
from botocore.exceptions import ClientError

import orders_contract as contract
from event_sender import send_events

logger = Logger()
metrics = Metrics(namespace="Orders")
processor = BatchProcessor(event_type=EventType.SQS)
table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
events = boto3.client("events")
BUS_NAME = os.environ["EVENT_BUS_NAME"]
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
            raise
        stored_by = exc.response.get("Item", {}).get("event_id", {}).get("S")
        if stored_by != event_id:  # another event's order: its own unit sends its event
            logger.warning("order already stored", extra={"order_id": order.order_id})
            return {"order_id": order.order_id, "status": "already stored"}
        # Written by an earlier attempt of this event that did not complete: send the event.
        logger.info("order stored by an earlier attempt", extra={"order_id": order.order_id})
    accepted = {
        "metadata": {
            "event_id": contract.event_id_for(f"accepted:{order.order_id}"),
            "correlation_id": placed.metadata.correlation_id,
            "schema_version": contract.SCHEMA_VERSION,
            "occurred_at": datetime.now(timezone.utc).isoformat(),
        },
        "data": {"order_id": order.order_id, "customer_id": order.customer_id,
                 "currency": order.currency, "total": str(contract.order_total(order))},
    }
    report = send_events(events, [{"EventBusName": BUS_NAME, "Source": contract.SOURCE_PROCESSOR,
                                   "DetailType": contract.ORDER_ACCEPTED,
                                   "Detail": json.dumps(accepted)}])
    if report["failed"]:  # raise: the idempotency record is deleted and SQS retries the record
        metrics.add_metric(name="AcceptedEventsNotSent", unit=MetricUnit.Count, value=1)
        raise RuntimeError(f"OrderAccepted not sent for {order.order_id}: {report['failed'][0]}")
    logger.info("order stored", extra={"order_id": order.order_id})
    return {"order_id": order.order_id, "status": "stored"}
# --8<-- [end:accept]


def record_handler(record: SQSRecord) -> None:
    event = contract.BusEvent.model_validate_json(record.body)
    detail = event.detail
    logger.append_keys(correlation_id=detail.get("metadata", {}).get("correlation_id"),
                       event_id=detail.get("metadata", {}).get("event_id"))
    accept_order(detail=detail)


@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global stored_in_this_invocation
    config.register_lambda_context(context)
    stored_in_this_invocation = 0
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    logger.remove_keys(["correlation_id", "event_id"])
    failures = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="OrdersStored", unit=MetricUnit.Count, value=stored_in_this_invocation)
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failures)
    return response
