"""The Amazon SQS event source mapping: the event Lambda builds, and how Lambda settles a batch.

This module is the one place in the project where these rules live. Each rule comes from the
AWS Lambda Developer Guide:

- The event's shape: the sample events of https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
- Settling a batch (what Lambda deletes, what returns to the queue):
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
- Batch size limits: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html

Public API:

- `build_event(messages, queue_arn=..., region=...)`: the Lambda event for messages as
  `ReceiveMessage` returned them.
- `run_handler(handler, event, context)`: call a Python handler as the Lambda runtime would and
  return its outcome, `Returned` or `FunctionError`.
- `settle_batch(records, outcome, report_batch_item_failures=..., fifo=...)`: which messages
  succeeded (Lambda deletes them) and which failed (they reappear after the visibility timeout).
- `poll_once(sqs, queue_url, handler, ...)`: one poll of an event source mapping, played
  synchronously against SQS (moto in the course): receive, invoke, settle, delete.
- `drain_queue(sqs, queue_url, handler, advance_clock=..., ...)`: poll until the queue is empty,
  moving the clock past the visibility timeout whenever every message left is in flight.
- `receive_batch(sqs, queue_url, batch_size)`: ReceiveMessage, 10 per call, until full or drained.
- `delete_messages(sqs, queue_url, records, message_ids)`: DeleteMessageBatch, 10 per call.
- `compile_filters(filter_criteria)` and `record_matches(record, filters)`: a mapping's
  FilterCriteria as Lambda applies them to SQS records (non-matching messages are deleted).
- `mapping_config_problem(batch_size, window_s, fifo=...)`: what CreateEventSourceMapping rejects.

The full simulator (virtual clock, concurrency, batching windows) builds on these functions
(`lambdasim.pollers.sqs`); `poll_once` and `drain_queue` play one poller and leave time to the
caller.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from lambdasim.rules.runtime import FaultError, marshal_response

EVENT_SOURCE = "aws:sqs"

# ReceiveMessage returns at most 10 messages and DeleteMessageBatch takes at most 10 entries
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html).
MAX_MESSAGES_PER_CALL = 10

# BatchSize limits of an SQS event source mapping (services-sqs-parameters.html).
MAX_BATCH_SIZE_STANDARD = 10_000
MAX_BATCH_SIZE_FIFO = 10

# The system attributes Lambda puts in a record's "attributes", in the order of AWS's sample
# events (standard, then the FIFO additions). AWSTraceHeader and DeadLetterQueueSourceArn appear
# only when SQS has them. moto 5.2.5 returns no SequenceNumber for FIFO queues, so records built
# from moto lack it; AWS's records carry it.
RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)

Handler = Callable[[dict[str, Any], Any], Any]


# ---------------------------------------------------------------------------------------------
# The event
# ---------------------------------------------------------------------------------------------


def build_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the Lambda event, from one message as `ReceiveMessage` returned it.

    Receive with `MessageSystemAttributeNames=["All"]` and `MessageAttributeNames=["All"]` so that
    the record carries what Lambda's does.
    """
    system_attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            name: system_attributes[name] for name in RECORD_ATTRIBUTES if name in system_attributes
        },
        "messageAttributes": {
            name: _record_message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record["eventSource"] = EVENT_SOURCE
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record


def build_event(
    messages: Iterable[Mapping[str, Any]], *, queue_arn: str, region: str
) -> dict[str, Any]:
    """The event Lambda hands the function for a batch of received messages."""
    return {"Records": [build_record(m, queue_arn=queue_arn, region=region) for m in messages]}


def _record_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """SQS's `{"StringValue", "DataType", ...}` becomes Lambda's lower-camel shape.

    The list fields are always present (empty when unused), as in AWS's sample event; binary
    values are base64 text, as JSON carries them.
    """
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _base64_text(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [_base64_text(v) for v in value.get("BinaryListValues", [])]
    attribute["dataType"] = value["DataType"]
    return attribute


def _base64_text(value: bytes | str) -> str:
    # boto3 decodes binary attributes to bytes; the wire format (and Lambda's event) is base64.
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


# ---------------------------------------------------------------------------------------------
# The function's outcome
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Returned:
    """The handler returned. `payload` is the response document the runtime sent to Lambda."""

    payload: bytes

    @property
    def response(self) -> Any:
        """The payload as JSON; raises ValueError if it is not valid JSON."""
        return json.loads(self.payload)


@dataclass(frozen=True)
class FunctionError:
    """The invocation failed: the handler raised, timed out, or returned something not JSON.

    `error` is the error type and the first line of its message, e.g. "ValueError: bad order".
    """

    error: str


Outcome = Returned | FunctionError


def run_handler(handler: Handler, event: dict[str, Any], context: Any = None) -> Outcome:
    """Call `handler(event, context)` and report the outcome as Lambda sees it.

    The return value is serialised as the Python runtime does (`lambdasim.rules.runtime`); a
    value it cannot serialise fails the invocation (Runtime.MarshalError), like an exception.
    Timeouts are the caller's to detect: report one as `FunctionError`. The full simulator runs
    handlers in `lambdasim.runtime` instead (timeouts, context, logs); this is the bare path.
    """
    try:
        value = handler(event, context)
    except Exception as error:  # any exception from the function is a function error
        first_line = next(iter(str(error).splitlines()), "")
        return FunctionError(f"{type(error).__name__}: {first_line}")
    try:
        return Returned(marshal_response(value, runtime=None))
    except FaultError as fault:
        return FunctionError(f"{fault.error_type}: {fault.message}")


# ---------------------------------------------------------------------------------------------
# Settling a batch (services-sqs-errorhandling.html)
# ---------------------------------------------------------------------------------------------


class Rule(Enum):
    """The documented rule that decided a batch's fate."""

    FUNCTION_ERROR = (
        "the invocation failed (error or timeout), so the whole batch returns to the queue"
    )
    RESPONSE_IGNORED = (
        "ReportBatchItemFailures is off, so any return means the whole batch succeeded"
    )
    EMPTY_RESPONSE = (
        "a null or empty response, or a null or empty batchItemFailures list, "
        "means the whole batch succeeded"
    )
    INVALID_RESPONSE = "an invalid partial batch response fails the whole batch"
    PARTIAL_FAILURE = "only the messages listed in batchItemFailures return to the queue"


@dataclass(frozen=True)
class BatchSettlement:
    """What Lambda does with a batch once the function has finished.

    `succeeded` are deleted from the queue; `failed` stay and become visible again when their
    visibility timeout expires. Both hold message ids in batch order. `order_broken` (FIFO only)
    lists messages that succeeded although an earlier message of the same message group in this
    batch failed: deleting them processes them ahead of that message, which is why AWS tells FIFO
    functions to stop at the first failure and report every message after it as failed.
    """

    succeeded: tuple[str, ...]
    failed: tuple[str, ...]
    rule: Rule
    reason: str
    order_broken: tuple[str, ...] = ()


def settle_batch(
    records: Sequence[Mapping[str, Any]],
    outcome: Outcome,
    *,
    report_batch_item_failures: bool,
    fifo: bool,
) -> BatchSettlement:
    """Decide which messages of a batch succeeded and which failed, as Lambda does.

    `records` are the event's records; `outcome` is what `run_handler` reported.

    The rules (services-sqs-errorhandling.html):

    - A function error or timeout fails the whole batch.
    - Without `ReportBatchItemFailures`, any return value means the whole batch succeeded.
    - With it, a null or empty response, or a null or empty `batchItemFailures` list, means the
      whole batch succeeded.
    - With it, an invalid response fails the whole batch: invalid JSON, an empty-string or null
      `itemIdentifier`, an entry with a wrong key name, or an identifier that is not a message of
      the batch. A response that is JSON but not an object, a `batchItemFailures` that is not a
      list, or an entry that is not an object cannot be read as the documented response either,
      so they count as invalid too.
    - Otherwise the listed messages fail and the others succeed. On a FIFO queue the function
      should list the first failed message and every message after it; Lambda deletes whatever
      is not listed, and `order_broken` shows what that did to the order.
    """
    batch_ids = [record["messageId"] for record in records]
    if isinstance(outcome, FunctionError):
        return _whole_batch(batch_ids, succeeded=False, rule=Rule.FUNCTION_ERROR, why=outcome.error)
    if not report_batch_item_failures:
        return _whole_batch(
            batch_ids, succeeded=True, rule=Rule.RESPONSE_IGNORED, why="the function returned"
        )

    try:
        response = outcome.response
    except ValueError:
        return _whole_batch(
            batch_ids, succeeded=False, rule=Rule.INVALID_RESPONSE, why="the response is not JSON"
        )
    if response is None:
        return _whole_batch(
            batch_ids, succeeded=True, rule=Rule.EMPTY_RESPONSE, why="null response"
        )
    if not isinstance(response, dict):
        return _whole_batch(
            batch_ids,
            succeeded=False,
            rule=Rule.INVALID_RESPONSE,
            why=f"the response is a JSON {_json_kind(response)}, not an object",
        )
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        if not response:
            why = "empty response"
        elif failures is None:
            why = "null batchItemFailures list"
        else:
            why = "empty batchItemFailures list"
        return _whole_batch(batch_ids, succeeded=True, rule=Rule.EMPTY_RESPONSE, why=why)
    if not isinstance(failures, list):
        return _whole_batch(
            batch_ids,
            succeeded=False,
            rule=Rule.INVALID_RESPONSE,
            why=f"batchItemFailures is a JSON {_json_kind(failures)}, not a list",
        )

    reported: set[str] = set()
    for entry in failures:
        problem = _identifier_problem(entry, batch_ids)
        if problem:
            return _whole_batch(batch_ids, succeeded=False, rule=Rule.INVALID_RESPONSE, why=problem)
        reported.add(entry["itemIdentifier"])

    failed = tuple(message_id for message_id in batch_ids if message_id in reported)
    succeeded = tuple(message_id for message_id in batch_ids if message_id not in reported)
    return BatchSettlement(
        succeeded=succeeded,
        failed=failed,
        rule=Rule.PARTIAL_FAILURE,
        reason=f"{Rule.PARTIAL_FAILURE.value}: {len(failed)} of {len(batch_ids)} reported",
        order_broken=_deleted_ahead_of_failures(records, reported) if fifo else (),
    )


def _whole_batch(batch_ids: list[str], *, succeeded: bool, rule: Rule, why: str) -> BatchSettlement:
    everything = tuple(batch_ids)
    return BatchSettlement(
        succeeded=everything if succeeded else (),
        failed=() if succeeded else everything,
        rule=rule,
        reason=f"{rule.value} ({why})",
    )


def _identifier_problem(entry: Any, batch_ids: list[str]) -> str | None:
    """Why one `batchItemFailures` entry makes the response invalid, or None if it is valid."""
    if not isinstance(entry, dict):
        return f"a batchItemFailures entry is a JSON {_json_kind(entry)}, not an object"
    if "itemIdentifier" not in entry:
        return f"an entry has no itemIdentifier key (it has {sorted(entry)})"
    identifier = entry["itemIdentifier"]
    if identifier is None:
        return "a null itemIdentifier"
    if identifier == "":
        return "an empty-string itemIdentifier"
    if identifier not in batch_ids:
        shown = repr(identifier)
        shown = shown if len(shown) <= 50 else f"{shown[:47]}..."
        return f"itemIdentifier {shown} is not a message of this batch"
    return None


def _json_kind(value: Any) -> str:
    kinds = {
        str: "string",
        list: "array",
        dict: "object",
        bool: "boolean",
        int: "number",
        float: "number",
    }
    return kinds.get(type(value), type(value).__name__)


def _deleted_ahead_of_failures(
    records: Sequence[Mapping[str, Any]], failed_ids: set[str]
) -> tuple[str, ...]:
    """Succeeded messages that follow a failed message of their own group in the batch."""
    groups_with_a_failure: set[Any] = set()
    overtaking = []
    for record in records:
        group = record.get("attributes", {}).get("MessageGroupId")
        if record["messageId"] in failed_ids:
            groups_with_a_failure.add(group)
        elif group in groups_with_a_failure:
            overtaking.append(record["messageId"])
    return tuple(overtaking)


# ---------------------------------------------------------------------------------------------
# The mapping's configuration (services-sqs-parameters.html) and filter criteria
# (invocation-eventfiltering.html, with-sqs-filtering.html)
# ---------------------------------------------------------------------------------------------

# What CreateEventSourceMapping / UpdateEventSourceMapping answer (InvalidParameterValueException)
# for a BatchSize above 10 without a batching window (services-sqs-parameters.html: "when you
# set BatchSize to a value greater than 10, you must set MaximumBatchingWindowInSeconds to at
# least 1"; the message as AWS returns it, e.g. serverless/serverless issue #8989).
WINDOW_REQUIRED_MESSAGE = (
    "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
)
# services-sqs-parameters.html: "Batching window is not supported for FIFO queues" (the text AWS
# answers, as CloudFormation reported it in aws/aws-lambda-dotnet pull request #1758).
FIFO_WINDOW_MESSAGE = "Batching window is not supported for FIFO queues"
# A FIFO queue's BatchSize above 10 (services-sqs-parameters.html). AWS's wording for SQS's
# former limit of 10 (observed in 2018, e.g. pulumi/pulumi-aws-serverless issue #20).
FIFO_BATCH_SIZE_MESSAGE = "Maximum batch size must be between 1 and 10 inclusive"
# API_CreateEventSourceMapping.html: MaximumBatchingWindowInSeconds 0-300.
MAX_BATCHING_WINDOW_S = 300
# API_ScalingConfig.html / services-sqs-scaling.html: MaximumConcurrency 2-1,000.
MAXIMUM_CONCURRENCY_RANGE = (2, 1_000)
# API_CreateEventSourceMapping.html: StartingPosition is for stream sources; AWS's answer for an
# SQS mapping that has one (observed, boto/boto3 issue #1613).
STARTING_POSITION_MESSAGE = "StartingPosition is not valid for SQS event sources."


def out_of_range_message(value: int, member: str, minimum: int, maximum: int) -> str | None:
    """The request validation message AWS answers when a number is outside its documented range
    (`member` is the API's lower-camel member name), or None when it is inside."""
    if value < minimum:
        bound = f"greater than or equal to {minimum}"
    elif value > maximum:
        bound = f"less than or equal to {maximum}"
    else:
        return None
    return (f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must have value {bound}")


def mapping_config_problem(batch_size: int | None, window_s: int | None, *, fifo: bool,
                           maximum_concurrency: int | None = None, starting_position: str | None = None) -> str | None:
    """Why Lambda rejects this SQS mapping configuration, or None (BatchSize defaults to 10).

    The API's ranges first (API_CreateEventSourceMapping.html: BatchSize 1-10,000, window
    0-300 s; API_ScalingConfig.html: MaximumConcurrency 2-1,000), then the SQS rules
    (services-sqs-parameters.html: no StartingPosition; FIFO queues take at most 10 messages
    and no window; a standard queue needs a window for more than 10).
    """
    batch_size = 10 if batch_size is None else batch_size
    window_s = window_s or 0
    problem = (out_of_range_message(batch_size, "batchSize", 1, MAX_BATCH_SIZE_STANDARD)
               or out_of_range_message(window_s, "maximumBatchingWindowInSeconds", 0, MAX_BATCHING_WINDOW_S))
    if not problem and maximum_concurrency is not None:
        problem = out_of_range_message(maximum_concurrency, "scalingConfig.maximumConcurrency",
                                       *MAXIMUM_CONCURRENCY_RANGE)
    if problem:
        return problem
    if starting_position is not None:
        return STARTING_POSITION_MESSAGE
    if fifo and batch_size > MAX_BATCH_SIZE_FIFO:
        return FIFO_BATCH_SIZE_MESSAGE
    if fifo and window_s > 0:
        return FIFO_WINDOW_MESSAGE
    if not fifo and batch_size > MAX_MESSAGES_PER_CALL and window_s == 0:
        return WINDOW_REQUIRED_MESSAGE
    return None


# services-sqs-configure.html, sqs-configure-lambda-function-trigger.html: a queue behind Lambda
# needs a visibility timeout of at least six times the function's timeout plus the batching
# window (time for Lambda to retry a throttled batch), and a redrive policy with a
# maxReceiveCount of at least 5.
VISIBILITY_TIMEOUT_FACTOR = 6
MIN_MAX_RECEIVE_COUNT = 5


def minimum_visibility_timeout_s(function_timeout_s: float, batching_window_s: float = 0) -> float:
    """The smallest visibility timeout AWS recommends for a queue that feeds this function."""
    return VISIBILITY_TIMEOUT_FACTOR * function_timeout_s + batching_window_s


def visibility_timeout_problem(queue_visibility_s: int, function_timeout_s: int) -> str | None:
    """Why Lambda refuses to map this queue to this function, or None.

    services-sqs-configure.html: "Your function's timeout must be less than or equal to the queue's
    visibility timeout. Lambda validates this requirement when you create or update an event
    source mapping"; the message as AWS answers it (InvalidParameterValueException, e.g.
    github-aws-runners/terraform-aws-github-runner issue #465).
    """
    if function_timeout_s > queue_visibility_s:
        return (f"Queue visibility timeout: {queue_visibility_s} seconds is less than Function timeout: "
                f"{function_timeout_s} seconds")
    return None


# with-sqs.html: "If your batch window is greater than 0, and (batch window) + (function timeout)
# > (queue visibility timeout), then your effective queue visibility timeout is (batch window) +
# (function timeout) + 30s."
EFFECTIVE_VISIBILITY_MARGIN_S = 30


def effective_visibility_timeout_s(queue_visibility_s: int, batching_window_s: int, function_timeout_s: int) -> int:
    """How long the messages of a batch stay hidden once the poller has received them (with-sqs.html)."""
    if batching_window_s > 0 and batching_window_s + function_timeout_s > queue_visibility_s:
        return batching_window_s + function_timeout_s + EFFECTIVE_VISIBILITY_MARGIN_S
    return queue_visibility_s


_NOT_JSON = object()


@dataclass(frozen=True)
class RecordFilter:
    """One filter of a mapping's FilterCriteria, compiled.

    `body_format` is "json" when the pattern's `body` is an object (it filters the properties of
    a JSON body), "string" when it is a list of rules for the body as a plain string, and None
    when the pattern has no `body` key.
    """

    pattern: dict[str, Any]
    body_format: str | None
    matcher: Any


def compile_filters(filter_criteria: Mapping[str, Any] | None) -> tuple[RecordFilter, ...]:
    """The filters of a mapping's `FilterCriteria` (`{"Filters": [{"Pattern": "..."}]}`).

    Patterns use EventBridge's syntax (invocation-eventfiltering.html, "Filter rule syntax");
    matching is done by moto's EventBridge `EventPattern`, a maintained implementation of that
    syntax. Raises ValueError for a pattern that is not a JSON object of rules.
    """
    from moto.events.models import EventPattern

    filters = []
    for entry in (filter_criteria or {}).get("Filters") or []:
        raw = entry.get("Pattern") or ""
        try:
            matcher = EventPattern.load(raw)
        except Exception as error:  # moto's InvalidEventPatternException
            raise ValueError(f"invalid filter pattern {raw!r}: {error}") from None
        pattern = matcher.get_pattern()
        if not isinstance(pattern, dict):
            raise ValueError(f"invalid filter pattern {raw!r}: not a JSON object")
        body = pattern.get("body")
        body_format = None if "body" not in pattern else ("json" if isinstance(body, dict) else "string")
        filters.append(RecordFilter(pattern, body_format, matcher))
    return tuple(filters)


def record_matches(record: Mapping[str, Any], filters: Sequence[RecordFilter]) -> bool:
    """True if Lambda sends this record to the function: no filters, or any filter matches.

    The body rule for SQS (invocation-eventfiltering.html, "Properly filtering Amazon SQS
    messages"): Lambda compares the format of the message body with the format of the pattern's
    `body`. A JSON body with a JSON pattern, or a plain-string body with a plain-string pattern,
    is filtered; a mismatch drops the message; a pattern without `body` skips the check and
    filters the record's other properties only. Filters are ORed. Note: the newest
    with-sqs-filtering.html says SQS mappings support filtering on `body` only; patterns on other
    record keys (`attributes`, `messageAttributes`) are matched here as the general page describes.
    """
    if not filters:
        return True
    parsed: Any = _NOT_JSON
    parsed_once = False
    for record_filter in filters:
        candidate: Mapping[str, Any] = record
        if record_filter.body_format is not None:
            if not parsed_once:
                parsed, parsed_once = _json_body(record.get("body")), True
            is_json = parsed is not _NOT_JSON
            if (record_filter.body_format == "json") != is_json:
                continue  # format mismatch: this filter cannot match
            if is_json:
                candidate = {**record, "body": parsed}
        if record_filter.matcher.matches_event(candidate):
            return True
    return False


def _json_body(body: Any) -> Any:
    if not isinstance(body, str):
        return _NOT_JSON
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


# ---------------------------------------------------------------------------------------------
# Playing the poller against SQS (moto in the course)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollResult:
    """What one poll of the event source mapping did.

    `event` is None when no message was visible: Lambda does not invoke a function with an
    empty batch. `deleted` and `left_for_retry` hold message ids in batch order.
    """

    event: dict[str, Any] | None
    outcome: Outcome | None
    settlement: BatchSettlement | None

    @property
    def invocations(self) -> int:
        return 0 if self.event is None else 1

    @property
    def records(self) -> list[dict[str, Any]]:
        return [] if self.event is None else self.event["Records"]

    @property
    def deleted(self) -> tuple[str, ...]:
        return () if self.settlement is None else self.settlement.succeeded

    @property
    def left_for_retry(self) -> tuple[str, ...]:
        return () if self.settlement is None else self.settlement.failed


def poll_once(
    sqs: Any,
    queue_url: str,
    handler: Handler,
    *,
    batch_size: int = 10,
    report_batch_item_failures: bool = False,
    context: Any = None,
) -> PollResult:
    """One poll of an SQS event source mapping: receive a batch, invoke, settle, delete.

    `sqs` is a boto3 SQS client (moto's in the course). Up to `batch_size` messages are read,
    at most 10 per `ReceiveMessage` call; for a batch size above 10 the poller keeps receiving
    until the batch is full or the queue has nothing visible, as a batching window that closes
    once the queue is drained. Messages that fail are not deleted: SQS makes them visible again
    when the visibility timeout expires and, past the redrive policy's `maxReceiveCount`, moves
    them to the dead-letter queue on a later receive.
    """
    queue = _queue_attributes(sqs, queue_url)
    queue_arn = queue["QueueArn"]
    fifo = queue.get("FifoQueue") == "true"
    _check_batch_size(batch_size, fifo=fifo)

    messages = _receive_batch(sqs, queue_url, batch_size)
    if not messages:
        return PollResult(event=None, outcome=None, settlement=None)

    event = build_event(messages, queue_arn=queue_arn, region=sqs.meta.region_name)
    outcome = run_handler(handler, event, context)
    settlement = settle_batch(
        event["Records"],
        outcome,
        report_batch_item_failures=report_batch_item_failures,
        fifo=fifo,
    )
    _delete(sqs, queue_url, event["Records"], settlement.succeeded)
    return PollResult(event=event, outcome=outcome, settlement=settlement)


def drain_queue(
    sqs: Any,
    queue_url: str,
    handler: Handler,
    *,
    advance_clock: Callable[[float], Any],
    batch_size: int = 10,
    report_batch_item_failures: bool = False,
    context: Any = None,
    max_polls: int = 1_000,
) -> list[PollResult]:
    """Poll until the queue holds no message, visible or in flight; return every poll that invoked.

    When nothing is visible but messages are in flight (they failed and wait for their visibility
    timeout), `advance_clock(seconds)` is called with the queue's visibility timeout plus one
    second, e.g. a freezegun clock's `tick`. Stops after `max_polls` polls, since a queue without
    a redrive policy never drains while a message keeps failing.
    """
    visibility_timeout = int(_queue_attributes(sqs, queue_url)["VisibilityTimeout"])
    invoked: list[PollResult] = []
    for _ in range(max_polls):
        if not _queue_holds_messages(sqs, queue_url):
            break
        result = poll_once(
            sqs,
            queue_url,
            handler,
            batch_size=batch_size,
            report_batch_item_failures=report_batch_item_failures,
            context=context,
        )
        if result.invocations:
            invoked.append(result)
        else:
            advance_clock(visibility_timeout + 1)
    return invoked


def _check_batch_size(batch_size: int, *, fifo: bool) -> None:
    limit = MAX_BATCH_SIZE_FIFO if fifo else MAX_BATCH_SIZE_STANDARD
    if not 1 <= batch_size <= limit:
        kind = "FIFO" if fifo else "standard"
        raise ValueError(f"BatchSize for a {kind} queue is 1 to {limit}, not {batch_size}")


def _receive_batch(sqs: Any, queue_url: str, batch_size: int) -> list[dict[str, Any]]:
    return receive_batch(sqs, queue_url, batch_size)[0]


def receive_batch(
    sqs: Any, queue_url: str, batch_size: int, *, visibility_timeout_s: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Receive up to `batch_size` visible messages, at most 10 per ReceiveMessage call.

    Stops at the first call that returns fewer than it asked for (nothing more is visible).
    Returns the messages and the number of ReceiveMessage calls made. The queue's own
    visibility timeout applies unless `visibility_timeout_s` is given (a poller with a batching
    window hides its messages for the effective visibility timeout, see
    `effective_visibility_timeout_s`).
    """
    messages: list[dict[str, Any]] = []
    calls = 0
    visibility = {} if visibility_timeout_s is None else {"VisibilityTimeout": visibility_timeout_s}
    while len(messages) < batch_size:
        wanted = min(MAX_MESSAGES_PER_CALL, batch_size - len(messages))
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=wanted,
            # No long polling: under a frozen test clock a long poll would never end.
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            **visibility,
        ).get("Messages", [])
        calls += 1
        messages.extend(received)
        if len(received) < wanted:
            break
    return messages, calls


def take_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Receive and delete every visible message of a queue, with its system and message
    attributes, 10 per call: how an audit, a test or a lesson reads a DLQ or a consumer queue."""
    taken: list[dict[str, Any]] = []
    while messages := receive_batch(sqs, queue_url, MAX_MESSAGES_PER_CALL)[0]:
        taken += messages
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return taken


def _delete(
    sqs: Any, queue_url: str, records: Sequence[Mapping[str, Any]], message_ids: Sequence[str]
) -> None:
    failed = delete_messages(sqs, queue_url, records, message_ids)
    if failed:
        raise RuntimeError(f"DeleteMessageBatch failed: {failed}")


def delete_messages(
    sqs: Any, queue_url: str, records: Sequence[Mapping[str, Any]], message_ids: Iterable[str]
) -> list[dict[str, Any]]:
    """Delete the records' messages named in `message_ids`, 10 per DeleteMessageBatch call.

    Returns the `Failed` entries SQS reported (empty when every delete succeeded).
    """
    to_delete = set(message_ids)
    receipts = [r["receiptHandle"] for r in records if r["messageId"] in to_delete]
    failed: list[dict[str, Any]] = []
    for start in range(0, len(receipts), MAX_MESSAGES_PER_CALL):
        chunk = receipts[start : start + MAX_MESSAGES_PER_CALL]
        answer = sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)],
        )
        failed.extend(answer.get("Failed", []))
    return failed


def _queue_attributes(sqs: Any, queue_url: str) -> dict[str, str]:
    # "All" rather than the few names read: moto 5.2 works out every attribute of the queue
    # (three scans of its messages) once per name asked and twice more per name it returns.
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]


def _queue_holds_messages(sqs: Any, queue_url: str) -> bool:
    attributes = _queue_attributes(sqs, queue_url)
    counts = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
              "ApproximateNumberOfMessagesDelayed")
    return any(int(attributes[name]) > 0 for name in counts)
