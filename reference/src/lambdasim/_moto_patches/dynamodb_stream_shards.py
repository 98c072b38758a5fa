"""DynamoDB Streams shard lineage: moto gives a stream one shard that never closes.

When the simulator rolls a stream's shard over (`moto_state.roll_stream_shard`), the closed
parent stays readable next to its child, as on AWS
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Shard.html:
ParentShardId; API_streams_SequenceNumberRange.html: a closed shard has an
EndingSequenceNumber; API_streams_GetRecords.html: "If NextShardIterator is null, the shard has
been closed and the requested iterator will not return any more data"):

- DescribeStream lists the closed shards, oldest first, then the open one, each with its
  ParentShardId;
- GetShardIterator on a closed shard gives an iterator into it (moto only knew the open shard),
  TRIM_HORIZON after its records past the 24-hour retention (`dynamodb_streams`);
- GetRecords at the end of a closed shard answers no NextShardIterator.

A stream that never rolled over is answered exactly as moto answers it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import moto_state
from ._patching import Patch
from .dynamodb_streams import _trim_point


def _closed(table: Any) -> list[Any]:
    return table.__dict__.get(moto_state.CLOSED_SHARDS_ATTR, [])


def _describe(shard: Any) -> dict[str, Any]:
    described = shard.to_json()
    parent = shard.__dict__.get(moto_state.SHARD_PARENT_ATTR)
    if parent is not None:
        described["ParentShardId"] = parent
    ending = shard.__dict__.get(moto_state.SHARD_ENDING_ATTR)
    if ending is not None:
        described["SequenceNumberRange"]["EndingSequenceNumber"] = str(ending)
    return described


def _wrap_describe_stream(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe_stream(self: Any, arn: str) -> dict[str, Any]:
        """DynamoDBStreamsBackend.describe_stream, with the closed shards and every ParentShardId."""
        stream = original(self, arn)
        table = self._get_table_from_arn(arn)
        if _closed(table):
            stream["Shards"] = [_describe(shard) for shard in [*_closed(table), table.stream_shard]]
        return stream

    describe_stream.__wrapped__ = original  # type: ignore[attr-defined]
    return describe_stream


def _wrap_get_shard_iterator(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_shard_iterator(self: Any) -> Any:
        """DynamoDBStreamsHandler.get_shard_iterator, which also opens an iterator into a closed
        shard (moto's backend knows only the open one)."""
        from moto.core.responses import ActionResult
        from moto.dynamodbstreams.models import ShardIterator

        table = self.backend._get_table_from_arn(self._get_param("StreamArn"))
        shard = next((s for s in _closed(table) if s.id == self._get_param("ShardId")), None)
        if shard is None:
            return original(self)
        sequence_number = self._get_param("SequenceNumber")
        iterator_type = self._get_param("ShardIteratorType")
        iterator = ShardIterator(self.backend, shard, iterator_type,
                                 int(sequence_number) if isinstance(sequence_number, str) else sequence_number)
        if iterator_type == "TRIM_HORIZON":
            iterator.sequence_number = max(iterator.sequence_number, _trim_point(shard))
        self.backend.shard_iterators[iterator.arn] = iterator
        return ActionResult({"ShardIterator": iterator.arn})

    get_shard_iterator.__wrapped__ = original  # type: ignore[attr-defined]
    return get_shard_iterator


def _wrap_iterator_get(original: Callable[..., Any]) -> Callable[..., Any]:
    def get(self: Any, limit: int = 1000) -> dict[str, Any]:
        """ShardIterator.get, without a next iterator once a closed shard has been read to its end."""
        answer = original(self, limit)
        ending = self.stream_shard.__dict__.get(moto_state.SHARD_ENDING_ATTR)
        if ending is not None:
            last = max((int(r["dynamodb"]["SequenceNumber"]) for r in answer["Records"]),
                       default=int(self.sequence_number) - 1)
            if last >= ending:
                del answer["NextShardIterator"]
        return answer

    get.__wrapped__ = original  # type: ignore[attr-defined]
    return get


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    why = "DynamoDB Streams shard lineage"
    return [
        Patch(DynamoDBStreamsBackend, "describe_stream", None, ("self", "arn"), why, wrap=_wrap_describe_stream),
        Patch(DynamoDBStreamsHandler, "get_shard_iterator", None, ("self",), why, wrap=_wrap_get_shard_iterator),
        Patch(ShardIterator, "get", None, ("self", "limit"), why, wrap=_wrap_iterator_get),
    ]
