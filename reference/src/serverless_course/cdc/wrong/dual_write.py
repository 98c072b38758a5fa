"""WRONG (lesson 08-03): the dual write, module 1's gap. The function stores the order, then puts
OrderPlaced on the bus: two writes to two services that nothing joins. When the second fails
after the first succeeded (a crash, a timeout, PutEvents refused), the caller's retry finds the
order stored and, the write being idempotent, returns: the event is never sent."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.exceptions import ClientError

table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
events = boto3.client("events")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    order = event["order"]
    try:
        table.put_item(Item=order, ConditionExpression="attribute_not_exists(order_id)")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return {"order_id": order["order_id"], "stored": "earlier"}  # a retry: already done
        raise
    events.put_events(Entries=[{"EventBusName": os.environ["EVENT_BUS_NAME"], "Source": "orders.dualwrite",
                                "DetailType": "OrderPlaced", "Detail": json.dumps({"order_id": order["order_id"]})}])
    return {"order_id": order["order_id"], "stored": "now"}
