"""Conformance of `lambdasim.sources.sqs` with AWS's documented SQS event source mapping.

Each test names, in its docstring, the AWS documentation page whose rule it pins:

- EVENT: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (sample events)
- ERRORS: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
- PARAMETERS: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html
- CONFIGURE: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
- SQS_DLQ: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    SqsAttributesModel,
    SqsModel,
    SqsMsgAttributeModel,
    SqsRecordModel,
)
from freezegun import freeze_time
from moto import mock_aws

from lambdasim.sources.sqs import (
    FunctionError,
    Returned,
    Rule,
    build_event,
    drain_queue,
    poll_once,
    run_handler,
    settle_batch,
)

REGION = "us-east-1"
VISIBILITY_TIMEOUT = 30
MAX_RECEIVE_COUNT = 5

# The keys of a record in AWS's sample event (EVENT), in their order; md5OfMessageAttributes
# joins them after md5OfBody when the message has attributes.
SAMPLE_RECORD_KEYS = [
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
]
SAMPLE_STANDARD_ATTRIBUTES = [
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(), freeze_time("2026-01-05 12:00:00") as frozen:
        yield frozen


@pytest.fixture
def sqs(clock: Any) -> Any:
    return boto3.client("sqs", region_name=REGION)


def make_queue(sqs: Any, name: str, *, fifo: bool = False, dlq: bool = True) -> str:
    attributes = {"VisibilityTimeout": str(VISIBILITY_TIMEOUT)}
    if fifo:
        attributes |= {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    if dlq:
        dlq_url = sqs.create_queue(
            QueueName=name.removesuffix(".fifo") + ("-dlq.fifo" if fifo else "-dlq"),
            Attributes={"FifoQueue": "true"} if fifo else {},
        )["QueueUrl"]
        dlq_arn = queue_arn(sqs, dlq_url)
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
        )
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def visible_count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def receive_event(sqs: Any, url: str) -> dict[str, Any]:
    messages = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )["Messages"]
    return build_event(messages, queue_arn=queue_arn(sqs, url), region=REGION)


def returned(response: Any) -> Returned:
    """The outcome of a handler that returned `response`, as the runtime serialises it."""
    return Returned(json.dumps(response).encode())


def records(*message_ids: str, groups: str | None = None) -> list[dict[str, Any]]:
    """Minimal records for settlement tests; `groups` gives each one's MessageGroupId (FIFO)."""
    return [
        {"messageId": mid, "attributes": {"MessageGroupId": groups[i]} if groups else {}}
        for i, mid in enumerate(message_ids)
    ]


# ---------------------------------------------------------------------------------------------
# The event (EVENT)
# ---------------------------------------------------------------------------------------------


def test_standard_record_has_the_sample_event_shape(sqs: Any) -> None:
    """EVENT: a standard-queue record has the sample's keys in its order, lower-camel message
    attributes with both list fields, base64 binary values, md5OfMessageAttributes when the
    message has attributes, and the queue's ARN and Region."""
    url = make_queue(sqs, "orders", dlq=False)
    sqs.send_message(
        QueueUrl=url,
        MessageBody="Test message.",
        MessageAttributes={
            "myAttribute": {"DataType": "String", "StringValue": "myValue"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        },
    )
    record = receive_event(sqs, url)["Records"][0]

    assert list(record) == [
        *SAMPLE_RECORD_KEYS[:6],
        "md5OfMessageAttributes",
        *SAMPLE_RECORD_KEYS[6:],
    ]
    assert list(record["attributes"]) == SAMPLE_STANDARD_ATTRIBUTES
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["myAttribute"] == {
        "stringValue": "myValue",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["count"]["dataType"] == "Number"
    blob = record["messageAttributes"]["blob"]
    assert "stringValue" not in blob
    assert base64.b64decode(blob["binaryValue"]) == b"\x00\x01\xff"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == f"arn:aws:sqs:{REGION}:123456789012:orders"
    assert record["awsRegion"] == REGION
    assert record["md5OfBody"] == "e4e68fb7bd0e697a0ae8f1bb342846b3"  # md5 of "Test message."


def test_record_without_message_attributes_has_no_md5_of_them(sqs: Any) -> None:
    """EVENT: a message without attributes gives `"messageAttributes": {}` and, like the sample
    record, no md5OfMessageAttributes."""
    url = make_queue(sqs, "plain", dlq=False)
    sqs.send_message(QueueUrl=url, MessageBody="test")
    record = receive_event(sqs, url)["Records"][0]
    assert list(record) == SAMPLE_RECORD_KEYS
    assert record["messageAttributes"] == {}


def test_fifo_record_carries_group_and_deduplication_ids(sqs: Any) -> None:
    """EVENT: a FIFO-queue record's attributes add MessageGroupId and MessageDeduplicationId
    (AWS also adds SequenceNumber, which moto 5.2.5 does not return)."""
    url = make_queue(sqs, "orders.fifo", fifo=True, dlq=False)
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="customer-1")
    attributes = receive_event(sqs, url)["Records"][0]["attributes"]
    assert attributes["MessageGroupId"] == "customer-1"
    assert len(attributes["MessageDeduplicationId"]) == 64  # content-based: SHA-256 of the body
    assert set(SAMPLE_STANDARD_ATTRIBUTES) <= set(attributes)


def test_event_parses_with_powertools_parser_model_and_adds_no_field(sqs: Any) -> None:
    """EVENT: the event parses with Powertools' SqsModel, and every key it carries is a field
    of that model (nothing invented), for standard and FIFO queues."""
    standard = make_queue(sqs, "parsed", dlq=False)
    fifo = make_queue(sqs, "parsed.fifo", fifo=True, dlq=False)
    sqs.send_message(
        QueueUrl=standard,
        MessageBody=json.dumps({"order_id": "o-1"}),
        MessageAttributes={"trace": {"DataType": "String", "StringValue": "abc"}},
    )
    sqs.send_message(QueueUrl=fifo, MessageBody="in order", MessageGroupId="g")

    for url in (standard, fifo):
        event = receive_event(sqs, url)
        parsed = parse(event=event, model=SqsModel)
        assert parsed.Records[0].messageId == event["Records"][0]["messageId"]
        for record in event["Records"]:
            assert set(record) <= set(SqsRecordModel.model_fields)
            assert set(record["attributes"]) <= set(SqsAttributesModel.model_fields)
            for attribute in record["messageAttributes"].values():
                assert set(attribute) <= set(SqsMsgAttributeModel.model_fields)


# ---------------------------------------------------------------------------------------------
# Settling a batch (ERRORS)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("report_batch_item_failures", [False, True])
def test_function_error_fails_the_whole_batch(report_batch_item_failures: bool) -> None:
    """ERRORS: if the function raises, every message of the batch returns to the queue, with or
    without ReportBatchItemFailures."""

    def handler(event: dict[str, Any], context: Any) -> None:
        raise ValueError("cannot process order")

    batch = records("a", "b", "c")
    outcome = run_handler(handler, {"Records": batch})
    assert outcome == FunctionError("ValueError: cannot process order")
    settled = settle_batch(
        batch, outcome, report_batch_item_failures=report_batch_item_failures, fifo=False
    )
    assert (settled.succeeded, settled.failed, settled.rule) == (
        (),
        ("a", "b", "c"),
        Rule.FUNCTION_ERROR,
    )


def test_timeout_fails_the_whole_batch() -> None:
    """ERRORS: an invocation that times out fails the whole batch, like an error."""
    settled = settle_batch(
        records("a", "b"),
        FunctionError("Task timed out after 30.00 seconds"),
        report_batch_item_failures=True,
        fifo=False,
    )
    assert settled.failed == ("a", "b") and settled.rule is Rule.FUNCTION_ERROR


def test_response_that_is_not_json_fails_the_whole_batch() -> None:
    """ERRORS: an invalid JSON response fails the whole batch: here a handler returns bytes,
    which the Python runtime passes through untouched."""
    batch = records("a", "b")
    outcome = run_handler(lambda event, context: b"batchItemFailures: a", {"Records": batch})
    assert outcome == Returned(b"batchItemFailures: a")
    settled = settle_batch(batch, outcome, report_batch_item_failures=True, fifo=False)
    assert (settled.failed, settled.rule) == (("a", "b"), Rule.INVALID_RESPONSE)


def test_return_value_that_cannot_be_serialised_fails_the_invocation() -> None:
    """ERRORS: a function error fails the whole batch. A Python handler's return value that
    cannot be serialised to JSON is one: the runtime reports Runtime.MarshalError."""
    batch = records("a", "b")
    outcome = run_handler(
        lambda event, context: {"batchItemFailures": {"a", "b"}}, {"Records": batch}
    )
    assert isinstance(outcome, FunctionError) and outcome.error.startswith("Runtime.MarshalError")
    settled = settle_batch(batch, outcome, report_batch_item_failures=True, fifo=False)
    assert (settled.failed, settled.rule) == (("a", "b"), Rule.FUNCTION_ERROR)


def test_run_handler_reports_the_response_after_the_json_round_trip() -> None:
    """ERRORS: Lambda reads the JSON the runtime sent, so tuples arrive as lists."""
    outcome = run_handler(
        lambda event, context: {"batchItemFailures": ({"itemIdentifier": "a"},)}, {}
    )
    assert isinstance(outcome, Returned)
    assert outcome.response == {"batchItemFailures": [{"itemIdentifier": "a"}]}


@pytest.mark.parametrize(
    "response",
    [None, {}, "done", {"statusCode": 200}, {"batchItemFailures": [{"itemIdentifier": "a"}]}],
)
def test_without_report_batch_item_failures_any_return_succeeds(response: Any) -> None:
    """ERRORS: without ReportBatchItemFailures, Lambda ignores the response: a return is
    success for the whole batch, even one that lists failures."""
    settled = settle_batch(
        records("a", "b"), returned(response), report_batch_item_failures=False, fifo=False
    )
    assert (settled.succeeded, settled.failed, settled.rule) == (
        ("a", "b"),
        (),
        Rule.RESPONSE_IGNORED,
    )


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}, {"statusCode": 200}],
    ids=["null response", "empty response", "null list", "empty list", "no list"],
)
def test_empty_or_null_response_or_list_means_the_whole_batch_succeeded(response: Any) -> None:
    """ERRORS: an empty or null batchItemFailures list, or an empty or null response, means
    the whole batch succeeded."""
    settled = settle_batch(
        records("a", "b"), returned(response), report_batch_item_failures=True, fifo=False
    )
    assert (settled.succeeded, settled.failed, settled.rule) == (
        ("a", "b"),
        (),
        Rule.EMPTY_RESPONSE,
    )


@pytest.mark.parametrize(
    ("response", "why"),
    [
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, "empty-string itemIdentifier"),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, "null itemIdentifier"),
        ({"batchItemFailures": [{"messageId": "a"}]}, "no itemIdentifier key"),
        (
            {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
            "not a message of this batch",
        ),
        ({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": ""}]}, "empty-string"),
        ({"batchItemFailures": ["a"]}, "entry is a JSON string, not an object"),
        ({"batchItemFailures": "a"}, "batchItemFailures is a JSON string, not a list"),
        ("a", "the response is a JSON string, not an object"),
        ([{"itemIdentifier": "a"}], "the response is a JSON array, not an object"),
    ],
    ids=[
        "empty-string identifier",
        "null identifier",
        "wrong key name",
        "identifier not in batch",
        "one bad entry among good",
        "entry not an object",
        "list not a list",
        "string response",
        "bare list response",
    ],
)
def test_invalid_partial_response_fails_the_whole_batch(response: Any, why: str) -> None:
    """ERRORS: an empty-string or null itemIdentifier, a wrong key name, or an identifier that
    is not in the batch fails the whole batch; so does a response that cannot be read as the
    documented {"batchItemFailures": [{"itemIdentifier": ...}]} shape."""
    settled = settle_batch(
        records("a", "b"), returned(response), report_batch_item_failures=True, fifo=False
    )
    assert (settled.succeeded, settled.failed, settled.rule) == (
        (),
        ("a", "b"),
        Rule.INVALID_RESPONSE,
    )
    assert why in settled.reason


def test_listed_messages_fail_and_the_others_succeed() -> None:
    """ERRORS: with ReportBatchItemFailures, only the messages listed by messageId return to
    the queue; the others are deleted."""
    response = {"batchItemFailures": [{"itemIdentifier": "d"}, {"itemIdentifier": "b"}]}
    settled = settle_batch(
        records("a", "b", "c", "d"), returned(response), report_batch_item_failures=True, fifo=False
    )
    assert settled.succeeded == ("a", "c")
    assert settled.failed == ("b", "d")
    assert settled.rule is Rule.PARTIAL_FAILURE
    assert settled.order_broken == ()


def test_fifo_reporting_the_failure_and_everything_after_it_keeps_the_order() -> None:
    """ERRORS: on a FIFO queue the function should stop at the first failure and report it and
    every message after it; then nothing is deleted ahead of the failed message."""
    response = {"batchItemFailures": [{"itemIdentifier": m} for m in ("b", "c", "d")]}
    settled = settle_batch(
        records("a", "b", "c", "d", groups="gggg"),
        returned(response),
        report_batch_item_failures=True,
        fifo=True,
    )
    assert settled.succeeded == ("a",)
    assert settled.failed == ("b", "c", "d")
    assert settled.order_broken == ()


def test_fifo_reporting_only_the_failure_deletes_later_messages_of_its_group() -> None:
    """ERRORS: Lambda deletes every message the function does not report; on a FIFO queue a
    function that reports only the failed message lets later messages of its group be deleted
    ahead of it, which is what AWS's advice to report every message after it prevents."""
    response = {"batchItemFailures": [{"itemIdentifier": "b"}]}
    settled = settle_batch(
        records("a", "b", "c", "d", groups="ggxg"),
        returned(response),
        report_batch_item_failures=True,
        fifo=True,
    )
    assert settled.succeeded == ("a", "c", "d")
    assert settled.failed == ("b",)
    assert settled.order_broken == ("d",)  # "c" is in another message group: its order is intact


# ---------------------------------------------------------------------------------------------
# One poll against moto (ERRORS, CONFIGURE, PARAMETERS, SQS_DLQ)
# ---------------------------------------------------------------------------------------------


def test_failed_messages_stay_and_reappear_after_the_visibility_timeout(
    sqs: Any, clock: Any
) -> None:
    """ERRORS: Lambda deletes the messages that succeeded; a failed message is not deleted and
    becomes visible again once the queue's visibility timeout has passed."""
    url = make_queue(sqs, "retry")
    for body in ("ok-1", "bad", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"
            ]
        }

    first = poll_once(sqs, url, handler, report_batch_item_failures=True)
    assert (len(first.records), len(first.deleted), len(first.left_for_retry)) == (3, 2, 1)
    assert poll_once(sqs, url, handler, report_batch_item_failures=True).invocations == 0

    clock.tick(VISIBILITY_TIMEOUT - 1)
    assert visible_count(sqs, url) == 0
    clock.tick(2)
    again = poll_once(sqs, url, handler, report_batch_item_failures=True)
    assert [r["body"] for r in again.records] == ["bad"]
    assert again.records[0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_failing_batch_moves_to_the_dead_letter_queue_after_max_receive_count(
    sqs: Any, clock: Any
) -> None:
    """CONFIGURE and SQS_DLQ: with a redrive policy, a message received maxReceiveCount times
    without being deleted moves to the dead-letter queue; an all-or-nothing failure takes the
    whole batch there."""
    url = make_queue(sqs, "poisoned")
    for n in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=f"message {n}")

    def always_fails(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("poison")

    polls = drain_queue(sqs, url, always_fails, advance_clock=clock.tick)
    assert len(polls) == MAX_RECEIVE_COUNT
    assert [p.records[0]["attributes"]["ApproximateReceiveCount"] for p in polls] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    dlq_url = sqs.get_queue_url(QueueName="poisoned-dlq")["QueueUrl"]
    assert visible_count(sqs, dlq_url) == 4
    assert visible_count(sqs, url) == 0


def test_batch_size_above_ten_reads_several_receives_into_one_invocation(sqs: Any) -> None:
    """PARAMETERS: a standard queue's BatchSize can exceed 10 (up to 10,000); SQS returns at
    most 10 messages per ReceiveMessage, so one batch takes several receives."""
    url = make_queue(sqs, "big", dlq=False)
    for start in range(0, 25, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, min(start + 10, 25))
            ],
        )
    result = poll_once(sqs, url, lambda event, context: None, batch_size=25)
    assert result.invocations == 1
    assert len(result.records) == len(result.deleted) == 25
    assert visible_count(sqs, url) == 0


def test_batch_size_limits(sqs: Any) -> None:
    """PARAMETERS: BatchSize is 1 to 10,000 for a standard queue and 1 to 10 for a FIFO queue."""
    standard = make_queue(sqs, "limits", dlq=False)
    fifo = make_queue(sqs, "limits.fifo", fifo=True, dlq=False)
    with pytest.raises(ValueError, match="1 to 10, "):
        poll_once(sqs, fifo, lambda event, context: None, batch_size=11)
    with pytest.raises(ValueError, match="1 to 10000, "):
        poll_once(sqs, standard, lambda event, context: None, batch_size=10_001)
    with pytest.raises(ValueError):
        poll_once(sqs, standard, lambda event, context: None, batch_size=0)


def test_no_invocation_without_messages(sqs: Any) -> None:
    """EVENT: Lambda invokes the function with batches of messages; an empty queue invokes
    nothing."""
    url = make_queue(sqs, "empty", dlq=False)
    calls = []
    result = poll_once(sqs, url, lambda event, context: calls.append(event))
    assert result.invocations == 0 and result.event is None and calls == []
