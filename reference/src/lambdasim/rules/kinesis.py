"""Kinesis Data Streams throughput ceilings: what a shard and an on-demand stream accept per
second, and the error a refused request gets.

Pure: no moto, no boto3, no clock of its own (time is passed in, integer microseconds, so a run
replays to the same decisions). The simulator's `kinesis_throughput.KinesisThroughput` enforces
these rules on moto's streams; the course's capacity model can call the same functions.

Sources:

- https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html : each shard
  supports up to 1 MB/s or 1,000 records/s of writes and 2 MB/s of reads; GetRecords can be
  called 5 times per second per shard ("each call to GetRecords is counted as one read
  transaction. Each shard can support up to five read transactions per second"); new on-demand
  streams have 4 MB/s of write and 8 MB/s of read throughput by default.
- https://docs.aws.amazon.com/streams/latest/dev/working-with-streams.html : the per-shard limits
  hold "in both on-demand and provisioned capacity modes".
- https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html : the same
  figures in MiB ("up to a maximum data write total of 1 MiB per second ... data read total of
  2 MiB per second").
- https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html and
  API_PutRecords.html : a write over the shard's throughput is refused with
  ProvisionedThroughputExceededException (PutRecord: HTTP 400; PutRecords: per record, ErrorCode
  and ErrorMessage, counted in FailedRecordCount, the other records written); an MD5 hash of the
  partition key picks the shard (moto routes the same way). The size that counts is the data
  blob plus the partition key (API_PutRecordsRequestEntry.html).
- https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsResultEntry.html : the
  ErrorMessage of ProvisionedThroughputExceededException "includes the account ID, stream name,
  and shard ID"; API_PutRecords.html's example: "Rate exceeded for shard shardId-000000000001 in
  stream exampleStreamName under account 111111111111."
- https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html : over 5 calls per
  second, or over 2 MiB per second, GetRecords answers ProvisionedThroughputExceededException;
  a call that returned 10 MiB makes the calls of the next 5 seconds fail.
- https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html : with a standard iterator,
  "Lambda polls each shard in your Kinesis stream for records at a base rate of once per second"
  and "the event source mapping shares read throughput with other consumers of the shard".

Modelled where AWS is silent (listed in the manual's fidelity table):

- "per second" is a rolling second (every request counts for one second after it), not a
  calendar second: so 1,000 records written at 0.9 s and 1,000 more at 1.1 s are not all
  accepted;
- a GetRecords call that returned more than one second of read throughput counts for as many
  seconds as its size needs (10 MiB: 5 s), as API_GetRecords.html describes;
- an on-demand stream's default records-per-second write ceiling is 4,000 (the quota page names
  4 MB/s only; 4,000 keeps a shard's 1,000 records per MB);
- refused requests do not count against the ceilings;
- GetRecords' refusal carries PutRecords' documented message (AWS documents none for it).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Final, Literal

MICROS_PER_SECOND: Final = 1_000_000
MIB: Final = 1024 * 1024

# service-sizes-and-limits.html, API_CreateStream.html: per shard, in both capacity modes.
SHARD_WRITE_BYTES_PER_S: Final = 1 * MIB
SHARD_WRITE_RECORDS_PER_S: Final = 1000
SHARD_READ_CALLS_PER_S: Final = 5
SHARD_READ_BYTES_PER_S: Final = 2 * MIB
# service-sizes-and-limits.html: a new on-demand stream's default write throughput (4 MB/s);
# the records ceiling is modelled (see above).
ON_DEMAND_WRITE_BYTES_PER_S: Final = 4 * MIB
ON_DEMAND_WRITE_RECORDS_PER_S: Final = 4000
# with-kinesis.html: Lambda's base polling rate per shard (standard iterator); the stream poller
# reads a refused shard again after this long.
LAMBDA_POLL_INTERVAL_S: Final = 1.0

THROUGHPUT_EXCEEDED_CODE: Final = "ProvisionedThroughputExceededException"
THROUGHPUT_EXCEEDED_STATUS: Final = 400
ON_DEMAND: Final = "ON_DEMAND"

#: Which ceiling refused a request.
KinesisLimit = Literal["shard-write-records", "shard-write-bytes", "stream-write-records", "stream-write-bytes",
                       "shard-read-calls", "shard-read-bytes"]


@dataclass(frozen=True)
class KinesisLimits:
    """The ceilings the simulator enforces, AWS's defaults unless changed; `enforce=False`
    turns every one off (moto's own behaviour: no stream ever refuses)."""

    shard_write_bytes_per_s: int = SHARD_WRITE_BYTES_PER_S
    shard_write_records_per_s: int = SHARD_WRITE_RECORDS_PER_S
    shard_read_calls_per_s: int = SHARD_READ_CALLS_PER_S
    shard_read_bytes_per_s: int = SHARD_READ_BYTES_PER_S
    on_demand_write_bytes_per_s: int = ON_DEMAND_WRITE_BYTES_PER_S
    on_demand_write_records_per_s: int = ON_DEMAND_WRITE_RECORDS_PER_S
    enforce: bool = True

    def __post_init__(self) -> None:
        for name in ("shard_write_bytes_per_s", "shard_write_records_per_s", "shard_read_calls_per_s",
                     "shard_read_bytes_per_s", "on_demand_write_bytes_per_s", "on_demand_write_records_per_s"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


def record_size(data_bytes: int, partition_key: str) -> int:
    """The bytes a record counts for: its data blob (before base64) plus its partition key
    (API_PutRecordsRequestEntry.html)."""
    return data_bytes + len(partition_key.encode("utf-8"))


def read_counts_for_us(returned_bytes: int, bytes_per_s: int) -> int:
    """How long a GetRecords answer counts against the shard's read throughput: one second, or
    as many as its size needs (API_GetRecords.html: after 10 MiB, the next 5 seconds fail)."""
    return max(MICROS_PER_SECOND, math.ceil(returned_bytes * MICROS_PER_SECOND / bytes_per_s))


def throughput_exceeded_message(*, shard_id: str, stream_name: str, account_id: str) -> str:
    """ProvisionedThroughputExceededException's message (API_PutRecords.html's example)."""
    return f"Rate exceeded for shard {shard_id} in stream {stream_name} under account {account_id}."


def stream_throughput_exceeded_message(*, stream_name: str, account_id: str) -> str:
    """The message of a write an on-demand stream's own ceiling refused (modelled on the shard's)."""
    return f"Rate exceeded for stream {stream_name} under account {account_id}."


def is_on_demand(stream_mode: str | None) -> bool:
    return stream_mode == ON_DEMAND


@dataclass
class RollingWindow:
    """What was admitted during the last second (or longer, for entries that say so): each entry
    counts from its time until its end. `total(now_us)` is the sum still counting."""

    _entries: list[tuple[int, int, int]] = field(default_factory=list, repr=False)  # (until_us, order, amount)
    _total: int = 0
    _order: int = 0

    def total(self, now_us: int) -> int:
        while self._entries and self._entries[0][0] <= now_us:
            self._total -= heapq.heappop(self._entries)[2]
        return self._total

    def add(self, now_us: int, amount: int, counts_for_us: int = MICROS_PER_SECOND) -> None:
        self._order += 1
        heapq.heappush(self._entries, (now_us + counts_for_us, self._order, amount))
        self._total += amount


@dataclass
class ShardWindows:
    """One shard's (or one on-demand stream's) rolling windows."""

    write_records: RollingWindow = field(default_factory=RollingWindow)
    write_bytes: RollingWindow = field(default_factory=RollingWindow)
    read_calls: RollingWindow = field(default_factory=RollingWindow)
    read_bytes: RollingWindow = field(default_factory=RollingWindow)


def write_refusal(shard: ShardWindows, stream: ShardWindows | None, size: int, now_us: int,
                  limits: KinesisLimits) -> KinesisLimit | None:
    """Which ceiling refuses one more record of `size` bytes now (None: it is accepted). `stream`
    is the on-demand stream's own windows (None for a provisioned stream)."""
    if shard.write_records.total(now_us) + 1 > limits.shard_write_records_per_s:
        return "shard-write-records"
    if shard.write_bytes.total(now_us) + size > limits.shard_write_bytes_per_s:
        return "shard-write-bytes"
    if stream is not None:
        if stream.write_records.total(now_us) + 1 > limits.on_demand_write_records_per_s:
            return "stream-write-records"
        if stream.write_bytes.total(now_us) + size > limits.on_demand_write_bytes_per_s:
            return "stream-write-bytes"
    return None


def admit_write(shard: ShardWindows, stream: ShardWindows | None, size: int, now_us: int) -> None:
    """Count an accepted record against its shard (and its on-demand stream)."""
    for windows in (shard, stream):
        if windows is not None:
            windows.write_records.add(now_us, 1)
            windows.write_bytes.add(now_us, size)


def read_refusal(shard: ShardWindows, now_us: int, limits: KinesisLimits) -> KinesisLimit | None:
    """Which ceiling refuses one more GetRecords call on the shard now (None: it is accepted)."""
    if shard.read_calls.total(now_us) >= limits.shard_read_calls_per_s:
        return "shard-read-calls"
    if shard.read_bytes.total(now_us) >= limits.shard_read_bytes_per_s:
        return "shard-read-bytes"
    return None


def admit_read(shard: ShardWindows, returned_bytes: int, now_us: int, limits: KinesisLimits) -> None:
    """Count an accepted GetRecords call and the bytes it returned."""
    shard.read_calls.add(now_us, 1)
    if returned_bytes:
        shard.read_bytes.add(now_us, returned_bytes, read_counts_for_us(returned_bytes, limits.shard_read_bytes_per_s))
