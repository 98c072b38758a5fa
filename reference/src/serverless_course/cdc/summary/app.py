"""Customer summaries from the orders table's stream (the read model; lab 08's solution).

A customer's summary is one item of the read-model table. Beside the figures (open orders and
their total, cancelled orders, the last order) it keeps, per order, an entry: what the last
record applied to that order said, and that record's sequence number. A record moves its
order's entry and adds the difference the move makes to the figures, in one UpdateItem whose
condition is the entry as it was read: a record at or behind the entry's sequence number (a
retried batch, a duplicate delivery) changes nothing, and two deliveries cannot both add the
same difference. The last order is a maximum, settled after each record whether or not it was
applied (so a crash between the two writes is repaired by the retry), and searched for among
the entries when the last order itself leaves the table.

REMOVE records take the order out, whoever deleted it: the summary follows the table, Time to
Live deletions included. Records are applied in stream order; at the first one that fails, its
sequence number is reported (``ReportBatchItemFailures``) and the rest of the batch is left for
the retry, which starts there
(https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html). An order
no schema reads (``orders.UnreadableOrder``) fails every time: bisection isolates it and, once
its retries are spent, the mapping sends it to the on-failure queue.

One item per customer holds at most 400 KB
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html): a few
thousand orders' entries. A customer with more needs a row per order and a transaction.
"""

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


def apply(record: dict[str, Any]) -> None:
    change = record["dynamodb"]
    removed = record["eventName"] == "REMOVE"
    order = orders.read_order(change.get("OldImage" if removed else "NewImage") or {})
    key = {"customer_id": order.customer_id, "entry": orders.SUMMARY_ENTRY}
    summary = _read(key, order.order_id)
    entry = summary.get("order_entries", {}).get(order.order_id)
    new_entry = {"sequence": orders.sequence_key(change["SequenceNumber"]), "removed": removed,
                 "status": order.status, "total_cents": order.total_cents, "created_at": order.created_at}
    if entry is None or entry["sequence"] < new_entry["sequence"]:
        _move_entry(key, order.order_id, entry, new_entry)
        entry = new_entry
    _settle_last_order(key, order.order_id, entry, summary)


def _read(key: dict[str, str], order_id: str) -> dict[str, Any]:
    """The summary's figures and this order's entry (not the other entries); the summary is
    created, empty, the first time its customer is seen."""
    projection = {"ProjectionExpression": "order_entries.#o, last_order_id, last_order_at",
                  "ExpressionAttributeNames": {"#o": order_id}}
    found = table.get_item(Key=key, ConsistentRead=True, **projection).get("Item")
    if found is not None:
        return found
    try:
        table.put_item(Item={**key, "orders": 0, "cancelled": 0, "total_cents": 0, "order_entries": {}},
                       ConditionExpression="attribute_not_exists(customer_id)")
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    return table.get_item(Key=key, ConsistentRead=True, **projection).get("Item", {})


def _contribution(entry: dict[str, Any] | None) -> tuple[int, int, int]:
    """(open orders, cancelled orders, total of open orders) an entry adds to the figures."""
    if entry is None or entry["removed"]:
        return 0, 0, 0
    if entry["status"] == orders.CANCELLED:
        return 0, 1, 0
    return 1, 0, int(entry["total_cents"])


def _move_entry(key: dict[str, str], order_id: str, entry: dict[str, Any] | None,
                new_entry: dict[str, Any]) -> None:
    before, after = _contribution(entry), _contribution(new_entry)
    values: dict[str, Any] = {":entry": new_entry, ":o": after[0] - before[0], ":c": after[1] - before[1],
                              ":t": after[2] - before[2]}
    if entry is None:
        condition = "attribute_not_exists(order_entries.#o)"
    else:
        condition = "order_entries.#o.#s = :read"
        values[":read"] = entry["sequence"]
    # A conditional check failure (another delivery moved the entry first) fails the record:
    # its retry reads the entry again and finds it applied.
    table.update_item(Key=key, UpdateExpression="SET order_entries.#o = :entry ADD orders :o, cancelled :c, total_cents :t",
                      ConditionExpression=condition, ExpressionAttributeValues=values,
                      ExpressionAttributeNames={"#o": order_id, **({"#s": "sequence"} if entry else {})})


def _settle_last_order(key: dict[str, str], order_id: str, entry: dict[str, Any], summary: dict[str, Any]) -> None:
    """Raise the last order to this one while it is in the table (a conditional maximum, so
    doing it again changes nothing); when this order was the last and has left, search the
    entries for the one before it."""
    if not entry["removed"]:
        if (entry["created_at"], order_id) <= (summary.get("last_order_at", ""), summary.get("last_order_id", "")):
            return
        try:
            table.update_item(
                Key=key, UpdateExpression="SET last_order_at = :a, last_order_id = :i",
                ConditionExpression=("attribute_not_exists(last_order_at) OR last_order_at < :a "
                                     "OR (last_order_at = :a AND last_order_id < :i)"),
                ExpressionAttributeValues={":a": entry["created_at"], ":i": order_id})
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return
    if summary.get("last_order_id") != order_id:
        return
    entries = table.get_item(Key=key, ConsistentRead=True)["Item"]["order_entries"]
    live = [(e["created_at"], o) for o, e in entries.items() if not e["removed"]]
    if live:
        at, last = max(live)
        table.update_item(Key=key, UpdateExpression="SET last_order_at = :a, last_order_id = :i",
                          ConditionExpression="last_order_id = :gone",
                          ExpressionAttributeValues={":a": at, ":i": last, ":gone": order_id})
    else:
        table.update_item(Key=key, UpdateExpression="REMOVE last_order_at, last_order_id",
                          ConditionExpression="last_order_id = :gone", ExpressionAttributeValues={":gone": order_id})
