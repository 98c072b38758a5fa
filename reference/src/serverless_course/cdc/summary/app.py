"""Customer summaries from the orders table's stream (the read model; lab 08's solution).

A customer's summary is one item of the read-model table. Beside the figures (open orders and
their total, cancelled orders, the last order) it keeps, per order, what the last record applied
to that order said and that record's sequence number. Each record is applied by reading the
summary, changing that order's entry and writing the item back with a condition on the
``revision`` it was read at (optimistic locking): the figures are recomputed from the entries,
so they cannot double count, and a record at or behind its order's sequence number (a retried
batch, a duplicate delivery) changes nothing.

REMOVE records take the order out, whoever deleted it: the summary follows the table, Time to
Live deletions included. Records are applied in stream order; at the first one that fails, its
sequence number is reported (``ReportBatchItemFailures``) and the rest of the batch is left for
the retry, which starts there
(https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html). An order
no schema reads (``orders.UnreadableOrder``) fails every time: bisection isolates it and, once
its retries are spent, the mapping sends it to the on-failure queue.

One item per customer holds at most 400 KB
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html): about
3,000 orders' entries here. A customer with more needs a row per order and a transaction.
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
    sequence = orders.sequence_key(change["SequenceNumber"])
    removed = record["eventName"] == "REMOVE"
    order = orders.read_order(change.get("OldImage" if removed else "NewImage") or {})
    key = {"customer_id": order.customer_id, "entry": orders.SUMMARY_ENTRY}
    summary = table.get_item(Key=key, ConsistentRead=True).get("Item")
    entries = dict(summary["order_entries"]) if summary else {}
    applied = entries.get(order.order_id)
    if applied is not None and applied["sequence"] >= sequence:
        return  # this record, or a later one of the same order, is already in the summary
    entries[order.order_id] = {"sequence": sequence, "removed": removed, "status": order.status,
                               "total_cents": order.total_cents, "created_at": order.created_at}
    new_summary = {**key, **figures(entries), "order_entries": entries,
                   "revision": (summary["revision"] if summary else 0) + 1}
    if summary is None:
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(revision)"}
    else:
        condition = {"ConditionExpression": "revision = :read",
                     "ExpressionAttributeValues": {":read": summary["revision"]}}
    # A conditional check failure (another writer moved the summary) fails the record: its
    # retry reads the summary again.
    table.put_item(Item=new_summary, **condition)


def figures(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The summary's figures from its orders' entries (the ones still in the table)."""
    live = [e for e in entries.values() if not e["removed"]]
    open_orders = [e for e in live if e["status"] != orders.CANCELLED]
    out: dict[str, Any] = {"orders": len(open_orders), "cancelled": len(live) - len(open_orders),
                           "total_cents": sum(int(e["total_cents"]) for e in open_orders)}
    if live:
        out["last_order_at"], out["last_order_id"] = max(
            (e["created_at"], order_id) for order_id, e in entries.items() if not e["removed"])
    return out
