"""Lab 08: the customer summary projection (the CDC stack's SummaryFunction, summary/app.py).

Lambda invokes lambda_handler with batches of the orders table's stream records
(NEW_AND_OLD_IMAGES, ReportBatchItemFailures, bisection on errors, 3 retries, then the
on-failure queue). Keep, for each customer, one item of the read-model table (SUMMARY_TABLE)
with key {"customer_id": <customer>, "entry": "SUMMARY"} and these attributes:

    orders         open orders (any status but CANCELLED) the orders table holds now
    cancelled      cancelled orders it holds now
    total_cents    the total of the open orders
    last_order_id  the most recent order it holds (latest created_at, then order id),
    last_order_at  and that order's created_at (both absent when it holds none)

so that, once the stream has been read, every summary equals `orders.summarize` of the table.

What this starter does: counts each INSERT once, by ADD. What it does not (your work):
updates and cancels, REMOVE records (a user's delete, and Time to Live's), the last order,
records delivered twice, failures reported per record, and unreadable items. Read README.md.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

import orders  # the item schemas: orders.read_order(image) -> orders.Order, orders.UnreadableOrder

table = boto3.resource("dynamodb").Table(os.environ["SUMMARY_TABLE"])


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        if record["eventName"] != "INSERT":
            continue  # TODO: MODIFY and REMOVE
        order = orders.read_order(record["dynamodb"]["NewImage"])
        # TODO: a record may come twice; this adds it twice.
        table.update_item(Key={"customer_id": order.customer_id, "entry": orders.SUMMARY_ENTRY},
                          UpdateExpression="ADD orders :one, total_cents :total",
                          ExpressionAttributeValues={":one": 1, ":total": order.total_cents})
    return {"batchItemFailures": []}
