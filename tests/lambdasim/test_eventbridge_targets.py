"""Conformance: every EventBridge target type through one delivery path, with the target's retry
policy and dead-letter queue (lambdasim/eventbridge.py, rules/eventbridge.py,
_moto_patches/eventbridge.py).

moto raised NotImplementedError inside PutEvents for Step Functions and Firehose targets, failed
the whole call when a target queue had been deleted, and gave non-Lambda targets no retry policy
and no dead-letter queue.
"""

from __future__ import annotations

import json

import pytest

from lambdasim import Simulator
from lambdasim.rules import eventbridge as eb

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/events"


@pytest.fixture
def sim():
    with Simulator(seed=3) as simulator:
        yield simulator


def _queue(sim: Simulator, name: str, **attributes: str) -> tuple[str, str]:
    sqs = sim.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _rule(sim: Simulator, *targets: dict, name: str = "orders", bus: str = "default") -> str:
    events = sim.client("events")
    arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=list(targets))
    return arn


def _put(sim: Simulator, bus: str = "default") -> None:
    answer = sim.client("events").put_events(Entries=[{"Source": "shop", "DetailType": "OrderPlaced",
                                                       "Detail": json.dumps({"order": "o-1"}), "EventBusName": bus}])
    assert answer["FailedEntryCount"] == 0


def _bodies(sim: Simulator, url: str) -> list[dict]:
    messages = sim.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                 MessageAttributeNames=["All"]).get("Messages", [])
    return [{"body": json.loads(m["Body"]),
             "attributes": {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}}
            for m in messages]


def test_firehose_step_functions_and_api_destination_targets(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html: a Firehose
    stream gets the event as one record (in its S3 bucket once the stream's buffer is flushed), a Step Functions state
    machine is started with the event as its input, and an API destination target is recorded
    (the simulator makes no HTTP request); an SQS queue gets the event with `account`; each is
    one `TargetDelivery` and PutEvents never fails."""
    s3, firehose, sfn, events = (sim.client(s) for s in ("s3", "firehose", "stepfunctions", "events"))
    s3.create_bucket(Bucket="archive")
    stream = firehose.create_delivery_stream(
        DeliveryStreamName="orders", ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::archive"})["DeliveryStreamARN"]
    machine = sfn.create_state_machine(name="fulfil", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
    connection = events.create_connection(Name="crm", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "secret"}})["ConnectionArn"]
    destination = events.create_api_destination(Name="crm", ConnectionArn=connection, HttpMethod="POST",
                                                 InvocationEndpoint="https://crm.example.com/orders")["ApiDestinationArn"]
    url, queue = _queue(sim, "copy")
    _rule(sim, {"Id": "stream", "Arn": stream, "RoleArn": ROLE}, {"Id": "machine", "Arn": machine, "RoleArn": ROLE},
          {"Id": "crm", "Arn": destination, "RoleArn": ROLE}, {"Id": "queue", "Arn": queue})
    _put(sim)
    by_kind = {d.kind: d for d in sim.eventbridge.deliveries}
    assert {k: d.state for k, d in by_kind.items()} == {
        "firehose": "delivered", "states": "delivered", "api-destination": "recorded", "sqs": "delivered"}
    assert "Contents" not in s3.list_objects_v2(Bucket="archive")  # in the stream's buffer
    sim.run_until_idle()  # past the buffering interval (300 s by default)
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket="archive")["Contents"]]
    assert json.loads(s3.get_object(Bucket="archive", Key=key)["Body"].read())["detail"] == {"order": "o-1"}
    (execution,) = sfn.list_executions(stateMachineArn=machine)["executions"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert (started["source"], started["account"]) == ("shop", ACCOUNT)
    assert _bodies(sim, url)[0]["body"]["account"] == ACCOUNT


def test_a_deleted_queue_goes_straight_to_the_dead_letter_queue(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html: a target
    resource that no longer exists is not retried; the event goes to the target's DLQ at once with
    RULE_ARN, TARGET_ARN, ERROR_CODE (NO_RESOURCE) and ERROR_MESSAGE. The rule's metrics
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html) count one
    invocation, failed permanently, sent to the DLQ."""
    dlq_url, dlq = _queue(sim, "target-dlq")
    url, queue = _queue(sim, "orders")
    rule_arn = _rule(sim, {"Id": "queue", "Arn": queue, "DeadLetterConfig": {"Arn": dlq}})
    sim.client("sqs").delete_queue(QueueUrl=url)
    _put(sim)
    (delivery,) = sim.eventbridge.deliveries
    assert (delivery.state, delivery.retries) == ("dead-lettered", 0)
    (lost,) = _bodies(sim, dlq_url)
    assert lost["body"]["detail"] == {"order": "o-1"}
    assert lost["attributes"] == {
        "RULE_ARN": rule_arn, "TARGET_ARN": queue, "ERROR_CODE": "NO_RESOURCE",
        "ERROR_MESSAGE": "AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.",
        "RETRY_ATTEMPTS": "0"}
    assert sim.eventbridge.metrics("orders") == {
        "Invocations": 1, "FailedInvocations": 1, "InvocationAttempts": 1, "DeadLetterInvocations": 0,
        "InvocationsSentToDlq": 1, "InvocationsFailedToBeSentToDlq": 0}


def test_missing_targets_and_permission_or_kms_errors_are_not_retried(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html and
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-event-bus-dlq.html:
    missing permissions, a disabled or missing KMS key, and a target that does not exist (a topic,
    a stream, a state machine) are not retried: straight to the DLQ with NO_PERMISSIONS or
    NO_RESOURCE. Without a DLQ the event is dropped, still a failed invocation."""
    dlq_url, dlq = _queue(sim, "target-dlq")
    topic = sim.client("sns").create_topic(Name="orders")["TopicArn"]
    _rule(sim, {"Id": "kms", "Arn": topic, "DeadLetterConfig": {"Arn": dlq}},
          {"Id": "topic", "Arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:gone", "DeadLetterConfig": {"Arn": dlq}},
          {"Id": "stream", "Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/gone", "DeadLetterConfig": {"Arn": dlq}},
          {"Id": "machine", "Arn": f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:gone", "RoleArn": ROLE})
    sim.eventbridge.refuse(topic, status=400, code="KMS.DisabledException", message="key disabled")
    _put(sim)
    assert [(d.kind, d.state, d.retries) for d in sim.eventbridge.deliveries] == [
        ("sns", "dead-lettered", 0), ("sns", "dead-lettered", 0), ("kinesis", "dead-lettered", 0),
        ("states", "dropped", 0)]
    codes = sorted(m["attributes"]["ERROR_CODE"] for m in _bodies(sim, dlq_url))
    assert codes == ["NO_PERMISSIONS", "NO_RESOURCE", "NO_RESOURCE"]
    assert sim.eventbridge.metrics()["FailedInvocations"] == 4


def test_a_throttled_target_is_retried_with_backoff_then_dead_lettered(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html: a
    throttled target (a Kinesis stream answering ProvisionedThroughputExceededException) is
    retried with exponential backoff and jitter up to MaximumRetryAttempts, then dead-lettered
    with EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS (eb-rule-dlq.html); a refusal that ends in
    time is followed by delivery. Retries are not counted as invocations, only as attempts
    (eb-monitoring.html)."""
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    stream = kinesis.describe_stream(StreamName="orders")["StreamDescription"]["StreamARN"]
    dlq_url, dlq = _queue(sim, "target-dlq")
    _rule(sim, {"Id": "stream", "Arn": stream, "RoleArn": ROLE, "DeadLetterConfig": {"Arn": dlq},
                "RetryPolicy": {"MaximumRetryAttempts": 3}})
    sim.eventbridge.refuse(stream, status=400, code="ProvisionedThroughputExceededException", message="slow down")
    _put(sim)
    assert sim.run_until_idle()
    (refused,) = sim.eventbridge.deliveries
    gaps = [(b.at_us - a.at_us) / 1e6 for a, b in zip(refused.attempts, refused.attempts[1:])]
    assert refused.state == "dead-lettered" and len(gaps) == 3
    assert all(eb.backoff_s(i + 1) / 2 <= gap <= eb.backoff_s(i + 1) for i, gap in enumerate(gaps))
    (lost,) = _bodies(sim, dlq_url)
    assert {k: lost["attributes"][k] for k in ("ERROR_CODE", "EXHAUSTED_RETRY_CONDITION", "RETRY_ATTEMPTS")} == {
        "ERROR_CODE": "THROTTLING", "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "3"}
    sim.eventbridge.refuse(stream, status=503, code="ServiceUnavailable", seconds=5)
    _put(sim)
    assert sim.run_until_idle()
    recovered = sim.eventbridge.deliveries[-1]
    assert recovered.state == "delivered" and recovered.retries >= 1
    assert sim.eventbridge.metrics() == {
        "Invocations": 2, "FailedInvocations": 1, "InvocationAttempts": 4 + len(recovered.attempts),
        "DeadLetterInvocations": 0, "InvocationsSentToDlq": 1, "InvocationsFailedToBeSentToDlq": 0}


def test_another_event_bus_as_target_runs_its_rules_but_never_a_third_bus(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-bus-to-bus.html: a rule can
    send events to another event bus, whose rules then match them; EventBridge can't route an
    event received from a sender bus to a third bus, so that target is not invoked
    (DeadLetterInvocations, eb-monitoring.html), and a bus that does not exist fails the delivery
    (NO_RESOURCE, not retried)."""
    events = sim.client("events")
    orders = events.create_event_bus(Name="orders")["EventBusArn"]
    audit = events.create_event_bus(Name="audit")["EventBusArn"]
    url, queue = _queue(sim, "received")
    _rule(sim, {"Id": "orders", "Arn": orders, "RoleArn": ROLE},
          {"Id": "gone", "Arn": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/gone", "RoleArn": ROLE})
    _rule(sim, {"Id": "queue", "Arn": queue}, {"Id": "audit", "Arn": audit, "RoleArn": ROLE},
          name="on-orders", bus="orders")
    _put(sim)
    (received,) = _bodies(sim, url)
    assert (received["body"]["source"], received["body"]["detail"]) == ("shop", {"order": "o-1"})
    states = {(d.rule_arn.rsplit("/", 1)[-1], d.target["Id"]): d.state for d in sim.eventbridge.deliveries}
    assert states == {("orders", "orders"): "delivered", ("orders", "gone"): "dropped",
                      ("on-orders", "queue"): "delivered", ("on-orders", "audit"): "not-routed"}
    assert sim.eventbridge.metrics("on-orders")["DeadLetterInvocations"] == 1


def test_target_failures_count_as_aws_documents_them():
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html and
    eb-rule-dlq.html: a missing resource (404-like codes of any service), missing permissions
    and KMS key problems are not retried; throttles and 5xx are; each maps to the DLQ's
    ERROR_CODE."""
    cases = {("AWS.SimpleQueueService.NonExistentQueue", 400): (404, False, "NO_RESOURCE"),
             ("StateMachineDoesNotExist", 400): (404, False, "NO_RESOURCE"),
             ("AccessDeniedException", 400): (403, False, "NO_PERMISSIONS"),
             ("KMSAccessDeniedException", 400): (403, False, "NO_PERMISSIONS"),
             ("ProvisionedThroughputExceededException", 400): (429, True, "THROTTLING"),
             ("ServiceUnavailable", 503): (503, True, "ERROR_FROM_TARGET"),
             ("InvalidParameterValue", 400): (400, False, "ERROR_FROM_TARGET")}
    for (code, status), (counted, retried, error_code) in cases.items():
        as_status = eb.failure_status(code, status)
        assert (as_status, eb.retriable(as_status), eb.dead_letter_error_code(as_status)) == (
            counted, retried, error_code), code


def test_an_input_transformer_fills_its_variables_and_the_predefined_ones(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html:
    the template's variables are read from the event by JSON path, and the predefined variables
    are the rule's ARN and name, the time EventBridge received the event (ISO 8601) and the whole
    event as JSON; every target type the simulator delivers to gets the transformed input."""
    url, queue_arn = _queue(sim, "transformed")
    topic = sim.client("sns").create_topic(Name="transformed")["TopicArn"]
    topic_url, topic_queue = _queue(sim, "from-topic")
    sim.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=topic_queue,
                                Attributes={"RawMessageDelivery": "true"})
    transformer = {"InputPathsMap": {"order": "$.detail.order"},
                   "InputTemplate": '{"order": <order>, "rule": "<aws.events.rule-name>", '
                                    '"arn": "<aws.events.rule-arn>", "at": "<aws.events.event.ingestion-time>", '
                                    '"event": <aws.events.event.json>}'}
    rule_arn = _rule(sim, {"Id": "queue", "Arn": queue_arn, "InputTransformer": transformer},
                     {"Id": "topic", "Arn": topic, "InputTransformer": transformer})
    _put(sim)
    for body in (_bodies(sim, url)[0]["body"], _bodies(sim, topic_url)[0]["body"]):
        assert (body["order"], body["rule"], body["arn"]) == ("o-1", "orders", rule_arn)
        assert body["at"] == sim.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert body["event"]["detail"] == {"order": "o-1"} and "ingestion-time" not in body["event"]
