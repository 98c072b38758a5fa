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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import moto_state
from ..rules import dynamodb_streams as rules
from ._patching import Patch


def _trimmed() -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(rules.TRIMMED_DATA_ACCESS_CODE, rules.TRIMMED_DATA_ACCESS_MESSAGE)


def _trim_point(shard: Any) -> int:
    """The sequence number of the shard's oldest record not trimmed (its next one if all are)."""
    from moto.core.utils import utcnow

    created = [r.record["dynamodb"]["ApproximateCreationDateTime"].timestamp() for r in shard.items]
    return shard.starting_sequence_number + rules.trim_index(created, utcnow().timestamp())


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

    return [
        Patch(DynamoDBStreamsBackend, "get_shard_iterator", None,
              ("self", "arn", "shard_id", "shard_iterator_type", "sequence_number"),
              "DynamoDB Streams' 24-hour retention", wrap=_wrap_get_shard_iterator),
        Patch(DynamoDBStreamsBackend, "get_records", None, ("self", "iterator_arn", "limit"),
              "DynamoDB Streams' 24-hour retention (TrimmedDataAccessException)", wrap=_wrap_get_records),
        Patch(DynamoDBBackend, "update_time_to_live", None, ("self", "table_name", "ttl_spec"),
              "Time to Live deletions played by the simulator", wrap=_wrap_update_time_to_live),
        Patch(Table, "create_from_cloudformation_json", None,
              ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
              "a table's TimeToLiveSpecification in CloudFormation", wrap=_wrap_table_from_cloudformation),
    ]
