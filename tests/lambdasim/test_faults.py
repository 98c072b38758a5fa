"""Conformance tests of lambdasim.faults: injected faults look and behave like AWS's.

Each test's docstring names the AWS documentation page whose behaviour it checks. Everything
runs in-process under moto's ``mock_aws``.

No real sleeps: botocore's retry loop sleeps in ``botocore.endpoint.Endpoint._needs_retry``
with ``time.sleep(delay)`` between attempts (up to seconds with jitter in standard mode). The
autouse ``backoff`` fixture replaces the ``time`` module *as seen by botocore.endpoint* with a
stand-in whose ``sleep`` only records the requested delay. Retries still happen exactly as
botocore decides them, and the recorded delays prove that botocore backed off.
"""

from __future__ import annotations

import json
import random
import types

import boto3
import botocore.awsrequest
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws

from lambdasim import faults as faults_module
from lambdasim.sources.sqs import take_all
from lambdasim.faults import (
    AWSError,
    ConditionalCheckFailed,
    FaultInjector,
    NoAnswer,
    PartialFailure,
    ServerError,
    Throttle,
    was_faulted,
)

REGION = "us-east-1"
# One botocore session for the module: its loaded models and endpoint data are reused by every
# client (mock_aws resets boto3's default session, which would reload them in every test). It
# is created after ``lambdasim.faults`` is imported, so its clients carry the injector's hooks.
SESSION = boto3.session.Session(region_name=REGION)


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def backoff(monkeypatch):
    """Record botocore's retry delays instead of sleeping them."""
    delays: list[float] = []
    fake_time = types.SimpleNamespace(sleep=delays.append)
    monkeypatch.setattr(botocore.endpoint, "time", fake_time)
    return delays


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    with mock_aws():
        yield


def client(service: str, mode: str = "standard", max_attempts: int = 3):
    """A client whose retry config is given as in botocore's ``retries`` dict, where
    ``max_attempts`` counts the retries after the first attempt (``total_max_attempts`` would
    count all attempts): ``max_attempts=3`` allows 4 attempts, ``0`` disables retries."""
    return SESSION.client(
        service, config=Config(retries={"mode": mode, "max_attempts": max_attempts})
    )


def make_table(ddb, name: str = "orders") -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def error_of(excinfo) -> tuple[str, int, int]:
    response = excinfo.value.response
    meta = response["ResponseMetadata"]
    return response["Error"]["Code"], meta["HTTPStatusCode"], meta["RetryAttempts"]


def bus_to_queue():
    """A custom bus with a rule that sends every event of source "shop" to an SQS queue."""
    events, sqs = client("events"), client("sqs")
    events.create_event_bus(Name="shop-bus")
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all-orders", EventBusName="shop-bus", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="all-orders", EventBusName="shop-bus", Targets=[{"Id": "q", "Arn": queue_arn}])
    return events, sqs, queue_url


def drain(sqs, queue_url) -> list[dict]:
    """The bodies of every message in the queue, which is left empty."""
    return [json.loads(m["Body"]) for m in take_all(sqs, queue_url)]


def order_entries(n: int, start: int = 0) -> list[dict]:
    return [
        {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"n": i}), "EventBusName": "shop-bus"}
        for i in range(start, start + n)
    ]


# ----------------------------------------------------------------------------- throttling


def test_dynamodb_throttle_is_retried_then_raised_and_nothing_is_written(aws, backoff):
    """DynamoDB "Error handling with DynamoDB"
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
    ProvisionedThroughputExceededException, HTTP 400, retried by the SDKs with exponential
    backoff; a throttled request is not performed."""
    ddb = client("dynamodb")
    make_table(ddb)
    with FaultInjector(seed=1) as faults:
        faults.add("dynamodb", "PutItem", Throttle())
        with pytest.raises(ddb.exceptions.ProvisionedThroughputExceededException) as excinfo:
            ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
    assert error_of(excinfo) == ("ProvisionedThroughputExceededException", 400, 3)
    assert excinfo.value.response["ResponseMetadata"]["MaxAttemptsReached"] is True
    assert "maximum allowed provisioned throughput" in excinfo.value.response["Error"]["Message"]
    assert len(backoff) == 3 and all(d >= 0 for d in backoff)
    assert [(r.kind, r.attempt, r.status) for r in faults.injected] == [("error", a, 400) for a in (1, 2, 3, 4)]
    assert faults.calls("dynamodb", "PutItem") == 1 and faults.attempts("dynamodb", "PutItem") == 4
    assert ddb.scan(TableName="orders")["Count"] == 0


def test_throttle_on_first_attempt_only_is_retried_and_succeeds(aws, backoff):
    """AWS SDKs and Tools reference guide, "Retry behavior"
    (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html): in standard
    mode throttling errors are retried with backoff; the retried request succeeds once the
    service stops throttling, and the write happens exactly once."""
    ddb = client("dynamodb", "standard", 3)
    make_table(ddb)
    with FaultInjector(seed=1) as faults:
        faults.add("dynamodb", "PutItem", Throttle(), on_calls=[1], attempts=1)
        response = ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(backoff) == 1
    assert ddb.scan(TableName="orders")["Count"] == 1
    assert faults.calls("dynamodb", "PutItem") == 1 and faults.attempts("dynamodb", "PutItem") == 2
    assert [(r.call, r.attempt) for r in faults.injected] == [(1, 1)]


def test_no_answer_waits_the_read_timeout_and_is_retried_as_a_timeout(aws, backoff, monkeypatch):
    """botocore Config reference
    (https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html):
    ``read_timeout`` is how long the client waits for an answer (60 s by default), then raises
    ``ReadTimeoutError``; "Retry behavior"
    (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html): timeouts are
    retried like transient errors. A dependency that never answers costs every attempt its full
    read timeout, and nothing is written; when it answers again, the retry succeeds."""
    waits: list[float] = []
    monkeypatch.setattr(faults_module, "time", types.SimpleNamespace(sleep=waits.append))
    ddb = SESSION.client("dynamodb", config=Config(read_timeout=2.5,
                                                   retries={"mode": "standard", "total_max_attempts": 3}))
    make_table(ddb)
    with FaultInjector(seed=1) as faults:
        faults.add("dynamodb", "PutItem", NoAnswer(), on_calls=[1])
        with pytest.raises(ReadTimeoutError):
            ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        assert waits == [2.5, 2.5, 2.5] and len(backoff) == 2
        assert [(r.kind, r.attempt, r.status) for r in faults.injected] == [("no answer", a, 0) for a in (1, 2, 3)]
        assert ddb.scan(TableName="orders")["Count"] == 0
        faults.add("dynamodb", "PutItem", NoAnswer(), on_calls=[2], attempts=1)  # recovers
        response = ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}})
    assert response["ResponseMetadata"]["RetryAttempts"] == 1 and waits[3:] == [2.5]
    assert ddb.scan(TableName="orders")["Count"] == 1


class _FunctionTimedOut(BaseException):
    """What ends a handler at its deadline: not an Exception, so botocore's clean-up skips it."""


def test_a_call_cut_off_mid_attempt_leaves_nothing_behind(aws, monkeypatch):
    """A handler can be stopped inside an attempt (its function times out during the wait for
    an answer). The cut-off call's fault must not apply to any later call: the next PutItem,
    with no fault, is written."""
    def cut_off(seconds: float) -> None:
        raise _FunctionTimedOut

    monkeypatch.setattr(faults_module, "time", types.SimpleNamespace(sleep=cut_off))
    ddb = client("dynamodb")
    make_table(ddb)
    with FaultInjector(seed=1) as faults:
        faults.add("dynamodb", "PutItem", NoAnswer(), on_calls=[1])
        with pytest.raises(_FunctionTimedOut):
            ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}})
        ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "c"}})
    assert sorted(i["pk"]["S"] for i in ddb.scan(TableName="orders")["Items"]) == ["b", "c"]
    assert len(faults.injected) == 1


def test_dynamodb_throttling_exception(aws):
    """DynamoDB "Error handling with DynamoDB"
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
    ThrottlingException, HTTP 400, "Rate of requests exceeds the allowed throughput.", retryable."""
    ddb = client("dynamodb")
    make_table(ddb)
    with FaultInjector() as faults:
        faults.add("dynamodb", "GetItem", Throttle("ThrottlingException"))
        with pytest.raises(ddb.exceptions.ThrottlingException) as excinfo:
            ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}})
    assert error_of(excinfo) == ("ThrottlingException", 400, 3)
    assert excinfo.value.response["Error"]["Message"] == "Rate of requests exceeds the allowed throughput."


def test_lambda_too_many_requests_is_429_with_reason_and_retried(aws, backoff):
    """Lambda API reference, Invoke
    (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): TooManyRequestsException,
    HTTP 429, with Reason and Type; retried by the SDK in legacy and standard modes. The
    throttled invocation never reaches moto (the function need not exist)."""
    lam = client("lambda", "legacy", 2)
    with FaultInjector() as faults:
        faults.add("lambda", "Invoke", Throttle(reason="ReservedFunctionConcurrentInvocationLimitExceeded"))
        with pytest.raises(lam.exceptions.TooManyRequestsException) as excinfo:
            lam.invoke(FunctionName="ingest", Payload=b"{}")
    assert error_of(excinfo) == ("TooManyRequestsException", 429, 2)
    assert excinfo.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert excinfo.value.response["Type"] == "User"
    assert excinfo.value.response["Error"]["Message"] == "Rate Exceeded."
    assert len(backoff) == 2


def test_sqs_request_throttled_shape_and_retry_modes(aws):
    """Amazon SQS developer guide, "Interpreting Amazon SQS JSON API responses"
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html)
    and the SendMessage reference: RequestThrottled, HTTP 400, with the x-amzn-query-error
    header. botocore's standard mode retries it (code in its throttling list); its legacy mode
    only retries RequestThrottled with HTTP 403 (the old query protocol), so it does not."""
    standard, legacy = client("sqs", "standard", 3), client("sqs", "legacy", 3)
    url = standard.create_queue(QueueName="q")["QueueUrl"]
    with FaultInjector() as faults:
        faults.add("sqs", "SendMessage", Throttle())
        with pytest.raises(standard.exceptions.RequestThrottled) as std:
            standard.send_message(QueueUrl=url, MessageBody="x")
        with pytest.raises(legacy.exceptions.RequestThrottled) as leg:
            legacy.send_message(QueueUrl=url, MessageBody="x")
    assert error_of(std) == ("RequestThrottled", 400, 3)
    assert std.value.response["Error"]["Type"] == "Sender"
    assert error_of(leg) == ("RequestThrottled", 400, 0)
    assert standard.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]["ApproximateNumberOfMessages"] == "0"


def test_eventbridge_put_events_throttling_exception(aws):
    """EventBridge API reference, Common Errors
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html):
    ThrottlingException, HTTP 400, retryable; a throttled PutEvents puts nothing on the bus."""
    events, sqs, queue_url = bus_to_queue()
    with FaultInjector() as faults:
        faults.add("events", "PutEvents", Throttle())
        with pytest.raises(ClientError) as excinfo:
            events.put_events(Entries=order_entries(2))
    assert error_of(excinfo) == ("ThrottlingException", 400, 3)
    assert drain(sqs, queue_url) == []


def test_kinesis_put_record_provisioned_throughput_exceeded(aws):
    """Kinesis API reference, PutRecord
    (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html):
    ProvisionedThroughputExceededException, HTTP 400, retryable; the record is not written."""
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    with FaultInjector() as faults:
        faults.add("kinesis", "put_record", Throttle())
        with pytest.raises(kinesis.exceptions.ProvisionedThroughputExceededException) as excinfo:
            kinesis.put_record(StreamName="clicks", Data=b"x", PartitionKey="k")
    assert error_of(excinfo) == ("ProvisionedThroughputExceededException", 400, 3)
    assert "Rate exceeded for stream clicks" in excinfo.value.response["Error"]["Message"]
    shard = kinesis.list_shards(StreamName="clicks")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"] == []


def test_query_rest_xml_and_cbor_protocols_are_encoded_as_the_service_does(aws):
    """SNS API reference, Publish / ThrottledException (Throttled, HTTP 429, query XML), and
    Amazon S3 API reference, "Error responses"
    (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html): SlowDown, HTTP 503;
    plus AWS's Smithy RPCv2-CBOR error encoding (``__type`` in a CBOR body)."""
    sns, s3 = client("sns", max_attempts=0), client("s3", max_attempts=0)
    cbor = client("eventbridgev2", max_attempts=0)
    operation = cbor.meta.service_model.operation_names[0]
    with FaultInjector() as faults:
        faults.add("sns", "Publish", Throttle())
        faults.add("s3", "PutObject", Throttle())
        faults.add("eventbridgev2", operation, Throttle())
        with pytest.raises(ClientError) as sns_error:
            sns.publish(TopicArn=f"arn:aws:sns:{REGION}:123456789012:t", Message="m")
        with pytest.raises(ClientError) as s3_error:
            s3.put_object(Bucket="b", Key="k", Body=b"x")
        method = getattr(cbor, faults_module.xform_name(operation))
        shape = cbor.meta.service_model.operation_model(operation).input_shape
        args = {name: "x" for name in (shape.required_members if shape else [])}
        with pytest.raises(ClientError) as cbor_error:
            method(**args)
    assert error_of(sns_error)[:2] == ("Throttled", 429)
    assert type(sns_error.value).__name__ == "ThrottledException"
    assert error_of(s3_error)[:2] == ("SlowDown", 503)
    assert error_of(cbor_error)[:2] == ("ThrottlingException", 400)


# ------------------------------------------------------------------------------------ 5xx


@pytest.mark.parametrize(
    ("service", "fault", "code", "status"),
    [
        ("events", ServerError(), "InternalFailure", 500),
        ("sqs", ServerError(503), "ServiceUnavailable", 503),
        ("dynamodb", ServerError(), "InternalServerError", 500),
        ("dynamodb", ServerError(503), "ServiceUnavailable", 503),
        ("lambda", ServerError(), "ServiceException", 500),
    ],
)
def test_server_errors_are_5xx_and_retried(aws, backoff, service, fault, code, status):
    """Common Errors of every AWS API reference (e.g.
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html):
    InternalFailure 500, ServiceUnavailable 503; DynamoDB's InternalServerError 500 and
    ServiceUnavailable 503 (Programming.Errors.html); Lambda's ServiceException 500 (Invoke).
    The SDKs retry 5xx ("Retry behavior", sdkref feature-retry-behavior.html)."""
    c = client(service)
    operation, kwargs = {
        "events": ("PutEvents", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
        "sqs": ("ListQueues", {}),
        "dynamodb": ("ListTables", {}),
        "lambda": ("ListFunctions", {}),
    }[service]
    with FaultInjector() as faults:
        faults.add(service, operation, fault)
        with pytest.raises(ClientError) as excinfo:
            getattr(c, faults_module.xform_name(operation))(**kwargs)
    assert error_of(excinfo) == (code, status, 3)
    assert len(backoff) == 3


# ------------------------------------------------------------------ conditional failures


def test_conditional_check_failed_is_not_retried_and_does_not_write(aws, backoff):
    """DynamoDB "Error handling with DynamoDB"
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
    ConditionalCheckFailedException, HTTP 400, "The conditional request failed", not retryable;
    the write is not performed."""
    ddb = client("dynamodb", "standard", 3)
    make_table(ddb)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "status": {"S": "NEW"}})
    with FaultInjector() as faults:
        faults.add("dynamodb", "UpdateItem", ConditionalCheckFailed(), on_calls=[2])
        faults.add("dynamodb", "PutItem", ConditionalCheckFailed())
        update = dict(
            TableName="orders",
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
        )
        ddb.update_item(**update, ExpressionAttributeValues={":s": {"S": "PAID"}})
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException) as excinfo:
            ddb.update_item(**update, ExpressionAttributeValues={":s": {"S": "SHIPPED"}})
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(TableName="orders", Item={"pk": {"S": "b"}})
    assert error_of(excinfo) == ("ConditionalCheckFailedException", 400, 0)
    assert excinfo.value.response["Error"]["Message"] == "The conditional request failed"
    assert backoff == []
    assert ddb.get_item(TableName="orders", Key={"pk": {"S": "a"}})["Item"]["status"] == {"S": "PAID"}
    assert "Item" not in ddb.get_item(TableName="orders", Key={"pk": {"S": "b"}})


def test_conditional_check_failed_through_the_table_resource(aws):
    """DynamoDB developer guide, "Condition expressions"
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html):
    a failed condition raises ConditionalCheckFailedException, also through boto3's resource
    layer (whose own event handlers run on the same client)."""
    table = SESSION.resource("dynamodb")
    make_table(table.meta.client)
    with FaultInjector() as faults:
        faults.add("dynamodb", "PutItem", ConditionalCheckFailed(), when=lambda p: p["Item"]["pk"] == {"S": "dup"})
        table.Table("orders").put_item(Item={"pk": "ok"})
        with pytest.raises(ClientError) as excinfo:
            table.Table("orders").put_item(Item={"pk": "dup"}, ConditionExpression="attribute_not_exists(pk)")
    assert excinfo.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert [i["pk"] for i in table.Table("orders").scan()["Items"]] == ["ok"]


# ---------------------------------------------------------------------- partial failures


def test_put_events_partial_failure_delivers_only_successful_entries(aws):
    """EventBridge API reference, PutEvents
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html) and
    PutEventsResultEntry, and "Sending events with PutEvents" (eb-putevents.html): HTTP 200,
    FailedEntryCount, one result per request entry in request order, a failed entry has
    ErrorCode and ErrorMessage and no EventId; EventBridge keeps processing the other entries,
    which the rule delivers to its SQS target; failed entries are not delivered."""
    events, sqs, queue_url = bus_to_queue()
    with FaultInjector(seed=3) as faults:
        faults.add("events", "PutEvents", PartialFailure(indices=[1, 4, 7], error_code="InternalFailure"))
        entries = order_entries(10)
        response = events.put_events(Entries=entries)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["FailedEntryCount"] == 3
    assert len(response["Entries"]) == 10
    for i, result in enumerate(response["Entries"]):
        if i in (1, 4, 7):
            assert set(result) == {"ErrorCode", "ErrorMessage"}
            assert result["ErrorCode"] == "InternalFailure"
        else:
            assert set(result) == {"EventId"}
    assert len(entries) == 10  # the caller's list is untouched
    delivered = sorted(b["detail"]["n"] for b in drain(sqs, queue_url))
    assert delivered == [0, 2, 3, 5, 6, 8, 9]
    [record] = faults.injected
    assert (record.kind, record.status, record.call) == ("partial", 200, 1)
    assert [f.index for f in record.failed] == [1, 4, 7]
    assert [json.loads(f.entry["Detail"])["n"] for f in faults.failed_entries("events", "PutEvents")] == [1, 4, 7]


def test_put_events_every_entry_failed_puts_nothing(aws):
    """EventBridge API reference, PutEvents
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html): a
    request whose entries all fail still returns HTTP 200 with FailedEntryCount equal to the
    number of entries; nothing reaches the bus."""
    events, sqs, queue_url = bus_to_queue()
    with FaultInjector() as faults:
        faults.add("events", "PutEvents", PartialFailure(error_code="ThrottlingException"))
        response = events.put_events(Entries=order_entries(3))
    assert response["FailedEntryCount"] == 3
    assert [e["ErrorCode"] for e in response["Entries"]] == ["ThrottlingException"] * 3
    assert all("EventId" not in e for e in response["Entries"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert drain(sqs, queue_url) == []
    assert faults.calls("events", "PutEvents") == 1


def test_partial_failures_are_deterministic_by_seed(aws):
    """EventBridge "Sending events with PutEvents"
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevents.html): the caller
    must detect failed entries and resend them. Lessons and graders need the same failures for
    the same seed: same seed, same failed entries; another seed, other entries; a rule for
    another operation does not change them."""
    events, _, _ = bus_to_queue()

    def run(seed, extra_rule=False):
        with FaultInjector(seed=seed) as faults:
            if extra_rule:
                faults.add("dynamodb", "PutItem", Throttle(), rate=0.5)
            faults.add("events", "PutEvents", PartialFailure(rate=0.3))
            for batch in range(5):
                events.put_events(Entries=order_entries(10, start=10 * batch))
        return [(r.call, tuple(f.index for f in r.failed)) for r in faults.injected]

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert run(7, extra_rule=True) == first
    assert sum(len(ix) for _, ix in first) > 0
    # An explicit random.Random works the same way.
    rng_runs = []
    for _ in range(2):
        with FaultInjector(rng=random.Random(42)) as faults:
            faults.add("events", "PutEvents", PartialFailure(rate=0.5))
            events.put_events(Entries=order_entries(10))
        rng_runs.append([f.index for f in faults.failed_entries()])
    assert rng_runs[0] == rng_runs[1]


def test_kinesis_put_records_partial_failure(aws):
    """Kinesis API reference, PutRecords and PutRecordsResultEntry
    (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html): HTTP 200,
    FailedRecordCount, results in request order, a failed record has ErrorCode
    (ProvisionedThroughputExceededException or InternalFailure) and ErrorMessage instead of
    SequenceNumber and ShardId; the successful records are in the stream, the failed are not."""
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    records = [{"Data": f"r{i}".encode(), "PartitionKey": f"k{i}"} for i in range(5)]
    with FaultInjector() as faults:
        faults.add("kinesis", "PutRecords", PartialFailure(indices=[0, 3]))
        faults.add("kinesis", "PutRecords", PartialFailure(indices=[2], error_code="InternalFailure"), on_calls=[2])
        first = kinesis.put_records(StreamName="clicks", Records=records)
        second = kinesis.put_records(StreamName="clicks", Records=records[:1] + records[1:3])
    assert first["FailedRecordCount"] == 2
    assert [r.get("ErrorCode") for r in first["Records"]] == [
        "ProvisionedThroughputExceededException", None, None, "ProvisionedThroughputExceededException", None
    ]
    assert "Rate exceeded for stream clicks" in first["Records"][0]["ErrorMessage"]
    assert all({"SequenceNumber", "ShardId"} <= set(first["Records"][i]) for i in (1, 2, 4))
    # The first rule has no on_calls, so it also selects call 2 (it comes first).
    assert second["FailedRecordCount"] == 1 and second["Records"][0]["ErrorCode"] == "ProvisionedThroughputExceededException"
    shard = kinesis.list_shards(StreamName="clicks")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    data = [r["Data"] for r in kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]]
    assert data == [b"r1", b"r2", b"r4", b"r1", b"r2"]


def test_kinesis_internal_failure_entry_message(aws):
    """Kinesis API reference, PutRecordsResultEntry
    (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsResultEntry.html):
    an InternalFailure entry has the message "Internal Service Failure"."""
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    with FaultInjector() as faults:
        faults.add("kinesis", "PutRecords", PartialFailure(indices=[1], error_code="InternalFailure"))
        response = kinesis.put_records(
            StreamName="clicks", Records=[{"Data": b"a", "PartitionKey": "a"}, {"Data": b"b", "PartitionKey": "b"}]
        )
    assert response["Records"][1] == {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal Service Failure"}


def test_sqs_send_message_batch_partial_failure(aws):
    """SQS API reference, SendMessageBatch and BatchResultErrorEntry
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html):
    HTTP 200, Successful and Failed lists keyed by the entry Id, a failed entry has Id,
    SenderFault, Code and Message; only successful messages are enqueued."""
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    entries = [{"Id": f"m{i}", "MessageBody": f"body{i}"} for i in range(4)]
    with FaultInjector() as faults:
        faults.add("sqs", "SendMessageBatch", PartialFailure(match=lambda e: e["Id"] in ("m1", "m2")))
        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(s["Id"] for s in response["Successful"]) == ["m0", "m3"]
    assert [(f["Id"], f["SenderFault"], f["Code"]) for f in response["Failed"]] == [
        ("m1", False, "InternalFailure"), ("m2", False, "InternalFailure")
    ]
    assert all(f["Message"] for f in response["Failed"])
    bodies = []
    for _ in range(3):
        bodies += [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
    assert sorted(bodies) == ["body0", "body3"]


def test_dynamodb_batch_write_item_unprocessed_items(aws):
    """DynamoDB API reference, BatchWriteItem
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html):
    requests that were not processed come back in UnprocessedItems, in the request's form,
    keyed by table; the processed ones are written."""
    ddb = client("dynamodb")
    make_table(ddb)
    make_table(ddb, "audit")
    items = {
        "orders": [{"PutRequest": {"Item": {"pk": {"S": f"o{i}"}}}} for i in range(3)],
        "audit": [{"PutRequest": {"Item": {"pk": {"S": f"a{i}"}}}} for i in range(2)],
    }
    with FaultInjector() as faults:
        faults.add("dynamodb", "BatchWriteItem", PartialFailure(indices=[1, 3, 4]))
        response = ddb.batch_write_item(RequestItems=items)
    assert response["UnprocessedItems"] == {
        "orders": [{"PutRequest": {"Item": {"pk": {"S": "o1"}}}}],
        "audit": [{"PutRequest": {"Item": {"pk": {"S": "a0"}}}}, {"PutRequest": {"Item": {"pk": {"S": "a1"}}}}],
    }
    assert sorted(i["pk"]["S"] for i in ddb.scan(TableName="orders")["Items"]) == ["o0", "o2"]
    assert ddb.scan(TableName="audit")["Count"] == 0
    assert faults.failed_entries()[0].entry == {"TableName": "orders", "PutRequest": {"Item": {"pk": {"S": "o1"}}}}


def test_batch_writer_resends_unprocessed_items_intact(aws):
    """DynamoDB API reference, BatchWriteItem
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html):
    "retry the batch operation on the unprocessed items". boto3's Table.batch_writer does this;
    the injected UnprocessedItems pass through boto3's type deserializer like real ones, so
    the resent items (numbers, binary, lists) are stored unchanged."""
    table = SESSION.resource("dynamodb").Table("orders")
    make_table(table.meta.client)
    rows = [{"pk": f"o{i}", "qty": i, "blob": b"\x00\x01", "tags": ["a", "b"]} for i in range(5)]
    with FaultInjector(seed=5) as faults:
        faults.add("dynamodb", "BatchWriteItem", PartialFailure(indices=[0, 2]), on_calls=[1])
        with table.batch_writer() as writer:
            for row in rows:
                writer.put_item(Item=row)
    assert faults.calls("dynamodb", "BatchWriteItem") == 2
    stored = sorted(table.scan()["Items"], key=lambda i: i["pk"])
    assert [(i["pk"], int(i["qty"]), i["blob"].value, i["tags"]) for i in stored] == [
        (r["pk"], r["qty"], r["blob"], r["tags"]) for r in rows
    ]


# ------------------------------------------------------------- selection, counting, scope


def test_nth_call_selection_and_predicate(aws):
    """DynamoDB "Error handling with DynamoDB"
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html):
    each API call fails or succeeds independently; here the 2nd and 4th PutItem calls, and
    any call for key "x", are throttled."""
    ddb = client("dynamodb", max_attempts=0)
    make_table(ddb)
    with FaultInjector() as faults:
        faults.add("dynamodb", "PutItem", Throttle(), on_calls=[2, 4], label="nth")
        faults.add("dynamodb", "PutItem", Throttle(), when=lambda p: p["Item"]["pk"]["S"] == "x", label="key")
        outcomes = []
        for key in ["a", "b", "c", "d", "x", "e"]:
            try:
                ddb.put_item(TableName="orders", Item={"pk": {"S": key}})
                outcomes.append("ok")
            except ddb.exceptions.ProvisionedThroughputExceededException:
                outcomes.append("throttled")
    assert outcomes == ["ok", "throttled", "ok", "throttled", "throttled", "ok"]
    assert [(r.call, r.label) for r in faults.injected] == [(2, "nth"), (4, "nth"), (5, "key")]
    assert sorted(i["pk"]["S"] for i in ddb.scan(TableName="orders")["Items"]) == ["a", "c", "e"]


def test_rate_and_times(aws):
    """AWS SDKs and Tools reference guide, "Retry behavior"
    (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html): transient
    errors come and go; ``rate`` throttles a seeded share of calls, ``times`` caps them."""
    sqs = client("sqs", max_attempts=0)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with FaultInjector(seed=11) as faults:
        rule = faults.add("sqs", "SendMessage", Throttle(), rate=0.5, times=3)
        failures = 0
        for i in range(20):
            try:
                sqs.send_message(QueueUrl=url, MessageBody=str(i))
            except sqs.exceptions.RequestThrottled:
                failures += 1
    assert failures == rule.hits == 3
    assert faults.calls("sqs", "SendMessage") == 20


def test_calls_are_counted_without_faults_and_only_while_active(aws):
    """EventBridge quotas and PutEvents
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html): a PutEvents
    call carries up to 10 entries, so lessons count calls. Counting needs no rule."""
    events, _, _ = bus_to_queue()
    events.put_events(Entries=order_entries(1))  # before activation: not counted
    faults = FaultInjector()
    with faults:
        for batch in range(3):
            events.put_events(Entries=order_entries(10))
    events.put_events(Entries=order_entries(1))  # after: not counted
    assert faults.calls("events", "PutEvents") == 3
    assert faults.calls("events", "put_events") == 3
    assert faults.calls("events") == 3 and faults.calls() == 3
    assert faults.call_counts == {("events", "PutEvents"): 3}
    assert faults.injected == []


def test_clients_created_before_and_after_activation_are_covered(aws):
    """Lambda developer guide, "Define Lambda function handler in Python"
    (https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html): handlers create their
    SDK clients themselves (often at module level, before any test code runs). Every client
    created after ``import lambdasim.faults`` is covered, whenever the injector starts;
    an older client is covered once passed to ``patch_client``."""
    before = client("sqs", max_attempts=0)
    resource_before = SESSION.resource("sqs")
    uncovered = client("sqs", max_attempts=0)
    for event, handler, _ in faults_module._HANDLERS:  # simulate a client older than the import
        uncovered.meta.events.unregister(event, handler)
    url = before.create_queue(QueueName="q")["QueueUrl"]

    def handler_code():  # what a Lambda handler does
        return boto3.client("sqs", region_name=REGION, config=Config(retries={"max_attempts": 0}))

    with FaultInjector() as faults:
        faults.add("sqs", "SendMessage", Throttle())
        after = client("sqs", max_attempts=0)
        for c in (before, after, handler_code(), resource_before.meta.client):
            with pytest.raises(ClientError):
                c.send_message(QueueUrl=url, MessageBody="x")
        uncovered.send_message(QueueUrl=url, MessageBody="reached moto")
        FaultInjector.patch_client(uncovered)
        FaultInjector.patch_client(before)  # patching twice is harmless
        with pytest.raises(ClientError):
            uncovered.send_message(QueueUrl=url, MessageBody="x")
        with pytest.raises(ClientError) as twice:
            before.send_message(QueueUrl=url, MessageBody="x")
    assert twice.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert faults.calls("sqs", "SendMessage") == 6  # the unpatched call was not seen
    # The resource's client has botocore's default retry config (standard mode, 3 attempts).
    assert resource_before.meta.client.meta.config.retries["mode"] == "standard"
    assert [r.attempt for r in faults.injected] == [1, 1, 1, 1, 2, 3, 1, 1]


def test_faulted_attempt_never_reaches_other_before_send_handlers(aws):
    """Botocore event reference ("before-send": a handler may return the HTTP response in
    place of sending; https://boto3.amazonaws.com/v1/documentation/api/latest/guide/events.html):
    the injector answers first and points the attempt at FAULTED_HOST, so moto and any
    simulator hook see (and may ignore) a request for which ``was_faulted`` is true."""
    sqs = client("sqs", max_attempts=1)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    seen = []
    sqs.meta.events.register("before-send.sqs.SendMessage", lambda request, **_: seen.append(was_faulted(request)))
    with FaultInjector() as faults:
        faults.add("sqs", "SendMessage", ServerError(), attempts=1)
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert seen == [True, False]


def test_invalid_rules_are_rejected():
    """EventBridge, Kinesis, SQS and DynamoDB API references: only batch APIs report per-entry
    failures, and only DynamoDB writes have conditions."""
    faults = FaultInjector()
    with pytest.raises(ValueError, match="PartialFailure supports"):
        faults.add("sqs", "SendMessage", PartialFailure())
    with pytest.raises(ValueError, match="ConditionalCheckFailed"):
        faults.add("sqs", "SendMessage", ConditionalCheckFailed())
    with pytest.raises(ValueError, match="no operation"):
        faults.add("events", "PutEvent", Throttle())
    with pytest.raises(ValueError, match="unknown AWS service"):
        faults.add("eventbridge", "PutEvents", Throttle())
    with pytest.raises(ValueError):
        faults.add("events", "PutEvents", Throttle(), rate=1.5)
    with pytest.raises(ValueError):
        ServerError(404)
    assert faults.add("events", "put_events", AWSError("AccessDeniedException")).operation == "PutEvents"


def test_generic_aws_error_uses_the_model(aws):
    """EventBridge API reference, Common Errors
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html):
    AccessDeniedException, HTTP 400, not retried."""
    events = client("events")
    with FaultInjector() as faults:
        faults.add("events", "PutEvents", AWSError("AccessDeniedException", message="no"))
        with pytest.raises(ClientError) as excinfo:
            events.put_events(Entries=order_entries(1))
    assert error_of(excinfo) == ("AccessDeniedException", 400, 0)
    assert excinfo.value.response["Error"]["Message"] == "no"


def test_calls_nested_inside_another_call_are_handled_separately(aws):
    """Lambda developer guide, "Understanding the Lambda execution environment lifecycle"
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): the handler
    runs during the Invoke call and makes its own SDK calls. A simulator that runs the handler
    inside the Invoke call (here: a before-send hook) gets faults and counts for those nested
    calls, and the outer Invoke is unaffected."""
    lam, sqs = client("lambda"), client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]

    def run_handler(request, **_):  # stands in for the simulator's Invoke interception
        if was_faulted(request):
            return None
        inner = client("sqs")
        inner.send_message(QueueUrl=url, MessageBody="from handler")
        return botocore.awsrequest.AWSResponse(
            request.url, 200, {"Content-Type": "application/json"}, faults_module._RawBody(b'{"ok": true}')
        )

    lam.meta.events.register("before-send.lambda.Invoke", run_handler)
    with FaultInjector(clock=lambda: 12.5) as faults:
        faults.add("sqs", "SendMessage", Throttle(), attempts=1)
        response = lam.invoke(FunctionName="ingest", Payload=b"{}")
    assert json.loads(response["Payload"].read()) == {"ok": True}
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert faults.call_counts == {("lambda", "Invoke"): 1, ("sqs", "SendMessage"): 1}
    assert faults.attempts("sqs", "SendMessage") == 2
    assert [(r.service, r.operation, r.attempt, r.time) for r in faults.injected] == [
        ("sqs", "SendMessage", 1, 12.5)
    ]
    messages = sqs.receive_message(QueueUrl=url).get("Messages", [])
    assert [m["Body"] for m in messages] == ["from handler"]
