"""EventBridge targets, S3 notifications and SNS subscriptions to Lambda (lambdasim/eventbridge.py,
rules/eventbridge.py, _moto_patches). Each test's docstring starts with the AWS page whose rule it
pins: eb-*.html of the EventBridge User Guide, notification-content-structure.html of the S3 User
Guide, others of the Lambda Developer Guide.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, S3Model, SnsModel

from lambdasim import Simulator
from lambdasim.rules import eventbridge as eb

FIXTURES = Path(__file__).parent / "fixtures" / "streams"


@pytest.fixture
def sim():
    with Simulator(seed=9) as simulator:
        yield simulator


def _function(sim: Simulator, handler: str = "echo", name: str = "target") -> str:
    return sim.create_function(FunctionName=name, Handler=f"handlers.{handler}", code_dir=FIXTURES)["FunctionArn"]


def _queue(sim: Simulator, name: str) -> tuple[str, str]:
    sqs = sim.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _rule(sim: Simulator, function_arn: str, **target) -> str:
    events = sim.client("events")
    arn = events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["course.orders"]}))["RuleArn"]
    events.put_targets(Rule="orders", Targets=[{"Id": "fn", "Arn": function_arn, **target}])
    return arn


def _put(sim: Simulator, n: int = 1) -> None:
    entries = [{"Source": "course.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"i": i})} for i in range(n)]
    for start in range(0, n, 10):
        assert sim.client("events").put_events(Entries=entries[start:start + 10])["FailedEntryCount"] == 0


def test_eventbridge_event_has_aws_shape_and_passes_powertools_strict_model(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html: version, id, detail-type, source,
    account, time, region, resources, detail; moto leaves out `account`, the simulator fills it, and
    the handler's event parses with Powertools' strict EventBridgeModel."""
    _rule(sim, _function(sim))
    _put(sim)
    assert sim.run_until_idle()
    [record] = sim.invocations
    event = json.loads(record.payload)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert event["account"] == sim.account_id
    assert parse(event=event, model=EventBridgeModel).detail == {"i": 0}
    assert record.invocation_type == "Event" and record.source == "eventbridge"


def test_function_errors_are_lambdas_async_retries_not_the_targets(sim):
    """eb-rule-retry-policy.html, invocation-async-error-handling.html: EventBridge invokes a Lambda
    target asynchronously; once Lambda accepts the event the delivery succeeded, and a function error
    is retried by Lambda (2 retries), not by the target's RetryPolicy."""
    _rule(sim, _function(sim, "poison"), RetryPolicy={"MaximumRetryAttempts": 5})
    sim.client("events").put_events(Entries=[{"Source": "course.orders", "DetailType": "x",
                                              "Detail": json.dumps({"poison": True})}])
    assert sim.run_until_idle()
    [delivery] = sim.eventbridge.deliveries
    assert delivery.state == "delivered" and len(delivery.attempts) == 1
    assert len(sim.invocations) == 3 and delivery.async_events[0].condition == "RetriesExhausted"


def test_scenario_throttled_function_nothing_lost_without_a_trace(sim):
    """eb-rule-retry-policy.html, eb-rule-dlq.html, invocation-async-error-handling.html: a function with
    no concurrency throttles inside Lambda (the Invoke API still accepts the event), so EventBridge
    counts it delivered and Lambda's async queue ends it in the function's DLQ; when Lambda's Invoke
    API itself refuses (429), EventBridge retries with backoff per RetryPolicy and then sends the event to
    the target's dead-letter queue with RULE_ARN, TARGET_ARN, ERROR_CODE (THROTTLING, one of the
    page's codes), ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS."""
    fn_dlq_url, fn_dlq = _queue(sim, "function-dlq")
    target_dlq_url, target_dlq = _queue(sim, "target-dlq")
    lam = sim.client("lambda")
    arn = _function(sim)
    lam.update_function_configuration(FunctionName="target", DeadLetterConfig={"TargetArn": fn_dlq})
    lam.put_function_concurrency(FunctionName="target", ReservedConcurrentExecutions=0)
    rule_arn = _rule(sim, arn, RetryPolicy={"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600},
                     DeadLetterConfig={"Arn": target_dlq})
    _put(sim, 3)  # throttled for lack of concurrency: inside Lambda
    sim.eventbridge.refuse("target")  # the Invoke API refuses: EventBridge sees it
    _put(sim, 2)
    assert sim.run_until_idle()
    deliveries = sim.eventbridge.deliveries
    assert [d.state for d in deliveries] == ["delivered"] * 3 + ["dead-lettered"] * 2
    refused = deliveries[-1]
    gaps = [(b.at_us - a.at_us) / 1e6 for a, b in zip(refused.attempts, refused.attempts[1:])]
    assert len(refused.attempts) == 5 and all(g <= eb.backoff_s(i + 1) for i, g in enumerate(gaps))
    assert all(b >= a / 2 * 0.99 for a, b in zip(gaps, gaps[1:]))  # exponential, jittered
    sqs = sim.client("sqs")
    lost = sqs.receive_message(QueueUrl=target_dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert len(lost) == 2
    attributes = {k: v["StringValue"] for k, v in lost[0]["MessageAttributes"].items()}
    assert attributes == {"RULE_ARN": rule_arn, "TARGET_ARN": arn, "ERROR_CODE": "THROTTLING",
                          "ERROR_MESSAGE": "TooManyRequestsException: Rate Exceeded.",
                          "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "4"}
    assert json.loads(lost[0]["Body"])["source"] == "course.orders"
    in_function_dlq = sqs.receive_message(QueueUrl=fn_dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert len(in_function_dlq) == 3 and sim.invocations == []


def test_retry_policy_defaults_and_event_age(sim):
    """eb-rule-retry-policy.html: by default a target is retried for 24 hours and up to 185 times; with
    MaximumEventAgeInSeconds the event is dropped (or dead-lettered) once older than that; a refusal
    that ends in time is followed by delivery."""
    assert eb.retry_policy({}) == (185, 86_400)
    arn = _function(sim)
    _, dlq = _queue(sim, "target-dlq")
    events = sim.client("events")
    events.put_rule(Name="a", EventPattern=json.dumps({"source": ["a"]}))
    events.put_targets(Rule="a", Targets=[{"Id": "fn", "Arn": arn}])
    events.put_rule(Name="b", EventPattern=json.dumps({"source": ["b"]}))
    events.put_targets(Rule="b", Targets=[{"Id": "fn", "Arn": arn, "DeadLetterConfig": {"Arn": dlq},
                                           "RetryPolicy": {"MaximumEventAgeInSeconds": 120}}])
    sim.eventbridge.refuse("target", status=500, code="ServiceException", message="boom", seconds=1800)
    events.put_events(Entries=[{"Source": s, "DetailType": "x", "Detail": "{}"} for s in ("a", "b")])
    assert sim.run_until_idle(max_seconds=7200)
    by_default, by_age = sim.eventbridge.deliveries
    assert by_default.state == "delivered" and 5 < by_default.retries < 185
    assert by_age.state == "dead-lettered" and by_age.exhausted == "MaximumEventAgeInSeconds"
    assert len(sim.invocations) == 1


def test_missing_function_is_not_retried(sim):
    """eb-rule-retry-policy.html: errors such as a deleted target are not retried: the event goes to
    the dead-letter queue at once, with ERROR_CODE NO_RESOURCE (eb-rule-dlq.html)."""
    arn = _function(sim)
    url, dlq = _queue(sim, "target-dlq")
    _rule(sim, arn, DeadLetterConfig={"Arn": dlq})
    sim.client("lambda").delete_function(FunctionName="target")
    _put(sim)
    [delivery] = sim.eventbridge.deliveries
    assert delivery.state == "dead-lettered" and delivery.retries == 0
    [message] = sim.client("sqs").receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_RESOURCE"
    assert "EXHAUSTED_RETRY_CONDITION" not in message["MessageAttributes"]


def test_seeded_duplicate_deliveries():
    """eb-what-is.html (EventBridge delivers at least once): with `sim.eventbridge.duplicate_rate` an
    accepted event is delivered twice with that probability, the same way for the same seed; the
    default is 0."""
    def run(rate: float) -> list[int]:
        with Simulator(seed=4) as sim:
            _rule(sim, _function(sim))
            sim.eventbridge.duplicate_rate = rate
            _put(sim, 20)
            assert sim.run_until_idle()
            ids = [json.loads(r.payload)["id"] for r in sim.invocations]
            assert len(ids) == 20 + sum(d.duplicates for d in sim.eventbridge.deliveries)
            return [d.duplicates for d in sim.eventbridge.deliveries]

    assert run(0.0) == [0] * 20
    first = run(0.3)
    assert 0 < sum(first) < 20 and run(0.3) == first


def test_s3_notification_runs_handler_with_aws_shaped_event(sim):
    """https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html,
    with-s3.html: S3 invokes the function
    asynchronously with eventVersion, eventSource, awsRegion, eventTime, eventName, userIdentity,
    requestParameters, responseElements and s3 (bucket with ownerIdentity, object with a URL-encoded key
    and sequencer); strict S3Model parses it."""
    arn = _function(sim)
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket="uploads", Key="in/red flower.jpg", Body=b"x")
    assert sim.run_until_idle()
    [record] = sim.invocations
    event = json.loads(record.payload)
    parsed = parse(event=event, model=S3Model)
    assert parsed.Records[0].s3.object.key == "in/red+flower.jpg"
    assert record.invocation_type == "Event" and record.source == "s3"


def test_sns_subscription_runs_handler_with_aws_shaped_event(sim):
    """with-sns.html: SNS invokes a subscribed function asynchronously with the real topic and
    subscription ARNs, message id, subject, message, timestamp and message attributes (moto sends a
    fixed sample); strict SnsModel parses it; the subscription's filter policy applies."""
    arn = _function(sim)
    sns = sim.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn,
                        Attributes={"FilterPolicy": json.dumps({"kind": ["order"]})})["SubscriptionArn"]
    published = sns.publish(TopicArn=topic, Message="hello", Subject="greeting",
                            MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    sns.publish(TopicArn=topic, Message="filtered", MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}})
    assert sim.run_until_idle()
    [record] = sim.invocations
    parsed = parse(event=json.loads(record.payload), model=SnsModel)
    sns_part = parsed.Records[0].Sns
    assert (sns_part.TopicArn, sns_part.MessageId, sns_part.Message, sns_part.Subject) == (
        topic, published["MessageId"], "hello", "greeting")
    assert parsed.Records[0].EventSubscriptionArn == sub
    assert sns_part.MessageAttributes["kind"].Value == "order"
    assert record.invocation_type == "Event" and record.source == "sns"
