"""SQS event source mappings played by the simulator (lambdasim/pollers, rules/sqs_scaling.py).

Each test's docstring starts with the AWS documentation page whose rule it pins (the site's
fidelity table is built from them): services-sqs-*.html, with-sqs.html and
invocation-eventfiltering.html are pages of the Lambda Developer Guide
(https://docs.aws.amazon.com/lambda/latest/dg/), API_*.html of the Lambda API reference, and
sqs-dead-letter-queues.html of the SQS Developer Guide.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import SqsModel
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.errors import Throttled
from lambdasim.rules import sqs_scaling
from lambdasim.rules.sqs_scaling import PollerScaling
from lambdasim.sources.sqs import Rule

FIXTURES = Path(__file__).parent / "fixtures" / "sqs_poller"
VISIBILITY_TIMEOUT = 30


@pytest.fixture
def sim():
    with Simulator(seed=11) as simulator:
        yield simulator


class Setup:
    """A queue (optionally with a DLQ), a function of fixtures/sqs_poller and a mapping."""

    def __init__(self, sim: Simulator, handler: str, *, fifo: bool = False, max_receive_count: int | None = None,
                 timeout: int = 3, duration_ms: float | None = None, **mapping: Any):
        self.sim = sim
        self.sqs = sim.client("sqs")
        self.lam = sim.client("lambda")
        suffix = ".fifo" if fifo else ""
        attributes = {"VisibilityTimeout": str(VISIBILITY_TIMEOUT)}
        if fifo:
            attributes.update(FifoQueue="true", ContentBasedDeduplication="true")
        self.dlq_url = None
        if max_receive_count is not None:
            dlq_attributes = {"FifoQueue": "true"} if fifo else {}
            self.dlq_url = self.sqs.create_queue(QueueName=f"dlq{suffix}", Attributes=dlq_attributes)["QueueUrl"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": self.arn_of(self.dlq_url), "maxReceiveCount": max_receive_count})
        self.url = self.sqs.create_queue(QueueName=f"jobs{suffix}", Attributes=attributes)["QueueUrl"]
        sim.create_function(FunctionName="worker", Handler=f"handlers.{handler}", code_dir=FIXTURES, Timeout=timeout)
        if duration_ms is not None:
            sim.set_duration("worker", duration_ms)
        self.uuid = self.lam.create_event_source_mapping(
            FunctionName="worker", EventSourceArn=self.arn_of(self.url), **mapping)["UUID"]

    def arn_of(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def send(self, *bodies: str, **kwargs: Any) -> list[str]:
        return [self.sqs.send_message(QueueUrl=self.url, MessageBody=b, **kwargs)["MessageId"] for b in bodies]

    def counts(self, url: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages of the queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    @property
    def poller(self):
        return self.sim.poller(self.uuid)

    def seconds(self, us: int | None) -> float:
        assert us is not None
        return round((us - self.sim._start_us) / 1_000_000, 6)


def _overlap(invocations, at_us: int) -> int:
    return sum(1 for r in invocations if r.start_us <= at_us < r.start_us + r.total_us)


# -- batching (services-sqs-parameters.html) -------------------------------------------------------


def test_batches_hold_up_to_batch_size_messages_read_10_per_receive(sim):
    """services-sqs-parameters.html: without a batching window, each batch holds up to BatchSize messages,
    read with ReceiveMessage (10 per call); five batches start at once (services-sqs-scaling.html),
    all at the poll's instant."""
    env = Setup(sim, "ok", BatchSize=10)
    env.send(*[f"m{i}" for i in range(25)])
    assert sim.run_until_idle()
    batches = env.poller.batches
    assert [len(b.records) for b in batches] == [10, 10, 5]
    assert {b.opened_us for b in batches} == {sim._start_us}
    assert env.poller.stats.deleted == 25 and env.counts() == (0, 0)
    assert [r.source for r in sim.invocations] == ["sqs"] * 3
    assert all(r.invocation_type == "RequestResponse" for r in sim.invocations)


def test_batching_window_invokes_when_the_window_expires_or_the_batch_is_full(sim):
    """services-sqs-parameters.html: with MaximumBatchingWindowInSeconds Lambda gathers messages (also ones
    that arrive meanwhile) and invokes when the window expires or the batch is full; BatchSize may
    then exceed 10."""
    env = Setup(sim, "ok", BatchSize=100, MaximumBatchingWindowInSeconds=5)
    env.send(*[f"early{i}" for i in range(25)])
    sim.run_for(2)
    assert sim.invocations == [] and env.counts() == (0, 25)  # gathered, in flight
    env.send(*[f"late{i}" for i in range(5)])
    assert sim.run_until_idle()
    first = env.poller.batches[0]
    assert len(first.records) == 30
    assert env.seconds(first.invoked_us) == 5.0
    env.send(*[f"burst{i}" for i in range(100)])
    sim.run_until_idle()
    full = env.poller.batches[1]
    assert len(full.records) == 100 and full.invoked_us == full.opened_us  # full: no waiting


def test_a_window_longer_than_the_visibility_timeout_receives_each_message_once(sim):
    """with-sqs.html: "If your batch window is greater than 0, and (batch window) + (function timeout) >
    (queue visibility timeout), then your effective queue visibility timeout is (batch window) +
    (function timeout) + 30s"; "When your function successfully processes a batch, Lambda deletes its
    messages". A window of 120 s on a queue hiding messages for 30 s: one message, one receive, one
    invocation, deleted, nothing dead-lettered."""
    env = Setup(sim, "ok", max_receive_count=3, MaximumBatchingWindowInSeconds=120)
    env.send("only")
    assert sim.run_until_idle()
    [batch] = env.poller.batches
    assert [r["attributes"]["ApproximateReceiveCount"] for r in batch.records] == ["1"]
    assert env.seconds(batch.invoked_us) == 120.0
    assert len(sim.invocations) == 1 and env.poller.stats.deleted == 1
    assert env.counts() == (0, 0) and env.counts(env.dlq_url) == (0, 0)


def test_a_failed_batch_reappears_after_the_effective_visibility_timeout(sim):
    """with-sqs.html: with a batching window, (batch window) + (function timeout) > (queue visibility
    timeout) makes the effective visibility timeout (batch window) + (function timeout) + 30 s: a
    failed batch's message is received again that long after its first receive (20 + 15 + 30 = 65 s
    here, not the queue's 30 s)."""
    env = Setup(sim, "raise_on_first_receive", timeout=15, MaximumBatchingWindowInSeconds=20)
    env.send("m")
    assert sim.run_until_idle()
    first, second = env.poller.batches
    assert env.seconds(first.opened_us) == 0.0 and env.seconds(first.invoked_us) == 20.0
    assert env.seconds(second.opened_us) == pytest.approx(65.0, abs=0.01)
    assert second.records[0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert env.poller.stats.deleted == 1


def test_without_a_window_or_within_the_visibility_timeout_the_queue_timeout_applies(sim):
    """with-sqs.html: the effective visibility timeout applies only when the batch window is greater than
    0 and window + function timeout passes the queue's visibility timeout; otherwise a failed message
    reappears after the queue's own 30 s (window 0, or window 10 + timeout 3 <= 30)."""
    env = Setup(sim, "raise_on_first_receive", MaximumBatchingWindowInSeconds=10)
    env.send("m")
    assert sim.run_until_idle()
    first, second = env.poller.batches
    assert env.seconds(first.invoked_us) == 10.0
    assert env.seconds(second.opened_us) == pytest.approx(30.0, abs=0.01)
    env.lam.update_event_source_mapping(UUID=env.uuid, MaximumBatchingWindowInSeconds=0)
    sim.run_for(1)
    env.send("n")
    start = sim.elapsed
    assert sim.run_until_idle()
    third, fourth = env.poller.batches[2:]
    assert env.seconds(third.invoked_us) == pytest.approx(start, abs=0.01)
    assert env.seconds(fourth.opened_us) == pytest.approx(start + 30.0, abs=0.01)


def test_a_throttled_batch_is_retried_within_the_effective_visibility_timeout(sim):
    """with-sqs.html, services-sqs-errorhandling.html: a throttled batch is retried while its messages are
    hidden; with a batching window that hiding lasts the effective visibility timeout (window 20 +
    function timeout 15 + 30 = 65 s from the receive, not the queue's 30 s), then the message reappears."""
    env = Setup(sim, "ok", timeout=15, MaximumBatchingWindowInSeconds=20)
    env.lam.put_function_concurrency(FunctionName="worker", ReservedConcurrentExecutions=0)
    env.send("m")
    sim.run_for(64)
    [batch] = env.poller.batches
    assert env.seconds(batch.deadline_us) == pytest.approx(65.0, abs=0.01)
    # Tried when the window closed, then retried 1, 2, 4 ... s later, past the queue's own 30 s.
    assert [env.seconds(t.at_us) for t in sim.throttles] == [20, 21, 23, 27, 35, 51]
    assert batch.state == "released" and env.counts() == (0, 1)  # still hidden at 64 s
    sim.run_for(2)
    assert env.seconds(env.poller.batches[1].opened_us) == pytest.approx(65.0, abs=0.01)


def test_batch_stops_before_the_6_mb_payload_limit(sim):
    """services-sqs-parameters.html: Lambda invokes when the payload reaches the 6 MB synchronous limit;
    the message that would not fit goes into the next batch."""
    env = Setup(sim, "ok", BatchSize=10, MaximumBatchingWindowInSeconds=1)
    env.send(*[f"{i}" + "x" * 1_000_000 for i in range(7)])
    assert sim.run_until_idle()
    assert [len(b.records) for b in env.poller.batches] == [6, 1]
    assert 6 * 1_000_000 < len(env.poller.batches[0].payload()) <= 6 * 1024 * 1024
    assert env.poller.stats.deleted == 7


def test_batch_size_above_10_without_a_window_is_rejected(sim):
    """services-sqs-parameters.html: "when you set BatchSize to a value greater than 10, you must set
    MaximumBatchingWindowInSeconds to at least 1" (create and update)."""
    env = Setup(sim, "ok", BatchSize=10)
    with pytest.raises(ClientError, match="greater than 0 if maximum batch size is greater than 10") as info:
        env.lam.create_event_source_mapping(FunctionName="worker", EventSourceArn=env.arn_of(env.url), BatchSize=11)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"
    with pytest.raises(ClientError, match="greater than 10"):
        env.lam.update_event_source_mapping(UUID=env.uuid, BatchSize=50)
    env.lam.update_event_source_mapping(UUID=env.uuid, BatchSize=50, MaximumBatchingWindowInSeconds=1)


def _rejected(call, **kwargs) -> ClientError:
    """The ClientError a mapping call raises; it must be AWS's HTTP 400 InvalidParameterValueException."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidParameterValueException", 400)
    return info.value


def test_batching_window_over_300_seconds_is_rejected(sim):
    """https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html:
    MaximumBatchingWindowInSeconds is 0 to 300 for an SQS mapping too (create and update)."""
    env = Setup(sim, "ok")
    create = env.lam.create_event_source_mapping
    error = _rejected(create, FunctionName="worker", EventSourceArn=env.arn_of(env.url), MaximumBatchingWindowInSeconds=301)
    assert "Value '301' at 'maximumBatchingWindowInSeconds'" in str(error)
    assert "less than or equal to 300" in str(error)
    _rejected(env.lam.update_event_source_mapping, UUID=env.uuid, MaximumBatchingWindowInSeconds=301)
    env.lam.update_event_source_mapping(UUID=env.uuid, MaximumBatchingWindowInSeconds=300)


def test_over_limit_batch_size_is_a_client_error(sim):
    """services-sqs-parameters.html, services-kinesis-parameters.html, API_CreateEventSourceMapping.html:
    BatchSize is at most 10 for a FIFO queue and 10,000 for a standard queue or a stream; a larger one
    is answered HTTP 400 InvalidParameterValueException, a botocore ClientError (moto raises a bare
    ValueError)."""
    env = Setup(sim, "ok")
    fifo_url = env.sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    create = env.lam.create_event_source_mapping
    assert str(_rejected(create, FunctionName="worker", EventSourceArn=env.arn_of(fifo_url), BatchSize=11)).endswith(
        "Maximum batch size must be between 1 and 10 inclusive")
    error = _rejected(create, FunctionName="worker", EventSourceArn=env.arn_of(env.url), BatchSize=10_001,
                      MaximumBatchingWindowInSeconds=1)
    assert "Value '10001' at 'batchSize'" in str(error) and "less than or equal to 10000" in str(error)
    _rejected(env.lam.update_event_source_mapping, UUID=env.uuid, BatchSize=10_001, MaximumBatchingWindowInSeconds=1)
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="events")["StreamDescription"]["StreamARN"]
    _rejected(create, FunctionName="worker", EventSourceArn=stream_arn, StartingPosition="LATEST", BatchSize=10_001)
    create(FunctionName="worker", EventSourceArn=env.arn_of(fifo_url), BatchSize=10)
    create(FunctionName="worker", EventSourceArn=stream_arn, StartingPosition="LATEST", BatchSize=10_000)


def test_a_fifo_queue_takes_no_batching_window(sim):
    """services-sqs-parameters.html, MaximumBatchingWindowInSeconds: "Batching window is not supported for
    FIFO queues"; AWS answers a FIFO mapping with a window with that message (create and update)."""
    env = Setup(sim, "ok", fifo=True)
    error = _rejected(env.lam.create_event_source_mapping, FunctionName="worker", EventSourceArn=env.arn_of(env.url),
                      MaximumBatchingWindowInSeconds=5)
    assert str(error).endswith("Batching window is not supported for FIFO queues")
    _rejected(env.lam.update_event_source_mapping, UUID=env.uuid, MaximumBatchingWindowInSeconds=1)
    env.lam.update_event_source_mapping(UUID=env.uuid, MaximumBatchingWindowInSeconds=0)


def test_maximum_concurrency_outside_2_to_1000_is_rejected(sim):
    """https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html, services-sqs-scaling.html:
    ScalingConfig.MaximumConcurrency is 2 to 1,000; AWS rejects 1,001 at create and update (botocore
    itself refuses 1 before sending)."""
    env = Setup(sim, "ok")
    error = _rejected(env.lam.create_event_source_mapping, FunctionName="worker", EventSourceArn=env.arn_of(env.url),
                      ScalingConfig={"MaximumConcurrency": 1001})
    assert "Value '1001' at 'scalingConfig.maximumConcurrency'" in str(error)
    assert "less than or equal to 1000" in str(error)
    _rejected(env.lam.update_event_source_mapping, UUID=env.uuid, ScalingConfig={"MaximumConcurrency": 1001})
    env.lam.update_event_source_mapping(UUID=env.uuid, ScalingConfig={"MaximumConcurrency": 1000})
    assert env.poller.problem is None


def test_an_sqs_mapping_takes_no_starting_position(sim):
    """https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html: StartingPosition is
    for stream sources; AWS answers an SQS mapping that has one with InvalidParameterValueException
    "StartingPosition is not valid for SQS event sources."."""
    env = Setup(sim, "ok")
    error = _rejected(env.lam.create_event_source_mapping, FunctionName="worker", EventSourceArn=env.arn_of(env.url),
                      StartingPosition="LATEST")
    assert str(error).endswith("StartingPosition is not valid for SQS event sources.")


def test_a_function_timeout_over_the_queue_visibility_timeout_is_rejected(sim):
    """services-sqs-configure.html: "Your function's timeout must be less than or equal to the queue's
    visibility timeout. Lambda validates this requirement when you create or update an event source
    mapping" (InvalidParameterValueException "Queue visibility timeout: 30 seconds is less than
    Function timeout: 31 seconds")."""
    env = Setup(sim, "ok", timeout=VISIBILITY_TIMEOUT)  # equal is allowed
    sim.create_function(FunctionName="slow", Handler="handlers.ok", code_dir=FIXTURES, Timeout=VISIBILITY_TIMEOUT + 1)
    error = _rejected(env.lam.create_event_source_mapping, FunctionName="slow", EventSourceArn=env.arn_of(env.url))
    assert str(error).endswith("Queue visibility timeout: 30 seconds is less than Function timeout: 31 seconds")
    _rejected(env.lam.update_event_source_mapping, UUID=env.uuid, FunctionName="slow")
    env.lam.update_function_configuration(FunctionName="worker", Timeout=VISIBILITY_TIMEOUT + 1)
    _rejected(env.lam.update_event_source_mapping, UUID=env.uuid, BatchSize=5)


# -- settlement (services-sqs-errorhandling.html) --------------------------------------------------


def test_partial_batch_response_retries_only_failed_messages_then_the_dlq_takes_them(sim):
    """services-sqs-errorhandling.html + sqs-dead-letter-queues.html: with ReportBatchItemFailures only the
    listed messages stay; they reappear after the visibility timeout, and after maxReceiveCount
    receives SQS moves them to the DLQ."""
    env = Setup(sim, "report_bad", max_receive_count=3, FunctionResponseTypes=["ReportBatchItemFailures"])
    env.send("a", "b", "bad one", "c")
    assert sim.run_until_idle()
    batches = env.poller.batches
    assert [len(b.records) for b in batches] == [4, 1, 1]
    assert batches[0].settlement.rule is Rule.PARTIAL_FAILURE
    assert [b.records[0]["attributes"]["ApproximateReceiveCount"] for b in batches] == ["1", "2", "3"]
    # Each retry comes the moment the visibility timeout of the previous receive ends.
    for previous, retry in zip(batches, batches[1:]):
        assert retry.opened_us - previous.opened_us == pytest.approx(VISIBILITY_TIMEOUT * 1_000_000, abs=10)
    assert env.poller.stats.deleted == 3 and env.poller.stats.retried == 3
    dead = env.sqs.receive_message(QueueUrl=env.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in dead] == ["bad one"] and env.counts() == (0, 0)


@pytest.mark.parametrize("handler", ["raise_on_first_receive", "time_out_on_first_receive"])
@pytest.mark.parametrize("report", [False, True])
def test_function_error_or_timeout_fails_the_whole_batch(sim, handler, report):
    """services-sqs-errorhandling.html: if the function errors or times out, every message of the batch
    becomes visible again after the visibility timeout, with or without ReportBatchItemFailures."""
    types = ["ReportBatchItemFailures"] if report else []
    env = Setup(sim, handler, FunctionResponseTypes=types)
    ids = env.send("one", "two", "three")
    sim.run_for(VISIBILITY_TIMEOUT - 1)
    first = env.poller.batches[0]
    assert first.settlement.rule is Rule.FUNCTION_ERROR and list(first.settlement.failed) == ids
    assert env.counts() == (0, 3)
    assert sim.run_until_idle()
    second = env.poller.batches[1]
    assert second.message_ids == ids and env.seconds(second.opened_us) >= VISIBILITY_TIMEOUT
    assert second.settlement.succeeded == tuple(ids) and env.counts() == (0, 0)
    if handler.startswith("time_out"):
        assert first.invocation.timed_out and first.invocation.error_type == "Sandbox.Timedout"


def test_unknown_item_identifier_fails_the_whole_batch(sim):
    """services-sqs-errorhandling.html: an itemIdentifier that is not a message of the batch makes the
    response invalid: the whole batch returns to the queue; an empty batchItemFailures list then
    deletes all."""
    env = Setup(sim, "unknown_identifier_on_first_receive", FunctionResponseTypes=["ReportBatchItemFailures"])
    ids = env.send("one", "two")
    assert sim.run_until_idle()
    first, second = env.poller.batches
    assert first.settlement.rule is Rule.INVALID_RESPONSE and list(first.settlement.failed) == ids
    assert second.settlement.rule is Rule.EMPTY_RESPONSE and list(second.settlement.succeeded) == ids


# -- mapping lifecycle (API) -----------------------------------------------------------------------


def test_disabled_mapping_stops_polling_and_enabling_resumes(sim):
    """API_UpdateEventSourceMapping.html: Enabled=false stops polling (State Disabled); Enabled=true
    resumes it."""
    env = Setup(sim, "ok", Enabled=False)
    env.send("a", "b", "c")
    sim.run_for(120)
    assert sim.invocations == [] and env.counts() == (3, 0)
    assert env.poller.state == "Disabled" and env.poller.stats.polls == 0
    env.lam.update_event_source_mapping(UUID=env.uuid, Enabled=True)
    assert sim.run_until_idle()
    assert env.poller.state == "Enabled" and env.poller.stats.deleted == 3
    env.lam.update_event_source_mapping(UUID=env.uuid, Enabled=False)
    env.send("d")
    sim.run_for(120)
    assert env.counts() == (1, 0) and len(sim.invocations) == 1


def test_deleted_mapping_stops_polling(sim):
    """API_DeleteEventSourceMapping.html: a deleted mapping polls no more; the queue keeps its messages."""
    env = Setup(sim, "ok")
    env.send("a")
    sim.run_until_idle()
    env.lam.delete_event_source_mapping(UUID=env.uuid)
    env.send("b", "c")
    sim.run_for(120)
    assert env.poller.state == "Deleted" and len(sim.invocations) == 1 and env.counts() == (2, 0)
    assert env.lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_idle_mapping_schedules_nothing(sim):
    """with-sqs.html (long polling): an empty queue leaves nothing scheduled, so an idle mapping costs no
    simulation time and run_until_idle returns."""
    sim.service_metrics.stop()  # the queue's AWS/SQS minute ticks run while it is active: count the poller only
    env = Setup(sim, "ok")
    env.send("a")
    assert sim.run_until_idle()
    polls = env.poller.stats.polls
    sim.run_for(3600)
    assert sim._scheduler.pending(include_daemon=True) == 0 and env.poller.stats.polls == polls
    sent = sim.elapsed
    env.send("late", DelaySeconds=60)
    assert sim.run_until_idle()
    assert env.seconds(env.poller.batches[-1].opened_us) == pytest.approx(sent + 60, abs=0.001)


# -- FIFO ------------------------------------------------------------------------------------------


def test_fifo_keeps_the_order_of_each_message_group_through_retries(sim):
    """services-sqs-scaling.html (FIFO) + services-sqs-errorhandling.html: a batch may mix message groups;
    messages of a group are processed in order; after a failure (the failed message and every later
    one reported, as AWS advises) the group does not advance until the retried messages are
    processed."""
    env = Setup(sim, "fifo_stop_at_first_failure", fifo=True, BatchSize=10,
                FunctionResponseTypes=["ReportBatchItemFailures"])
    sent = [("A", "A1"), ("B", "B1"), ("A", "fail-once A2"), ("B", "B2"), ("A", "A3"), ("B", "B3")]
    for group, body in sent:
        env.send(body, MessageGroupId=group)
    assert sim.run_until_idle()
    processed: dict[str, list[str]] = {"A": [], "B": []}
    for batch in env.poller.batches:
        for record in batch.records:
            if record["messageId"] in batch.settlement.succeeded:
                processed[record["attributes"]["MessageGroupId"]].append(record["body"])
        assert batch.settlement.order_broken == ()
    assert processed == {"A": ["A1", "fail-once A2", "A3"], "B": ["B1", "B2", "B3"]}
    first = env.poller.batches[0]
    assert {r["attributes"]["MessageGroupId"] for r in first.records} == {"A", "B"}  # mixed groups
    retries = env.poller.batches[1:]
    assert retries and all(env.seconds(b.opened_us) >= VISIBILITY_TIMEOUT for b in retries)


# -- filtering (invocation-eventfiltering.html) ----------------------------------------------------


def test_filter_criteria_delete_messages_that_match_no_filter(sim):
    """invocation-eventfiltering.html: records matching no filter (ORed) never reach the function and are
    deleted; a JSON body is filtered by a JSON body pattern, a plain-string body by a plain-string
    pattern, and a format mismatch drops the message."""
    patterns = [{"body": {"kind": ["order"]}}, {"body": [{"prefix": "urgent:"}]}]
    env = Setup(sim, "ok", FilterCriteria={"Filters": [{"Pattern": json.dumps(p)} for p in patterns]})
    env.send(json.dumps({"kind": "order", "id": 1}), json.dumps({"kind": "refund"}), "urgent: call back",
             "plain text", json.dumps({"kind": "urgent:"}), json.dumps("urgent: as a JSON string"))
    assert sim.run_until_idle()
    seen = [r["body"] for b in env.poller.batches for r in b.records]
    assert seen == [json.dumps({"kind": "order", "id": 1}), "urgent: call back"]
    assert env.poller.stats.filtered == 4 and env.counts() == (0, 0)


# -- concurrency and scaling (services-sqs-scaling.html) -------------------------------------------


def test_maximum_concurrency_caps_concurrent_invocations(sim):
    """services-sqs-scaling.html: ScalingConfig.MaximumConcurrency caps the batches the mapping processes
    at once (without it, five start at once)."""
    env = Setup(sim, "ok", BatchSize=1, duration_ms=1000, ScalingConfig={"MaximumConcurrency": 2})
    env.send(*[f"m{i}" for i in range(10)])
    assert sim.run_until_idle()
    starts = sorted({r.start_us for r in sim.invocations})
    assert max(_overlap(sim.invocations, t) for t in starts) == 2
    assert env.poller.stats.peak_concurrency == 2 and env.poller.stats.deleted == 10


def test_scaling_rule_at_full_scale():
    """services-sqs-scaling.html (rules/sqs_scaling.py): 5 concurrent batches at first, up to 300 more per
    minute while messages remain (60 per minute before Nov 6 2023), at most 1,250 per mapping or
    MaximumConcurrency; errors back off unless ReportBatchItemFailures is on; throttles always."""
    scaling = PollerScaling()
    assert scaling.next_target(0, backlog=1) == 5
    assert scaling.next_target(60_000_000, backlog=1) == 305
    assert scaling.next_target(249_000_000, backlog=1) == 1250
    assert scaling.next_target(600_000_000, backlog=1) == 1250
    assert sqs_scaling.ramp(249) == 1250 and sqs_scaling.ramp(248.9) == 1249
    assert sqs_scaling.ramp(60, per_minute=sqs_scaling.SCALE_UP_PER_MINUTE_BEFORE_2023_11_06) == 65
    assert sqs_scaling.ramp(3600, maximum_concurrency=1000) == 1000
    assert scaling.next_target(600_000_001, backlog=1, errors=3) == 1247
    assert scaling.next_target(600_000_002, backlog=0) == 5  # low traffic: back to five
    tolerant = PollerScaling(report_batch_item_failures=True)
    tolerant.next_target(0, backlog=1)
    assert tolerant.next_target(1_000_000, backlog=1, errors=4) == 10  # no back-off on errors
    assert tolerant.next_target(1_000_001, backlog=1, throttles=4) == 6  # throttles back off
    capped = PollerScaling(maximum_concurrency=2)
    assert capped.next_target(0, backlog=1) == 2 and capped.next_target(60_000_000, backlog=1) == 2
    with pytest.raises(ValueError):
        PollerScaling(maximum_concurrency=1001)


def test_scaling_rate_through_the_simulator(sim):
    """services-sqs-scaling.html: with long invocations and a backlog, the mapping adds one concurrent
    batch every 200 ms (300 per minute) on top of the first five."""
    env = Setup(sim, "ok", BatchSize=1, timeout=30, duration_ms=10_000)
    env.send(*[f"m{i}" for i in range(40)])
    sim.run_for(2.5)
    start = sim._start_us
    assert [_overlap(sim.invocations, start + ms * 1000) for ms in (0, 1000, 2000)] == [5, 10, 15]
    assert env.poller.scaling.target == 17


def test_throttled_batches_stay_in_flight_and_retry_until_the_visibility_timeout(sim, monkeypatch):
    """services-sqs-errorhandling.html: on throttling Lambda backs off and keeps retrying the batch while
    the messages are within their visibility timeout; the messages stay in flight (not received
    again)."""
    env = Setup(sim, "ok")
    real_execute = sim._service.execute
    throttle = {"left": 3}

    def execute(request):
        if throttle["left"] > 0:
            throttle["left"] -= 1
            raise Throttled("worker", "ReservedFunctionConcurrentInvocationLimitExceeded", "Rate Exceeded.")
        return real_execute(request)

    monkeypatch.setattr(sim._service, "execute", execute)
    env.send("a")
    sim.run_for(5)
    assert sim.invocations == [] and env.counts() == (0, 1) and env.poller.stats.throttled == 3
    assert sim.run_until_idle()
    (batch,) = env.poller.batches
    assert env.seconds(batch.invoked_us) == 7.0  # retried after 1 s, 2 s, 4 s
    assert batch.records[0]["attributes"]["ApproximateReceiveCount"] == "1"
    assert env.poller.stats.polls >= 1 and env.poller.stats.deleted == 1


def test_throttle_retries_stop_at_the_visibility_timeout_and_the_message_reappears(sim, monkeypatch):
    """services-sqs-errorhandling.html: "Lambda continues to retry the message until the message's
    timestamp exceeds your queue's visibility timeout"; then the message is visible again and
    received anew."""
    env = Setup(sim, "ok")
    real_execute = sim._service.execute

    def execute(request):
        if json.loads(request.payload)["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1":
            raise Throttled("worker", "ConcurrentInvocationLimitExceeded", "Rate Exceeded.")
        return real_execute(request)

    monkeypatch.setattr(sim._service, "execute", execute)
    env.send("a")
    sim.run_for(VISIBILITY_TIMEOUT - 1)
    assert env.counts() == (0, 1) and env.poller.stats.released == 1
    assert env.poller.stats.throttled == 5  # at 0, 1, 3, 7 and 15 s; the next would be at 31 s
    assert sim.run_until_idle()
    last = env.poller.batches[-1]
    assert last.records[0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert env.seconds(last.invoked_us) >= VISIBILITY_TIMEOUT and env.poller.stats.deleted == 1


def test_reserved_concurrency_below_the_mapping_throttles_and_everything_is_processed(sim):
    """services-sqs-errorhandling.html: with reserved concurrency 2 the mapping's five batches are
    throttled by the Lambda service (errors.Throttled); the poller backs off and retries, never
    more than 2 invocations run at once, and every message is processed once."""
    env = Setup(sim, "ok", BatchSize=1, timeout=10, duration_ms=2000)
    env.lam.put_function_concurrency(FunctionName="worker", ReservedConcurrentExecutions=2)
    env.send(*[f"m{i}" for i in range(12)])
    assert sim.run_until_idle()
    stats = env.poller.stats
    assert stats.throttled > 0 and stats.deleted == 12 and stats.invocations == 12
    assert max(_overlap(sim.invocations, r.start_us) for r in sim.invocations) == 2
    assert {t.source for t in sim.throttles} == {"sqs"}


# -- the event (with-sqs.html) ---------------------------------------------------------------------


@pytest.mark.parametrize("fifo", [False, True])
def test_events_have_aws_shape_and_pass_powertools_sqs_model(sim, fifo):
    """with-sqs.html: the event carries real attributes (ApproximateReceiveCount, SentTimestamp,
    ApproximateFirstReceiveTimestamp at virtual time) and messageAttributes, and parses with
    Powertools' SqsModel."""
    env = Setup(sim, "ok", fifo=fifo)
    kwargs: dict[str, Any] = {"MessageGroupId": "g"} if fifo else {}
    sim.run_for(timedelta(minutes=1))
    env.send("hello", MessageAttributes={"tenant": {"DataType": "String", "StringValue": "acme"}}, **kwargs)
    assert sim.run_until_idle()
    (batch,) = env.poller.batches
    event = json.loads(batch.payload())
    assert event == batch.event()
    parsed = parse(event=event, model=SqsModel)
    record = event["Records"][0]
    assert parsed.Records[0].body == "hello"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["attributes"]["SentTimestamp"] == str((sim._start_us + 60_000_000) // 1000)
    assert "ApproximateFirstReceiveTimestamp" in record["attributes"]
    assert record["messageAttributes"]["tenant"] == {
        "stringValue": "acme", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    assert record["eventSourceARN"] == env.arn_of(env.url) and record["awsRegion"] == "us-east-1"
    if fifo:
        assert record["attributes"]["MessageGroupId"] == "g"


def test_fifo_messages_that_time_out_together_come_back_in_order(sim):
    """https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html:
    messages of a group are received in order, also when several of them time out together (moto
    delivered the last one first; `_moto_patches.sqs`)."""
    sqs = sim.client("sqs")
    url = sqs.create_queue(QueueName="q.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "10"})["QueueUrl"]
    for body in ("1", "2", "3"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["1", "2", "3"]
    sim.run_for(11)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in again] == ["1"]


@pytest.mark.parametrize("invocation_type", ["RequestResponse", "Event"])
def test_a_message_sent_by_handler_code_is_not_received_before_it_was_sent(sim, invocation_type):
    """with-sqs.html: the poller receives a message after it was sent, also when handler code sends it at
    its invocation's own (later) virtual time."""
    env = Setup(sim, "ok")
    sim.create_function(FunctionName="producer", Handler="handlers.send_after_two_seconds", code_dir=FIXTURES,
                        Timeout=10, Environment={"Variables": {"QUEUE_URL": env.url}})
    env.lam.invoke(FunctionName="producer", InvocationType=invocation_type, Payload=b"{}")
    assert sim.run_until_idle()
    (batch,) = env.poller.batches
    sent_ms = int(batch.records[0]["attributes"]["SentTimestamp"])
    assert sent_ms >= (sim._start_us + 2_000_000) // 1000
    assert batch.opened_us // 1000 >= sent_ms


def test_a_deleted_queue_stops_the_poller_without_breaking_the_simulation(sim):
    """API_EventSourceMappingConfiguration.html (LastProcessingResult): when the queue is gone the mapping
    reports a problem and stops; the rest of the simulation goes on."""
    env = Setup(sim, "ok")
    env.send("a")
    assert sim.run_until_idle()
    env.sqs.delete_queue(QueueUrl=env.url)
    env.lam.update_event_source_mapping(UUID=env.uuid, BatchSize=5)
    assert sim.run_until_idle()
    assert env.poller.problem is not None and "does not exist" in env.poller.problem
    assert not env.poller.polling
