"""Processor (lab 03 starter): reads OrderPlaced events from the orders queue.

It works while nothing goes wrong: each record's EventBridge event is parsed against the
contract, the order is written to the orders table, and an ``OrderAccepted`` event is put on
the bus for each stored order. It does not survive the chaos run (README.md says why):

* the first record that fails raises out of the handler, so the **whole batch** fails and comes
  back, records already done included;
* the write is **not idempotent**: a duplicate delivery or a redelivered record writes the order
  again.

This file replaces the pipeline's ``processor/app.py``; ``orders_contract`` and
``event_sender`` sit beside it in the function's code folder.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

import boto3

import orders_contract as contract
from event_sender import send_events

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
events = boto3.client("events")
BUS_NAME = os.environ["EVENT_BUS_NAME"]


def accept_order(detail: dict[str, Any]) -> dict[str, Any]:
    """Validate the event's detail, store the order, and return its OrderAccepted detail."""
    placed = contract.OrderPlacedDetail.model_validate(detail)
    order = placed.data
    table.put_item(Item={
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "currency": order.currency,
        "total": contract.order_total(order),
        "items": len(order.items),
        "event_id": str(placed.metadata.event_id),
        "correlation_id": placed.metadata.correlation_id,
    })
    return {
        "metadata": {
            "event_id": contract.event_id_for(f"accepted:{order.order_id}"),
            "correlation_id": placed.metadata.correlation_id,
            "schema_version": contract.SCHEMA_VERSION,
            "occurred_at": datetime.now(timezone.utc).isoformat(),
        },
        "data": {"order_id": order.order_id, "customer_id": order.customer_id,
                 "currency": order.currency, "total": str(contract.order_total(order))},
    }


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    accepted = []
    for record in event["Records"]:
        bus_event = contract.BusEvent.model_validate_json(record["body"])
        accepted.append(accept_order(bus_event.detail))  # an error fails the whole batch
    if accepted:
        send_events(events, [
            {"EventBusName": BUS_NAME, "Source": contract.SOURCE_PROCESSOR,
             "DetailType": contract.ORDER_ACCEPTED, "Detail": json.dumps(detail)}
            for detail in accepted
        ])
