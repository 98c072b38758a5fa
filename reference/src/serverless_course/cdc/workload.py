"""A seeded workload of writes to the orders table, and the writer that makes them.

Customers place orders (schema 1 before the workload's half-way point, schema 2 after: the
table holds both, as after a writer's upgrade), change them, cancel them (a cancelled order
gets ``expires_at``, so Time to Live purges it ``ttl_after_s`` later) and sometimes erase them
(a user's DeleteItem). A few writes come from a buggy writer whose item no schema reads (the
total as text): poison records for the projections. Customers are interleaved: consecutive
writes rarely belong to the same customer. Every write after the first is conditioned on the
version it read (optimistic locking), as a real writer's would be.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

Kind = Literal["create", "update", "cancel", "erase", "poison"]
KINDS: tuple[Kind, ...] = ("create", "update", "cancel", "erase", "poison")


@dataclass(frozen=True)
class Mix:
    """Shares of the writes of each kind (a kind that has no order to act on becomes a create)."""

    update: float = 0.25
    cancel: float = 0.15
    erase: float = 0.04
    poison: float = 0.01


@dataclass(frozen=True)
class Write:
    at_s: float  #: seconds after the workload's start
    kind: Kind
    order_id: str
    customer_id: str
    total_cents: int = 0
    version: int = 1  #: the version the write leaves (for an erase: the version it deletes)
    schema: int = 1


def make_workload(seed: int, writes: int, *, customers: int = 12, mean_gap_s: float = 0.5,
                  mix: Mix = Mix()) -> list[Write]:
    """``writes`` writes, about ``mean_gap_s`` apart (exponential gaps), from the seed."""
    rng = random.Random(f"cdc-workload-{seed}")
    open_orders: dict[str, Write] = {}  # order id -> its latest write, for orders still open
    out: list[Write] = []
    at = 0.0
    for n in range(writes):
        at += rng.expovariate(1 / mean_gap_s)
        schema = 1 if n < writes // 2 else 2
        roll = rng.random()
        kind: Kind = "create"
        for candidate, share in (("update", mix.update), ("cancel", mix.cancel),
                                 ("erase", mix.erase), ("poison", mix.poison)):
            if roll < share:
                kind = candidate  # type: ignore[assignment]
                break
            roll -= share
        if kind in ("update", "cancel", "erase") and not open_orders:
            kind = "create"
        if kind in ("create", "poison"):
            write = Write(at, kind, f"o-{seed}-{n:05d}", f"c-{rng.randrange(customers):02d}",
                          rng.randrange(500, 20_000), 1, schema)
            if kind == "create":
                open_orders[write.order_id] = write
        else:
            previous = open_orders[rng.choice(sorted(open_orders))]
            if kind == "update":
                write = Write(at, kind, previous.order_id, previous.customer_id,
                              rng.randrange(500, 20_000), previous.version + 1, previous.schema)
                open_orders[write.order_id] = write
            else:
                version = previous.version + 1 if kind == "cancel" else previous.version
                write = Write(at, kind, previous.order_id, previous.customer_id,
                              previous.total_cents, version, previous.schema)
                del open_orders[write.order_id]
        out.append(write)
    return out


def item(write: Write, created_at: datetime, now: datetime, ttl_after_s: float) -> dict[str, Any]:
    """The item a create, update, cancel or poison write leaves, in DynamoDB JSON."""
    status = {"create": "PLACED", "update": "UPDATED", "cancel": "CANCELLED", "poison": "PLACED"}[write.kind]
    out: dict[str, Any] = {"order_id": {"S": write.order_id}, "customer_id": {"S": write.customer_id},
                           "status": {"S": status}, "version": {"N": str(write.version)},
                           "created_at": {"S": created_at.isoformat()}}
    if write.kind == "poison":
        out["total_cents"] = {"S": f"{write.total_cents // 100},{write.total_cents % 100:02d}"}
    elif write.schema == 2:
        out["schema"] = {"N": "2"}
        out["total"] = {"M": {"cents": {"N": str(write.total_cents)}, "currency": {"S": "EUR"}}}
    else:
        out["total_cents"] = {"N": str(write.total_cents)}
    if write.kind == "cancel":
        out["expires_at"] = {"N": str(int((now + timedelta(seconds=ttl_after_s)).timestamp()))}
    return out


class Writer:
    """Makes workload writes to the orders table through boto3, conditioned on the version."""

    def __init__(self, dynamodb: Any, table: str, ttl_after_s: float = 600.0,
                 created_at: Mapping[str, datetime] | None = None):
        """``created_at``: when orders already in the table were placed (their changes keep it)."""
        self._ddb = dynamodb
        self._table = table
        self.ttl_after_s = ttl_after_s
        self._created_at: dict[str, datetime] = dict(created_at or {})

    def write(self, write: Write, now: datetime) -> None:
        key = {"order_id": {"S": write.order_id}}
        if write.kind == "erase":
            self._ddb.delete_item(TableName=self._table, Key=key, ConditionExpression="version = :v",
                                  ExpressionAttributeValues={":v": {"N": str(write.version)}})
            return
        created_at = self._created_at.setdefault(write.order_id, now)
        new_item = item(write, created_at, now, self.ttl_after_s)
        if write.version == 1:
            self._ddb.put_item(TableName=self._table, Item=new_item,
                               ConditionExpression="attribute_not_exists(order_id)")
        else:
            self._ddb.put_item(TableName=self._table, Item=new_item, ConditionExpression="version = :v",
                               ExpressionAttributeValues={":v": {"N": str(write.version - 1)}})
