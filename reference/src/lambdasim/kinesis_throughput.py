"""Kinesis Data Streams' throughput ceilings, enforced on moto's streams on the virtual clock.

moto accepts every write and every read (5,000 records per second into one shard succeed). The
adapter (`_moto_patches.kinesis`) asks this player about each PutRecord, each record of a
PutRecords and each GetRecords call before moto runs it, and a refused one gets AWS's
ProvisionedThroughputExceededException (the rules and their pages: `rules.kinesis`):

- writes: 1,000 records and 1 MiB per shard per rolling second, the shard chosen by the MD5 of
  the partition key as moto routes it; an on-demand stream also 4,000 records and 4 MiB per
  second in all;
- reads: 5 GetRecords calls and 2 MiB per shard per rolling second, shared by every consumer of
  the shard, the Lambda stream pollers' reads included.

`limits` (`rules.kinesis.KinesisLimits`, assignable; `enforce=False` turns the ceilings off) sets
them, and every refusal is kept in `throttles`, so a lesson can count them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .clock import from_micros
from .rules import kinesis as rules


@dataclass(frozen=True)
class KinesisThrottle:
    """One request (or one record of a PutRecords) a Kinesis ceiling refused."""

    at_us: int
    operation: str  # PutRecord, PutRecords or GetRecords
    stream_name: str
    stream_arn: str
    shard_id: str
    limit: rules.KinesisLimit
    message: str

    @property
    def at(self) -> datetime:
        return from_micros(self.at_us)


@dataclass
class KinesisThroughput:
    """The ceilings of every stream in the simulation, their windows and their refusals."""

    now_us: Callable[[], int]
    limits: rules.KinesisLimits = field(default_factory=rules.KinesisLimits)
    throttles: list[KinesisThrottle] = field(default_factory=list)
    _shards: dict[tuple[str, str], rules.ShardWindows] = field(default_factory=dict, repr=False)
    _streams: dict[str, rules.ShardWindows] = field(default_factory=dict, repr=False)

    def _shard(self, stream_arn: str, shard_id: str) -> rules.ShardWindows:
        return self._shards.setdefault((stream_arn, shard_id), rules.ShardWindows())

    def write(self, *, operation: str, stream_arn: str, stream_name: str, account_id: str, shard_id: str,
              stream_mode: str | None, size: int) -> str | None:
        """Admit one record of `size` bytes into the shard now; the refusal's message if a
        ceiling refuses it (recorded in `throttles`), None when it is accepted (and counted)."""
        if not self.limits.enforce:
            return None
        now = self.now_us()
        shard = self._shard(stream_arn, shard_id)
        stream = self._streams.setdefault(stream_arn, rules.ShardWindows()) \
            if rules.is_on_demand(stream_mode) else None
        limit = rules.write_refusal(shard, stream, size, now, self.limits)
        if limit is None:
            rules.admit_write(shard, stream, size, now)
            return None
        if limit.startswith("stream-"):
            message = rules.stream_throughput_exceeded_message(stream_name=stream_name, account_id=account_id)
        else:
            message = rules.throughput_exceeded_message(shard_id=shard_id, stream_name=stream_name,
                                                        account_id=account_id)
        self.throttles.append(KinesisThrottle(now, operation, stream_name, stream_arn, shard_id, limit, message))
        return message

    def read(self, *, stream_arn: str, stream_name: str, account_id: str, shard_id: str) -> str | None:
        """Admit one GetRecords call on the shard now: the refusal's message (recorded), or None.
        An admitted call's bytes are counted by `returned` once moto has answered it."""
        if not self.limits.enforce:
            return None
        now = self.now_us()
        limit = rules.read_refusal(self._shard(stream_arn, shard_id), now, self.limits)
        if limit is None:
            return None
        message = rules.throughput_exceeded_message(shard_id=shard_id, stream_name=stream_name, account_id=account_id)
        self.throttles.append(KinesisThrottle(now, "GetRecords", stream_name, stream_arn, shard_id, limit, message))
        return message

    def returned(self, *, stream_arn: str, shard_id: str, size: int) -> None:
        """Count an admitted GetRecords call and the bytes it returned."""
        if self.limits.enforce:
            rules.admit_read(self._shard(stream_arn, shard_id), size, self.now_us(), self.limits)
