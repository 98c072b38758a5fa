"""The order that travels down every failure path of the lesson, and what makes one poison.

A poison input fails the same way on every attempt: retrying it only spends time and
invocations, so each path must eventually set it aside (destination, dead-letter queue) for a
person or a repair job to look at. The three handlers share this check so the same input fails
the same way on each path.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, PositiveInt, ValidationError


class Order(BaseModel):
    order_id: str
    quantity: PositiveInt


class InvalidOrder(ValueError):
    """A permanent failure: the input breaks the contract, and will on every retry."""


def parse_order(data: Any) -> Order:
    """The order in ``data``, or ``InvalidOrder`` naming each field that breaks the contract."""
    try:
        return Order.model_validate(data)
    except ValidationError as error:
        # pydantic's own message ends with a versioned URL: keep the error record short and stable.
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'order'}: {e['msg']}" for e in error.errors())
        order_id = data.get("order_id") if isinstance(data, dict) else None
        raise InvalidOrder(f"order {order_id!r} rejected: {reasons}") from None


def order_item(order: Order, path: str) -> dict[str, Any]:
    """The DynamoDB item a handler writes for a processed order (``path``: which route it took)."""
    return {"order_id": order.order_id, "quantity": order.quantity, "path": path}
