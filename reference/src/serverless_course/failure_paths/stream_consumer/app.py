"""Path 3, Kinesis event source mapping: a batch of orders, in shard order.

A poison record fails the whole batch (a function error). ``BisectBatchOnFunctionError`` splits
the failed batch until the poison record is alone, the good records around it are processed,
and after ``MaximumRetryAttempts`` the poison record's position (not its data) goes to the
on-failure destination. Delivery is at least once: a batch retried after a failure in the middle
of its writes writes again, so each write is an idempotent put of the same item.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import order_item, parse_order

logger = Logger()
table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])


@logger.inject_lambda_context
@event_source(data_class=KinesisStreamEvent)
def lambda_handler(event: KinesisStreamEvent, context: LambdaContext) -> None:
    # Check the whole batch before writing any of it: the failure then names the batch's first
    # poison record, and a batch that fails writes nothing.
    orders = [parse_order(record.kinesis.data_as_json()) for record in event.records]
    for order in orders:
        table.put_item(Item=order_item(order, "stream"))
    logger.info("batch processed", extra={"order_ids": [o.order_id for o in orders]})
