"""The processor dead-letters poison messages itself, on their first receive, with the reason.

A message that no retry can fix (not JSON, an event the contract rejects, no event id to be
idempotent on) is sent to the DLQ with ``ErrorType``, ``ErrorMessage``, ``SourceMessageId`` and
``ApproximateReceiveCount`` message attributes and reported as processed; its batch-mates are
stored. Left to the queue's redrive policy it would be received ``maxReceiveCount`` times and
arrive without a reason
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
If the send to the DLQ fails, the record is reported in ``batchItemFailures`` and SQS delivers
it again after the visibility timeout
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html): nothing is lost.
"""

from __future__ import annotations

from typing import Any

from lambdasim import Simulator
from lambdasim.faults import ServerError
from serverless_course import pipeline
from serverless_course.chaos import ChaosMix
from serverless_course.chaos.harness import Message, make_messages

SEED = 7  # 5 valid messages, 3 orders the contract rejects, 1 not JSON, 1 without an event id
EXPECTED_REASONS = {"invalid order": "ValidationError", "not JSON": "ValidationError",
                    "no event id": "IdempotencyKeyError"}


def run(dlq_down_s: float = 0) -> tuple[list[Message], dict[str, str], list[dict[str, Any]], set[str],
                                        list[Any], Any]:
    """Ten messages through the pipeline's processor; the DLQ refuses the processor's sends
    (HTTP 500 on every attempt) for the first ``dlq_down_s`` seconds. Returns the messages, their
    SQS message ids by order id, the DLQ's entries, the stored order ids, the processor's
    invocations and the poller's stats."""
    with Simulator(seed=SEED, logs=False, metrics=False) as sim:
        stack = pipeline.deploy(sim, stack_name="poison", validate=False)
        out = stack.outputs
        sqs = sim.client("sqs")
        start = sim.now
        if dlq_down_s:
            sim.faults.add("sqs", "SendMessage", ServerError(), label="dlq down",
                           when=lambda p: (sim.now - start).total_seconds() < dlq_down_s)
        messages = make_messages(10, SEED, ChaosMix(poison=0.4, duplicates=0), sim.now)
        sent = sqs.send_message_batch(QueueUrl=out["QueueUrl"], Entries=[
            {"Id": str(i), "MessageBody": m.body} for i, m in enumerate(messages)])["Successful"]
        message_ids = {messages[int(s["Id"])].order_id: s["MessageId"] for s in sent}
        sim.run_until_idle(max_seconds=3600)
        dead = sqs.receive_message(QueueUrl=out["DeadLetterQueueUrl"], MaxNumberOfMessages=10,
                                   MessageAttributeNames=["All"]).get("Messages", [])
        stored = {i["order_id"]["S"] for i in sim.client("dynamodb").scan(
            TableName=out["OrdersTableName"])["Items"]}
        processor = stack.function_name("ProcessorFunction")
        invocations = [r for r in sim.invocations if r.function_name == processor]
        return messages, message_ids, dead, stored, invocations, next(iter(sim.pollers.values())).stats


def attributes(entry: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in entry.get("MessageAttributes", {}).items()}


def test_poison_messages_are_dead_lettered_on_the_first_receive_with_their_reason() -> None:
    messages, message_ids, dead, stored, invocations, stats = run()
    poison = {m.body: m for m in messages if m.poison}
    assert sorted(m.poison for m in poison.values()) == [
        "invalid order", "invalid order", "invalid order", "no event id", "not JSON"]
    assert len(invocations) == 1 and stats.retried == 0  # nothing was retried
    assert stored == {m.order_id for m in messages if not m.poison}
    assert sorted(entry["Body"] for entry in dead) == sorted(poison)  # bodies unchanged
    for entry in dead:
        message = poison[entry["Body"]]
        reason = attributes(entry)
        assert reason["ErrorType"] == EXPECTED_REASONS[message.poison]
        assert reason["ErrorMessage"]
        assert reason["SourceMessageId"] == message_ids[message.order_id]
        assert reason["ApproximateReceiveCount"] == "1"


def test_a_failed_send_to_the_dlq_retries_the_record_instead_of_losing_it() -> None:
    messages, _, dead, stored, invocations, stats = run(dlq_down_s=30)
    poison = [m for m in messages if m.poison]
    assert stats.retried == len(poison)  # each poison record failed once, alone
    assert stored == {m.order_id for m in messages if not m.poison}
    assert len(dead) == len(poison)
    assert {attributes(entry)["ApproximateReceiveCount"] for entry in dead} == {"2"}
    assert len(invocations) == 2
