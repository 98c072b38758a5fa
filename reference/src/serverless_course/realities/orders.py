"""The order messages of module 0, and the warehouse that the order handlers ship to.

An order message is a JSON object `{"order_id": "o-0001", "sku": "SKU-3", "quantity": 2}`. A
message that cannot be parsed into a valid order is a *poison message*: it fails on every
attempt, so retrying it only wastes work until SQS moves it to the dead-letter queue.

`warehouse` stands in for the system a real handler changes (a database, a payment API): it
records every shipment, so that a message processed twice shows up as a duplicate shipment.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass

SKUS = tuple(f"SKU-{n}" for n in range(1, 9))


@dataclass(frozen=True)
class Order:
    order_id: str
    sku: str
    quantity: int


class InvalidOrder(ValueError):
    """The message can never become a valid order: a poison message."""


class WarehouseUnavailable(RuntimeError):
    """The warehouse failed this time; the same order may ship on a later attempt."""


def parse_order(body: str) -> Order:
    """The order in a message body; raises InvalidOrder for anything else."""
    try:
        fields = json.loads(body)
    except json.JSONDecodeError as error:
        raise InvalidOrder(f"body is not JSON: {error.msg}") from None
    if not isinstance(fields, dict):
        raise InvalidOrder("body is not a JSON object")
    order_id, sku, quantity = fields.get("order_id"), fields.get("sku"), fields.get("quantity")
    if not isinstance(order_id, str) or not order_id:
        raise InvalidOrder("order_id is missing")
    if sku not in SKUS:
        raise InvalidOrder(f"{order_id}: unknown sku {sku!r}")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidOrder(f"{order_id}: quantity must be a positive integer, not {quantity!r}")
    return Order(order_id=order_id, sku=sku, quantity=quantity)


class Warehouse:
    """Ships orders and remembers every shipment, in order."""

    def __init__(self) -> None:
        self.shipped: list[str] = []
        self._outages: Counter[str] = Counter()

    def ship(self, order: Order) -> None:
        if self._outages[order.order_id] > 0:
            self._outages[order.order_id] -= 1
            raise WarehouseUnavailable(f"{order.order_id}: warehouse unavailable, try again")
        self.shipped.append(order.order_id)

    def fail_next_shipments(self, order_id: str, times: int = 1) -> None:
        """Make the next `times` shipments of `order_id` fail: a transient fault."""
        self._outages[order_id] += times

    @property
    def shipments(self) -> Counter[str]:
        """How many times each order shipped; more than 1 is a duplicate."""
        return Counter(self.shipped)

    def reset(self) -> None:
        self.shipped.clear()
        self._outages.clear()


warehouse = Warehouse()


def order_body(order_id: str, rng: random.Random) -> str:
    """The body of a valid order message."""
    return json.dumps(
        {"order_id": order_id, "sku": rng.choice(SKUS), "quantity": rng.randint(1, 5)}
    )


def poison_body(order_id: str, rng: random.Random) -> str:
    """The body of a message that can never be processed, in one of the ways real ones go wrong."""
    kind = rng.choice(("negative quantity", "unknown sku", "truncated JSON"))
    if kind == "negative quantity":
        return json.dumps({"order_id": order_id, "sku": rng.choice(SKUS), "quantity": -1})
    if kind == "unknown sku":
        return json.dumps({"order_id": order_id, "sku": "SKU-404", "quantity": 1})
    return json.dumps({"order_id": order_id, "sku": rng.choice(SKUS), "quantity": 1})[:-7]


def order_id_of(body: str) -> str:
    """The order id a message body carries, even a poison one: for reports, never for processing."""
    marker = '"order_id": "'
    start = body.index(marker) + len(marker)
    return body[start : body.index('"', start)]
