"""DELIBERATELY WRONG processor (caught by the chaos audit): idempotent on the delivery, not on the event.

Each record is processed once per SQS ``messageId`` (Powertools idempotency keyed on the
record's ``messageId``), the order written with a plain ``put_item`` that trusts that key, and
the ``OrderAccepted`` event put inside the idempotent unit. SQS's own redeliveries (a record
that failed or timed out comes back) keep their ``messageId``, so they are absorbed. But an
order sent twice (a producer's retry, an EventBridge duplicate, a replay) is a new SQS message
with a new ``messageId`` and the same ``metadata.event_id``: it passes, and the order is written
twice (``duplicated``). Poison messages are left to the queue's redrive policy.
Replaces the pipeline's ``processor/app.py``.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

import orders_contract as contract
from event_sender import send_events

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
events = boto3.client("events")
BUS_NAME = os.environ["EVENT_BUS_NAME"]
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
# --8<-- [start:key]
config = IdempotencyConfig(
    event_key_jmespath="messageId",  # the bug: a new message for the same event has a new id
    expires_after_seconds=24 * 3600,
    raise_on_no_idempotency_key=True,
)


@idempotent_function(data_keyword_argument="record", config=config, persistence_store=persistence)
def accept_delivery(record: dict[str, Any]) -> dict[str, Any]:
    bus_event = contract.BusEvent.model_validate_json(record["body"])
    placed = contract.OrderPlacedDetail.model_validate(bus_event.detail)
    order = placed.data
    table.put_item(Item={"order_id": order.order_id, "customer_id": order.customer_id,
                         "total": contract.order_total(order)})
    report = send_events(events, [contract.order_accepted_entry(placed, BUS_NAME)])
    if report["failed"]:
        raise RuntimeError(f"OrderAccepted not sent for {order.order_id}")
    return {"order_id": order.order_id}
# --8<-- [end:key]


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config.register_lambda_context(context)
    failures = []
    for record in event["Records"]:
        try:
            accept_delivery(record=record)
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
