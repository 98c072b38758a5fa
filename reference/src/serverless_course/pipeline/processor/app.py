"""Processor: reads OrderPlaced events from the orders queue (SQS event source mapping).

For each record: parse the EventBridge event and its detail (the contract), then, once per
event id (Powertools idempotency, DynamoDB persistence), write the order with a conditional
put (``attribute_not_exists``) and queue an ``OrderAccepted`` event. Failed records are
reported in ``batchItemFailures`` (``ReportBatchItemFailures`` on the mapping), so only they
are retried. The accepted events of the batch are put on the bus in batches of at most 10.
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
accepted_in_this_batch: list[dict[str, Any]] = []


# --8<-- [start:accept]
@idempotent_function(data_keyword_argument="detail", config=config, persistence_store=persistence)
def accept_order(detail: dict[str, Any]) -> dict[str, Any]:
    placed = contract.OrderPlacedDetail.model_validate(detail)
    order = placed.data
    try:
        table.put_item(
            Item={
                "order_id": order.order_id,
                "customer_id": order.customer_id,
                "currency": order.currency,
                "total": contract.order_total(order),
                "items": len(order.items),
                "event_id": str(placed.metadata.event_id),
                "correlation_id": placed.metadata.correlation_id,
            },
            ConditionExpression="attribute_not_exists(order_id)",
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        logger.warning("order already stored", extra={"order_id": order.order_id})
        return {"order_id": order.order_id, "status": "already stored"}
    accepted_in_this_batch.append({
        "metadata": {
            "event_id": contract.event_id_for(f"accepted:{order.order_id}"),
            "correlation_id": placed.metadata.correlation_id,
            "schema_version": contract.SCHEMA_VERSION,
            "occurred_at": datetime.now(timezone.utc).isoformat(),
        },
        "data": {"order_id": order.order_id, "customer_id": order.customer_id,
                 "currency": order.currency, "total": str(contract.order_total(order))},
    })
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
    config.register_lambda_context(context)
    accepted_in_this_batch.clear()
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    logger.remove_keys(["correlation_id", "event_id"])
    failures = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="OrdersStored", unit=MetricUnit.Count, value=len(accepted_in_this_batch))
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failures)
    if accepted_in_this_batch:
        entries = [
            {"EventBusName": BUS_NAME, "Source": contract.SOURCE_PROCESSOR,
             "DetailType": contract.ORDER_ACCEPTED, "Detail": json.dumps(detail)}
            for detail in accepted_in_this_batch
        ]
        report = send_events(events, entries)
        if report["failed"]:  # the orders are stored; their accepted events are reported lost
            lost = [accepted_in_this_batch[f["index"]]["data"]["order_id"] for f in report["failed"]]
            logger.error("accepted events not sent", extra={"order_ids": lost})
            metrics.add_metric(name="AcceptedEventsNotSent", unit=MetricUnit.Count, value=len(lost))
    return response
