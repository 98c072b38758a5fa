"""WRONG (lesson 08-02, lab 08's selfcheck): a summary that adds each record's difference with
ADD and remembers nothing about what it applied. Every change is right the first time; a batch
delivered again (Lambda delivers at least once) adds its differences again: counts and totals
drift up, for ever."""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.exceptions import ClientError

import orders

table = boto3.resource("dynamodb").Table(os.environ["SUMMARY_TABLE"])


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        try:
            apply(record)
        except (ClientError, orders.UnreadableOrder):
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}


def _contribution(image: dict[str, Any] | None) -> tuple[int, int, int]:
    if not image:
        return 0, 0, 0
    order = orders.read_order(image)
    return (0, 1, 0) if order.cancelled else (1, 0, order.total_cents)


def apply(record: dict[str, Any]) -> None:
    change = record["dynamodb"]
    before = _contribution(change.get("OldImage"))
    after = (0, 0, 0) if record["eventName"] == "REMOVE" else _contribution(change.get("NewImage"))
    order = orders.read_order(change.get("NewImage") or change["OldImage"])
    table.update_item(
        Key={"customer_id": order.customer_id, "entry": orders.SUMMARY_ENTRY},
        UpdateExpression="ADD orders :o, cancelled :c, total_cents :t",
        ExpressionAttributeValues={":o": after[0] - before[0], ":c": after[1] - before[1],
                                   ":t": after[2] - before[2]})
