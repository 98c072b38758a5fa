"""The orders pipeline's event contract: what a client may send, and what goes on the bus.

Shared by the ingest and processor functions (both deploy the pipeline folder, ``CodeUri: .``,
so this module is on their import path).

Two levels, as on AWS:

* The **EventBridge envelope** (``id``, ``source``, ``detail-type``, ``version``, ``time``,
  ``account``, ``region``, ``resources``) is set by EventBridge itself; we choose only
  ``source`` and ``detail-type``. Its ``id`` is new for every ``PutEvents`` entry, so a retried
  entry gets another one: it cannot be the idempotency key.
* Our **detail** carries its own envelope, ``metadata`` (``event_id``, ``correlation_id``,
  ``schema_version``, ``occurred_at``), and the payload ``data``. ``event_id`` is derived from
  the order id, so a client's retry of the same order gives the same event id, and the
  processor's idempotency, keyed on it, gives one effect per order.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# --8<-- [start:names]
SOURCE_API = "orders.api"  # the ingest function's events
SOURCE_PROCESSOR = "orders.processor"  # the processor's events
ORDER_PLACED = "OrderPlaced"
ORDER_ACCEPTED = "OrderAccepted"
SCHEMA_VERSION = "1.0"
# Namespace for event ids: uuid5(namespace, order_id) is stable across retries of one order.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c7a52-0b8e-4f0e-9a55-0c2d0d6b1e01")
# --8<-- [end:names]


# --8<-- [start:request]
class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=r"^[A-Z]{3}-\d{3,6}$")
    quantity: int = Field(ge=1, le=1000)
    unit_price: Decimal = Field(gt=0, le=100_000, decimal_places=2)


class Order(BaseModel):
    """One order as the client sends it (and as it travels in ``detail.data``)."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(pattern=r"^o-[A-Za-z0-9-]{1,40}$")
    customer_id: str = Field(min_length=1, max_length=64)
    currency: Literal["EUR", "USD", "GBP"]
    items: list[OrderItem] = Field(min_length=1, max_length=50)


class OrdersRequest(BaseModel):
    """The body of ``POST /orders``: one to 100 orders."""

    model_config = ConfigDict(extra="forbid")

    orders: list[Order] = Field(min_length=1, max_length=100)

    @field_validator("orders")
    @classmethod
    def unique_order_ids(cls, orders: list[Order]) -> list[Order]:
        seen: set[str] = set()
        for order in orders:
            if order.order_id in seen:
                raise ValueError(f"order_id {order.order_id} appears twice in the request")
            seen.add(order.order_id)
        return orders
# --8<-- [end:request]


# --8<-- [start:detail]
class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID
    correlation_id: str = Field(min_length=1, max_length=128)
    schema_version: Literal["1.0"]
    occurred_at: datetime


class OrderPlacedDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata: Metadata
    data: Order


class OrderAcceptedData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str
    customer_id: str
    currency: str
    total: Decimal


class OrderAcceptedDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata: Metadata
    data: OrderAcceptedData


class BusEvent(BaseModel):
    """The EventBridge envelope as a target receives it (``account`` optional: moto omits it)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    version: str
    source: str
    detail_type: str = Field(alias="detail-type")
    time: datetime
    region: str
    account: str | None = None
    resources: list[str] = []
    detail: dict[str, Any]
# --8<-- [end:detail]


def event_id_for(order_id: str) -> str:
    """The event id of an order: the same for every retry of the same order."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, order_id))


def order_total(order: Order) -> Decimal:
    return sum((item.unit_price * item.quantity for item in order.items), Decimal("0"))


def order_accepted_entry(placed: OrderPlacedDetail, bus_name: str) -> dict[str, str]:
    """The ``PutEvents`` entry announcing that ``placed``'s order is stored. Its event id is
    derived from the order id, so every retry announces the same event."""
    order = placed.data
    detail = OrderAcceptedDetail(
        metadata=Metadata(event_id=event_id_for(f"accepted:{order.order_id}"),
                          correlation_id=placed.metadata.correlation_id,
                          schema_version=SCHEMA_VERSION,
                          occurred_at=datetime.now(timezone.utc)),
        data=OrderAcceptedData(order_id=order.order_id, customer_id=order.customer_id,
                               currency=order.currency, total=order_total(order)),
    )
    return {"EventBusName": bus_name, "Source": SOURCE_PROCESSOR, "DetailType": ORDER_ACCEPTED,
            "Detail": detail.model_dump_json()}


def field_errors(exc: Any) -> list[dict[str, str]]:
    """A pydantic ValidationError as a list of {"field", "message"} for a 400 response."""
    errors = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "body"
        errors.append({"field": path, "message": error["msg"]})
    return errors
