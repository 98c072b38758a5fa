"""Ingest: POST /orders behind API Gateway (REST API, Lambda proxy integration).

Validates the request against the contract (400 with the field errors, 413 when too large),
turns each order into an ``OrderPlaced`` event with an event id and a correlation id, and puts
the events on the orders bus with ``event_sender.send_events`` (batches of at most 10, failed
entries retried). Answers 202 when every event is on the bus, 503 naming the orders that are
not (safe to retry: the event id is derived from the order id and the processor is idempotent).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import ValidationError, parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

import orders_contract as contract
from event_sender import send_events

logger = Logger()
metrics = Metrics(namespace="Orders")
events = boto3.client("events")
BUS_NAME = os.environ["EVENT_BUS_NAME"]
# --8<-- [start:limits]
# Our own limit, well under EventBridge's 1 MB per event (since January 2026): PutEvents bills
# each 64 KB chunk of an entry as one event, so a request stays one chunk per order or less.
MAX_BODY_BYTES = 64 * 1024
# --8<-- [end:limits]


def respond(status: int, body: dict[str, Any], correlation_id: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "X-Correlation-Id": correlation_id},
        "body": json.dumps(body, sort_keys=True),
    }


# --8<-- [start:handler]
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = parse(event=event, model=APIGatewayProxyEventModel)
    headers = {k.lower(): v for k, v in (request.headers or {}).items()}
    correlation_id = headers.get("x-correlation-id") or request.requestContext.requestId
    logger.append_keys(correlation_id=correlation_id)

    body = request.body or ""
    if len(body.encode()) > MAX_BODY_BYTES:
        logger.warning("request too large", extra={"bytes": len(body.encode())})
        metrics.add_metric(name="RequestsRejected", unit=MetricUnit.Count, value=1)
        return respond(413, {"message": f"request body over {MAX_BODY_BYTES} bytes"}, correlation_id)
    try:
        orders = contract.OrdersRequest.model_validate_json(body).orders
    except ValidationError as exc:
        errors = contract.field_errors(exc)
        logger.warning("invalid request", extra={"errors": errors})
        metrics.add_metric(name="RequestsRejected", unit=MetricUnit.Count, value=1)
        return respond(400, {"message": "invalid request", "errors": errors}, correlation_id)

    occurred_at = datetime.now(timezone.utc).isoformat()
    entries = [
        {
            "EventBusName": BUS_NAME,
            "Source": contract.SOURCE_API,
            "DetailType": contract.ORDER_PLACED,
            "Detail": json.dumps({
                "metadata": {
                    "event_id": contract.event_id_for(order.order_id),
                    "correlation_id": correlation_id,
                    "schema_version": contract.SCHEMA_VERSION,
                    "occurred_at": occurred_at,
                },
                "data": order.model_dump(mode="json"),
            }),
        }
        for order in orders
    ]
    report = send_events(events, entries)
    metrics.add_metric(name="EventsSent", unit=MetricUnit.Count, value=report["sent"])
    accepted = [
        {"order_id": o.order_id, "event_id": contract.event_id_for(o.order_id)} for o in orders
    ]
    if report["failed"]:  # never silently: log, count, and tell the client which orders
        not_sent = [
            {"order_id": orders[f["index"]].order_id, "error_code": f["error_code"]}
            for f in report["failed"]
        ]
        logger.error("events not sent", extra={"not_sent": not_sent})
        metrics.add_metric(name="EventsNotSent", unit=MetricUnit.Count, value=len(not_sent))
        failed = {f["index"] for f in report["failed"]}
        return respond(503, {
            "message": "some orders were not accepted; retry them",
            "accepted": [a for i, a in enumerate(accepted) if i not in failed],
            "not_sent": not_sent,
        }, correlation_id)
    logger.info("orders accepted", extra={
        "event_ids": [a["event_id"] for a in accepted], "put_events_calls": report["put_events_calls"]})
    return respond(202, {"accepted": accepted}, correlation_id)
# --8<-- [end:handler]
