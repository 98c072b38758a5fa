"""Send events to EventBridge with PutEvents: batches of at most 10, partial failures retried.

``PutEvents`` takes at most 10 entries per request and can succeed as a call while failing
some entries: the response's ``FailedEntryCount`` says how many, and each failed entry has an
``ErrorCode`` and ``ErrorMessage`` instead of an ``EventId``, in request order
(https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html). botocore's own
retries cover throttles and 5xx errors of the *call*; they do not see failed *entries*. This
module retries only the failed entries, with capped exponential backoff and full jitter
(https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), a bounded number
of times, and reports every entry it could not send. It never drops one silently.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable

MAX_ENTRIES_PER_CALL = 10  # PutEvents: "up to 10 entries per request"


# --8<-- [start:send_events]
def send_events(
    client: Any,
    entries: list[dict[str, Any]],
    *,
    max_attempts: int = 5,
    base_delay: float = 0.05,
    max_delay: float = 1.0,
    rng: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Put ``entries`` on EventBridge; return a report.

    The report: ``{"sent": <entries accepted>, "failed": [{"index", "error_code",
    "error_message"}, ...], "put_events_calls": <calls made>}``; ``index`` is the entry's
    position in ``entries``. An entry is attempted at most ``max_attempts`` times.
    """
    rng = rng or random  # the module's generator (seeded by the simulator)
    pending = list(range(len(entries)))  # indices still to send
    last_error: dict[int, tuple[str, str]] = {}
    calls = 0
    for attempt in range(1, max_attempts + 1):
        if not pending:
            break
        if attempt > 1:  # full jitter: a random wait up to the capped exponential backoff
            sleep(rng.uniform(0, min(max_delay, base_delay * 2 ** (attempt - 2))))
        still_failing: list[int] = []
        for start in range(0, len(pending), MAX_ENTRIES_PER_CALL):
            chunk = pending[start : start + MAX_ENTRIES_PER_CALL]
            calls += 1
            try:
                response = client.put_events(Entries=[entries[i] for i in chunk])
            except Exception as exc:  # the whole call failed (after botocore's own retries)
                code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
                for i in chunk:
                    last_error[i] = (code, str(exc))
                still_failing += chunk
                continue
            if response.get("FailedEntryCount", 0) == 0:
                continue
            # Entries come back in request order; a failed one has ErrorCode, not EventId.
            for i, result in zip(chunk, response["Entries"]):
                if "ErrorCode" in result:
                    last_error[i] = (result["ErrorCode"], result.get("ErrorMessage", ""))
                    still_failing.append(i)
        pending = still_failing
    failed = [
        {"index": i, "error_code": last_error[i][0], "error_message": last_error[i][1]}
        for i in pending
    ]
    return {"sent": len(entries) - len(pending), "failed": failed, "put_events_calls": calls}
# --8<-- [end:send_events]
