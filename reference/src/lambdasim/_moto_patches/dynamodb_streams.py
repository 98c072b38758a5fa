"""DynamoDB Streams retention and Time to Live: moto keeps every stream record forever and
never deletes an expired item.

- Retention (`rules.dynamodb_streams`): records older than 24 h are trimmed. GetShardIterator
  TRIM_HORIZON starts at the oldest record left; an AT/AFTER_SEQUENCE_NUMBER iterator before the
  trim point, and GetRecords with an iterator whose position was trimmed, answer
  TrimmedDataAccessException (HTTP 400). moto's records stay in its list (their sequence numbers
  are list positions); the trim point is computed from their ApproximateCreationDateTime, which
  moto stamps with the virtual clock.
- Time to Live: UpdateTimeToLive tells the simulator's TTL sweeper (`dynamodb_ttl`), which
  deletes expired items through `moto_state.delete_by_ttl`. moto's CloudFormation ignores an
  AWS::DynamoDB::Table's TimeToLiveSpecification; here it is applied as UpdateTimeToLive.

Speed, with the same answers: the trim point is found from where the last call found it
(`_trim_point`), not from the shard's first record on every read; GetRecords serialises a
stream record once (`_serialized_once`), since every reader of the stream (each mapping and
pipe on it) reads the same records; and an AttributeValue is asked only for the tags it holds
(`dispatch`'s serialisation patch, for every DynamoDB answer), where moto's serialiser asked for
all ten members through every alias (about 1 ms of CPU for an order's record with both images).
A record does not change once written (`moto_state.delete_by_ttl` adds the TTL's userIdentity before anything reads it).
The CDC harness at 1,000 writes (three readers of one stream): 36.3 -> 27.7 s of CPU.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

from .. import moto_state
from ..rules import dynamodb_streams as rules
from ._patching import Patch

# On a moto StreamShard: (records trimmed, the time they were counted at), from the last call.
_TRIM_ATTR = "_lambdasim_trimmed"
# On a moto StreamShard: {sequence number: the record as moto's serialiser answered it}.
_SERIALIZED_ATTR = "_lambdasim_serialized_records"


def _trimmed() -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(rules.TRIMMED_DATA_ACCESS_CODE, rules.TRIMMED_DATA_ACCESS_MESSAGE)


class _CreatedTimes(Sequence[float]):
    """The creation times (epoch seconds) of a shard's records from index `start` on, read as
    `rules.trim_index` asks for them."""

    def __init__(self, items: list[Any], start: int):
        self._items, self._start = items, start

    def __len__(self) -> int:
        return len(self._items) - self._start

    def __getitem__(self, index: Any) -> Any:
        return self._items[self._start + index].record["dynamodb"]["ApproximateCreationDateTime"].timestamp()


def _trim_point(shard: Any) -> int:
    """The sequence number of the shard's oldest record not trimmed (its next one if all are).

    The trimmed records are a prefix of the shard (`rules.trim_index`); a prefix counted at an
    earlier time stays trimmed at a later one, so the count goes on from there. (A handler's
    write can carry an earlier time than the last read's: then the count starts again.)"""
    from moto.core.utils import utcnow

    now = utcnow().timestamp()
    counted, at = shard.__dict__.get(_TRIM_ATTR, (0, now))
    start = counted if at <= now and counted <= len(shard.items) else 0
    trimmed = start + rules.trim_index(_CreatedTimes(shard.items, start), now)  # type: ignore[arg-type]
    setattr(shard, _TRIM_ATTR, (trimmed, now))
    return shard.starting_sequence_number + trimmed


def _wrap_get_shard_iterator(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_shard_iterator(self: Any, arn: str, shard_id: str, shard_iterator_type: str,
                           sequence_number: str | None = None) -> Any:
        """DynamoDBStreamsBackend.get_shard_iterator, after the trim point."""
        iterator = original(self, arn, shard_id, shard_iterator_type, sequence_number)
        trim = _trim_point(iterator.stream_shard)
        if shard_iterator_type == "TRIM_HORIZON":
            iterator.sequence_number = max(iterator.sequence_number, trim)
        elif shard_iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and int(iterator.sequence_number) < trim:
            del self.shard_iterators[iterator.arn]
            raise _trimmed()
        return iterator

    get_shard_iterator.__wrapped__ = original  # type: ignore[attr-defined]
    return get_shard_iterator


def _wrap_get_records(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        """DynamoDBStreamsBackend.get_records: refused once the iterator's position was trimmed."""
        iterator = self.shard_iterators.get(iterator_arn)
        if iterator is not None and int(iterator.sequence_number) < _trim_point(iterator.stream_shard):
            raise _trimmed()
        return original(self, iterator_arn, limit)

    get_records.__wrapped__ = original  # type: ignore[attr-defined]
    return get_records


def _serialized_once(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_records(self: Any) -> Any:
        """DynamoDBStreamsHandler.get_records, whose answer reuses each record's serialised form."""
        from moto.core.responses import ActionResult

        answer = original(self)
        iterator = self.backend.shard_iterators.get(self._get_param("ShardIterator"))
        if iterator is None or type(answer) is not ActionResult:
            return answer
        cache = iterator.stream_shard.__dict__.setdefault(_SERIALIZED_ATTR, {})
        return _records_result_class()(answer.result, cache)

    get_records.__wrapped__ = original  # type: ignore[attr-defined]
    return get_records


@functools.cache
def _records_result_class() -> type:
    from moto.core.responses import ActionResult

    class RecordsResult(ActionResult):
        """A GetRecords answer serialised by moto's serialiser, each record's form taken from
        `cache` (by sequence number) once serialised."""

        def __init__(self, result: object, cache: dict[str, Any]):
            super().__init__(result)
            self._cache = cache

        def execute_result(self, context: Any) -> Any:
            cache = self._cache

            class Serializer(context.serializer_class):  # type: ignore[name-defined,misc]
                def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
                    if shape.name != "Record" or not key or not isinstance(value, dict):
                        super()._serialize_type_structure(serialized, value, shape, key)
                        return
                    sequence_number = value["dynamodb"]["SequenceNumber"]
                    if sequence_number not in cache:
                        piece: dict[str, Any] = {}
                        super()._serialize_type_structure(piece, value, shape, key)
                        cache[sequence_number] = piece[self.get_serialized_name(shape, key)]
                    self._default_serialize(serialized, cache[sequence_number], shape, key)

            return super().execute_result(dataclasses.replace(context, serializer_class=Serializer))

    return RecordsResult


def _wrap_update_time_to_live(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_time_to_live(self: Any, table_name: str, ttl_spec: dict[str, Any]) -> None:
        """DynamoDBBackend.update_time_to_live, then told to the TTL sweeper."""
        original(self, table_name, ttl_spec)
        moto_state.ttl_changed()

    update_time_to_live.__wrapped__ = original  # type: ignore[attr-defined]
    return update_time_to_live


def _wrap_table_from_cloudformation(original: Callable[..., Any]) -> Any:
    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        """Table.create_from_cloudformation_json, then the table's TimeToLiveSpecification
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html)
        applied as UpdateTimeToLive applies it."""
        from moto.dynamodb.models import dynamodb_backends

        table = original(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        spec = cloudformation_json.get("Properties", {}).get("TimeToLiveSpecification")
        if spec:
            enabled = str(spec.get("Enabled", False)).lower() == "true"
            dynamodb_backends[account_id][region_name].update_time_to_live(
                table.name, {"AttributeName": spec.get("AttributeName"), "Enabled": enabled})
        return table

    create_from_cloudformation_json.__wrapped__ = original  # type: ignore[attr-defined]
    return classmethod(create_from_cloudformation_json)


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    return [
        Patch(DynamoDBStreamsBackend, "get_shard_iterator", None,
              ("self", "arn", "shard_id", "shard_iterator_type", "sequence_number"),
              "DynamoDB Streams' 24-hour retention", wrap=_wrap_get_shard_iterator),
        Patch(DynamoDBStreamsBackend, "get_records", None, ("self", "iterator_arn", "limit"),
              "DynamoDB Streams' 24-hour retention (TrimmedDataAccessException)", wrap=_wrap_get_records),
        Patch(DynamoDBStreamsHandler, "get_records", None, ("self",),
              "speed: each stream record serialised once for all its readers", wrap=_serialized_once),
        Patch(DynamoDBBackend, "update_time_to_live", None, ("self", "table_name", "ttl_spec"),
              "Time to Live deletions played by the simulator", wrap=_wrap_update_time_to_live),
        Patch(Table, "create_from_cloudformation_json", None,
              ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
              "a table's TimeToLiveSpecification in CloudFormation", wrap=_wrap_table_from_cloudformation),
    ]
