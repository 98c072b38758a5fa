"""Path 1, asynchronous invoke: one order per invocation (``InvocationType=Event``).

A poison order raises; Lambda's asynchronous queue retries it (``EventInvokeConfig``) and then
hands it to the on-failure destination and to the function's dead-letter queue.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import order_item, parse_order

logger = Logger()
table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    order = parse_order(event)
    table.put_item(Item=order_item(order, "async"))
    logger.info("order processed", extra={"order_id": order.order_id})
    return {"order_id": order.order_id}
