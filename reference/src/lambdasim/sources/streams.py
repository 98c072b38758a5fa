"""Stream event source mappings (Kinesis Data Streams, DynamoDB Streams): the rules both share.

The one place for them in the project; `sources.kinesis` and `sources.dynamodb` build each
service's records, the simulator's poller (`lambdasim.pollers.streams`) plays them on the clock.
Sources (AWS Lambda Developer Guide, https://docs.aws.amazon.com/lambda/latest/dg/):

- Mapping parameters, defaults and limits: services-kinesis-parameters.html,
  services-ddb-params.html (BatchSize 100 / up to 10,000; window 0-300 s; ParallelizationFactor
  1-10; MaximumRetryAttempts -1 (infinite) or 0-10,000; MaximumRecordAgeInSeconds -1 or
  60-604,800; StartingPosition TRIM_HORIZON, LATEST, AT_TIMESTAMP (Kinesis only)).
- Partial batch responses (services-kinesis-batchfailurereporting.html,
  services-ddb-batchfailurereporting.html): `itemIdentifier` is a record's sequence number; the
  lowest reported one is the checkpoint, Lambda retries from it; a null or empty response or
  list is a complete success; an empty-string or null identifier, or a bad key name, is a
  complete failure.
- Errors, bisect, retries, record age and the on-failure destination
  (kinesis-on-failure-destination.html, services-dynamodb-errors.html): a function error is
  retried until the records expire, pass MaximumRecordAgeInSeconds or MaximumRetryAttempts;
  BisectBatchOnFunctionError splits a failed batch in two and "splitting batches doesn't consume
  the retry quota"; discarded batches are described to the on-failure destination (SQS, SNS, or
  S3 with the invocation payload too) by a record with requestContext, responseContext,
  version, timestamp and `KinesisBatchInfo` / `DDBStreamBatchInfo` (shardId, start/end sequence
  numbers, arrival of the first and last record, batchSize, streamArn).

Modelling choices (AWS documents less):

- An identifier that is not a sequence number of the batch fails the whole batch (as for SQS).
- A partial batch failure with bisect on splits the failing remainder (from the checkpoint) in
  two, without using a retry; without bisect it is a retry of the remainder.
- The discard reason for an expired record is `RecordAgeExceeded` (AWS's pages name no value;
  the value seen in captured on-failure records and other emulators).
- The S3 on-failure object key is `aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/
  YYYY-MM-DDTHH.MM.SS-<random UUID>` and the object adds `payload` (the event, as JSON text).
- The wait before failed records are invoked again (`retry_delay_s`): AWS documents that a
  failed batch is retried (until it succeeds, expires, or passes MaximumRetryAttempts or
  MaximumRecordAgeInSeconds) but no interval between the tries. Back to back, one poison record
  made thousands of invocations per virtual second, multiplying the Invocations and Errors
  metrics and the bill by about 1,000 against any plausible service. The simulator waits 1 s
  after a lane's first failed invocation, doubling with each consecutive failure up to 60 s
  (illustrative numbers, not AWS's); a successful invocation starts the count again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final

from .sqs import FunctionError, Outcome, RecordFilter, Returned, compile_filters, out_of_range_message

__all__ = [
    "FunctionError", "Outcome", "Returned", "StreamRule", "StreamSettlement", "compile_filters",
    "failure_record", "filter_candidate_matches", "mapping_config_problem", "retry_delay_s", "s3_failure_key",
    "settle_stream_batch",
]

DEFAULT_BATCH_SIZE: Final = 100
MAX_BATCH_SIZE: Final = 10_000
MAX_PARALLELIZATION_FACTOR: Final = 10
INFINITE: Final = -1  # MaximumRetryAttempts / MaximumRecordAgeInSeconds default
RETRY_ATTEMPTS_EXHAUSTED: Final = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED: Final = "RecordAgeExceeded"
RECORD_VERSION: Final = "1.0"
# Modelled, illustrative (see the module docstring): the wait before failed records are retried.
RETRY_DELAY_FIRST_S: Final = 1.0
RETRY_DELAY_MAX_S: Final = 60.0


def retry_delay_s(consecutive_failures: int) -> float:
    """Seconds to wait before invoking again records whose last `consecutive_failures` (1 or more)
    invocations failed: 1, 2, 4 ... capped at 60 (a modelling choice; AWS documents no interval)."""
    # The doubling stops past the cap: a consumer failing for a day counts thousands of failures,
    # and 2.0 ** 1100 overflows a float.
    return min(RETRY_DELAY_MAX_S, RETRY_DELAY_FIRST_S * 2 ** min(consecutive_failures - 1, 16))


class StreamRule(Enum):
    """The documented rule that decided a stream batch's fate."""

    FUNCTION_ERROR = "the invocation failed (error or timeout): retry the whole batch"
    RESPONSE_IGNORED = "ReportBatchItemFailures is off, so any return means the whole batch succeeded"
    EMPTY_RESPONSE = "a null or empty response or batchItemFailures list means the whole batch succeeded"
    INVALID_RESPONSE = "an invalid partial batch response fails the whole batch"
    PARTIAL_FAILURE = "the lowest reported sequence number is the checkpoint: retry from it"
    MISSING_STATE = "a tumbling window response without a state property is a failed invocation"


@dataclass(frozen=True)
class StreamSettlement:
    """`succeeded` records from the start of the batch are done (the checkpoint moves past
    them); if `failed`, Lambda retries from record `succeeded`, whose sequence number is
    `checkpoint`."""

    succeeded: int
    failed: bool
    rule: StreamRule
    reason: str
    checkpoint: str | None = None


def settle_stream_batch(sequence_numbers: Sequence[str], outcome: Outcome, *,
                        report_batch_item_failures: bool, tumbling_window: bool = False) -> StreamSettlement:
    """How Lambda settles a Kinesis or DynamoDB stream batch (see the module docstring).

    With a tumbling window (services-kinesis-windows.html, services-ddb-windows.html): "If the
    response does not contain a state property, Lambda considers this a failed invocation."
    """
    n = len(sequence_numbers)
    first = sequence_numbers[0] if n else None
    if isinstance(outcome, FunctionError):
        return StreamSettlement(0, True, StreamRule.FUNCTION_ERROR, f"{StreamRule.FUNCTION_ERROR.value} ({outcome.error})", first)
    if tumbling_window and not _has_state(outcome):
        return StreamSettlement(0, True, StreamRule.MISSING_STATE, StreamRule.MISSING_STATE.value, first)
    if not report_batch_item_failures:
        return StreamSettlement(n, False, StreamRule.RESPONSE_IGNORED, StreamRule.RESPONSE_IGNORED.value)

    def invalid(why: str) -> StreamSettlement:
        return StreamSettlement(0, True, StreamRule.INVALID_RESPONSE, f"{StreamRule.INVALID_RESPONSE.value} ({why})", first)

    try:
        response = outcome.response
    except ValueError:
        return invalid("the response is not JSON")
    if response is None or response == {}:
        return StreamSettlement(n, False, StreamRule.EMPTY_RESPONSE, StreamRule.EMPTY_RESPONSE.value)
    if not isinstance(response, dict):
        return invalid("the response is not a JSON object")
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return StreamSettlement(n, False, StreamRule.EMPTY_RESPONSE, StreamRule.EMPTY_RESPONSE.value)
    if not isinstance(failures, list):
        return invalid("batchItemFailures is not a list")
    position = {seq: i for i, seq in enumerate(sequence_numbers)}
    lowest = n
    for entry in failures:
        if not isinstance(entry, dict) or "itemIdentifier" not in entry:
            return invalid("an entry has no itemIdentifier key")
        identifier = entry["itemIdentifier"]
        if identifier is None or identifier == "":
            return invalid("a null or empty-string itemIdentifier")
        if str(identifier) not in position:
            return invalid(f"itemIdentifier {str(identifier)[:40]!r} is not a sequence number of this batch")
        lowest = min(lowest, position[str(identifier)])
    return StreamSettlement(lowest, True, StreamRule.PARTIAL_FAILURE,
                            f"{StreamRule.PARTIAL_FAILURE.value} ({sequence_numbers[lowest]})",
                            sequence_numbers[lowest])


def _has_state(outcome: Returned) -> bool:
    try:
        response = outcome.response
    except ValueError:
        return False
    return isinstance(response, dict) and "state" in response


# Limits CreateEventSourceMapping / UpdateEventSourceMapping enforce for stream sources
# (services-kinesis-parameters.html, services-ddb-params.html, API_CreateEventSourceMapping.html).
_LIMITS: Final = (
    # (field, API member name, minimum, maximum, also allowed)
    ("BatchSize", "batchSize", 1, MAX_BATCH_SIZE, ()),
    ("ParallelizationFactor", "parallelizationFactor", 1, MAX_PARALLELIZATION_FACTOR, ()),
    ("MaximumRetryAttempts", "maximumRetryAttempts", -1, 10_000, ()),
    ("MaximumRecordAgeInSeconds", "maximumRecordAgeInSeconds", 60, 604_800, (-1,)),
    ("TumblingWindowInSeconds", "tumblingWindowInSeconds", 0, 900, ()),
    ("MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds", 0, 300, ()),
)


# API_CreateEventSourceMapping.html: StartingPosition is required for Kinesis and DynamoDB
# Streams sources; the request-validation text AWS answers without it (recorded against AWS by
# LocalStack's snapshot tests, localstack/localstack pull request #7696).
STARTING_POSITION_REQUIRED_MESSAGE: Final = (
    "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
    "Member must not be null."
)


def mapping_config_problem(spec: Mapping[str, Any], *, service: str, creating: bool = False) -> str | None:
    """Why Lambda rejects this Kinesis / DynamoDB Streams mapping (InvalidParameterValueException
    or ValidationException text), or None. `service` is "kinesis" or "dynamodb"; `creating` for
    CreateEventSourceMapping (an update keeps the position it has)."""
    position = spec.get("StartingPosition")
    if creating and position is None:
        return STARTING_POSITION_REQUIRED_MESSAGE
    if position == "AT_TIMESTAMP" and service == "dynamodb":
        return "Unsupported starting position for DynamoDB streams: AT_TIMESTAMP"
    if position == "AT_TIMESTAMP" and spec.get("StartingPositionTimestamp") is None:
        return "StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP"
    for name, member, low, high, extra in _LIMITS:
        value = spec.get(name)
        if value is None or int(value) in extra:
            continue
        problem = out_of_range_message(int(value), member, low, high)
        if problem:
            return problem
    return None


def filter_candidate_matches(candidate: Mapping[str, Any], filters: Sequence[RecordFilter],
                             data_key: str | None = None) -> bool:
    """True if the record passes the mapping's FilterCriteria (invocation-eventfiltering.html;
    no filters: everything passes; filters are ORed). For Kinesis `data_key="data"`: the data
    is matched as decoded JSON, and a filter on `data` does not match data that is not JSON."""
    if not filters:
        return True
    for record_filter in filters:
        if data_key is not None and data_key in record_filter.pattern:
            if candidate.get(data_key) is _NOT_JSON:
                continue
        elif data_key is not None and candidate.get(data_key) is _NOT_JSON:
            candidate = {k: v for k, v in candidate.items() if k != data_key}
        if record_filter.matcher.matches_event(candidate):
            return True
    return False


_NOT_JSON = object()


def decode_json(text: bytes | str) -> Any:
    """JSON-decoded data, or a marker that fails every filter on it."""
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def failure_record(*, batch_info_key: str, shard_id: str, stream_arn: str, sequence_numbers: Sequence[str],
                   arrivals: Sequence[datetime], at: datetime, request_id: str, function_arn: str,
                   condition: str, approximate_invoke_count: int, executed_version: str | None,
                   function_error: str | None) -> dict[str, Any]:
    """The record Lambda sends to a stream mapping's on-failure destination."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": executed_version or "$LATEST"}
    if function_error:
        response["functionError"] = function_error
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "responseContext": response,
        "version": RECORD_VERSION,
        "timestamp": _iso_ms(at),
        batch_info_key: {
            "shardId": shard_id,
            "startSequenceNumber": sequence_numbers[0],
            "endSequenceNumber": sequence_numbers[-1],
            "approximateArrivalOfFirstRecord": _iso_ms(arrivals[0]),
            "approximateArrivalOfLastRecord": _iso_ms(arrivals[-1]),
            "batchSize": len(sequence_numbers),
            "streamArn": stream_arn,
        },
    }


def s3_failure_key(mapping_uuid: str, shard_id: str, at: datetime, random_uuid: str) -> str:
    """The S3 object key of an on-failure record (modelled, see the module docstring)."""
    return (f"aws/lambda/{mapping_uuid}/{shard_id}/{at:%Y/%m/%d}/"
            f"{at:%Y-%m-%dT%H.%M.%S}-{random_uuid}")


def _iso_ms(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
