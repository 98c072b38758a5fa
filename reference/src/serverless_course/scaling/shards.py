"""Kinesis shard arithmetic, and an experiment that writes a steady load to a stream in `lambdasim`
with a chosen partition-key scheme and counts, per shard and per second, the records accepted
and the records refused with ProvisionedThroughputExceededException.

AWS's numbers (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html): a
shard takes writes of up to 1,000 records and 1 MiB per second. The MD5 hash of a record's
partition key picks its shard, so every record of one key goes to the same shard
(https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html). A record's size
counts its data and its partition key (API_PutRecordsRequestEntry.html). The simulator enforces
the per-shard ceilings over a rolling second (`sim.kinesis`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lambdasim import Simulator

__all__ = [
    "MIB",
    "SHARD_WRITE_BYTES_PER_S",
    "SHARD_WRITE_RECORDS_PER_S",
    "ShardLoad",
    "hash_key",
    "keys",
    "predicted_per_shard",
    "run_load",
    "shard_of",
    "shards_needed",
]

MIB = 1024 * 1024
SHARD_WRITE_RECORDS_PER_S = 1_000  # per shard, service-sizes-and-limits.html
SHARD_WRITE_BYTES_PER_S = MIB  # per shard, data plus partition key
STREAM = "clicks"


# --8<-- [start:shards_needed]
def shards_needed(records_per_s: float, record_bytes: int) -> int:
    """The fewest shards whose write ceilings cover `records_per_s` records of `record_bytes`
    (data plus partition key) each, if the keys spread the load evenly: the larger of the two
    ceilings' answers, 1,000 records/s and 1 MiB/s per shard."""
    if records_per_s < 0 or record_bytes <= 0:
        raise ValueError("records_per_s must be >= 0 and record_bytes > 0")
    by_records = math.ceil(records_per_s / SHARD_WRITE_RECORDS_PER_S)
    by_bytes = math.ceil(records_per_s * record_bytes / SHARD_WRITE_BYTES_PER_S)
    return max(1, by_records, by_bytes)
# --8<-- [end:shards_needed]


# --8<-- [start:shard_of]
def hash_key(partition_key: str) -> int:
    """The 128-bit integer Kinesis maps a partition key to: the MD5 of its UTF-8 bytes."""
    return int(hashlib.md5(partition_key.encode()).hexdigest(), 16)


def shard_of(partition_key: str, ranges: Sequence[tuple[str, int, int]]) -> str:
    """The shard whose hash key range, (shard id, starting, ending) inclusive as ListShards
    gives it, holds the key's hash."""
    h = hash_key(partition_key)
    for shard_id, start, end in ranges:
        if start <= h <= end:
            return shard_id
    raise ValueError(f"no shard holds hash {h}")


def predicted_per_shard(key_list: Sequence[str], records_per_s: float,
                        ranges: Sequence[tuple[str, int, int]]) -> dict[str, float]:
    """Records per second each shard receives when the load cycles through `key_list` evenly."""
    load = {shard_id: 0.0 for shard_id, _, _ in ranges}
    for key in key_list:
        load[shard_of(key, ranges)] += records_per_s / len(key_list)
    return load
# --8<-- [end:shard_of]


def keys(distinct: int, prefix: str = "customer") -> list[str]:
    """`distinct` partition keys: `customer-0`, `customer-1`, ..."""
    if distinct < 1:
        raise ValueError("distinct must be >= 1")
    return [f"{prefix}-{n}" for n in range(distinct)]


@dataclass
class ShardLoad:
    """What `run_load` measured: arrays indexed [second, shard], shards in `shard_ids`' order."""

    shard_ids: list[str]
    ranges: list[tuple[str, int, int]] = field(repr=False)
    accepted: np.ndarray  # records written per second and shard
    refused: np.ndarray  # records refused (ProvisionedThroughputExceededException) per second and shard
    accepted_bytes: np.ndarray  # bytes written (data plus partition key) per second and shard
    error_codes: dict[str, int]  # the ErrorCode of every refused record, counted
    limits: dict[str, int]  # `sim.kinesis.throttles`' `limit`, counted

    @property
    def offered(self) -> np.ndarray:
        """Records sent per second and shard, accepted or not."""
        return self.accepted + self.refused

    @property
    def refused_share(self) -> float:
        total = int(self.offered.sum())
        return int(self.refused.sum()) / total if total else 0.0


# --8<-- [start:play]
def play(sim: Simulator, *, shards: int, records_per_s: int, seconds: int, key_list: Sequence[str],
         record_bytes: int, batches_per_s: int) -> ShardLoad:
    """Create a stream of `shards` shards and write `records_per_s` records of `record_bytes`
    each for `seconds` virtual seconds, in `batches_per_s` evenly spaced PutRecords calls a
    second, the keys taken in turn from `key_list`. Refused records are not sent again."""
    from botocore.config import Config

    # No SDK retries: the lesson counts every refusal (a retry would also wait on the virtual clock).
    kinesis = sim.client("kinesis", config=Config(retries={"total_max_attempts": 1}))
    kinesis.create_stream(StreamName=STREAM, ShardCount=shards)
    listed = kinesis.list_shards(StreamName=STREAM)["Shards"]
    ranges = [(s["ShardId"], int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
              for s in listed]
    column = {shard_id: n for n, (shard_id, _, _) in enumerate(ranges)}
    accepted = np.zeros((seconds, shards), dtype=int)
    refused = np.zeros((seconds, shards), dtype=int)
    accepted_bytes = np.zeros((seconds, shards), dtype=int)
    error_codes: dict[str, int] = {}
    per_batch = records_per_s // batches_per_s
    sent = 0
    for tick in range(seconds * batches_per_s):
        second = tick // batches_per_s
        entries = []
        for _ in range(per_batch):
            key = key_list[sent % len(key_list)]
            entries.append({"PartitionKey": key, "Data": b"x" * (record_bytes - len(key.encode()))})
            sent += 1
        for start in range(0, len(entries), 500):  # at most 500 records a PutRecords call
            chunk = entries[start:start + 500]
            answer = kinesis.put_records(StreamName=STREAM, Records=chunk)
            for entry, result in zip(chunk, answer["Records"]):
                if "ErrorCode" in result:  # refused: its shard is the one its key hashes to
                    error_codes[result["ErrorCode"]] = error_codes.get(result["ErrorCode"], 0) + 1
                    refused[second, column[shard_of(entry["PartitionKey"], ranges)]] += 1
                else:
                    accepted[second, column[result["ShardId"]]] += 1
                    accepted_bytes[second, column[result["ShardId"]]] += record_bytes
        sim.run_for(1 / batches_per_s)
    limits: dict[str, int] = {}
    for throttle in sim.kinesis.throttles:
        limits[throttle.limit] = limits.get(throttle.limit, 0) + 1
    return ShardLoad(shard_ids=list(column), ranges=ranges, accepted=accepted, refused=refused,
                     accepted_bytes=accepted_bytes, error_codes=error_codes, limits=limits)
# --8<-- [end:play]


def run_load(*, shards: int, records_per_s: int, seconds: int = 3, distinct_keys: int = 1_000,
             record_bytes: int = 1024, batches_per_s: int = 10, seed: int = 1) -> ShardLoad:
    """Play the load in a fresh simulator, partition keys `customer-0` to
    `customer-{distinct_keys - 1}` in turn, and return what each shard accepted and refused."""
    from lambdasim import Simulator

    if records_per_s % batches_per_s:
        raise ValueError("records_per_s must be a multiple of batches_per_s")
    with Simulator(seed=seed, logs=False, metrics=False) as sim:
        return play(sim, shards=shards, records_per_s=records_per_s, seconds=seconds,
                    key_list=keys(distinct_keys), record_bytes=record_bytes, batches_per_s=batches_per_s)
