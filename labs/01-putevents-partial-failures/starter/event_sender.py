"""Lab 01: the ingest function's sending path. This is the file you edit.

The ingest function (reference/src/serverless_course/pipeline/ingest/app.py) validates a
request, builds one PutEvents entry per order and calls ``send_events(client, entries)``. As it
stands this works when EventBridge accepts everything, but it makes one PutEvents call per
entry, and it ignores ``FailedEntryCount``: an entry that EventBridge fails is lost and the
client is told its order was accepted. Your task (see README.md): batch, retry the failed
entries, and report what could not be sent.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable


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
    # TODO: send at most 10 entries per PutEvents call, and no more calls than needed.
    # TODO: read FailedEntryCount and each result's ErrorCode (results are in request order);
    #       retry only the failed entries, after a wait with backoff and jitter, at most
    #       max_attempts times in all.
    # TODO: a PutEvents call can also fail as a whole (an exception after botocore's own
    #       retries): treat its entries as failed, like the entries of a partial failure.
    # TODO: report every entry that could not be sent, by its index in `entries`.
    rng = rng or random
    calls = 0
    for entry in entries:
        client.put_events(Entries=[entry])
        calls += 1
    return {"sent": len(entries), "failed": [], "put_events_calls": calls}
