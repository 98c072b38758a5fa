"""The orders table's items, as the CDC consumers read them, and the read model they build.

Two item schemas live in the table at once (schema evolution: the writer changed, old items
stay): schema 1 keeps the total as ``total_cents`` (Number); schema 2 as ``total``, a map
``{"cents": N, "currency": S}``, and says ``schema: 2``. Every writer sets ``version`` (1 on
creation, +1 on each change: optimistic locking), ``customer_id``, ``status`` (PLACED,
UPDATED, CANCELLED) and ``created_at`` (ISO 8601, UTC). A cancelled order gets ``expires_at``
(epoch seconds): Time to Live purges it later.

``read_order`` turns a DynamoDB JSON image (a stream record's NewImage / OldImage, or a Scan
item) into an ``Order`` and raises ``UnreadableOrder`` for an item no schema describes (a buggy
writer's ``total_cents`` as a String): a poison record for every consumer.

``summarize`` is the read model recomputed from the items themselves: what each projection must
equal once the stream has been read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CANCELLED = "CANCELLED"
SUMMARY_ENTRY = "SUMMARY"  #: the sort key of a customer's summary in the read-model table
ORDER_ENTRY_PREFIX = "ORDER#"  #: sort keys of the read model's per-order rows
# Stream sequence numbers are decimal strings of 21 to 40 digits
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html):
# padded to 40, they compare as strings in the order of the numbers (a DynamoDB condition on a
# String compares bytes; a Number keeps only 38 digits).
SEQUENCE_DIGITS = 40


class UnreadableOrder(ValueError):
    """An item no schema of the orders table describes: a poison record for the projections."""


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_id: str
    status: str
    total_cents: int
    created_at: str
    version: int

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED


@dataclass(frozen=True)
class CustomerSummary:
    """One customer's orders as the table holds them now: open orders (not cancelled) and
    their total, cancelled orders still in the table, and the most recent order of any status
    (by ``created_at``, then order id)."""

    customer_id: str
    orders: int = 0
    cancelled: int = 0
    total_cents: int = 0
    last_order_id: str | None = None
    last_order_at: str | None = None

    def is_empty(self) -> bool:
        return self.orders == 0 and self.cancelled == 0 and self.last_order_id is None


def sequence_key(sequence_number: str) -> str:
    """A stream record's SequenceNumber as a String that sorts as the number does."""
    return sequence_number.zfill(SEQUENCE_DIGITS)


def read_order(image: Mapping[str, Any]) -> Order:
    """The order an item image (DynamoDB JSON) holds, in either schema."""
    try:
        if "total" in image:  # schema 2
            total = int(image["total"]["M"]["cents"]["N"])
        else:  # schema 1
            total = int(image["total_cents"]["N"])
        return Order(order_id=image["order_id"]["S"], customer_id=image["customer_id"]["S"],
                     status=image["status"]["S"], total_cents=total,
                     created_at=image["created_at"]["S"], version=int(image["version"]["N"]))
    except (KeyError, TypeError, ValueError) as error:
        raise UnreadableOrder(f"no schema reads order item {dict(image)!r}: {error!r}") from None


def summarize(orders: Iterable[Order]) -> dict[str, CustomerSummary]:
    """The customer summaries recomputed from the orders themselves."""
    found: dict[str, dict[str, Any]] = {}
    for order in orders:
        summary = found.setdefault(order.customer_id, {"customer_id": order.customer_id, "orders": 0,
                                                      "cancelled": 0, "total_cents": 0,
                                                      "last_order_id": None, "last_order_at": None})
        if order.cancelled:
            summary["cancelled"] += 1
        else:
            summary["orders"] += 1
            summary["total_cents"] += order.total_cents
        if summary["last_order_at"] is None or (order.created_at, order.order_id) > (
                summary["last_order_at"], summary["last_order_id"]):
            summary["last_order_at"], summary["last_order_id"] = order.created_at, order.order_id
    return {customer: CustomerSummary(**fields) for customer, fields in found.items()}
