"""A DynamoDB hot key, and write sharding, in `lambdasim`.

One provisioned table takes a steady stream of writes for a few virtual seconds. Every write
goes to the partition its partition key hashes to, and each partition serves at most 1,000 write
units a second whatever the table's total (bp-partition-key-design.html). With one key for every
write (`shards=1`, e.g. today's date) one partition takes them all; with a suffix spread over N
values (`shards=N`, bp-partition-key-sharding.html) the writes spread over the partitions those N
keys hash to.

The writes are PutItem calls made with one attempt each, so every refusal
(ProvisionedThroughputExceededException) is counted once, as DynamoDB answered it; the SDK's
retries would add their own load to the same partition. The partition of each write is the
simulator's (`lambdasim.rules.dynamodb.partition_of`: a stable hash over the modelled
partitions); a refusal's partition is the one `sim.dynamodb.refusals` records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lambdasim import Simulator

__all__ = ["HotKeyRun", "partition_key", "play", "run_hot_key"]

TABLE = "events"
DAY = "2026-12-04"  # the hot key: every event of the day under one partition key


# --8<-- [start:shard_key]
def partition_key(n: int, shards: int, base: str = DAY) -> str:
    """The partition key of the n-th write: `base` alone, or `base#k` with a calculated suffix k
    in 0 .. shards - 1 (round robin), so the day's writes spread over `shards` keys."""
    return base if shards == 1 else f"{base}#{n % shards}"
# --8<-- [end:shard_key]


@dataclass
class HotKeyRun:
    """Writes accepted and refused in each virtual second (rows) on each partition (columns)."""

    shards: int
    writes_per_s: int
    units_per_write: int
    table_write_units: int
    partitions: int
    accepted: np.ndarray  # int, shape (seconds, partitions)
    throttled: np.ndarray  # int, shape (seconds, partitions)
    keys_on: dict[int, list[str]] = field(repr=False)  # partition -> the keys written that hash to it
    reasons: dict[str, int] = field(default_factory=dict)  # ThrottlingReason -> refusals (sim.dynamodb.refusals)

    @property
    def seconds(self) -> int:
        return int(self.accepted.shape[0])

    @property
    def throttled_total(self) -> int:
        return int(self.throttled.sum())

    @property
    def writes(self) -> int:
        return int(self.accepted.sum() + self.throttled.sum())

    def units_requested(self) -> np.ndarray:
        """Write units asked of each partition in each second, accepted or not."""
        return (self.accepted + self.throttled) * self.units_per_write


# --8<-- [start:play]
def play(sim: Simulator, *, writes_per_s: int, seconds: int, shards: int, item_kb: int,
         table_write_units: int) -> list[tuple[float, str, bool]]:
    """Create a provisioned table, write `writes_per_s` items of `item_kb` KB evenly spaced for
    `seconds` virtual seconds with the key scheme of `shards`, and return each write's time,
    partition key and whether DynamoDB accepted it."""
    from botocore.config import Config
    from botocore.exceptions import ClientError

    ddb = sim.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))  # no retries
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                 {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": table_write_units})
    payload = "x" * (item_kb * 1024 - 100)  # with its keys and names, just under item_kb KB
    outcomes: list[tuple[float, str, bool]] = []

    def write(n: int) -> None:
        key = partition_key(n, shards)
        try:
            ddb.put_item(TableName=TABLE, Item={"pk": {"S": key}, "sk": {"S": f"event-{n:06d}"},
                                                "body": {"S": payload}})
            outcomes.append((sim.elapsed, key, True))
        except ClientError as error:
            if error.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                raise
            outcomes.append((sim.elapsed, key, False))

    start = sim.elapsed
    for n in range(writes_per_s * seconds):  # evenly spaced on the virtual clock
        sim.schedule(n / writes_per_s, write, n)
    sim.run_for(seconds)
    return [(at - start, key, ok) for at, key, ok in outcomes]
# --8<-- [end:play]


def run_hot_key(*, shards: int = 1, writes_per_s: int = 150, seconds: int = 6, item_kb: int = 10,
                table_write_units: int = 3000, seed: int = 0) -> HotKeyRun:
    """Play the writes in a new simulator and count them per second and partition."""
    from lambdasim import Simulator
    from lambdasim.rules import dynamodb as rules

    partitions = rules.partition_count(1, table_write_units)  # the table's ReadCapacityUnits is 1
    accepted = np.zeros((seconds, partitions), dtype=int)
    throttled = np.zeros((seconds, partitions), dtype=int)
    keys_on: dict[int, list[str]] = {p: [] for p in range(partitions)}
    with Simulator(seed=seed, logs=False, metrics=False) as sim:
        outcomes = play(sim, writes_per_s=writes_per_s, seconds=seconds, shards=shards, item_kb=item_kb,
                        table_write_units=table_write_units)
        refused_on = [r.partition for r in sim.dynamodb.refusals]
        reasons = dict(Counter(r.reason for r in sim.dynamodb.refusals))
    refused_seen: list[int] = []
    for at, key, ok in outcomes:
        partition = rules.partition_of({"S": key}, partitions)
        if key not in keys_on[partition]:
            keys_on[partition].append(key)
        second = min(int(at), seconds - 1)
        if ok:
            accepted[second, partition] += 1
        else:
            throttled[second, partition] += 1
            refused_seen.append(partition)
    if refused_seen != refused_on:  # the simulator's record and ours agree on every refusal
        raise AssertionError("refusals recorded on other partitions than the keys hash to")
    return HotKeyRun(shards=shards, writes_per_s=writes_per_s, units_per_write=item_kb,
                     table_write_units=table_write_units, partitions=partitions, accepted=accepted,
                     throttled=throttled, keys_on=keys_on, reasons=reasons)
