"""DynamoDB's throughput ceilings, enforced on the virtual clock (moto enforces none).

Every read and write a table serves takes capacity units (`rules.dynamodb`) from two token
buckets: the table's, and the partition's its partition key lands on. A request that does not
fit is refused whole, before moto runs it, with DynamoDB's
ProvisionedThroughputExceededException and its ThrottlingReasons; botocore's own retries then
apply, as against AWS. The adapter (`_moto_patches/dynamodb.py`) turns each request into
charges; this module decides and records.

- Provisioned tables: the table's bucket fills at its ProvisionedThroughput (read and write
  apart) and holds up to `burst_seconds` of it (burst capacity); a new table starts with its
  burst full (modelled: AWS does not say). On-demand tables: the bucket fills at double the
  busiest virtual second so far, at least a new table's 12,000 / 4,000, at most the per-table
  quota, and holds one second of it (no burst is documented for on-demand).
- Every table: each partition serves at most 3,000 read units or 1,000 write units a second, or
  a linear combination (a bucket of one second that burst capacity never lifts). The partition
  count is modelled (`rules.dynamodb.partition_count`) and only grows.
- Query and Scan cost what they read, known only once moto has run them: they are admitted while
  the buckets hold their minimum cost, and the rest is charged afterwards (the buckets may go
  below zero; later requests wait until they refill). UpdateItem is admitted on the larger of
  the item's size before and the request's new values, then charged on the larger of before and
  after. Scan charges the table, not one partition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .clock import from_micros
from .rules import dynamodb as ddb

__all__ = ["CapacityRefusal", "Charge", "DynamoDBCapacity", "DynamoDBLimits", "TableThroughput"]

_US = 1_000_000


@dataclass
class DynamoDBLimits:
    """The ceilings the simulator enforces, AWS's defaults (`rules.dynamodb`); assign to change
    them, `enabled = False` to serve every request (ConsumedCapacity is still computed)."""

    enabled: bool = True
    partition_read_units_per_s: float = ddb.PARTITION_READ_UNITS_PER_S
    partition_write_units_per_s: float = ddb.PARTITION_WRITE_UNITS_PER_S
    burst_seconds: float = ddb.BURST_SECONDS
    on_demand_initial_read_units_per_s: float = ddb.ON_DEMAND_INITIAL_READ_UNITS_PER_S
    on_demand_initial_write_units_per_s: float = ddb.ON_DEMAND_INITIAL_WRITE_UNITS_PER_S
    table_quota_read_units_per_s: float = ddb.TABLE_QUOTA_READ_UNITS_PER_S
    table_quota_write_units_per_s: float = ddb.TABLE_QUOTA_WRITE_UNITS_PER_S


@dataclass(frozen=True)
class TableThroughput:
    """What the adapter reads from moto's table: its name, mode and provisioned throughput."""

    name: str
    on_demand: bool
    read_units_per_s: float = 0.0  # ProvisionedThroughput; unused on demand
    write_units_per_s: float = 0.0
    created: float = 0.0  # creation time: a table deleted and created again starts afresh
    index: str | None = None  # a global secondary index of the table, with its own throughput

    @property
    def resource(self) -> str:
        """`table`, or `table/index/name` for a global secondary index."""
        return self.name if self.index is None else f"{self.name}/index/{self.index}"


@dataclass(frozen=True)
class Charge:
    """Units one item of a request takes; `partition_key` is the item's partition key value in
    DynamoDB JSON (None: the table's bucket only, as a Scan)."""

    units: float
    partition_key: dict | None


@dataclass(frozen=True)
class CapacityRefusal:
    """A request (or a batch's item) DynamoDB refused for lack of throughput."""

    at_us: int
    table: str
    operation: str  # the API action: PutItem, Query, BatchWriteItem...
    kind: ddb.Kind
    limit: str  # "table" (provisioned or on-demand ceiling) or "partition"
    reason: str  # AWS's ThrottlingReason, e.g. TableWriteKeyRangeThroughputExceeded
    partition: int | None  # the partition refused (None: the table's ceiling)
    key: dict | None  # the partition key value of the refused item, DynamoDB JSON
    units: float  # what the request asked for
    available: float  # what the bucket held
    index: str | None = None  # the global secondary index refused (None: the table)

    @property
    def at(self) -> datetime:
        return from_micros(self.at_us)


@dataclass
class _Bucket:
    """Tokens refilled continuously at `rate` per second up to `capacity`."""

    tokens: float
    updated_us: int

    def refill(self, now_us: int, rate: float, capacity: float) -> None:
        if now_us > self.updated_us:
            self.tokens = min(capacity, self.tokens + rate * (now_us - self.updated_us) / _US)
            self.updated_us = now_us


@dataclass
class _Table:
    partitions: int
    buckets: dict[ddb.Kind, _Bucket]
    partition_buckets: dict[int, _Bucket] = field(default_factory=dict)  # in partition-seconds
    second: int = 0  # the virtual second `in_second` counts (on-demand peaks)
    in_second: dict[ddb.Kind, float] = field(default_factory=lambda: {"read": 0.0, "write": 0.0})
    peak: dict[ddb.Kind, float] = field(default_factory=lambda: {"read": 0.0, "write": 0.0})


class DynamoDBCapacity:
    """The simulator's DynamoDB throughput: `limits`, `refusals`, and `consumed` units and
    admitted `requests` per resource (`table` or `table/index/name`) and kind (the Sum and
    SampleCount of CloudWatch's ConsumedRead/WriteCapacityUnits)."""

    def __init__(self, now_us: Callable[[], int], limits: DynamoDBLimits | None = None):
        self._now_us = now_us
        self.limits = limits or DynamoDBLimits()
        self.refusals: list[CapacityRefusal] = []
        self.consumed: dict[tuple[str, ddb.Kind], float] = {}
        self.requests: dict[tuple[str, ddb.Kind], int] = {}
        self._tables: dict[tuple[str, float], _Table] = {}  # by (resource, creation time)

    def admit(self, table: TableThroughput, operation: str, kind: ddb.Kind,
              charges: Sequence[Charge]) -> CapacityRefusal | None:
        """Take `charges` from the table's and partitions' buckets, all or nothing; a refusal is
        recorded and returned (nothing taken). Always admitted when enforcement is off."""
        if not self.limits.enabled:
            self._count(table, kind, sum(c.units for c in charges), requests=1)
            return None
        now = self._now_us()
        state = self._state(table, now)
        rate, capacity = self._table_rate(table, state, kind)
        bucket = state.buckets[kind]
        bucket.refill(now, rate, capacity)
        total = sum(c.units for c in charges)
        per_partition: dict[int, tuple[float, dict | None]] = {}
        for charge in charges:
            if charge.partition_key is None:
                continue
            index = ddb.partition_of(charge.partition_key, state.partitions)
            share = self._share(kind, charge.units)
            per_partition[index] = (per_partition.get(index, (0.0, None))[0] + share, charge.partition_key)
        for index, (share, key) in sorted(per_partition.items()):
            partition = self._partition_bucket(state, index, now)
            if share > partition.tokens + 1e-9:
                return self._refuse(now, table, operation, kind, "partition", "KeyRangeThroughputExceeded",
                                    index, key, share, partition.tokens)
        if total > bucket.tokens + 1e-9:
            limit = self._table_limit_type(table, kind, rate)
            key = charges[0].partition_key if len(charges) == 1 else None
            return self._refuse(now, table, operation, kind, "table", limit, None, key, total, bucket.tokens)
        bucket.tokens -= total
        for index, (share, _) in per_partition.items():
            state.partition_buckets[index].tokens -= share
        self._count(table, kind, total, state, now, requests=1)
        return None

    def admit_all(self, operation: str, kind: ddb.Kind,
                  requests: Sequence[tuple[TableThroughput, Sequence[Charge]]]) -> CapacityRefusal | None:
        """`admit` for several tables or indexes, all or nothing: a refusal gives back what the
        others took (a write and its index writes; a transaction)."""
        taken: list[tuple[TableThroughput, Sequence[Charge]]] = []
        for table, charges in requests:
            if not charges:
                continue
            refusal = self.admit(table, operation, kind, charges)
            if refusal is not None:
                for earlier, earlier_charges in taken:
                    self.give_back(earlier, kind, earlier_charges)
                return refusal
            taken.append((table, charges))
        return None

    def settle(self, table: TableThroughput, kind: ddb.Kind, units: float, partition_key: dict | None) -> None:
        """Charge `units` more once a request has run (what a Query read past its minimum, what an
        UpdateItem grew by): the buckets may go below zero."""
        if units <= 0:
            return
        if not self.limits.enabled:
            self._count(table, kind, units)
            return
        now = self._now_us()
        state = self._state(table, now)
        state.buckets[kind].tokens -= units
        if partition_key is not None:
            index = ddb.partition_of(partition_key, state.partitions)
            self._partition_bucket(state, index, now).tokens -= self._share(kind, units)
        self._count(table, kind, units, state, now)

    def give_back(self, table: TableThroughput, kind: ddb.Kind, charges: Sequence[Charge]) -> None:
        """Return admitted `charges` (a transaction refused on another table takes nothing)."""
        if not self.limits.enabled:
            self._count(table, kind, -sum(c.units for c in charges), requests=-1)
            return
        now = self._now_us()
        state = self._state(table, now)
        for charge in charges:
            state.buckets[kind].tokens += charge.units
            if charge.partition_key is not None:
                index = ddb.partition_of(charge.partition_key, state.partitions)
                state.partition_buckets[index].tokens += self._share(kind, charge.units)
        self._count(table, kind, -sum(c.units for c in charges), state, now, requests=-1)

    # -- state ---------------------------------------------------------------------------------
    def _state(self, table: TableThroughput, now: int) -> _Table:
        state = self._tables.get((table.resource, table.created))
        if state is None:
            state = _Table(partitions=1, buckets={})
            for kind in ("read", "write"):
                _, capacity = self._table_rate(table, state, kind)
                state.buckets[kind] = _Bucket(capacity, now)  # a new table's burst starts full
            self._tables[(table.resource, table.created)] = state
        if table.on_demand:
            self._roll_second(state, now)
        read, _ = self._table_rate(table, state, "read")
        write, _ = self._table_rate(table, state, "write")
        # Partitions split as throughput grows and never merge.
        state.partitions = max(state.partitions, ddb.partition_count(read, write))
        return state

    def _table_rate(self, table: TableThroughput, state: _Table, kind: ddb.Kind) -> tuple[float, float]:
        """(units a second, bucket capacity) of the table for `kind`."""
        if table.on_demand:
            initial = self.limits.on_demand_initial_read_units_per_s if kind == "read" \
                else self.limits.on_demand_initial_write_units_per_s
            rate = ddb.on_demand_ceiling(initial, state.peak[kind], self._quota(kind))
            return rate, rate
        rate = table.read_units_per_s if kind == "read" else table.write_units_per_s
        return rate, rate * self.limits.burst_seconds

    def _table_limit_type(self, table: TableThroughput, kind: ddb.Kind, rate: float) -> ddb.LimitType:
        """Why a table refuses: its provisioned throughput; on demand, the per-table quota, or
        below it (modelled: AWS names no reason for traffic past double the previous peak) its
        partitions, which have not split for that traffic yet."""
        if not table.on_demand:
            return "ProvisionedThroughputExceeded"
        return "AccountLimitExceeded" if rate >= self._quota(kind) else "KeyRangeThroughputExceeded"

    def _quota(self, kind: ddb.Kind) -> float:
        return self.limits.table_quota_read_units_per_s if kind == "read" else self.limits.table_quota_write_units_per_s

    def _share(self, kind: ddb.Kind, units: float) -> float:
        """Partition-seconds `units` take (a partition's second is 1.0)."""
        limit = self.limits.partition_read_units_per_s if kind == "read" else self.limits.partition_write_units_per_s
        return units / limit

    def _partition_bucket(self, state: _Table, index: int, now: int) -> _Bucket:
        bucket = state.partition_buckets.setdefault(index, _Bucket(1.0, now))
        bucket.refill(now, 1.0, 1.0)
        return bucket

    @staticmethod
    def _roll_second(state: _Table, now: int) -> None:
        second = now // _US
        if second != state.second:
            for kind in ("read", "write"):
                state.peak[kind] = max(state.peak[kind], state.in_second[kind])
                state.in_second[kind] = 0.0
            state.second = second

    def _count(self, table: TableThroughput, kind: ddb.Kind, units: float,
               state: _Table | None = None, now: int | None = None, requests: int = 0) -> None:
        self.consumed[(table.resource, kind)] = self.consumed.get((table.resource, kind), 0.0) + units
        if requests:
            self.requests[(table.resource, kind)] = self.requests.get((table.resource, kind), 0) + requests
        if state is not None and now is not None and table.on_demand:
            state.in_second[kind] += units

    def _refuse(self, now: int, table: TableThroughput, operation: str, kind: ddb.Kind, limit: str,
                limit_type: ddb.LimitType, partition: int | None, key: dict | None, units: float,
                available: float) -> CapacityRefusal:
        if limit == "partition":  # report units, not partition-seconds
            units, available = units / self._share(kind, 1.0), available / self._share(kind, 1.0)
        refusal = CapacityRefusal(now, table.name, operation, kind, limit,
                                  ddb.throttling_reason(kind, limit_type, index=table.index is not None),
                                  partition, key, units, available, index=table.index)
        self.refusals.append(refusal)
        return refusal
