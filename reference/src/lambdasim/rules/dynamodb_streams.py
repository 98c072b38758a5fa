"""DynamoDB Streams retention and Time to Live deletions: what AWS documents.

- Retention (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html,
  TrimmedDataAccessException): "In DynamoDB Streams, there is a 24 hour limit on data
  retention. Stream records whose age exceeds this limit are subject to removal (trimming) from
  the stream." A shard iterator asked for a sequence number older than the trim point, or one
  whose record was trimmed before GetRecords used it, gets TrimmedDataAccessException ("The
  operation attempted to read past the oldest stream record in a shard").
- Time to Live (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html):
  an item whose TTL attribute, a Number of epoch seconds, is less than the current time is
  expired; "DynamoDB typically deletes expired items within two days of expiration. ... Items
  that have expired and not been deleted will still show up in reads, queries, and scans"
  (ttl-expired-items.html: filter them with a FilterExpression). The deletion's stream record
  is a REMOVE with `userIdentity` {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
  (API_streams_Record.html, API_streams_Identity.html).

Modelled (AWS gives no distribution): `TtlModel`. A sweep runs every `sweep_interval_s` while a
table has TTL enabled; an expired item it finds is deleted after a delay drawn, per item, from
the seed, uniformly in `delay_s` from its expiry (default 0 to 48 h: "within two days"), and not
before the sweep that found it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

STREAM_RETENTION_S: Final = 24 * 3600
TRIMMED_DATA_ACCESS_CODE: Final = "TrimmedDataAccessException"
TRIMMED_DATA_ACCESS_MESSAGE: Final = "The operation attempted to read past the oldest stream record in a shard."
TTL_DELETION_WITHIN_S: Final = 48 * 3600  # "typically ... within two days of expiration"


@dataclass
class TtlModel:
    """When the simulated TTL process deletes expired items (a modelling choice; see above)."""

    sweep_interval_s: float = 600.0
    delay_s: tuple[float, float] = (0.0, float(TTL_DELETION_WITHIN_S))


def expiry_s(value: Any) -> float | None:
    """The expiry, in epoch seconds, of a TTL attribute value in DynamoDB JSON; None when it is
    not a Number (TTL ignores the item)."""
    if not isinstance(value, dict) or set(value) != {"N"}:
        return None
    try:
        return float(value["N"])
    except (TypeError, ValueError):
        return None


def trim_index(created_s: list[float], now_s: float) -> int:
    """How many of a shard's records (by creation time, oldest first) the retention has trimmed."""
    limit = now_s - STREAM_RETENTION_S
    count = 0
    while count < len(created_s) and created_s[count] < limit:
        count += 1
    return count
