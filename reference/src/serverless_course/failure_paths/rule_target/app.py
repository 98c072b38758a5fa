"""Path 2, EventBridge rule target: the order is the ``detail`` of an ``OrderPlaced`` event.

EventBridge invokes the function asynchronously: once Lambda has accepted the event, a poison
order is Lambda's to retry (the function's ``EventInvokeConfig``), not EventBridge's. The rule
target's retry policy and dead-letter queue only cover Lambda refusing the invocation itself.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import order_item, parse_order

logger = Logger()
table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


@logger.inject_lambda_context
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, str]:
    order = parse_order(event.detail)
    table.put_item(Item=order_item(order, "eventbridge"))
    logger.info("order processed", extra={"order_id": order.order_id, "event_id": event.get_id})
    return {"order_id": order.order_id}
