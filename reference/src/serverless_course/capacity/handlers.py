"""Handlers the capacity scenarios run in the simulator (`lambdasim.Simulator`): a real Lambda
handler whose failures follow the same rule as the model's `Function.fails`, so one scenario
runs through both and the counts can be compared.

The event id is read from a direct invocation (`{"id": 3}`), an EventBridge event
(`detail.id`) or each SQS record's body (`{"id": 3}`). An id divisible by the environment
variable FAIL_EVERY (0: never) fails: the invocation raises (without ReportBatchItemFailures),
or the record is reported in `batchItemFailures` (PARTIAL=1).
"""

from __future__ import annotations

import json
import os
from typing import Any


class PlannedFailure(Exception):
    """The failure the scenario asked for."""


def _fails(event_id: int) -> bool:
    every = int(os.environ.get("FAIL_EVERY", "0"))
    return every > 0 and event_id % every == 0


def _record_id(record: dict[str, Any]) -> int:
    body = json.loads(record["body"])
    return body["detail"]["id"] if "detail" in body else body["id"]  # EventBridge -> SQS: the event


def handler(event: dict[str, Any], context: Any) -> Any:
    if "Records" in event:
        failed = [r["messageId"] for r in event["Records"] if _fails(_record_id(r))]
        if os.environ.get("PARTIAL") == "1":
            return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
        if failed:
            raise PlannedFailure(f"{len(failed)} record(s) failed")
        return None
    event_id = event["detail"]["id"] if "detail" in event else event["id"]
    if _fails(event_id):
        raise PlannedFailure(f"event {event_id}")
    return {"ok": event_id}


def fails_every(every: int):
    """The model's `Function.fails` for FAIL_EVERY=every (same rule as the handler)."""
    if every <= 0:
        return None
    return lambda event_id, attempt: event_id % every == 0
