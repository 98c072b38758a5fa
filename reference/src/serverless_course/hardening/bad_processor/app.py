"""The processor's version 2, with a regression: about 30 % of orders make it fail.

It is the released processor (`processor/released_app.py` in the deployed code folder) with one
bug in front (`regression.fails`: about 30 % of order ids) raises, so the whole
invocation fails (an error Lambda counts in the Errors metric, which the canary's alarm watches).
"""

from __future__ import annotations

import json
from typing import Any

from processor import released_app
from processor.regression import fails


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        order_id = str(((json.loads(record["body"]).get("detail") or {}).get("data") or {}).get("order_id", ""))
        if order_id and fails(order_id):
            raise RuntimeError(f"regression in version 2: order {order_id} cannot be stored")
    return released_app.lambda_handler(event, context)
