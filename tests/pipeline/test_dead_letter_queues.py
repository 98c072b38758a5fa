"""One dead-letter queue per failure path: each failure of the pipeline ends in its own queue,
and only there, so that an alarm names the path and a redrive moves only what its fix repaired
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).

One simulation, IAM enforced (the processor's role and the queues' policies are checked as AWS
checks them), three failures: a poison message, which the processor dead-letters itself; an order
whose write always fails, which the queue's redrive policy moves after ``maxReceiveCount``
receives; an event the rule cannot deliver, which EventBridge sends to the target's DLQ
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdasim import Simulator
from lambdasim.faults import ServerError
from lambdasim.sources.sqs import take_all
from serverless_course import pipeline
from serverless_course.chaos import ChaosMix
from serverless_course.chaos.harness import make_messages

QUEUES = ("DeadLetterQueueUrl", "RedriveDeadLetterQueueUrl", "RuleDeadLetterQueueUrl")


@pytest.fixture(scope="module")
def dead_letters() -> dict[str, Any]:
    with Simulator(seed=3, iam=True, logs=False, metrics=False) as sim:
        stack = pipeline.deploy(sim, stack_name="dlqs", validate=False)
        out = stack.outputs
        sqs, events = sim.client("sqs"), sim.client("events")
        valid, failing = make_messages(2, 3, ChaosMix(poison=0, duplicates=0), sim.now)
        sim.faults.add("dynamodb", "PutItem", ServerError(), label="always fails",
                       when=lambda p: p.get("Item", {}).get("order_id", {}).get("S") == failing.order_id)
        sqs.send_message_batch(QueueUrl=out["QueueUrl"], Entries=[
            {"Id": "poison", "MessageBody": "not an event"},
            {"Id": "valid", "MessageBody": valid.body},
            {"Id": "failing", "MessageBody": failing.body}])
        sim.run_until_idle(max_seconds=3600)

        # The orders queue refuses the rule's deliveries as its policy would (not retried).
        queue_arn = sqs.get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        sim.eventbridge.refuse(queue_arn, status=403, code="AccessDenied", message="Access to the resource is denied.")
        detail = json.loads(valid.body)["detail"]
        events.put_events(Entries=[{"EventBusName": out["EventBusName"], "Source": "orders.api",
                                    "DetailType": "OrderPlaced", "Detail": json.dumps(detail)}])
        sim.run_until_idle(max_seconds=60)
        found = {name: take_all(sqs, out[name]) for name in QUEUES}
        return {"queues": found, "failing": failing.order_id, "queue_arn": queue_arn,
                "denied": list(sim.iam.denied(stack.function_name("ProcessorFunction"))),
                "dead_letter_errors": [d.dead_letter_error for d in sim.eventbridge.deliveries if d.dead_letter_error]}


def test_each_failure_is_in_its_own_queue_and_nowhere_else(dead_letters: dict[str, Any]) -> None:
    queues = dead_letters["queues"]
    assert [len(queues[name]) for name in QUEUES] == [1, 1, 1]
    assert dead_letters["denied"] == [] and dead_letters["dead_letter_errors"] == []


def test_the_poison_queue_holds_the_message_with_its_reason(dead_letters: dict[str, Any]) -> None:
    (poison,) = dead_letters["queues"]["DeadLetterQueueUrl"]
    assert poison["Body"] == "not an event"
    assert poison["MessageAttributes"]["ErrorType"]["StringValue"] == "ValidationError"


def test_the_redrive_queue_holds_the_order_that_kept_failing_and_names_its_source(
        dead_letters: dict[str, Any]) -> None:
    """SQS adds DeadLetterQueueSourceArn when its redrive policy moves a message
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html):
    what StartMessageMoveTask sends back to its source."""
    (redriven,) = dead_letters["queues"]["RedriveDeadLetterQueueUrl"]
    assert json.loads(redriven["Body"])["detail"]["data"]["order_id"] == dead_letters["failing"]
    assert redriven["Attributes"]["DeadLetterQueueSourceArn"] == dead_letters["queue_arn"]


def test_the_rule_queue_holds_the_undelivered_event_with_eventbridges_error(dead_letters: dict[str, Any]) -> None:
    (undelivered,) = dead_letters["queues"]["RuleDeadLetterQueueUrl"]
    assert json.loads(undelivered["Body"])["detail-type"] == "OrderPlaced"
    attributes = {k: v["StringValue"] for k, v in undelivered["MessageAttributes"].items()}
    assert attributes["TARGET_ARN"] == dead_letters["queue_arn"] and attributes["ERROR_CODE"]
