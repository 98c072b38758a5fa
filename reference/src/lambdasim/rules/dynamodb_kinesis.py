"""Kinesis Data Streams for DynamoDB: what AWS documents of a table's streaming destination and
of the change records it writes to the Kinesis data stream.

Pure: no moto, no boto3, no clock of its own (times are passed in, integer microseconds).

Sources:

- https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html : "the table sends
  out a data record that captures any changes to that table's data": the time of the change,
  the item's primary key, an image of the item before and after the modification; published
  "in near-real time", "captured asynchronously". "The Kinesis data stream records might appear
  in a different sequence than the item changes occurred. The same item notifications might
  also appear more than once in the stream. You can check the ApproximateCreationDateTime
  attribute to identify the approximate order that the item modifications occurred, and to
  identify duplicate records." "ApproximateCreationDateTime indicates the time of the
  modification in milliseconds." A table streams to one Kinesis data stream, in its own account
  and Region.
- https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_EnableKinesisStreamingDestination.html
  (TableName, name or ARN; StreamArn; EnableKinesisStreamingConfiguration
  .ApproximateCreationDateTimePrecision; the answer TableName, StreamArn, DestinationStatus and
  the configuration; "If this operation doesn't return results immediately, use
  DescribeKinesisStreamingDestination to check if streaming to the Kinesis data stream is
  ACTIVE"), API_DisableKinesisStreamingDestination.html, API_DescribeKinesisStreamingDestination.html
  (KinesisDataStreamDestinations), API_KinesisDataStreamDestination.html (DestinationStatus
  ENABLING | ACTIVE | DISABLING | DISABLED | ENABLE_FAILED | UPDATING;
  ApproximateCreationDateTimePrecision MILLISECOND | MICROSECOND): their errors are
  ResourceNotFoundException, ResourceInUseException, LimitExceededException (HTTP 400) and
  InternalServerError.
- https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html and
  API_streams_Identity.html : a Time to Live deletion's record carries `userIdentity`
  {"type": "Service", "principalId": "dynamodb.amazonaws.com"}.

Modelled where AWS is silent (the manual's fidelity table): the time from Enable to ACTIVE and
from Disable to DISABLED (`KdsModel.status_delay_s`); changes are replicated from the moment the
destination is ACTIVE until Disable; the delay from a change to its record (`delay_s`, seeded
per record: "near-real time", and AgeOfOldestUnreplicatedRecord "should be in the order of
milliseconds", kds_using-shards-and-metrics.html) and the share of records written twice
(`duplicate_rate`); the Kinesis partition key (an MD5 hex digest of the item's partition key
value, so an item's records share a shard; AWS does not say what it uses); the error messages;
`userIdentity` null for changes made by a caller (Powertools' schema of these records has
`null | {...}`); SizeBytes as DynamoDB's item size of the keys and images; a write that changes
nothing writes no record (as DynamoDB Streams documents for its own records, Streams.html).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from .dynamodb import item_size

Precision = Literal["MILLISECOND", "MICROSECOND"]
PRECISIONS: Final[tuple[Precision, ...]] = ("MILLISECOND", "MICROSECOND")
DEFAULT_PRECISION: Final[Precision] = "MILLISECOND"

ENABLING: Final = "ENABLING"
ACTIVE: Final = "ACTIVE"
DISABLING: Final = "DISABLING"
DISABLED: Final = "DISABLED"

RESOURCE_NOT_FOUND: Final = "ResourceNotFoundException"
RESOURCE_IN_USE: Final = "ResourceInUseException"
VALIDATION: Final = "ValidationException"

RECORD_FORMAT: Final = "application/json"
EVENT_SOURCE: Final = "aws:dynamodb"
TTL_IDENTITY: Final = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


@dataclass
class KdsModel:
    """What AWS does not document, as the simulator plays it (illustrative, see above)."""

    status_delay_s: float = 30.0  # ENABLING -> ACTIVE, DISABLING -> DISABLED
    delay_s: tuple[float, float] = (0.0, 0.1)  # from a change to its record in the Kinesis stream
    duplicate_rate: float = 0.0  # the share of records written a second time, `delay_s` later


def event_name(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str:
    """INSERT, MODIFY or REMOVE (API_streams_Record.html)."""
    return "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"


def creation_time(at_us: int, precision: Precision) -> int:
    """ApproximateCreationDateTime: epoch milliseconds (kds.html), or, when the destination's
    precision is MICROSECOND (API_KinesisDataStreamDestination.html), epoch microseconds (modelled:
    the pages do not show that value's format)."""
    return at_us if precision == "MICROSECOND" else at_us // 1000


def partition_key(key: Mapping[str, Any], hash_key_attribute: str) -> str:
    """The Kinesis partition key of an item's records (modelled: AWS does not document it): one
    value per item partition key, so an item's records land in one shard, in write order."""
    value = json.dumps(key[hash_key_attribute], sort_keys=True)
    return hashlib.md5(value.encode(), usedforsecurity=False).hexdigest().upper()


def change_record(*, event_id: str, region: str, table_name: str, key: Mapping[str, Any],
                  old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, at_us: int,
                  precision: Precision, by_ttl: bool) -> dict[str, Any]:
    """The JSON document DynamoDB writes to the Kinesis stream for one item change (kds.html;
    Keys and images in DynamoDB JSON, both images whatever the table's StreamViewType)."""
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": creation_time(at_us, precision), "Keys": dict(key)}
    if new is not None:
        dynamodb["NewImage"] = dict(new)
    if old is not None:
        dynamodb["OldImage"] = dict(old)
    dynamodb["SizeBytes"] = item_size(key) + item_size(new or {}) + item_size(old or {})
    return {
        "awsRegion": region,
        "eventID": event_id,
        "eventName": event_name(old, new),
        "userIdentity": dict(TTL_IDENTITY) if by_ttl else None,
        "recordFormat": RECORD_FORMAT,
        "tableName": table_name,
        "dynamodb": dynamodb,
        "eventSource": EVENT_SOURCE,
    }


def enable_problem(*, table_found: bool, stream_found: bool, same_account_and_region: bool,
                   precision: str, current: tuple[str, str] | None, stream_arn: str,
                   table_name: str) -> tuple[str, str] | None:
    """(error code, message) refusing EnableKinesisStreamingDestination, or None. `current` is
    the table's destination still enabling or active: (stream ARN, status)."""
    if not table_found:
        return RESOURCE_NOT_FOUND, f"Requested resource not found: Table: {table_name} not found"
    if precision not in PRECISIONS:
        return VALIDATION, (f"1 validation error detected: Value '{precision}' at 'enableKinesisStreamingConfiguration."
                            f"approximateCreationDateTimePrecision' failed to satisfy constraint: Member must "
                            f"satisfy enum value set: [{', '.join(PRECISIONS)}]")
    if not same_account_and_region:
        return VALIDATION, "The Kinesis data stream must be in the same account and Region as the table"
    if not stream_found:
        return RESOURCE_NOT_FOUND, f"Requested resource not found: Kinesis stream {stream_arn} not found"
    if current is not None:
        return RESOURCE_IN_USE, (f"Table {table_name} already streams to {current[0]} ({current[1]}): a table streams "
                                 "to one Kinesis data stream")
    return None


def disable_problem(*, table_found: bool, current: tuple[str, str] | None, stream_arn: str,
                    table_name: str) -> tuple[str, str] | None:
    """(error code, message) refusing DisableKinesisStreamingDestination, or None."""
    if not table_found:
        return RESOURCE_NOT_FOUND, f"Requested resource not found: Table: {table_name} not found"
    if current is None or current[0] != stream_arn:
        return RESOURCE_NOT_FOUND, f"Table {table_name} has no enabled streaming destination {stream_arn}"
    if current[1] != ACTIVE:
        return RESOURCE_IN_USE, f"The streaming destination {stream_arn} of table {table_name} is {current[1]}"
    return None
