"""Seeded client traffic for the orders pipeline: valid, invalid, oversize and duplicated requests."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

SKUS = ["ABC-101", "ABC-102", "KIT-2001", "TOY-330", "MUG-4410", "PEN-050"]


@dataclass
class Request:
    n: int  #: position in the traffic
    body: str
    request_id: str
    correlation_id: str
    kind: str  #: "valid", "duplicate" (a resend of an earlier valid request), "invalid", "oversize"
    order_ids: list[str] = field(default_factory=list)
    reason: str = ""  #: for an invalid request: the field expected in the 400's errors


def order(rng: random.Random, order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer_id": f"c-{rng.randint(1, 400):04d}",
        "currency": rng.choice(["EUR", "USD", "GBP"]),
        "items": [
            {"sku": rng.choice(SKUS), "quantity": rng.randint(1, 5),
             "unit_price": f"{rng.randint(100, 9999) / 100:.2f}"}
            for _ in range(rng.randint(1, 4))
        ],
    }


# (what breaks, the field the 400 names)
BREAKAGES = [
    ("quantity 0", "orders.0.items.0.quantity"),
    ("unknown currency", "orders.0.currency"),
    ("bad sku", "orders.0.items.0.sku"),
    ("missing customer", "orders.0.customer_id"),
    ("no items", "orders.0.items"),
    ("not JSON", "body"),
]


def invalid_body(rng: random.Random, order_id: str) -> tuple[str, str]:
    what, where = rng.choice(BREAKAGES)
    o = order(rng, order_id)
    if what == "quantity 0":
        o["items"][0]["quantity"] = 0
    elif what == "unknown currency":
        o["currency"] = "XYZ"
    elif what == "bad sku":
        o["items"][0]["sku"] = "nope"
    elif what == "missing customer":
        del o["customer_id"]
    elif what == "no items":
        o["items"] = []
    else:
        return '{"orders": [', where
    return json.dumps({"orders": [o]}), where


def generate(count: int, *, seed: int, invalid: float = 0.05, duplicates: float = 0.05,
             oversize: int = 0, orders_per_request: tuple[int, int] = (1, 1)) -> list[Request]:
    """``count`` requests: a share ``invalid`` rejected by validation, a share ``duplicates``
    resent verbatim (same body, another request id), ``oversize`` over 64 KB, the rest valid."""
    rng = random.Random(seed)
    kinds = (["invalid"] * round(count * invalid) + ["duplicate"] * round(count * duplicates)
             + ["oversize"] * oversize)
    kinds += ["valid"] * (count - len(kinds))
    rng.shuffle(kinds)
    # A duplicate needs an earlier valid request: move the first ones after one.
    first_valid = kinds.index("valid")
    kinds.insert(0, kinds.pop(first_valid))
    requests: list[Request] = []
    valid: list[Request] = []
    next_order = 0
    for n, kind in enumerate(kinds):
        request_id = f"req-{seed:03d}-{n:05d}"
        correlation_id = f"corr-{seed:03d}-{n:05d}"
        if kind == "duplicate":
            original = rng.choice(valid)
            requests.append(Request(n, original.body, request_id, original.correlation_id,
                                    kind, list(original.order_ids)))
            continue
        if kind == "invalid":
            body, reason = invalid_body(rng, f"o-{seed:03d}-{next_order:05d}")
            next_order += 1
            requests.append(Request(n, body, request_id, correlation_id, kind, reason=reason))
            continue
        if kind == "oversize":
            o = order(rng, f"o-{seed:03d}-{next_order:05d}")
            next_order += 1
            o["customer_id"] = "c-" + "x" * 60
            body = json.dumps({"orders": [o], "padding": "x" * 70_000})
            requests.append(Request(n, body, request_id, correlation_id, kind, reason="size"))
            continue
        ids = []
        batch = []
        for _ in range(rng.randint(*orders_per_request)):
            order_id = f"o-{seed:03d}-{next_order:05d}"
            next_order += 1
            ids.append(order_id)
            batch.append(order(rng, order_id))
        request = Request(n, json.dumps({"orders": batch}), request_id, correlation_id, kind, ids)
        requests.append(request)
        valid.append(request)
    return requests
