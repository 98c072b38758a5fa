"""Asynchronous invocation: retries, event age, destinations, the dead-letter queue, throttles.

Each test names the AWS page it follows. The numbers and shapes live in
lambdasim/rules/async_invoke.py, next to their sources and the modelling choices.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.errors import Throttled
from lambdasim.rules import async_invoke as ai

FIXTURES = Path(__file__).parent / "fixtures"
ACCOUNT = "123456789012"
S = 1_000_000  # microseconds per second


# -- helpers ---------------------------------------------------------------------------------------


def queue(name: str, **attributes: str) -> tuple[str, str]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def messages(url: str, **kwargs) -> list[dict]:
    got = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs)
    return got.get("Messages", [])


def bodies(url: str) -> list[dict]:
    return [json.loads(m["Body"]) for m in messages(url)]


def fire(name: str, payload: dict) -> None:
    assert boto3.client("lambda").invoke(FunctionName=name, InvocationType="Event",
                                         Payload=json.dumps(payload))["StatusCode"] == 202


def on(name: str, *, success: str | None = None, failure: str | None = None, **settings) -> None:
    destinations = {}
    if success:
        destinations["OnSuccess"] = {"Destination": success}
    if failure:
        destinations["OnFailure"] = {"Destination": failure}
    boto3.client("lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig=destinations, **settings)


def end_us(record) -> int:
    return record.start_us + record.total_us


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


# -- function errors -------------------------------------------------------------------------------


def test_function_error_is_retried_twice_after_60_and_120_s_then_goes_to_on_failure(sim, basic):
    """invocation-async-error-handling.html: a function error is retried twice, one minute and
    then two minutes after the failed attempt (modelled as exactly 60 s and 120 s after it
    ended); invocation-async-retain-records.html: the record then goes to the on-failure
    destination with condition RetriesExhausted and approximateInvokeCount 3, in AWS's shape."""
    basic("boom", "boom")
    url, arn = queue("failures")
    on("boom", failure=arn)
    fire("boom", {"n": 1})
    sim.run_until_idle()

    first, second, third = sim.invocations
    assert second.start_us - end_us(first) == 60 * S
    assert third.start_us - end_us(second) == 120 * S
    assert {r.request_id for r in sim.invocations} == {first.request_id}  # retries keep the id
    (event,) = sim.async_queue.completed
    assert (event.condition, event.settled_us, event.dropped) == ("RetriesExhausted", end_us(third), True)

    (record,) = bodies(url)
    assert list(record) == ["version", "timestamp", "requestContext", "requestPayload", "responseContext",
                            "responsePayload"]
    assert record == {
        "version": "1.0",
        "timestamp": ai.timestamp(third.end),
        "requestContext": {"requestId": first.request_id, "functionArn": fn_arn("boom") + ":$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"n": 1},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": third.result(),
    }
    assert record["responsePayload"]["errorMessage"] == "boom: 1"


def test_maximum_retry_attempts_0_sends_the_first_failure(sim, basic):
    """invocation-async-configuring.html / API_PutFunctionEventInvokeConfig.html:
    MaximumRetryAttempts 0 means no retry; the record goes out when the only attempt ends."""
    basic("boom", "boom")
    url, arn = queue("failures")
    on("boom", failure=arn, MaximumRetryAttempts=0)
    fire("boom", {"n": 2})
    sim.run_until_idle()
    (only,) = sim.invocations
    (record,) = bodies(url)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["timestamp"] == ai.timestamp(only.end)


def test_timeout_is_a_function_error_and_is_retried(sim, basic):
    """invocation-async-error-handling.html: function errors include errors of the runtime,
    such as timeouts."""
    basic("sleepy", "sleepy", Timeout=1)
    url, arn = queue("failures")
    on("sleepy", failure=arn, MaximumRetryAttempts=1)
    fire("sleepy", {"sleep": 5})
    sim.run_until_idle()
    assert [r.error_type for r in sim.invocations] == ["Sandbox.Timedout"] * 2
    (record,) = bodies(url)
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"


def test_event_older_than_maximum_event_age_is_discarded(sim, basic):
    """invocation-async-error-handling.html / invocation-async-configuring.html: an event that
    expires is discarded (to the on-failure destination with EventAgeExceeded). With a 60 s
    maximum age, the retry due 60 s after the failed attempt finds the event too old."""
    basic("boom", "boom")
    url, arn = queue("failures")
    on("boom", failure=arn, MaximumEventAgeInSeconds=60)
    fire("boom", {"n": 3})
    sim.run_until_idle()
    (only,) = sim.invocations
    (event,) = sim.async_queue.completed
    assert event.condition == "EventAgeExceeded" and event.settled_us == end_us(only) + 60 * S
    (record,) = bodies(url)
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"]["functionError"] == "Unhandled"


# -- success and the shape each destination receives ---------------------------------------------


def test_success_sends_the_record_to_the_on_success_destination(sim, basic):
    """invocation-async-retain-records.html: on success the record (condition Success) goes to
    the on-success destination; responseContext has no functionError; responsePayload is what
    the function returned. Nothing goes to the on-failure destination."""
    basic("echo", "echo")
    ok_url, ok_arn = queue("ok")
    bad_url, bad_arn = queue("bad")
    on("echo", success=ok_arn, failure=bad_arn)
    fire("echo", {"order": 7})
    sim.run_until_idle()
    (run,) = sim.invocations
    (record,) = bodies(ok_url)
    assert record == {
        "version": "1.0",
        "timestamp": ai.timestamp(run.end),
        "requestContext": {"requestId": run.request_id, "functionArn": fn_arn("echo") + ":$LATEST",
                           "condition": "Success", "approximateInvokeCount": 1},
        "requestPayload": {"order": 7},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": {"order": 7},
    }
    assert bodies(bad_url) == []
    assert sim.async_queue.completed[0].deliveries[0].kind == "on-success"


def test_sns_destination_gets_the_record_as_the_message(sim, basic):
    """invocation-async-retain-records.html: SNS receives the invocation record as the Message."""
    basic("echo", "echo")
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="results")["TopicArn"]
    url, arn = queue("subscriber")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    on("echo", success=topic)
    fire("echo", {"x": 1})
    sim.run_until_idle()
    (envelope,) = bodies(url)
    assert envelope["TopicArn"] == topic
    record = json.loads(envelope["Message"])
    assert record["requestContext"]["condition"] == "Success" and record["responsePayload"] == {"x": 1}


def test_eventbridge_destination_gets_the_record_as_the_detail(sim, basic):
    """invocation-async-retain-records.html: EventBridge receives the record as the `detail` of
    a PutEvents entry, detail-type "Lambda Function Invocation Result - Success/Failure",
    resources [bus ARN, function ARN]; source `lambda` (see rules.async_invoke on `aws.lambda`)."""
    basic("echo", "echo")
    basic("boom", "boom")
    events = boto3.client("events")
    bus = events.create_event_bus(Name="results")["EventBusArn"]
    url, arn = queue("matched")
    events.put_rule(Name="all", EventBusName="results",
                    EventPattern=json.dumps({"source": ["lambda"],
                                             "detail-type": [{"prefix": "Lambda Function Invocation Result"}]}))
    events.put_targets(Rule="all", EventBusName="results", Targets=[{"Id": "q", "Arn": arn}])
    on("echo", success=bus)
    on("boom", failure=bus, MaximumRetryAttempts=0)
    fire("echo", {"x": 1})
    fire("boom", {"n": 4})
    sim.run_until_idle()
    got = {e["detail-type"]: e for e in bodies(url)}
    success = got["Lambda Function Invocation Result - Success"]
    failure = got["Lambda Function Invocation Result - Failure"]
    assert success["source"] == "lambda"
    assert success["resources"] == [bus, fn_arn("echo") + ":$LATEST"]
    assert success["detail"]["requestContext"]["condition"] == "Success"
    assert success["detail"]["responsePayload"] == {"x": 1}
    assert failure["detail"]["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["resources"] == [bus, fn_arn("boom") + ":$LATEST"]


def test_lambda_destination_is_invoked_asynchronously_with_the_record(sim, basic):
    """invocation-async-retain-records.html: a Lambda destination is invoked (asynchronously)
    with the invocation record as its payload."""
    basic("boom", "boom")
    basic("collector", "echo")
    on("boom", failure=fn_arn("collector"), MaximumRetryAttempts=0)
    fire("boom", {"n": 5})
    sim.run_until_idle()
    failed, collected = sim.invocations
    assert (collected.function_name, collected.invocation_type, collected.source) == ("collector", "Event",
                                                                                      "destination")
    record = collected.result()
    assert record["requestContext"]["requestId"] == failed.request_id
    assert record["requestPayload"] == {"n": 5} and record["responsePayload"]["errorType"] == "ValueError"


def test_s3_on_failure_destination_stores_the_record_under_aws_lambda_async(sim, basic):
    """invocation-async-retain-records.html: an S3 bucket (on failure only) stores the record as
    a JSON object named aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<UUID>;
    API_OnSuccess.html: S3 is refused as an on-success destination."""
    basic("boom", "boom")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="failed-events")
    on("boom", failure="arn:aws:s3:::failed-events", MaximumRetryAttempts=0)
    fire("boom", {"n": 6})
    sim.run_until_idle()
    (obj,) = s3.list_objects_v2(Bucket="failed-events")["Contents"]
    assert obj["Key"].startswith("aws/lambda/async/boom/2026/01/01/2026-01-01T00.00.00-")
    assert len(obj["Key"].rsplit("-", 5)[-5:]) == 5  # ...-<uuid>
    record = json.loads(s3.get_object(Bucket="failed-events", Key=obj["Key"])["Body"].read())
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    with pytest.raises(ClientError, match="InvalidParameterValue"):
        on("boom", success="arn:aws:s3:::failed-events")


def test_failed_delivery_is_counted_not_raised(sim, basic):
    """invocation-async-retain-records.html: when Lambda cannot deliver a record it emits
    DestinationDeliveryFailures (here: the queue does not exist); a DLQ it cannot write to,
    DeadLetterErrors. The simulation goes on."""
    basic("boom", "boom", DeadLetterConfig={"TargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:no-dlq"})
    on("boom", failure=f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing", MaximumRetryAttempts=0)
    fire("boom", {"n": 7})
    sim.run_until_idle()
    (event,) = sim.async_queue.completed
    assert event.failed_deliveries("on-failure") == 1 and event.failed_deliveries("dead-letter") == 1
    assert all(not d.ok and "QueueDoesNotExist" in (d.error or "") for d in event.deliveries)


# -- the dead-letter queue -----------------------------------------------------------------------


def test_dead_letter_config_is_kept_and_returned(sim, basic, lam):
    """API_CreateFunction.html / API_UpdateFunctionConfiguration.html: DeadLetterConfig is
    stored and returned by GetFunctionConfiguration (moto 5.2.5 drops it); an empty TargetArn
    removes it."""
    dlq = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
    created = basic("boom", "boom", DeadLetterConfig={"TargetArn": dlq})
    assert created["DeadLetterConfig"] == {"TargetArn": dlq}
    assert lam.get_function_configuration(FunctionName="boom")["DeadLetterConfig"] == {"TargetArn": dlq}
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:dlq"
    lam.update_function_configuration(FunctionName="boom", DeadLetterConfig={"TargetArn": topic})
    assert lam.get_function(FunctionName="boom")["Configuration"]["DeadLetterConfig"] == {"TargetArn": topic}
    lam.update_function_configuration(FunctionName="boom", DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in lam.get_function_configuration(FunctionName="boom")


def test_dlq_gets_the_event_with_its_attributes_and_the_destination_gets_the_record(sim, basic):
    """invocation-async-retain-records.html (Adding a dead-letter queue): the DLQ receives the
    event as-is with RequestID (String), ErrorCode (Number, the HTTP status code) and
    ErrorMessage (String, first 1 KB); API_PutFunctionEventInvokeConfig.html: destinations can
    be configured "in addition to" a DLQ, so both receive."""
    dlq_url, dlq_arn = queue("dlq")
    dest_url, dest_arn = queue("dest")
    basic("boom", "boom", DeadLetterConfig={"TargetArn": dlq_arn})
    on("boom", failure=dest_arn, MaximumRetryAttempts=1)
    fire("boom", {"n": 8})
    sim.run_until_idle()
    (message,) = messages(dlq_url, MessageAttributeNames=["All"])
    assert json.loads(message["Body"]) == {"n": 8}
    assert message["MessageAttributes"] == {
        "RequestID": {"DataType": "String", "StringValue": sim.invocations[0].request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": "boom: 8"},
    }
    (record,) = bodies(dest_url)
    assert record["requestContext"]["approximateInvokeCount"] == 2


def test_sns_dlq_and_the_1_kb_error_message(sim, basic):
    """invocation-async-retain-records.html: an SNS topic can be the DLQ; ErrorMessage is the
    first 1 KB of the error message."""
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="dlq")["TopicArn"]
    url, arn = queue("dlq-copy")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    basic("boom", "boom", DeadLetterConfig={"TargetArn": topic})
    on("boom", MaximumRetryAttempts=0)
    fire("boom", {"n": "x" * 3000})
    sim.run_until_idle()
    (envelope,) = bodies(url)
    assert json.loads(envelope["Message"]) == {"n": "x" * 3000}
    attributes = envelope["MessageAttributes"]
    assert attributes["ErrorCode"] == {"Type": "Number", "Value": "200"}
    assert attributes["ErrorMessage"]["Value"] == ("boom: " + "x" * 3000)[:1024]


# -- the event invoke config: per qualifier, put replaces, update merges ------------------------


def test_event_invoke_config_api_per_qualifier(sim, basic, lam):
    """API_PutFunctionEventInvokeConfig.html / API_UpdateFunctionEventInvokeConfig.html: a
    config per function ($LATEST), version or alias; put replaces ("If you exclude any
    settings, they are removed"), update changes only what it names; FunctionArn is qualified.
    moto 5.2.5 ignored the qualifier and kept the first config for ever."""
    basic("f", "echo")
    lam.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1, MaximumEventAgeInSeconds=600)
    lam.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=0)
    got = lam.get_function_event_invoke_config(FunctionName="f")
    assert (got["FunctionArn"], got["MaximumRetryAttempts"], "MaximumEventAgeInSeconds" in got) == (
        fn_arn("f") + ":$LATEST", 0, False)
    lam.update_function_event_invoke_config(FunctionName="f", MaximumEventAgeInSeconds=120)
    got = lam.get_function_event_invoke_config(FunctionName="f", Qualifier="$LATEST")
    assert (got["MaximumRetryAttempts"], got["MaximumEventAgeInSeconds"]) == (0, 120)

    lam.publish_version(FunctionName="f")
    lam.create_alias(FunctionName="f", Name="prod", FunctionVersion="1")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.get_function_event_invoke_config(FunctionName="f", Qualifier="prod")
    lam.put_function_event_invoke_config(FunctionName="f", Qualifier="prod", MaximumRetryAttempts=2)
    listed = lam.list_function_event_invoke_configs(FunctionName="f")["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed] == ["$LATEST", "prod"]
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.put_function_event_invoke_config(FunctionName="f", Qualifier="nope", MaximumRetryAttempts=1)
    lam.delete_function_event_invoke_config(FunctionName="f")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.get_function_event_invoke_config(FunctionName="f")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.update_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1)


def test_the_config_of_the_invoked_qualifier_applies(sim, basic, lam):
    """invocation-async-configuring.html: error handling is configured on a function, a
    version or an alias; an event invoked through the alias follows the alias's config, and
    its record names the alias and the version that ran."""
    basic("boom", "boom")
    lam.publish_version(FunctionName="boom")
    lam.create_alias(FunctionName="boom", Name="prod", FunctionVersion="1")
    url, arn = queue("failures")
    on("boom", failure=arn)  # $LATEST: the default 2 retries
    lam.put_function_event_invoke_config(FunctionName="boom", Qualifier="prod", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": arn}})
    fire("boom:prod", {"n": "alias"})
    fire("boom", {"n": "latest"})
    sim.run_until_idle()
    records = {r["requestPayload"]["n"]: r for r in bodies(url)}
    assert records["alias"]["requestContext"]["functionArn"] == fn_arn("boom") + ":prod"
    assert records["alias"]["requestContext"]["approximateInvokeCount"] == 1
    assert records["alias"]["responseContext"]["executedVersion"] == "1"
    assert records["latest"]["requestContext"]["approximateInvokeCount"] == 3


# -- throttles -------------------------------------------------------------------------------------


def throttle_first(sim, monkeypatch, n: int, reason: str = "ConcurrentInvocationLimitExceeded") -> list[int]:
    """Make the first `n` tries of the async queue throttle (as LambdaService.execute does
    when no concurrency is left); returns the times of every try."""
    async_queue = sim.async_queue
    execute = async_queue._execute
    tries: list[int] = []

    def throttling(request):
        tries.append(sim._clock.micros)
        if len(tries) <= n:
            raise Throttled(request.config.name, reason, "Rate Exceeded.")
        return execute(request)

    monkeypatch.setattr(async_queue, "_execute", throttling)
    return tries


def test_throttled_event_is_retried_with_backoff_and_succeeds(sim, basic, monkeypatch):
    """invocation-async-error-handling.html: a throttled event returns to the queue and is
    retried with an interval growing exponentially from 1 s (modelled: 1, 2, 4 ... 300 s); it
    runs once concurrency frees up. The record counts every try."""
    basic("echo", "echo")
    url, arn = queue("ok")
    on("echo", success=arn)
    tries = throttle_first(sim, monkeypatch, 4)
    fire("echo", {"x": 1})
    sim.run_until_idle()
    gaps = [(b - a) / S for a, b in zip(tries, tries[1:])]
    assert gaps == [1, 2, 4, 8]
    (event,) = sim.async_queue.completed
    assert event.condition == "Success" and len(event.throttles) == 4 and len(event.attempts) == 1
    assert event.ages_ms == [15_000.0]  # AsyncEventAge: queued to invoked
    (record,) = bodies(url)
    assert record["requestContext"]["approximateInvokeCount"] == 5


def test_event_throttled_by_reserved_concurrency_runs_when_it_frees_up(sim, basic, lam):
    """invocation-async-error-handling.html, with the simulator's concurrency model: with
    reserved concurrency 1, a second event arriving while the first runs is throttled, backs
    off (1 s, 2 s, ...) and runs once the first has finished."""
    basic("sleepy", "sleepy", Timeout=10)
    lam.put_function_concurrency(FunctionName="sleepy", ReservedConcurrentExecutions=1)
    fire("sleepy", {"sleep": 2})
    fire("sleepy", {"sleep": 2})
    sim.run_until_idle()
    first, second = sim.async_queue.completed
    assert first.throttles == [] and second.throttles
    tries = [t.at_us for t in second.throttles] + [second.attempts[0].start_us]
    assert [(b - a) / S for a, b in zip(tries, tries[1:])] == [1, 2, 4, 8][:len(tries) - 1]
    assert second.attempts[0].start_us >= end_us(first.attempts[0])
    assert (first.condition, second.condition) == ("Success", "Success")


def test_throttles_do_not_use_up_function_error_retries(sim, basic, monkeypatch):
    """invocation-async-error-handling.html: function errors get 2 retries; throttles are a
    separate path (returned to the queue), so an event throttled first still runs 3 times."""
    basic("boom", "boom")
    throttle_first(sim, monkeypatch, 3)
    fire("boom", {"n": 9})
    sim.run_until_idle()
    assert len(sim.invocations) == 3
    assert sim.async_queue.completed[0].condition == "RetriesExhausted"


def test_throttle_backoff_is_capped_at_5_minutes_and_ends_at_the_maximum_age(sim, basic, monkeypatch):
    """invocation-async-error-handling.html: the throttle retry interval grows to at most
    5 minutes, for up to the maximum event age (6 h by default); then the event is discarded
    (EventAgeExceeded) to the DLQ with ErrorCode 429."""
    dlq_url, dlq_arn = queue("dlq")
    basic("echo", "echo", DeadLetterConfig={"TargetArn": dlq_arn})
    url, arn = queue("failures")
    on("echo", failure=arn, MaximumEventAgeInSeconds=3600)
    tries = throttle_first(sim, monkeypatch, 10**6)
    fire("echo", {"x": 1})
    sim.run_until_idle(max_seconds=7200)
    gaps = [(b - a) / S for a, b in zip(tries, tries[1:])]
    assert gaps[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300] and set(gaps[10:]) == {300}
    assert sim.invocations == []
    (event,) = sim.async_queue.completed
    assert event.condition == "EventAgeExceeded"
    assert tries[-1] - tries[0] <= 3600 * S < event.settled_us - tries[0]
    (record,) = bodies(url)
    assert record["requestContext"]["approximateInvokeCount"] == len(tries)
    assert record["responseContext"] == {"statusCode": 429}
    (dead,) = messages(dlq_url, MessageAttributeNames=["All"])
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "429"


def test_reserved_concurrency_zero_sends_events_to_on_failure_without_retries(sim, basic, lam):
    """invocation-async-retain-records.html: with reserved concurrency 0, Lambda sends new
    events to the DLQ or on-failure destination without any retries."""
    dlq_url, dlq_arn = queue("dlq")
    basic("echo", "echo", DeadLetterConfig={"TargetArn": dlq_arn})
    url, arn = queue("failures")
    on("echo", failure=arn)
    lam.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=0)
    fire("echo", {"x": 1})
    sim.run_until_idle()
    assert sim.invocations == []
    (event,) = sim.async_queue.completed
    assert [t.reason for t in event.throttles] == ["ReservedFunctionConcurrentInvocationLimitExceeded"]
    assert event.settled_us == event.enqueued_us  # at once, no backoff
    (record,) = bodies(url)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert [json.loads(m["Body"]) for m in messages(dlq_url)] == [{"x": 1}]


# -- CloudFormation / SAM --------------------------------------------------------------------------

SAM_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Failures:
    Type: AWS::SQS::Queue
  Dead:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Handler: app.handler
      Runtime: python3.12
      DeadLetterQueue:
        Type: SQS
        TargetArn: !GetAtt Dead.Arn
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt Failures.Arn
Outputs:
  FailuresUrl:
    Value: !Ref Failures
  DeadUrl:
    Value: !Ref Dead
"""


def test_sam_event_invoke_config_and_dead_letter_queue_deploy_and_work(sim, tmp_path):
    """sam-resource-function.html (EventInvokeConfig, DeadLetterQueue) →
    AWS::Lambda::EventInvokeConfig (moto's CloudFormation lacks it) and the function's
    DeadLetterConfig (moto's CloudFormation dropped it): both deploy and both receive."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text("def handler(event, context):\n    raise RuntimeError('no')\n")
    (tmp_path / "template.yaml").write_text(SAM_TEMPLATE)
    stack = sim.deploy(tmp_path / "template.yaml", stack_name="s", validate=False)
    name = stack.function_names["Fn"]
    lam = boto3.client("lambda")
    assert lam.get_function_event_invoke_config(FunctionName=name, Qualifier="$LATEST")["MaximumRetryAttempts"] == 0
    assert lam.get_function_configuration(FunctionName=name)["DeadLetterConfig"]["TargetArn"].endswith(":" + (
        stack.outputs["DeadUrl"].rsplit("/", 1)[1]))
    fire(name, {"n": 1})
    sim.run_until_idle()
    assert len(sim.invocations) == 1
    assert bodies(stack.outputs["FailuresUrl"])[0]["requestContext"]["condition"] == "RetriesExhausted"
    assert bodies(stack.outputs["DeadUrl"]) == [{"n": 1}]
    boto3.client("cloudformation").delete_stack(StackName="s")


# -- determinism -----------------------------------------------------------------------------------


def _jittered_run(seed: int) -> tuple[list[int], list[str], list[str]]:
    with Simulator(seed=seed) as sim:
        sim.async_queue.jitter = True
        sim.create_function(FunctionName="echo", Handler="handlers.echo", code_dir=FIXTURES / "basic")
        boto3.client("s3").create_bucket(Bucket="failed-events")
        on("echo", failure="arn:aws:s3:::failed-events", MaximumEventAgeInSeconds=60)
        sim.async_queue._execute = lambda request: (_ for _ in ()).throw(
            Throttled("echo", "ConcurrentInvocationLimitExceeded", "Rate Exceeded."))
        for i in range(3):
            fire("echo", {"i": i})
        sim.run_until_idle()
        retries = [t.at_us for e in sim.async_queue.completed for t in e.throttles[1:]]
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="failed-events")["Contents"]]
        return retries, keys, [e.request.request_id for e in sim.async_queue.completed]


def test_same_seed_same_async_run_including_jitter():
    """Determinism: with opt-in jitter on the throttle backoff, the same seed gives the same
    retry times, request ids and S3 object names; another seed gives other times."""
    first, again, other = _jittered_run(3), _jittered_run(3), _jittered_run(4)
    assert first == again
    assert first[0] != other[0]
    assert len(set(first[0])) == len(first[0])  # three events throttled together retry apart
    assert len(first[1]) == 3


# -- the pure rules --------------------------------------------------------------------------------


def test_rules_schedule_and_settings():
    """invocation-async-error-handling.html / API_PutFunctionEventInvokeConfig.html, as pure
    functions a capacity model can use without moto."""
    assert [ai.function_error_retry_delay_s(n) for n in (1, 2)] == [60, 120]
    assert [ai.throttle_retry_delay_s(n) for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert ai.AsyncSettings.from_api(None) == ai.AsyncSettings(2, 21_600, None, None, None)
    settings = ai.AsyncSettings.from_api(
        {"MaximumRetryAttempts": 0, "DestinationConfig": {"OnSuccess": {}, "OnFailure": {"Destination": "arn:x"}}},
        {"TargetArn": "arn:dlq"})
    assert settings == ai.AsyncSettings(0, 21_600, None, "arn:x", "arn:dlq")
    assert not ai.retries_left(settings, 1) and ai.retries_left(ai.AsyncSettings(), 2)
    assert ai.event_expired(60.001, 60) and not ai.event_expired(60, 60)
