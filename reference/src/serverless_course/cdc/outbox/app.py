"""The outbox pipe's enrichment: each order change read from the stream becomes a domain event.

The pipe (``OrdersOutboxPipe`` in ``template.yaml``) reads the orders table's stream, keeps
INSERT and MODIFY records of readable orders (its filter) and invokes this function with the
batch as a JSON array (pipes-enrichment.html); the array returned, one event per record, goes to
the event bus. ``event_id`` is the stream record's eventID: a consumer that meets an event
twice (the pipe delivers at least once) can tell.
"""

from __future__ import annotations

from typing import Any

import orders


def lambda_handler(event: list[dict[str, Any]], context: Any) -> list[dict[str, Any]]:
    return [domain_event(record) for record in event]


def domain_event(record: dict[str, Any]) -> dict[str, Any]:
    order = orders.read_order(record["dynamodb"]["NewImage"])
    if record["eventName"] == "INSERT":
        kind = "OrderPlaced"
    elif order.cancelled:
        kind = "OrderCancelled"
    else:
        kind = "OrderUpdated"
    return {"type": kind, "event_id": record["eventID"], "order_id": order.order_id,
            "customer_id": order.customer_id, "status": order.status,
            "total_cents": order.total_cents, "version": order.version}
