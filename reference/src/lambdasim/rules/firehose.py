"""Amazon Data Firehose to Amazon S3, as AWS documents it: pure rules, each citing its page.

- Buffering hints (https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html,
  https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html): SizeInMBs 1-128 (default
  5) and IntervalInSeconds 0-900 (default 300), both or neither; "the first buffer condition that
  is satisfied triggers Firehose to deliver the data". With record format conversion SizeInMBs
  can't be under 64 and defaults to 128
  (https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html); zero buffering
  is not available with dynamic partitioning, where each partition has its own buffer
  (https://docs.aws.amazon.com/firehose/latest/dev/buffering.html). A size minimum for dynamic
  partitioning (the console's 64 MiB) could not be confirmed on an AWS page and is not enforced.
- Record and request limits (https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html):
  500 records, 1,000 KiB per record before base64, 4 MiB per request.
- Object names (https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html):
  `<evaluated prefix><stream>-<version>-<year>-<month>-<day>-<hour>-<minute>-<second>-<uuid><file
  extension>`, the default prefix `YYYY/MM/dd/HH` in UTC.
- Prefix expressions and their semantic rules (https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html):
  `!{timestamp:<Java DateTimeFormatter>}` (the oldest record's arrival, every instance the same
  instant; quoted text literal), `!{firehose:random-string}` (11 characters, new each time),
  `!{firehose:error-output-type}` (ErrorOutputPrefix only), `!{partitionKeyFromQuery:k}` and
  `!{partitionKeyFromLambda:k}` (dynamic partitioning,
  https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning-s3bucketprefix.html).
- Lambda transformation (https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html,
  https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html,
  https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html,
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_ProcessorParameter.html): records
  buffered up to BufferSizeInMBs (0.2-3, default 1) or BufferIntervalInSeconds (0-900, default
  60) and sent in one synchronous invocation; each returned record needs its recordId, a result
  of Ok, Dropped or ProcessingFailed and base64 data; a failed invocation is retried
  NumberOfRetries times (default 3); records that fail go to the processing-failed output.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

MIB = 1024 * 1024

# API_PutRecordBatch.html: "Each PutRecordBatch request supports up to 500 records. Each record
# in the request can be as large as 1,000 KB (before base64 encoding), up to a limit of 4 MB for
# the entire request. These limits cannot be changed."
MAX_BATCH_RECORDS = 500
MAX_RECORD_BYTES = 1000 * 1024
MAX_BATCH_BYTES = 4 * MIB

# API_BufferingHints.html
SIZE_RANGE_MB = (1, 128)
DEFAULT_SIZE_MB = 5
INTERVAL_RANGE_S = (0, 900)
DEFAULT_INTERVAL_S = 300
# record-format-conversion.html: "you can't set SizeInMBs to a value less than 64 if you enable
# record format conversion ... The value becomes 128 when you enable it."
CONVERSION_MIN_SIZE_MB = 64
CONVERSION_DEFAULT_SIZE_MB = 128

# data-transformation.html and API_ProcessorParameter.html
LAMBDA_SIZE_RANGE_MB = (0.2, 3.0)
LAMBDA_DEFAULT_SIZE_MB = 1.0
LAMBDA_INTERVAL_RANGE_S = (0, 900)
LAMBDA_DEFAULT_INTERVAL_S = 60
LAMBDA_DEFAULT_RETRIES = 3

# s3-prefixes.html
RANDOM_STRING_LENGTH = 11
MAX_EVALUATED_PREFIX = 512
PROCESSING_FAILED = "processing-failed"
FORMAT_CONVERSION_FAILED = "format-conversion-failed"
DEFAULT_TIME_PREFIX = "yyyy/MM/dd/HH/"

OK, DROPPED, FAILED = "Ok", "Dropped", "ProcessingFailed"
RESULTS = (OK, DROPPED, FAILED)

# Error codes of transformation failures (monitoring-with-cloudwatch-logs.html lists
# JsonProcessingException, DuplicatedRecordId, MissingRecordId, InvokeLimitExceeded);
# FUNCTION_ERROR and PROCESSING_FAILED_STATUS are the simulator's names, AWS's were not found.
JSON_PROCESSING = "Lambda.JsonProcessingException"
DUPLICATED_RECORD_ID = "Lambda.DuplicatedRecordId"
MISSING_RECORD_ID = "Lambda.MissingRecordId"
INVOKE_LIMIT_EXCEEDED = "Lambda.InvokeLimitExceeded"
FUNCTION_ERROR = "Lambda.FunctionError"
PROCESSING_FAILED_STATUS = "Lambda.ProcessingFailedStatus"


class ConfigurationError(ValueError):
    """A stream configuration AWS refuses (InvalidArgumentException)."""


@dataclass(frozen=True)
class Buffering:
    """When a buffer is delivered: at `size_bytes` or `interval_s` after its oldest record,
    whichever comes first."""

    size_bytes: int
    interval_s: float

    def full(self, buffered_bytes: int) -> bool:
        return buffered_bytes >= self.size_bytes


def buffering(hints: dict[str, Any] | None, *, format_conversion: bool = False,
              dynamic_partitioning: bool = False) -> Buffering:
    """The destination's buffering from its BufferingHints (API_BufferingHints.html,
    record-format-conversion.html, buffering.html); raises ConfigurationError for what AWS
    refuses."""
    hints = hints or {}
    size, interval = hints.get("SizeInMBs"), hints.get("IntervalInSeconds")
    if (size is None) != (interval is None):
        raise ConfigurationError("BufferingHints: SizeInMBs and IntervalInSeconds must be given together")
    if size is None:
        size = CONVERSION_DEFAULT_SIZE_MB if format_conversion else DEFAULT_SIZE_MB
        interval = DEFAULT_INTERVAL_S
    low = CONVERSION_MIN_SIZE_MB if format_conversion else SIZE_RANGE_MB[0]
    if not low <= size <= SIZE_RANGE_MB[1]:
        raise ConfigurationError(f"BufferingHints.SizeInMBs must be between {low} and {SIZE_RANGE_MB[1]}")
    if not INTERVAL_RANGE_S[0] <= interval <= INTERVAL_RANGE_S[1]:
        raise ConfigurationError("BufferingHints.IntervalInSeconds must be between 0 and 900")
    if dynamic_partitioning and interval == 0:
        raise ConfigurationError("Zero buffering is not available for dynamic partitioning")
    return Buffering(int(size * MIB), float(interval))


def lambda_buffering(parameters: dict[str, str]) -> Buffering:
    """How a Lambda processor's invocation payload is buffered (data-transformation.html)."""
    size = float(parameters.get("BufferSizeInMBs", LAMBDA_DEFAULT_SIZE_MB))
    interval = float(parameters.get("BufferIntervalInSeconds", LAMBDA_DEFAULT_INTERVAL_S))
    if not LAMBDA_SIZE_RANGE_MB[0] <= size <= LAMBDA_SIZE_RANGE_MB[1]:
        raise ConfigurationError("BufferSizeInMBs of a Lambda processor must be between 0.2 and 3")
    if not LAMBDA_INTERVAL_RANGE_S[0] <= interval <= LAMBDA_INTERVAL_RANGE_S[1]:
        raise ConfigurationError("BufferIntervalInSeconds of a Lambda processor must be between 0 and 900")
    return Buffering(int(size * MIB), interval)


def lambda_retries(parameters: dict[str, str]) -> int:
    """NumberOfRetries of a Lambda processor (API_ProcessorParameter.html: default 3)."""
    return int(parameters.get("NumberOfRetries", LAMBDA_DEFAULT_RETRIES))


def processor_parameters(processing: dict[str, Any] | None, processor_type: str) -> dict[str, str] | None:
    """The parameters of the enabled processor of that type (None: there is none)."""
    if not processing or not processing.get("Enabled", False):
        return None
    for processor in processing.get("Processors") or []:
        if processor.get("Type") == processor_type:
            return {p["ParameterName"]: p["ParameterValue"] for p in processor.get("Parameters") or []}
    return None


# -- prefixes -----------------------------------------------------------------------------------

_EXPRESSION = re.compile(r"!\{([^:{}]*):([^{}]*)\}")
NAMESPACES = ("firehose", "timestamp", "partitionKeyFromQuery", "partitionKeyFromLambda")


def expressions(prefix: str) -> list[tuple[str, str]]:
    """The `(namespace, value)` of each `!{namespace:value}` in a prefix."""
    return _EXPRESSION.findall(prefix or "")


def check_prefixes(prefix: str | None, error_output_prefix: str | None, *, dynamic_partitioning: bool) -> None:
    """The semantic rules of s3-prefixes.html (and dynamic-partitioning-s3bucketprefix.html);
    raises ConfigurationError."""
    for name, value in (("Prefix", prefix), ("ErrorOutputPrefix", error_output_prefix)):
        if value and "!{" in _EXPRESSION.sub("", value):
            raise ConfigurationError(f"{name}: the sequence !{{ can only appear in !{{namespace:value}} expressions")
        for namespace, key in expressions(value or ""):
            if namespace not in NAMESPACES:
                raise ConfigurationError(f"{name}: unknown namespace {namespace!r}")
            if namespace == "firehose" and key not in ("random-string", "error-output-type"):
                raise ConfigurationError(f"{name}: unknown firehose value {key!r}")
            if namespace == "timestamp":
                java_datetime(key, datetime(2000, 1, 1))  # refuses what the simulator cannot format
    found = expressions(prefix or "")
    if ("firehose", "error-output-type") in found:
        raise ConfigurationError("Prefix can't contain !{firehose:error-output-type}")
    if found and not error_output_prefix:
        raise ConfigurationError("ErrorOutputPrefix can't be null when Prefix contains expressions")
    if error_output_prefix and expressions(error_output_prefix) and \
            ("firehose", "error-output-type") not in expressions(error_output_prefix):
        raise ConfigurationError("ErrorOutputPrefix must contain !{firehose:error-output-type}")
    keys = [ns for ns, _ in found if ns.startswith("partitionKeyFrom")]
    if keys and not dynamic_partitioning:
        raise ConfigurationError("partitionKeyFromQuery and partitionKeyFromLambda need dynamic partitioning")
    if dynamic_partitioning and (not keys or not error_output_prefix):
        raise ConfigurationError("Dynamic partitioning needs a Prefix with partitioning keys and an ErrorOutputPrefix")


# Java DateTimeFormatter letters the simulator formats (a subset: years, months, days, hours,
# minutes, seconds); https://docs.oracle.com/javase/8/docs/api/java/time/format/DateTimeFormatter.html
_JAVA_FIELDS = {"y": "year", "M": "month", "d": "day", "H": "hour", "m": "minute", "s": "second"}


def java_datetime(pattern: str, at: datetime) -> str:
    """Format `at` with a Java DateTimeFormatter pattern: letters y M d H m s (a count of 2 pads
    to two digits; `yy` is the year's last two digits), text in single quotes literal (`''` is a
    quote), other characters as they are. Other letters raise ConfigurationError."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ConfigurationError(f"timestamp pattern {pattern!r}: unterminated quote")
            out.append(pattern[i + 1:end] if end > i + 1 else "'")
            i = end + 1
        elif char.isalpha():
            run = len(pattern) - i - len(pattern[i:].lstrip(char))
            if char not in _JAVA_FIELDS:
                raise ConfigurationError(f"timestamp pattern {pattern!r}: the letter {char!r} is not simulated")
            value = getattr(at, _JAVA_FIELDS[char])
            out.append(f"{value % 100:02d}" if char == "y" and run == 2 else f"{value:0{run}d}")
            i += run
        else:
            out.append(char)
            i += 1
    return "".join(out)


@dataclass
class PrefixValues:
    """What a prefix's expressions evaluate to for one object."""

    at: datetime  # the arrival time of the object's oldest record (s3-prefixes.html)
    random_string: Callable[[], str]
    query_keys: dict[str, str] = field(default_factory=dict)
    lambda_keys: dict[str, str] = field(default_factory=dict)
    error_output_type: str | None = None


class MissingPartitionKey(KeyError):
    """A prefix names a partitioning key the record does not have."""


def evaluate_prefix(prefix: str, values: PrefixValues) -> str:
    """A prefix with its expressions evaluated (s3-prefixes.html)."""

    def one(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return java_datetime(value, values.at)
        if namespace == "firehose":
            return values.random_string() if value == "random-string" else values.error_output_type or ""
        keys = values.query_keys if namespace == "partitionKeyFromQuery" else values.lambda_keys
        if value not in keys:
            raise MissingPartitionKey(f"{namespace}:{value}")
        return keys[value]

    return _EXPRESSION.sub(one, prefix)


def data_prefix(prefix: str | None, values: PrefixValues, *, dynamic_partitioning: bool) -> str:
    """The evaluated Prefix of a data object: "If you specify a prefix that doesn't contain a
    timestamp namespace expression, Firehose appends the expression !{timestamp:yyyy/MM/dd/HH/}"
    (s3-prefixes.html), except with dynamic partitioning, whose documented keys carry no time
    (dynamic-partitioning-s3bucketprefix.html)."""
    prefix = prefix or ""
    if not dynamic_partitioning and not any(ns == "timestamp" for ns, _ in expressions(prefix)):
        prefix += "!{timestamp:" + DEFAULT_TIME_PREFIX + "}"
    return evaluate_prefix(prefix, values)


def error_prefix(prefix: str | None, error_output_prefix: str | None, values: PrefixValues) -> str:
    """The evaluated prefix of an error object: ErrorOutputPrefix, or without one
    `<Prefix><error-output-type>/YYYY/MM/dd/HH/` (s3-prefixes.html; the slash after the type is
    the simulator's reading of its example)."""
    if error_output_prefix:
        return evaluate_prefix(error_output_prefix, values)
    return evaluate_prefix((prefix or "") + "!{firehose:error-output-type}/!{timestamp:" + DEFAULT_TIME_PREFIX + "}",
                           values)


def object_key(evaluated_prefix: str, stream_name: str, version: str, at: datetime, uuid: str,
               extension: str = "") -> str:
    """`<evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><file extension>`
    (s3-object-name.html)."""
    return f"{evaluated_prefix}{stream_name}-{version}-{at:%Y-%m-%d-%H-%M-%S}-{uuid}{extension}"


# -- the transformation contract ------------------------------------------------------------------


@dataclass(frozen=True)
class Transformed:
    """What one record became (data-transformation-status-model.html)."""

    record_id: str
    result: str  # Ok, Dropped or ProcessingFailed
    data: bytes = b""
    partition_keys: dict[str, str] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None


def judge_response(record_ids: list[str], response: Any) -> list[Transformed]:
    """Each sent record's fate from the function's response, in the order sent: a record the
    response does not return, returns twice, returns with a result other than Ok, Dropped or
    ProcessingFailed, or returns Ok without base64 data, is ProcessingFailed
    (data-transformation-status-model.html: "or Amazon Data Firehose rejects them and treats
    that as a data transformation failure"). A response without a `records` list fails them all."""
    returned = response.get("records") if isinstance(response, dict) else None
    if not isinstance(returned, list):
        return [_failed(rid, JSON_PROCESSING, "The response has no records list") for rid in record_ids]
    by_id: dict[str, list[Any]] = {}
    for item in returned:
        if isinstance(item, dict) and isinstance(item.get("recordId"), str):
            by_id.setdefault(item["recordId"], []).append(item)
    return [_judge(rid, by_id.get(rid, [])) for rid in record_ids]


def _judge(record_id: str, items: list[Any]) -> Transformed:
    if not items:
        return _failed(record_id, MISSING_RECORD_ID, "One or more record IDs were not returned")
    if len(items) > 1:
        return _failed(record_id, DUPLICATED_RECORD_ID, "Multiple records were returned with the same record ID")
    item = items[0]
    result = item.get("result")
    if result not in RESULTS:
        return _failed(record_id, JSON_PROCESSING, f"Invalid result {result!r}")
    if result == DROPPED:
        return Transformed(record_id, DROPPED)
    if result == FAILED:
        return _failed(record_id, PROCESSING_FAILED_STATUS, "The record was returned with result ProcessingFailed")
    try:
        data = base64.b64decode(item.get("data"), validate=True)
    except (binascii.Error, TypeError, ValueError):
        return _failed(record_id, JSON_PROCESSING, "The returned data is not base64")
    keys = ((item.get("metadata") or {}).get("partitionKeys") or {}) if isinstance(item.get("metadata"), dict) else {}
    return Transformed(record_id, OK, data, {str(k): str(v) for k, v in keys.items()})


def _failed(record_id: str, code: str, message: str) -> Transformed:
    return Transformed(record_id, FAILED, error_code=code, error_message=message)


def processing_failed_record(*, attempts: int, arrival_ms: int, error_code: str, error_message: str,
                             ending_ms: int, raw_data: bytes, lambda_arn: str) -> dict[str, Any]:
    """A record in the processing-failed output (data-transformation-failure-handling.html)."""
    return {"attemptsMade": attempts, "arrivalTimestamp": arrival_ms, "errorCode": error_code,
            "errorMessage": error_message, "attemptEndingTimestamp": ending_ms,
            "rawData": base64.b64encode(raw_data).decode(), "lambdaArn": lambda_arn}


def format_conversion_failed_record(*, arrival_ms: int, error_code: str, error_message: str, ending_ms: int,
                                    raw_data: bytes, table: dict[str, str]) -> dict[str, Any]:
    """A record in the format-conversion-failed output (record-format-conversion-error-handling.html)."""
    return {"attemptsMade": 1, "arrivalTimestamp": arrival_ms, "ErrorCode": error_code, "ErrorMessage": error_message,
            "attemptEndingTimestamp": ending_ms, "rawData": base64.b64encode(raw_data).decode(),
            "dataCatalogTable": table}


def error_object_body(records: list[dict[str, Any]]) -> bytes:
    """Error records, one JSON document per line."""
    return b"".join(json.dumps(record, separators=(",", ":")).encode() + b"\n" for record in records)


# -- metrics (https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html) --

NAMESPACE = "AWS/Firehose"
DIMENSION = "DeliveryStreamName"
# name -> unit. DataFreshness: "the age (from getting into Firehose to now) of the oldest record
# in Firehose"; the others are counts and sums over the period.
METRIC_UNITS = {
    "IncomingPutRequests": "Count",
    "IncomingRecords": "Count",
    "IncomingBytes": "Bytes",
    "DeliveryToS3.Records": "Count",
    "DeliveryToS3.Bytes": "Bytes",
    "DeliveryToS3.Success": "Count",
    "DeliveryToS3.DataFreshness": "Seconds",
    "ExecuteProcessing.Success": "Count",
    "ExecuteProcessing.Duration": "Milliseconds",
    "SucceedProcessing.Records": "Count",
    "SucceedProcessing.Bytes": "Bytes",
}
PERIOD_S = 60


# -- record format conversion (https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html) --

# Error codes of records that do not convert: AWS names none on its pages; these are the
# simulator's.
CONVERSION_MALFORMED = "DataFormatConversion.MalformedData"
CONVERSION_SCHEMA = "DataFormatConversion.InvalidSchema"
SCALAR_TYPES = ("string", "varchar", "char", "int", "integer", "bigint", "smallint", "tinyint", "double", "float",
                "boolean", "timestamp", "date")


def glue_scalar(glue_type: str) -> str:
    """The Glue column type without its length (`varchar(20)` -> `varchar`); raises
    ConfigurationError for types the simulator does not convert (arrays, maps, structs,
    decimals)."""
    base = glue_type.split("(", 1)[0].strip().lower()
    if base not in SCALAR_TYPES:
        raise ConfigurationError(f"Glue column type {glue_type!r} is not simulated")
    return base


def convert_value(glue_type: str, value: Any) -> Any:
    """A JSON value as the OpenX JSON SerDe reads it into a column of that Glue type (None stays
    None); raises ValueError when it does not fit. Timestamps: epoch seconds, epoch milliseconds,
    or ISO 8601 text, in UTC."""
    if value is None:
        return None
    kind = glue_scalar(glue_type)
    if kind in ("string", "varchar", "char"):
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool) and kind != "boolean":
        raise ValueError(f"{value!r} is not a {kind}")
    if kind in ("int", "integer", "bigint", "smallint", "tinyint"):
        number = float(value) if isinstance(value, (int, float)) else float(str(value))
        if not number.is_integer():
            raise ValueError(f"{value!r} is not an integer")
        return int(number)
    if kind in ("double", "float"):
        return float(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(f"{value!r} is not a boolean")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.date() if kind == "date" else moment
