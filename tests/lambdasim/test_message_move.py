"""SQS dead-letter queue redrive played by the simulator (lambdasim/redrive.py, rules/sqs_redrive.py).

Each conformance test's docstring starts with the AWS page whose rule it pins: API_*.html of the
SQS API Reference (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/) and
sqs-*.html of the SQS Developer Guide. Error codes and messages are the ones AWS answered in
LocalStack's recorded snapshot tests (tests/aws/services/sqs/test_sqs_move_task.snapshot.json);
the pages list only the codes. Tests of the simulator's own modelling choices cite no page.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import sqs_redrive as rules

FIXTURES = Path(__file__).parent / "fixtures" / "sqs_poller"


@pytest.fixture
def sim():
    with Simulator(seed=5) as simulator:
        yield simulator


class Queues:
    """Queues of one test: create them, name them by ARN, send, receive, count."""

    def __init__(self, sim: Simulator):
        self.sim = sim
        self.sqs = sim.client("sqs")
        self.urls: dict[str, str] = {}

    def create(self, name: str, *, dlq: str | None = None, max_receive_count: int = 1, **attributes: str) -> str:
        if dlq is not None:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": self.arn(dlq), "maxReceiveCount": max_receive_count})
        if name.endswith(".fifo"):
            attributes.setdefault("FifoQueue", "true")
        self.urls[name] = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return self.arn(name)

    def arn(self, name: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=self.urls[name], AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

    def send(self, name: str, *bodies: str, **kwargs: Any) -> list[str]:
        return [self.sqs.send_message(QueueUrl=self.urls[name], MessageBody=b, **kwargs)["MessageId"]
                for b in bodies]

    def receive(self, name: str, **kwargs: Any) -> list[dict[str, Any]]:
        kwargs.setdefault("MaxNumberOfMessages", 10)
        return self.sqs.receive_message(QueueUrl=self.urls[name], **kwargs).get("Messages", [])

    def dead_letter(self, name: str, *bodies: str, **kwargs: Any) -> list[str]:
        """Send to `name` and fail each message once: with maxReceiveCount 1 and a visibility
        timeout of 0, the next receive moves them to the DLQ (sqs-dead-letter-queues.html)."""
        ids = self.send(name, *bodies, **kwargs)
        for _ in bodies:
            self.receive(name, VisibilityTimeout=0)
        self.sim.run_for(0.001)
        assert self.receive(name) == []
        return ids

    def count(self, name: str) -> int:
        return int(self.sqs.get_queue_attributes(QueueUrl=self.urls[name],
                                                 AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"]["ApproximateNumberOfMessages"])

    def bodies(self, name: str) -> list[str]:
        out: list[str] = []
        while batch := self.receive(name, VisibilityTimeout=600):
            out += [m["Body"] for m in batch]
        return out


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def _task(q: Queues, dlq: str, **kwargs: Any) -> dict[str, Any]:
    return q.sqs.list_message_move_tasks(SourceArn=q.arn(dlq), **kwargs)["Results"][0]


# -- moving -----------------------------------------------------------------------------------------


def test_a_task_moves_at_its_rate_oldest_first(sim):
    """API_StartMessageMoveTask.html: MaxNumberOfMessagesPerSecond fixes the movement rate: 1,000
    messages at 100 per second take about 10 s of virtual time, oldest first
    (sqs-configure-dead-letter-queue-redrive.html)."""
    q = Queues(sim)
    q.create("dlq")
    q.create("orders", dlq="dlq")
    q.create("retry")
    bodies = [f"m{i:04d}" for i in range(1000)]
    for start in range(0, 1000, 10):
        q.sqs.send_message_batch(QueueUrl=q.urls["dlq"], Entries=[
            {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])])
    sim.run_for(1)
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq"), DestinationArn=q.arn("retry"),
                                  MaxNumberOfMessagesPerSecond=100)
    sim.run_for(5)
    halfway = _task(q, "dlq")
    assert halfway["Status"] == "RUNNING" and halfway["ApproximateNumberOfMessagesToMove"] == 1000
    assert 490 <= halfway["ApproximateNumberOfMessagesMoved"] <= 510
    assert sim.run_until_idle()
    task = sim.message_moves.tasks[0]
    assert task.status == "COMPLETED" and task.moved == 1000
    assert 9.9 <= (task.ended_us - task.started_us) / 1e6 <= 10.0
    assert q.count("dlq") == 0 and q.bodies("retry") == bodies


def test_without_a_destination_each_message_goes_back_to_its_source_queue(sim):
    """API_StartMessageMoveTask.html: without DestinationArn "the messages will be redriven back to
    their respective original source queues" (two source queues sharing one DLQ); the list entry
    then has no DestinationArn nor MaxNumberOfMessagesPerSecond (API_ListMessageMoveTasks.html)."""
    q = Queues(sim)
    q.create("dlq")
    q.create("orders", dlq="dlq")
    q.create("payments", dlq="dlq")
    q.dead_letter("orders", "order-1")
    q.dead_letter("payments", "payment-1")
    assert q.count("dlq") == 2
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq"))
    assert sim.run_until_idle()
    assert q.bodies("orders") == ["order-1"] and q.bodies("payments") == ["payment-1"]
    entry = _task(q, "dlq")
    assert entry["Status"] == "COMPLETED" and entry["ApproximateNumberOfMessagesMoved"] == 2
    assert "DestinationArn" not in entry and "MaxNumberOfMessagesPerSecond" not in entry
    assert "TaskHandle" not in entry


def test_dead_lettered_messages_name_their_source_queue(sim):
    """API_ReceiveMessage.html: DeadLetterQueueSourceArn is a message system attribute; a message the
    redrive policy moved names the queue it came from, a message sent to the DLQ directly has none."""
    q = Queues(sim)
    q.create("dlq")
    orders = q.create("orders", dlq="dlq")
    q.dead_letter("orders", "moved")
    q.send("dlq", "sent directly")
    received = {m["Body"]: m["Attributes"] for m in q.receive("dlq", MessageSystemAttributeNames=["All"])}
    assert received["moved"]["DeadLetterQueueSourceArn"] == orders
    assert "DeadLetterQueueSourceArn" not in received["sent directly"]


def test_redriven_messages_are_new_messages_with_body_and_attributes_unchanged(sim):
    """sqs-configure-dead-letter-queue-redrive.html: "all redriven messages are considered new messages
    with a new messageID and enqueueTime"; SQS does not modify messages while redriving them (body
    and message attributes unchanged); a new message has not been received yet."""
    q = Queues(sim)
    q.create("dlq")
    q.create("orders", dlq="dlq")
    attributes = {"tenant": {"DataType": "String", "StringValue": "acme"}}
    [original_id] = q.dead_letter("orders", "order-7", MessageAttributes=attributes)
    sim.run_for(60)
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq"))
    sim.run_until_idle()
    [message] = q.receive("orders", MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
    assert message["Body"] == "order-7" and message["MessageAttributes"] == attributes
    assert message["MessageId"] != original_id
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(message["Attributes"]["SentTimestamp"]) == sim.message_moves.tasks[0].started_us // 1000
    assert "DeadLetterQueueSourceArn" not in message["Attributes"]


def test_an_explicit_destination_receives_every_message(sim):
    """API_StartMessageMoveTask.html: DestinationArn names the queue that receives the moved messages,
    whatever their source; ListMessageMoveTasks returns it (API_ListMessageMoveTasks.html)."""
    q = Queues(sim)
    q.create("dlq")
    q.create("orders", dlq="dlq")
    q.create("payments", dlq="dlq")
    retry = q.create("retry")
    q.dead_letter("orders", "order-1")
    q.dead_letter("payments", "payment-1")
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq"), DestinationArn=retry)
    sim.run_until_idle()
    assert sorted(q.bodies("retry")) == ["order-1", "payment-1"]
    assert q.count("orders") == q.count("payments") == 0
    assert _task(q, "dlq")["DestinationArn"] == retry


def test_a_fifo_dead_letter_queue_redrives_in_order_keeping_message_groups(sim):
    """sqs-configure-dead-letter-queue-redrive.html: a FIFO DLQ redrives to FIFO queues, oldest message
    first; moved to the FIFO DLQ, a message's deduplication ID became its message ID."""
    q = Queues(sim)
    q.create("dlq.fifo")
    q.create("orders.fifo", dlq="dlq.fifo", ContentBasedDeduplication="true")
    ids = q.dead_letter("orders.fifo", "first", "second", MessageGroupId="customer-1")
    in_dlq = q.receive("dlq.fifo", MessageSystemAttributeNames=["All"], VisibilityTimeout=0)
    assert [m["Attributes"]["MessageDeduplicationId"] for m in in_dlq] == ids
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq.fifo"))
    sim.run_until_idle()
    back = q.receive("orders.fifo", MessageSystemAttributeNames=["All"])
    assert [m["Body"] for m in back] == ["first", "second"]
    assert {m["Attributes"]["MessageGroupId"] for m in back} == {"customer-1"}


def test_redriven_messages_reach_the_function_through_its_event_source_mapping(sim):
    """API_StartMessageMoveTask.html: redriven messages enter the source queue again, so its SQS event
    source mapping receives them (services-sqs-errorhandling.html) and the fixed function processes
    them; the DLQ ends empty."""
    q = Queues(sim)
    q.create("dlq")
    q.create("jobs", dlq="dlq", VisibilityTimeout="30")
    lam = sim.client("lambda")
    sim.create_function(FunctionName="worker", Handler="handlers.raise_on_first_receive", code_dir=FIXTURES,
                        Timeout=3)
    uuid = lam.create_event_source_mapping(FunctionName="worker", EventSourceArn=q.arn("jobs"), BatchSize=10)["UUID"]
    q.send("jobs", "job-1", "job-2")
    assert sim.run_until_idle()
    assert q.count("dlq") == 2 and len(sim.invocations) == 1 and sim.invocations[0].error_type
    lam.update_function_configuration(FunctionName="worker", Handler="handlers.ok")  # the fix
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq"))
    assert sim.run_until_idle()
    fixed = sim.invocations[1:]
    assert fixed and all(r.error_type is None for r in fixed)
    redriven = sim.poller(uuid).batches[1:]
    assert sorted(rec["body"] for b in redriven for rec in b.event()["Records"]) == ["job-1", "job-2"]
    assert q.count("dlq") == q.count("jobs") == 0


# -- one task per queue, cancel, list -----------------------------------------------------------


def test_only_one_active_task_per_source_queue(sim):
    """API_StartMessageMoveTask.html: "only one active message movement task is supported per queue at
    any given time"; another DLQ's task may run meanwhile, and a finished task frees the queue."""
    q = Queues(sim)
    for dlq in ("dlq-a", "dlq-b"):
        q.create(dlq)
        q.create(f"source-of-{dlq}", dlq=dlq)
        q.send(dlq, "x", "y")
    retry = q.create("retry")
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq-a"), DestinationArn=retry, MaxNumberOfMessagesPerSecond=1)
    with pytest.raises(ClientError) as second:
        q.sqs.start_message_move_task(SourceArn=q.arn("dlq-a"), DestinationArn=retry)
    assert _error(second) == ("InvalidParameterValue", 400, rules.task_already_running().message)
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq-b"), DestinationArn=retry)
    sim.run_until_idle()
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq-a"), DestinationArn=retry)
    sim.run_until_idle()
    assert [t.status for t in sim.message_moves.tasks] == ["COMPLETED", "COMPLETED", "COMPLETED"]


def test_cancel_stops_a_running_task_and_keeps_what_it_moved(sim):
    """API_CancelMessageMoveTask.html: only a RUNNING task can be cancelled; cancelling "does not revert
    the messages that have already been moved"; the answer gives ApproximateNumberOfMessagesMoved, and
    the task goes through CANCELLING to CANCELLED (API_ListMessageMoveTasks.html)."""
    q = Queues(sim)
    q.create("dlq")
    q.create("orders", dlq="dlq")
    retry = q.create("retry")
    q.send("dlq", *[f"m{i}" for i in range(10)])
    handle = q.sqs.start_message_move_task(SourceArn=q.arn("dlq"), DestinationArn=retry,
                                           MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    sim.run_for(2.5)
    assert q.sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"] == 3
    assert _task(q, "dlq")["Status"] == "CANCELLING"
    sim.run_until_idle()
    entry = _task(q, "dlq")
    assert entry["Status"] == "CANCELLED" and entry["ApproximateNumberOfMessagesMoved"] == 3
    assert q.count("retry") == 3 and q.count("dlq") == 7
    with pytest.raises(ClientError) as again:
        q.sqs.cancel_message_move_task(TaskHandle=handle)
    assert _error(again)[:2] == ("InvalidParameterValue", 400)


def test_list_shows_the_most_recent_tasks_newest_first(sim):
    """API_ListMessageMoveTasks.html: the most recent tasks of a source queue, 1 by default and up to 10
    (MaxResults); TaskHandle only for a RUNNING task; StartedTimestamp in epoch milliseconds."""
    q = Queues(sim)
    q.create("dlq")
    q.create("orders", dlq="dlq")
    retry = q.create("retry")
    for rate in (1, 2, 3):
        q.send("dlq", "m")
        q.sqs.start_message_move_task(SourceArn=q.arn("dlq"), DestinationArn=retry, MaxNumberOfMessagesPerSecond=rate)
        sim.run_until_idle()
    q.send("dlq", "a", "b")
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq"), DestinationArn=retry, MaxNumberOfMessagesPerSecond=4)
    latest = q.sqs.list_message_move_tasks(SourceArn=q.arn("dlq"))["Results"]
    assert len(latest) == 1 and latest[0]["Status"] == "RUNNING" and latest[0]["TaskHandle"]
    assert latest[0]["StartedTimestamp"] == sim.message_moves.tasks[-1].started_us // 1000
    every = q.sqs.list_message_move_tasks(SourceArn=q.arn("dlq"), MaxResults=10)["Results"]
    assert [e["MaxNumberOfMessagesPerSecond"] for e in every] == [4, 3, 2, 1]
    assert [("TaskHandle" in e) for e in every] == [True, False, False, False]
    with pytest.raises(ClientError) as too_many:
        q.sqs.list_message_move_tasks(SourceArn=q.arn("dlq"), MaxResults=11)
    assert _error(too_many)[:2] == ("InvalidParameterValue", 400)


# -- bad requests -----------------------------------------------------------------------------------


def test_the_source_must_be_a_dead_letter_queue_of_an_sqs_queue(sim):
    """API_StartMessageMoveTask.html: SourceArn must be a queue configured as a dead-letter queue of
    other SQS queues (InvalidParameterValue, 400); an unknown source or destination is
    ResourceNotFoundException (404)."""
    q = Queues(sim)
    dlq = q.create("dlq")
    orders = q.create("orders", dlq="dlq")
    cases = [
        ({"SourceArn": orders}, ("InvalidParameterValue", 400, rules.not_a_dead_letter_queue().message)),
        ({"SourceArn": dlq + "-gone"}, ("ResourceNotFoundException", 404, rules.source_missing().message)),
        ({"SourceArn": dlq, "DestinationArn": orders + "-gone"},
         ("ResourceNotFoundException", 404, rules.destination_missing().message)),
    ]
    for request, expected in cases:
        with pytest.raises(ClientError) as refused:
            q.sqs.start_message_move_task(**request)
        assert _error(refused) == expected
    assert sim.message_moves.tasks == []


def test_the_rate_is_at_most_500_messages_per_second(sim):
    """API_StartMessageMoveTask.html: "the maximum value for messages per second is 500"; without a
    rate the system optimises it (modelled: the 500 maximum, the console's "System optimized")."""
    q = Queues(sim)
    dlq = q.create("dlq")
    q.create("orders", dlq="dlq")
    retry = q.create("retry")
    for rate in (0, 501):
        with pytest.raises(ClientError) as refused:
            q.sqs.start_message_move_task(SourceArn=dlq, DestinationArn=retry, MaxNumberOfMessagesPerSecond=rate)
        assert _error(refused)[:2] == ("InvalidParameterValue", 400)
    q.send("dlq", *[f"m{i}" for i in range(1000)])
    q.sqs.start_message_move_task(SourceArn=dlq, DestinationArn=retry)
    sim.run_until_idle()
    task = sim.message_moves.tasks[0]
    assert task.rate == rules.MAX_MESSAGES_PER_SECOND and task.moved == 1000
    assert (task.ended_us - task.started_us) / 1e6 == pytest.approx(2.0, abs=0.1)


def test_a_destination_of_the_other_queue_type_is_rejected(sim):
    """sqs-configure-dead-letter-queue-redrive.html: the destination must be the same type as the DLQ
    (FIFO to FIFO). The error code is not documented (modelled: InvalidParameterValue)."""
    q = Queues(sim)
    q.create("dlq.fifo")
    q.create("orders.fifo", dlq="dlq.fifo")
    standard = q.create("retry")
    with pytest.raises(ClientError) as refused:
        q.sqs.start_message_move_task(SourceArn=q.arn("dlq.fifo"), DestinationArn=standard)
    assert _error(refused)[:2] == ("InvalidParameterValue", 400)


def test_cancel_with_a_bad_or_unknown_handle(sim):
    """API_CancelMessageMoveTask.html: a handle that is not one is InvalidParameterValue; a well-formed
    handle of no task is ResourceNotFoundException."""
    q = Queues(sim)
    dlq = q.create("dlq")
    q.create("orders", dlq="dlq")
    with pytest.raises(ClientError) as garbage:
        q.sqs.cancel_message_move_task(TaskHandle="not-a-handle")
    assert _error(garbage) == ("InvalidParameterValue", 400, rules.invalid_task_handle().message)
    q.send("dlq", "m")
    q.sqs.start_message_move_task(SourceArn=dlq, DestinationArn=q.arn("orders"))
    fields = json.loads(base64.urlsafe_b64decode(sim.message_moves.tasks[0].handle))
    fields["taskId"] = "0" * 32
    with pytest.raises(ClientError) as missing:
        q.sqs.cancel_message_move_task(TaskHandle=base64.urlsafe_b64encode(json.dumps(fields).encode()).decode())
    assert _error(missing) == ("ResourceNotFoundException", 404, rules.task_missing().message)


# -- modelled where AWS is silent ---------------------------------------------------------------------


def test_a_message_without_a_known_source_fails_a_default_destination_task(sim):
    """Modelled (AWS documents nothing): a message sent to the DLQ directly has no source queue; a task
    without DestinationArn stops FAILED at it, keeping the messages it moved before."""
    q = Queues(sim)
    q.create("dlq")
    q.create("orders", dlq="dlq")
    q.dead_letter("orders", "moved by the redrive policy")
    q.send("dlq", "sent directly")
    q.sqs.start_message_move_task(SourceArn=q.arn("dlq"))
    sim.run_until_idle()
    entry = _task(q, "dlq")
    assert entry["Status"] == "FAILED" and entry["FailureReason"] == rules.UNKNOWN_SOURCE_REASON
    assert entry["ApproximateNumberOfMessagesMoved"] == 1
    assert q.bodies("orders") == ["moved by the redrive policy"] and q.bodies("dlq") == ["sent directly"]
