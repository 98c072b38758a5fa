"""Amazon SQS FIFO queues' throughput quotas the simulator enforces on moto's queues
(lambdasim/rules/sqs_fifo.py, lambdasim/sqs_fifo_throughput.py, lambdasim/_moto_patches/sqs.py,
and what the Lambda SQS poller feels of them, lambdasim/pollers/sqs.py).

Each test's docstring names the AWS documentation page whose rule it pins (the site's fidelity
table is built from them).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdasim import Simulator, SqsFifoLimits
from lambdasim.rules import sqs_fifo as rules
from lambdasim.rules.throughput import RateLimit

FIXTURES = Path(__file__).parent / "fixtures" / "sqs_poller"
FIFO = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
HIGH_THROUGHPUT = {**FIFO, "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}


@pytest.fixture
def sim():
    with Simulator(seed=5) as simulator:
        yield simulator


@pytest.fixture
def sqs(sim):
    # No SDK retries: each refusal reaches the test (a retry's backoff would sleep on the virtual clock).
    return sim.client("sqs", config=Config(retries={"total_max_attempts": 1}))


def _queue(sqs, name: str, attributes: dict[str, str] | None = None) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


_bodies = itertools.count()


def _send(sqs, url: str, group: str = "g") -> None:
    # A body of its own: content-based deduplication would drop a repeated one.
    sqs.send_message(QueueUrl=url, MessageBody=str(next(_bodies)), MessageGroupId=group)


def _refused(call) -> ClientError:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value


def test_a_fifo_queue_takes_300_calls_a_second_per_action_a_batch_being_one(sim, sqs):
    """https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html:
    a FIFO queue (not in high throughput mode) takes 300 transactions per second per API action
    (SendMessage, ReceiveMessage, DeleteMessage); batched, 3,000 messages a second, "300 API
    calls, each with a batch of 10 messages". Past it the call is refused with RequestThrottled,
    HTTP 400 (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html),
    and nothing is sent; the other actions keep their own quota. Modelled: a bucket of one second
    refilled continuously (no burst is documented)."""
    url, arn = _queue(sqs, "orders.fifo", FIFO)
    for call in range(299):
        _send(sqs, url)
    sqs.send_message_batch(QueueUrl=url, Entries=[  # the 300th call: ten messages, one transaction
        {"Id": str(n), "MessageBody": f"batch-{n}", "MessageGroupId": "g"} for n in range(10)])
    refusal = _refused(lambda: _send(sqs, url))
    assert refusal.response["Error"]["Code"] == "RequestThrottled"
    assert refusal.response["Error"]["Message"] == "The request was denied due to request throttling."
    assert refusal.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert isinstance(refusal, sqs.exceptions.RequestThrottled)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "309"  # the refused message was not sent
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 10  # its own quota
    [throttle] = sim.sqs_fifo.throttles
    assert (throttle.service, throttle.scope, throttle.resource) == ("sqs", "SendMessage", arn)
    assert throttle.limit == RateLimit(300, 300) and throttle.at_us == sim._clock.micros
    sim.run_for(0.1)  # a tenth of a second refills 30 calls
    for _ in range(30):
        _send(sqs, url)
    _refused(lambda: _send(sqs, url))


def test_each_action_counts_apart_and_standard_queues_have_no_quota(sim, sqs):
    """https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/troubleshooting-fifo-throttling-issues.html:
    the quota is "per API action for SendMessage, ReceiveMessage, and DeleteMessage", and
    DeleteMessageBatch raises it to 3,000 messages a second (one call, ten deletes); standard
    queues support "a very high, nearly unlimited number of API calls per second"
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
    Every quota is a setting (`Simulator(sqs_fifo_limits=...)`, `sim.sqs_fifo.limits`), AWS's
    defaults unless changed; `enforce=False` turns them off."""
    assert sim.sqs_fifo.limits == SqsFifoLimits() == SqsFifoLimits(300, None, 300, True)
    with pytest.raises(ValueError, match="transactions_per_s must be above 0"):
        SqsFifoLimits(transactions_per_s=0)
    sim.sqs_fifo.limits = SqsFifoLimits(transactions_per_s=3)
    url, _ = _queue(sqs, "jobs.fifo", FIFO)
    standard, _ = _queue(sqs, "jobs")
    for n in range(3):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": f"{n}-{i}", "MessageGroupId": f"g{n}"} for i in range(10)])
    _refused(lambda: _send(sqs, url))
    for _ in range(20):
        sqs.send_message(QueueUrl=standard, MessageBody="m")
    handles = []
    for _ in range(3):
        handles += [m["ReceiptHandle"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    _refused(lambda: sqs.receive_message(QueueUrl=url))
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[:10])])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[10])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[11])
    _refused(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[12]))
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[13], VisibilityTimeout=0)  # not counted
    assert [t.scope for t in sim.sqs_fifo.throttles] == ["SendMessage", "ReceiveMessage", "DeleteMessage"]
    sim.sqs_fifo.limits = SqsFifoLimits(transactions_per_s=3, enforce=False)
    for _ in range(5):
        _send(sqs, url)
    assert len(sim.sqs_fifo.throttles) == 3
    assert Simulator(sqs_fifo_limits=SqsFifoLimits(transactions_per_s=7)).sqs_fifo.limits.transactions_per_s == 7


def test_high_throughput_mode_takes_the_regions_quota_and_a_partition_per_message_group(sim, sqs):
    """https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html:
    in high throughput mode a FIFO queue takes, per API action, up to 70,000 transactions per
    second in US East (N. Virginia), US West (Oregon) and Europe (Ireland), 19,000 in US East
    (Ohio) and Europe (Frankfurt), 9,000 in Mumbai, Singapore, Sydney and Tokyo, 4,500 in London
    and São Paulo, 2,400 in every other Region. High throughput is DeduplicationScope
    messageGroup with FifoThroughputLimit perMessageGroupId; anything else is normal throughput
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
    A message group hashes to one partition, which takes 300 sends a second, each group of a
    batch counting once (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html).
    Modelled: each group has a partition of its own, so a hot group is refused while the queue is
    far under its quota."""
    assert [rules.high_throughput_tps(r) for r in ("us-east-1", "us-west-2", "eu-west-1", "us-east-2", "eu-central-1",
                                                   "ap-northeast-1", "sa-east-1", "ca-central-1")] == [
        70_000, 70_000, 70_000, 19_000, 19_000, 9_000, 4_500, 2_400]
    assert rules.queue_limit(SqsFifoLimits(), "us-east-1", high_throughput=True) == RateLimit(70_000, 70_000)
    assert not rules.is_high_throughput("messageGroup", "perQueue") and not rules.is_high_throughput("queue", None)
    sim.sqs_fifo.limits = SqsFifoLimits(transactions_per_s=5, partition_transactions_per_s=3)
    url, arn = _queue(sqs, "fast.fifo", HIGH_THROUGHPUT)
    half, _ = _queue(sqs, "half.fifo", {**FIFO, "DeduplicationScope": "messageGroup"})
    for group in range(12):  # more than a queue in normal mode takes at once
        _send(sqs, url, f"g{group}")
    for _ in range(2):
        _send(sqs, url, "hot")
    sqs.send_message_batch(QueueUrl=url, Entries=[  # one transaction of "hot"'s partition, one of "g0"'s
        {"Id": str(n), "MessageBody": "m", "MessageGroupId": "hot" if n % 2 else "g0"} for n in range(10)])
    _refused(lambda: _send(sqs, url, "hot"))
    _send(sqs, url, "g0")  # its third
    _refused(lambda: _send(sqs, url, "g0"))
    _send(sqs, url, "cold")
    for _ in range(5):
        _send(sqs, half, "g")  # perQueue: normal throughput
    _refused(lambda: _send(sqs, half, "other"))
    assert [(t.scope, t.resource, t.limit) for t in sim.sqs_fifo.throttles] == [
        ("SendMessage", f"{arn} MessageGroupId=hot", RateLimit(3, 3)),
        ("SendMessage", f"{arn} MessageGroupId=g0", RateLimit(3, 3)),
        ("SendMessage", arn.replace("fast", "half"), RateLimit(5, 5))]


def _mapping(sim, sqs, name: str, **attributes: str) -> tuple[str, str]:
    url, arn = _queue(sqs, name, {**FIFO, "VisibilityTimeout": "20", **attributes})
    sim.create_function(FunctionName="worker", Handler="handlers.ok", code_dir=FIXTURES)
    uuid = sim.client("lambda").create_event_source_mapping(FunctionName="worker", EventSourceArn=arn,
                                                            BatchSize=10)["UUID"]
    return url, uuid


def _processed(poller) -> list[str]:
    return [record["body"] for batch in poller.batches for record in batch.records]


def test_the_lambda_poller_feels_the_receive_quota_and_still_delivers_every_message(sim):
    """https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html: Lambda polls the queue with
    ReceiveMessage; on a FIFO queue those calls count against the queue's per-action quota like
    any consumer's (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
    Modelled: a refused receive (after botocore's retries, at one instant) is made again 1 s
    later, counted in `PollerStats.sqs_errors`."""
    sqs = sim.client("sqs")
    url, uuid = _mapping(sim, sqs, "work.fifo")
    for group in range(8):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": f"{group}-{n}", "MessageGroupId": f"g{group}"} for n in range(10)])
    sim.sqs_fifo.limits = SqsFifoLimits(transactions_per_s=2)  # the poller's calls from now on
    assert sim.run_until_idle(max_seconds=600)
    poller = sim.poller(uuid)
    assert sorted(_processed(poller)) == sorted(f"{group}-{n}" for group in range(8) for n in range(10))
    assert poller.stats.deleted == 80 and poller.stats.sqs_errors > 0
    assert {t.scope for t in sim.sqs_fifo.throttles} == {"ReceiveMessage"}
    assert sim.elapsed > 3  # 9 receives at 2 a second


def test_a_refused_delete_of_the_poller_brings_the_batch_back_after_its_visibility_timeout(sim):
    """https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html: Lambda deletes a processed batch
    from the queue; a message not deleted becomes visible again when its visibility timeout ends
    and is processed again. The DeleteMessageBatch counts against the FIFO queue's DeleteMessage
    quota (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
    Modelled: a refused delete is not made again; the batch comes back (at least once delivery)."""
    sqs = sim.client("sqs", config=Config(retries={"total_max_attempts": 1}))
    url, uuid = _mapping(sim, sqs, "once.fifo")
    sim.set_duration("worker", 10)
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(n), "MessageBody": str(n), "MessageGroupId": "g"} for n in range(10)])
    sim.sqs_fifo.limits = SqsFifoLimits(transactions_per_s=1)

    def another_consumer_deletes() -> None:  # takes the queue's one DeleteMessage of this second
        with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
            sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-receipt")

    sim.schedule(0.005, another_consumer_deletes)
    assert sim.run_until_idle(max_seconds=120)
    poller = sim.poller(uuid)
    assert _processed(poller) == [str(n) for n in range(10)] * 2
    assert poller.stats.delete_failures == 10 and poller.stats.deleted == 10
    # One DeleteMessageBatch, refused on each of botocore's 3 attempts at one instant.
    assert [t.scope for t in sim.sqs_fifo.throttles].count("DeleteMessage") == 3
    assert poller.batches[1].opened_us - poller.batches[0].opened_us >= 20_000_000
