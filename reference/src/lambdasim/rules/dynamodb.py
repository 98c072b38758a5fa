"""DynamoDB's throughput ceilings: capacity units, partitions, burst and on-demand scaling.

Pure rules: no moto, no clock, no simulator. The simulator's enforcement
(`lambdasim.dynamodb_capacity`) and the course's capacity model ask them what a request costs
and what a table or partition may serve.

Sources (read December 2026):

- https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html :
  an item's size is the sum of its attribute names' and values' lengths: strings in UTF-8 bytes,
  numbers "approximately" 1 byte per two significant digits + 1 byte (leading and trailing
  zeroes trimmed), binary values their raw bytes, null and Boolean 1 byte, a List or Map 3 bytes
  + its elements, each element of a List or Map 1 byte more.
- https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html :
  a strongly consistent read of up to 4 KB is one read unit, an eventually consistent one half,
  a transactional one two; item sizes for reads are rounded up to the next 4 KB; a write of up
  to 1 KB is one write unit (rounded up to the next 1 KB), a transactional write two. PutItem,
  UpdateItem and DeleteItem cost the larger of the item's size before and after; BatchGetItem
  and BatchWriteItem cost each item on its own; Query and Scan cost the sum of the sizes of the
  items read, rounded up to the next 4 KB once.
- https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html
  and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html :
  each partition serves at most 3,000 read units or 1,000 write units a second, or a linear
  combination of both, whatever the table's capacity (adaptive capacity lets a hot partition
  use the table's unused capacity up to that ceiling); DynamoDB retains up to 300 seconds of
  unused read and write capacity (burst capacity), which cannot lift the partition ceiling.
- https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html :
  a new on-demand table sustains up to 4,000 writes and 12,000 reads a second; on-demand
  instantly accommodates up to double the previous peak; the per-table default quota is 40,000
  read and 40,000 write request units
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html).
- https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ThrottlingReason.html :
  a throttled request's ThrottlingReasons name the resource and why, as
  ResourceType+OperationType+LimitType (`TableWriteKeyRangeThroughputExceeded`...).

- https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html ("Provisioned
  throughput considerations for Global Secondary Indexes"): a table write that puts an item into
  a global secondary index (its index key attributes defined) costs one index write, one that
  changes an indexed key attribute two (delete the old entry, put the new), one that removes it
  from the index one, one that changes only projected attributes one; a write that leaves the
  item out of the index costs the index nothing. The size is the index entry's: the table's and
  the index's key attributes plus the projected ones (KEYS_ONLY, INCLUDE's NonKeyAttributes, ALL).
  A GSI has its own throughput (provisioned tables) and its own partitions; reads of a Query on
  the index take its read capacity.

What AWS does not publish, and this module therefore *models*: how many partitions a table has
(`partition_count`: the formula an earlier edition of AWS's developer guide gave, one partition
per 3,000 RCU + 1,000 WCU, without its 10 GB size term) and which partition a key lands on
(`partition_of`: a stable hash of the partition key value).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

READ_UNIT_BYTES = 4 * 1024  # read-write-operations.html: one read unit per 4 KB
WRITE_UNIT_BYTES = 1024  # read-write-operations.html: one write unit per 1 KB
EVENTUALLY_CONSISTENT_FACTOR = 0.5  # read-write-operations.html: "one-half read unit"
TRANSACTIONAL_FACTOR = 2.0  # read-write-operations.html: transactional reads and writes cost two

PARTITION_READ_UNITS_PER_S = 3000.0  # bp-partition-key-design.html, burst-adaptive-capacity.html
PARTITION_WRITE_UNITS_PER_S = 1000.0
BURST_SECONDS = 300.0  # burst-adaptive-capacity.html: "up to five minutes (300 seconds)"

ON_DEMAND_INITIAL_READ_UNITS_PER_S = 12000.0  # on-demand-capacity-mode.html: a new table
ON_DEMAND_INITIAL_WRITE_UNITS_PER_S = 4000.0
ON_DEMAND_PEAK_MULTIPLIER = 2.0  # on-demand-capacity-mode.html: "up to double the previous peak"
TABLE_QUOTA_READ_UNITS_PER_S = 40000.0  # ServiceQuotas.html: per-table default, on-demand
TABLE_QUOTA_WRITE_UNITS_PER_S = 40000.0

# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
THROUGHPUT_EXCEEDED_CODE = "ProvisionedThroughputExceededException"
THROUGHPUT_EXCEEDED_MESSAGE = (
    "You exceeded your maximum allowed provisioned throughput for a table or for one or more "
    "global secondary indexes. To view performance metrics for provisioned throughput vs. "
    "consumed throughput, open the Amazon CloudWatch console.")

Consistency = Literal["eventual", "strong", "transactional"]
Kind = Literal["read", "write"]
# API_ThrottlingReason.html's limit types the simulator gives.
LimitType = Literal["ProvisionedThroughputExceeded", "KeyRangeThroughputExceeded", "AccountLimitExceeded"]


def attribute_value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one AttributeValue in DynamoDB JSON (`{"S": "a"}`), without its name."""
    ((type_, data),) = value.items()
    if type_ == "S":
        return len(data.encode("utf-8"))
    if type_ == "N":
        return number_size(data)
    if type_ == "B":
        return binary_size(data)
    if type_ in ("BOOL", "NULL"):
        return 1
    if type_ == "SS":
        return sum(len(s.encode("utf-8")) for s in data)
    if type_ == "NS":
        return sum(number_size(n) for n in data)
    if type_ == "BS":
        return sum(binary_size(b) for b in data)
    if type_ == "L":
        return 3 + sum(attribute_value_size(element) + 1 for element in data)
    if type_ == "M":
        return 3 + sum(len(name.encode("utf-8")) + attribute_value_size(element) + 1
                       for name, element in data.items())
    raise ValueError(f"unknown DynamoDB attribute type {type_!r}")


def number_size(number: str) -> int:
    """1 byte per two significant digits (rounded up) + 1 byte; zeroes at either end trimmed."""
    mantissa = number.lstrip("+-").lower().split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


def binary_size(data: bytes | str) -> int:
    """The raw bytes of a binary value (sent base64-encoded on the wire)."""
    if isinstance(data, bytes):
        return len(data)
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return len(data.encode("utf-8"))


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes of an item in DynamoDB JSON: every attribute's name and value."""
    return sum(len(name.encode("utf-8")) + attribute_value_size(value) for name, value in item.items())


def read_units(size_bytes: int, consistency: Consistency = "eventual") -> float:
    """Read units of reading one item (GetItem, each item of BatchGetItem or TransactGetItems):
    its size rounded up to 4 KB, at least one unit, halved when eventually consistent, doubled
    when transactional."""
    return max(1, math.ceil(size_bytes / READ_UNIT_BYTES)) * _read_factor(consistency)


def query_read_units(sizes_bytes: Sequence[int], consistency: Consistency = "eventual") -> float:
    """Read units of a Query or Scan: the items' sizes added up, then rounded up to 4 KB once
    (at least one unit, also when nothing matched)."""
    return max(1, math.ceil(sum(sizes_bytes) / READ_UNIT_BYTES)) * _read_factor(consistency)


def write_units(size_bytes: int, transactional: bool = False) -> float:
    """Write units of writing one item (of the larger of its sizes before and after): rounded up
    to 1 KB, at least one unit, doubled in a transaction."""
    units = max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))
    return units * TRANSACTIONAL_FACTOR if transactional else float(units)


def index_entry(item: Mapping[str, Any] | None, key_attributes: Sequence[str],
                index_key_attributes: Sequence[str], projection: Mapping[str, Any]) -> dict[str, Any] | None:
    """The entry `item` (DynamoDB JSON) has in a global secondary index, or None when it has
    none: every one of the index's key attributes must be defined."""
    if item is None or any(name not in item for name in index_key_attributes):
        return None
    kind = projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return dict(item)
    kept = set(key_attributes) | set(index_key_attributes)
    if kind == "INCLUDE":
        kept |= set(projection.get("NonKeyAttributes", []))
    return {name: value for name, value in item.items() if name in kept}


def index_write_units(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
                      index_key_attributes: Sequence[str]) -> float:
    """Write units a table write costs a global secondary index, from the item's index entries
    before and after (`index_entry`): none, one write, or two when an index key changes. A write
    that leaves the entry as it was costs nothing (modelled: the page counts writes that change
    the index)."""
    if before is None and after is None:
        return 0.0
    if before is None or after is None:
        return write_units(item_size(after or before or {}))
    if any(before[name] != after[name] for name in index_key_attributes):
        return write_units(item_size(before)) + write_units(item_size(after))
    if before == after:
        return 0.0
    return write_units(max(item_size(before), item_size(after)))


def _read_factor(consistency: Consistency) -> float:
    if consistency == "eventual":
        return EVENTUALLY_CONSISTENT_FACTOR
    return TRANSACTIONAL_FACTOR if consistency == "transactional" else 1.0


def partition_count(read_units_per_s: float, write_units_per_s: float) -> int:
    """Modelled: one partition per 3,000 read units + 1,000 write units of throughput, at least
    one (the formula an earlier edition of AWS's developer guide gave; its size term, one
    partition per 10 GB, is left out: the course's tables are small)."""
    return max(1, math.ceil(read_units_per_s / PARTITION_READ_UNITS_PER_S
                            + write_units_per_s / PARTITION_WRITE_UNITS_PER_S))


def partition_of(partition_key_value: Mapping[str, Any], partitions: int) -> int:
    """Modelled: the partition (0 .. partitions - 1) a partition key value lands on, by a stable
    hash (DynamoDB hashes the partition key; its function is not published)."""
    digest = hashlib.md5(json.dumps(partition_key_value, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big") % partitions


def partition_share(read: float, write: float) -> float:
    """The share of one partition's second that `read` and `write` units take: a partition serves
    3,000 read units or 1,000 write units a second, "or a linear combination of both"."""
    return read / PARTITION_READ_UNITS_PER_S + write / PARTITION_WRITE_UNITS_PER_S


def on_demand_ceiling(initial: float, previous_peak: float, quota: float) -> float:
    """Units a second an on-demand table serves: double its previous peak, at least what a new
    table sustains, at most the per-table quota."""
    return min(quota, max(initial, ON_DEMAND_PEAK_MULTIPLIER * previous_peak))


def throttling_reason(kind: Kind, limit: LimitType, index: bool = False) -> str:
    """API_ThrottlingReason.html's reason: ResourceType + OperationType + LimitType."""
    return f"{'Index' if index else 'Table'}{kind.capitalize()}{limit}"
