"""Scenario tests of lesson 04 (failure paths beyond SQS) on its SAM template
(reference/src/serverless_course/failure_paths/template.yaml): the same poison order down an
asynchronous invoke, an EventBridge rule target and a Kinesis stream.

Each docstring names the AWS page whose rule the test pins: pages of the Lambda Developer Guide
(https://docs.aws.amazon.com/lambda/latest/dg/) unless a full URL is given.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdasim import Simulator
from lambdasim.rules import eventbridge as eb_rules
from serverless_course import failure_paths
from serverless_course.failure_paths import trace

# One worker lints the template once for all the scenarios.
pytestmark = pytest.mark.xdist_group("failure-paths")

POISON = {"order_id": "o-poison", "quantity": "many"}
GOOD = {"order_id": "o-1", "quantity": 2}


@pytest.fixture(scope="module")
def linted_template() -> None:
    """cfn-lint once for the module; the scenarios deploy without it."""
    with Simulator(seed=4) as sim:
        failure_paths.deploy(sim, validate=True)


@pytest.fixture
def sim(linted_template: None):
    with Simulator(seed=4) as simulator:
        yield simulator


@pytest.fixture
def stack(sim: Simulator):
    return failure_paths.deploy(sim, validate=False)


def invoke_async(sim: Simulator, stack: Any, order: dict[str, Any]) -> None:
    response = sim.client("lambda").invoke(FunctionName=stack.outputs["InvokedFunctionName"],
                                           InvocationType="Event", Payload=json.dumps(order))
    assert response["StatusCode"] == 202


def put_event(sim: Simulator, stack: Any, order: dict[str, Any]) -> None:
    entry = {"EventBusName": stack.outputs["EventBusName"], "Source": "course.orders",
             "DetailType": "OrderPlaced", "Detail": json.dumps(order)}
    assert sim.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def put_records(sim: Simulator, stack: Any, orders: list[dict[str, Any]]) -> list[str]:
    records = [{"Data": json.dumps(o).encode(), "PartitionKey": o["order_id"]} for o in orders]
    answer = sim.client("kinesis").put_records(StreamName=stack.outputs["StreamName"], Records=records)
    return [r["SequenceNumber"] for r in answer["Records"]]


def processed(sim: Simulator, stack: Any) -> dict[str, str]:
    """order id -> the path that stored it."""
    items = sim.client("dynamodb").scan(TableName=stack.outputs["ProcessedOrdersTableName"])["Items"]
    return {item["order_id"]["S"]: item["path"]["S"] for item in items}


def only(messages: list[trace.Message]) -> trace.Message:
    assert len(messages) == 1, messages
    return messages[0]


# -- the template ----------------------------------------------------------------------------------


def test_template_deploys_every_failure_path_setting(sim, stack):
    """sam-resource-function.html (EventInvokeConfig, DeadLetterQueue),
    sam-property-function-eventbridgerule.html (RetryPolicy, DeadLetterConfig),
    sam-property-function-kinesis.html: each setting of the SAM template reaches the resource
    Lambda and EventBridge read, through the SAM transform and moto's CloudFormation (the
    simulator's adapter creates the queue policy, which moto's CloudFormation lacks)."""
    lam, events = sim.client("lambda"), sim.client("events")
    assert stack.not_created == {}
    invoked = stack.outputs["InvokedFunctionName"]
    config = lam.get_function_event_invoke_config(FunctionName=invoked)
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (2, 3600)
    assert config["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        stack.outputs["InvokedFailureQueueUrl"].rsplit("/", 1)[1])
    assert lam.get_function_configuration(FunctionName=invoked)["DeadLetterConfig"]["TargetArn"].endswith(
        stack.outputs["InvokedDeadLetterQueueUrl"].rsplit("/", 1)[1])
    [rule] = events.list_rules(EventBusName=stack.outputs["EventBusName"])["Rules"]
    [target] = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=stack.outputs["EventBusName"])["Targets"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"]["Arn"].endswith(stack.outputs["RuleDeadLetterQueueUrl"].rsplit("/", 1)[1])
    [uuid] = stack.event_source_mappings.values()
    mapping = lam.get_event_source_mapping(UUID=uuid)
    assert (mapping["BisectBatchOnFunctionError"], mapping["MaximumRetryAttempts"],
            mapping["MaximumRecordAgeInSeconds"]) == (True, 2, 3600)


# -- path 1: asynchronous invoke ---------------------------------------------------------------------


def test_async_poison_is_tried_three_times_then_its_record_goes_to_the_on_failure_destination(sim, stack):
    """invocation-async-error-handling.html: a function error is retried twice, about one and
    then two minutes apart (the simulator: exactly 60 s and 120 s after the failed attempt);
    invocation-async-retain-records.html: then the invocation record goes to the on-failure
    destination: requestPayload (the event), requestContext.condition RetriesExhausted and
    approximateInvokeCount 3, responsePayload the function's error."""
    origin = sim.now
    invoke_async(sim, stack, POISON)
    assert sim.run_until_idle()
    attempts = trace.async_attempts(sim, stack.outputs["InvokedFunctionName"], origin)
    assert [a.ok for a in attempts] == [False] * 3
    runs = [i for i in sim.invocations if i.function_name == stack.outputs["InvokedFunctionName"]]
    assert [round((b.start - a.end).total_seconds(), 3) for a, b in zip(runs, runs[1:])] == [60, 120]
    record = only(trace.read_queue(sim, stack.outputs["InvokedFailureQueueUrl"])).body
    assert record["requestPayload"] == POISON
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == runs[0].request_id
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "InvalidOrder"
    assert "quantity" in record["responsePayload"]["errorMessage"]
    assert processed(sim, stack) == {}


def test_async_dead_letter_queue_gets_the_event_itself_with_request_id_and_error(sim, stack):
    """invocation-async-retain-records.html (dead-letter queues): the DLQ message is the event
    as sent, with the attributes RequestID, ErrorCode and ErrorMessage; API_PutFunctionEventInvokeConfig.html:
    destinations work "in addition to" a DLQ, so both get the discarded event."""
    invoke_async(sim, stack, POISON)
    assert sim.run_until_idle()
    dead = only(trace.read_queue(sim, stack.outputs["InvokedDeadLetterQueueUrl"]))
    record = only(trace.read_queue(sim, stack.outputs["InvokedFailureQueueUrl"])).body
    assert dead.body == POISON
    assert dead.attributes == {"RequestID": record["requestContext"]["requestId"], "ErrorCode": "200",
                               "ErrorMessage": record["responsePayload"]["errorMessage"]}


def test_async_good_order_is_processed_once_and_no_failure_is_recorded(sim, stack):
    """invocation-async-retain-records.html: only events that fail every attempt (or expire) go
    to the on-failure destination and the DLQ; this template sets no on-success destination."""
    invoke_async(sim, stack, GOOD)
    assert sim.run_until_idle()
    assert processed(sim, stack) == {"o-1": "async"}
    assert trace.read_queue(sim, stack.outputs["InvokedFailureQueueUrl"]) == []
    assert trace.read_queue(sim, stack.outputs["InvokedDeadLetterQueueUrl"]) == []


def test_async_event_older_than_the_maximum_event_age_is_discarded_with_event_age_exceeded(sim, stack):
    """invocation-async-configuring.html / invocation-async-error-handling.html: an event older
    than MaximumEventAgeInSeconds is discarded instead of retried, to the on-failure destination
    with condition EventAgeExceeded. With the minimum, 60 s, the retry due 60 s after the failed
    attempt ended finds the event already too old."""
    sim.client("lambda").update_function_event_invoke_config(
        FunctionName=stack.outputs["InvokedFunctionName"], MaximumEventAgeInSeconds=60)
    invoke_async(sim, stack, POISON)
    assert sim.run_until_idle()
    record = only(trace.read_queue(sim, stack.outputs["InvokedFailureQueueUrl"])).body
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert only(trace.read_queue(sim, stack.outputs["InvokedDeadLetterQueueUrl"])).body == POISON


# -- path 2: EventBridge rule target -----------------------------------------------------------------


def test_eventbridge_poison_is_retried_by_lambda_and_never_reaches_the_rule_dlq(sim, stack):
    """sam-property-function-eventbridgerule.html (DeadLetterConfig note), eb-rule-retry-policy.html,
    invocation-async-error-handling.html: EventBridge invokes the function asynchronously; once
    Lambda accepted the event (one successful delivery) a function error is Lambda's to retry
    (2 retries) and the function's on-failure destination gets the record; the rule target's
    dead-letter queue stays empty."""
    origin = sim.now
    put_event(sim, stack, POISON)
    assert sim.run_until_idle()
    attempts = trace.eventbridge_attempts(sim, stack.function_name("RuleTargetFunction"), origin)
    assert [(a.by, a.ok) for a in attempts] == [(trace.EVENTBRIDGE, True)] + [(trace.LAMBDA, False)] * 3
    record = only(trace.read_queue(sim, stack.outputs["RuleTargetFailureQueueUrl"])).body
    assert record["requestPayload"]["detail"] == POISON
    assert record["requestPayload"]["detail-type"] == "OrderPlaced"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert trace.read_queue(sim, stack.outputs["RuleDeadLetterQueueUrl"]) == []


def test_eventbridge_refused_invoke_is_retried_by_the_rule_then_sent_to_the_target_dlq(sim, stack):
    """eb-rule-retry-policy.html: when the target cannot be invoked (a retriable error: Lambda's
    Invoke API answering 429) EventBridge retries with exponential backoff and jitter up to the
    target's MaximumRetryAttempts (8 here); eb-rule-dlq.html: then the event goes to the target's
    dead-letter queue with RULE_ARN, TARGET_ARN, ERROR_CODE (THROTTLING, one of the page's codes),
    ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS. The function never runs."""
    function = stack.function_name("RuleTargetFunction")
    sim.eventbridge.refuse(function)  # Lambda's Invoke API answers 429 TooManyRequestsException
    origin = sim.now
    put_event(sim, stack, GOOD)
    assert sim.run_until_idle()
    attempts = trace.eventbridge_attempts(sim, function, origin)
    assert [(a.by, a.ok) for a in attempts] == [(trace.EVENTBRIDGE, False)] * 9
    gaps = [b.at_s - a.at_s for a, b in zip(attempts, attempts[1:])]
    assert all(eb_rules.backoff_s(n) / 2 <= gap <= eb_rules.backoff_s(n) for n, gap in enumerate(gaps, start=1))
    dead = only(trace.read_queue(sim, stack.outputs["RuleDeadLetterQueueUrl"]))
    assert dead.body["detail"] == GOOD and dead.body["source"] == "course.orders"
    [rule] = sim.client("events").list_rules(EventBusName=stack.outputs["EventBusName"])["Rules"]
    assert dead.attributes.pop("ERROR_MESSAGE").startswith("TooManyRequestsException")
    assert dead.attributes == {
        "RULE_ARN": rule["Arn"], "TARGET_ARN": stack.functions["RuleTargetFunction"].arn,
        "ERROR_CODE": "THROTTLING", "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "8"}
    assert processed(sim, stack) == {}
    assert trace.read_queue(sim, stack.outputs["RuleTargetFailureQueueUrl"]) == []


def test_eventbridge_target_that_no_longer_exists_is_dead_lettered_without_retry(sim, stack):
    """eb-rule-dlq.html: errors such as a target resource that no longer exists are not retried:
    the event goes straight to the dead-letter queue, with ERROR_CODE NO_RESOURCE."""
    sim.client("lambda").delete_function(FunctionName=stack.function_name("RuleTargetFunction"))
    put_event(sim, stack, GOOD)
    assert sim.run_until_idle()
    dead = only(trace.read_queue(sim, stack.outputs["RuleDeadLetterQueueUrl"]))
    assert dead.body["detail"] == GOOD and dead.attributes["ERROR_CODE"] == "NO_RESOURCE"
    assert dead.attributes["RETRY_ATTEMPTS"] == "0" and "EXHAUSTED_RETRY_CONDITION" not in dead.attributes
    assert [d.retries for d in sim.eventbridge.deliveries] == [0]


# -- path 3: Kinesis stream --------------------------------------------------------------------------


def test_stream_poison_is_isolated_by_bisect_and_its_position_goes_to_the_destination(sim, stack):
    """kinesis-on-failure-destination.html: BisectBatchOnFunctionError splits a failed batch in
    two, without using the retry quota, so the good records around the poison record are
    processed; the poison record alone is retried MaximumRetryAttempts (2) times, then discarded
    to the on-failure destination, whose record gives its position (KinesisBatchInfo) and not
    its data; the shard goes on."""
    origin = sim.now
    orders = [{"order_id": f"o-{i}", "quantity": i + 1} for i in range(9)]
    orders.insert(3, POISON)
    sequence_numbers = put_records(sim, stack, orders)
    assert sim.run_until_idle()
    attempts = trace.stream_attempts(sim, stack.event_source_mappings["StreamConsumerFunctionOrders"], origin)
    assert attempts[0].note == "10 record(s), try 1" and not attempts[0].ok
    alone = [a for a in attempts if a.note.startswith("1 record(s)") and not a.ok]
    assert [a.note for a in alone] == ["1 record(s), try 1", "1 record(s), try 2", "1 record(s), try 3"]
    assert processed(sim, stack) == {o["order_id"]: "stream" for o in orders if o is not POISON}
    message = only(trace.read_queue(sim, stack.outputs["StreamFailureQueueUrl"])).body
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    info = message["KinesisBatchInfo"]
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (
        1, sequence_numbers[3], sequence_numbers[3])
    assert "requestPayload" not in message and "payload" not in message
    assert trace.discarded_records(sim, info) == [{"sequenceNumber": sequence_numbers[3], "data": POISON}]


def test_stream_without_bisect_discards_the_whole_batch_with_the_poison(sim, stack):
    """kinesis-on-failure-destination.html: without BisectBatchOnFunctionError a failing batch
    is retried whole until MaximumRetryAttempts, then the whole batch is discarded to the
    on-failure destination: the good records in it are never processed."""
    uuid = stack.event_source_mappings["StreamConsumerFunctionOrders"]
    sim.client("lambda").update_event_source_mapping(UUID=uuid, BisectBatchOnFunctionError=False)
    orders = [{"order_id": f"o-{i}", "quantity": i + 1} for i in range(9)]
    orders.insert(3, POISON)
    sequence_numbers = put_records(sim, stack, orders)
    assert sim.run_until_idle()
    assert processed(sim, stack) == {}
    info = only(trace.read_queue(sim, stack.outputs["StreamFailureQueueUrl"])).body["KinesisBatchInfo"]
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (
        10, sequence_numbers[0], sequence_numbers[-1])
    assert [r["data"] for r in trace.discarded_records(sim, info)] == orders
