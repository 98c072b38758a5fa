"""Graded tests of lab 00: partial batch responses for SQS.

Each test drives your `lambda_handler` through real (moto) SQS queues with a redrive policy,
played by the course's event source mapping (`lambdasim.sources.sqs`) with
`ReportBatchItemFailures` turned on, and checks what happened: which messages were deleted,
retried or dead-lettered, and which orders the warehouse shipped. Nothing reads your source.
Your handler runs in a process of its own (as on AWS); its `warehouse.ship` calls are served
by the grader's warehouse.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from freezegun import freeze_time
from moto import mock_aws

from labgrader import require_work
from lambdasim.isolation import SharedObject
from lambdasim.sources.sqs import FunctionError, Returned, drain_queue, poll_once
from serverless_course.realities.orders import (
    Order,
    order_body,
    order_id_of,
    poison_body,
    warehouse,
)

REGION = "us-east-1"
VISIBILITY_TIMEOUT = 30
# AWS recommends at least 5 for a queue that Lambda reads (services-sqs-configure.html).
MAX_RECEIVE_COUNT = 5


@dataclass
class Queues:
    sqs: Any
    clock: Any
    url: str
    dlq_url: str


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    warehouse.reset()
    with mock_aws(), freeze_time("2026-01-05 12:00:00") as clock:
        yield boto3.client("sqs", region_name=REGION), clock
    warehouse.reset()


@pytest.fixture
def lambda_handler(submission: Any, aws: tuple[Any, Any]) -> Any:
    shared = {"serverless_course.realities.orders.warehouse":
              SharedObject(warehouse, frozenset({"ship"}), (Order,))}
    module = submission.load("handler", shared=shared, aws=True, clock=aws[1])
    assert callable(getattr(module, "lambda_handler", None)), (
        "handler.py must define a function lambda_handler(event, context)"
    )
    return module.lambda_handler


def make_queues(aws: tuple[Any, Any], *, fifo: bool = False) -> Queues:
    sqs, clock = aws
    suffix = ".fifo" if fifo else ""
    fifo_attributes = {"FifoQueue": "true"} if fifo else {}
    dlq_url = sqs.create_queue(QueueName=f"orders-dlq{suffix}", Attributes=fifo_attributes)[
        "QueueUrl"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes = {
        **fifo_attributes,
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
        ),
    }
    if fifo:
        attributes["ContentBasedDeduplication"] = "true"
    url = sqs.create_queue(QueueName=f"orders{suffix}", Attributes=attributes)["QueueUrl"]
    return Queues(sqs=sqs, clock=clock, url=url, dlq_url=dlq_url)


def send(queues: Queues, bodies: list[str], *, group: str | None = None) -> None:
    for start in range(0, len(bodies), 10):
        entries = []
        for n, body in enumerate(bodies[start : start + 10]):
            entry = {"Id": str(n), "MessageBody": body}
            if group:
                entry["MessageGroupId"] = group
            entries.append(entry)
        queues.sqs.send_message_batch(QueueUrl=queues.url, Entries=entries)


def orders(seed: int, count: int, poison_at: set[int]) -> tuple[list[str], list[str]]:
    """Message bodies for orders o-0000.., poison at the given positions; and the order ids."""
    rng = random.Random(seed)
    ids = [f"o-{n:04d}" for n in range(count)]
    bodies = [
        poison_body(i, rng) if n in poison_at else order_body(i, rng) for n, i in enumerate(ids)
    ]
    return bodies, ids


def order_ids(records: list[dict[str, Any]], message_ids: tuple[str, ...]) -> list[str]:
    by_message = {r["messageId"]: order_id_of(r["body"]) for r in records}
    return [by_message[m] for m in message_ids]


def dead_lettered(queues: Queues) -> list[str]:
    found = []
    while batch := queues.sqs.receive_message(QueueUrl=queues.dlq_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        found += [order_id_of(m["Body"]) for m in batch]
    return sorted(found)


def drain(queues: Queues, handler: Any, batch_size: int = 10) -> list[Any]:
    return drain_queue(
        queues.sqs,
        queues.url,
        handler,
        advance_clock=queues.clock.tick,
        batch_size=batch_size,
        report_batch_item_failures=True,
    )


def duplicates() -> dict[str, int]:
    return {order: n for order, n in warehouse.shipments.items() if n > 1}


def describe(result: Any) -> str:
    """What the handler did in one poll and what Lambda made of it, for feedback."""
    if isinstance(result.outcome, FunctionError):
        return (
            f"your handler raised {result.outcome.error}, "
            "so Lambda returned the whole batch to the queue"
        )
    try:
        response = repr(result.outcome.response)
    except ValueError:
        response = f"{result.outcome.payload[:80]!r} (not JSON)"
    if len(response) > 120:
        response = f"{response[:117]}..."
    return f"your handler returned {response}, and {result.settlement.reason}"


# ---------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_a_batch_of_valid_orders_is_shipped_once_and_deleted(aws: Any, lambda_handler: Any) -> None:
    """Ten valid orders in one batch: all ten ship once and Lambda deletes all ten messages."""
    queues = make_queues(aws)
    bodies, ids = orders(seed=5, count=10, poison_at=set())
    send(queues, bodies)

    result = poll_once(queues.sqs, queues.url, lambda_handler, report_batch_item_failures=True)

    assert len(result.deleted) == 10, (
        f"Lambda deleted {len(result.deleted)} of 10 valid messages: {describe(result)}"
    )
    assert warehouse.shipments == {i: 1 for i in ids}, "every valid order must ship exactly once"


@pytest.mark.points(3)
def test_one_poison_message_in_ten_only_it_is_retried_then_dead_lettered(
    aws: Any, lambda_handler: Any
) -> None:
    """One poison message among ten: the nine valid orders ship exactly once and are deleted
    on the first attempt; only the poison message returns to the queue, and after
    maxReceiveCount (5) receives SQS moves it, alone, to the dead-letter queue."""
    queues = make_queues(aws)
    bodies, ids = orders(seed=7, count=10, poison_at={3})
    send(queues, bodies)

    polls = drain(queues, lambda_handler)

    first = polls[0]
    retried = order_ids(first.records, first.left_for_retry)
    assert retried == ["o-0003"], (
        f"After the first batch, {retried or 'no message'} returned to the queue; only the poison "
        f"message o-0003 should: {describe(first)}"
    )
    assert dead_lettered(queues) == ["o-0003"], (
        "Only the poison message o-0003 should end in the dead-letter queue, after 5 receives"
    )
    assert not duplicates(), (
        f"Orders shipped more than once: {duplicates()}. A message that succeeded was retried: "
        "report only the failed messages in batchItemFailures"
    )
    assert set(warehouse.shipments) == set(ids) - {"o-0003"}, "all nine valid orders must ship"
    assert len(polls) == MAX_RECEIVE_COUNT, (
        f"The poison message should be received {MAX_RECEIVE_COUNT} times before the dead-letter "
        f"queue, not {len(polls)}"
    )


@pytest.mark.points(1)
def test_the_response_names_failed_messages_by_message_id(aws: Any, lambda_handler: Any) -> None:
    """The handler returns {"batchItemFailures": [{"itemIdentifier": <messageId>}]} with the
    failed message's messageId (not its receipt handle, body or order id)."""
    queues = make_queues(aws)
    bodies, _ = orders(seed=13, count=4, poison_at={1})
    send(queues, bodies)

    result = poll_once(queues.sqs, queues.url, lambda_handler, report_batch_item_failures=True)

    poison_message_id = result.records[1]["messageId"]
    expected = {"batchItemFailures": [{"itemIdentifier": poison_message_id}]}
    assert isinstance(result.outcome, Returned), describe(result)
    assert result.outcome.response == expected, (
        f"Expected the response {{'batchItemFailures': [{{'itemIdentifier': <the poison "
        f"message's messageId>}}]}}; {describe(result)}"
    )


@pytest.mark.points(2)
def test_several_failures_poison_and_transient(aws: Any, lambda_handler: Any) -> None:
    """Two poison messages and one order whose first shipment fails (the warehouse is briefly
    unavailable) in a batch of ten: those three return to the queue; the transient one ships
    on its retry; the two poison messages end in the dead-letter queue; no order ships twice."""
    queues = make_queues(aws)
    bodies, ids = orders(seed=17, count=10, poison_at={2, 8})
    warehouse.fail_next_shipments("o-0005")
    send(queues, bodies)

    polls = drain(queues, lambda_handler)

    retried = sorted(order_ids(polls[0].records, polls[0].left_for_retry))
    assert retried == ["o-0002", "o-0005", "o-0008"], (
        f"After the first batch {retried} returned to the queue; expected the two poison "
        f"messages and the failed shipment: {describe(polls[0])}"
    )
    assert warehouse.shipments["o-0005"] == 1, "o-0005 must ship once, on its retry"
    assert dead_lettered(queues) == ["o-0002", "o-0008"], (
        "only the poison messages belong in the DLQ"
    )
    assert not duplicates(), f"Orders shipped more than once: {duplicates()}"
    assert set(warehouse.shipments) == set(ids) - {"o-0002", "o-0008"}


@pytest.mark.points(1)
def test_a_batch_of_only_poison_messages_is_retried_whole(aws: Any, lambda_handler: Any) -> None:
    """Every message of the batch is poison: all of them return to the queue (none may be
    reported as a success and deleted), nothing ships, and all end in the dead-letter queue.
    (A first batch of valid orders must ship: a handler that fails everything earns nothing.)"""
    queues = make_queues(aws)
    valid, valid_ids = orders(seed=37, count=3, poison_at=set())
    send(queues, valid)
    poll_once(queues.sqs, queues.url, lambda_handler, report_batch_item_failures=True)
    require_work(len(warehouse.shipments), len(valid_ids), "valid orders of a first batch shipped")
    warehouse.reset()
    bodies, ids = orders(seed=31, count=4, poison_at={0, 1, 2, 3})
    send(queues, bodies)

    polls = drain(queues, lambda_handler)

    deleted = sorted(order_id for p in polls for order_id in order_ids(p.records, p.deleted))
    assert not deleted, (
        f"Lambda deleted poison messages {deleted}: a message that failed must be reported in "
        f"batchItemFailures (or the invocation must fail), never treated as a success"
    )
    assert not warehouse.shipped, f"nothing may ship, but {warehouse.shipped} did"
    assert dead_lettered(queues) == ids, "all four poison messages belong in the dead-letter queue"


@pytest.mark.points(2)
def test_fifo_the_failure_and_everything_after_it_are_retried_in_order(
    aws: Any, lambda_handler: Any
) -> None:
    """On a FIFO queue (one message group), a failure at the third message: the first two ship
    and are deleted; the failed message and all after it return to the queue unprocessed, so
    that the next attempt starts again at the failed message and the group keeps its order."""
    queues = make_queues(aws, fifo=True)
    bodies, ids = orders(seed=23, count=6, poison_at=set())
    warehouse.fail_next_shipments("o-0002")
    send(queues, bodies, group="customer-42")

    # The first attempt only: moto 5.2.5 does not redeliver a FIFO group in order once several
    # of its messages time out together, so the retry itself cannot be checked faithfully.
    first = poll_once(queues.sqs, queues.url, lambda_handler, report_batch_item_failures=True)

    deleted = order_ids(first.records, first.deleted)
    retried = order_ids(first.records, first.left_for_retry)
    assert (deleted, retried) == (ids[:2], ids[2:]), (
        f"Deleted {deleted} and returned {retried} to the queue; on a FIFO queue stop at the "
        f"first failure (o-0002) and report it and every message after it: {describe(first)}"
    )
    assert warehouse.shipped == ids[:2], (
        f"Shipped {warehouse.shipped} in the first attempt; after o-0002 failed nothing more "
        "of the group may ship, or it would ship ahead of o-0002"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [11, 29, 83])
def test_random_scenario(aws: Any, lambda_handler: Any, seed: int) -> None:
    """A random standard-queue scenario (seeded): 8 to 30 orders, a random batch size, some
    poison messages and some transient shipment failures. In the end every valid order ships
    exactly once and only the poison messages are dead-lettered."""
    rng = random.Random(seed)
    count = rng.randint(8, 30)
    poison_at = set(rng.sample(range(count), k=rng.randint(1, max(1, count // 6))))
    bodies, ids = orders(seed=seed, count=count, poison_at=poison_at)
    valid = [i for n, i in enumerate(ids) if n not in poison_at]
    flaky = rng.sample(valid, k=rng.randint(0, len(valid) // 5))
    for order_id in flaky:
        warehouse.fail_next_shipments(order_id)
    batch_size = rng.randint(1, 10)
    queues = make_queues(aws)
    send(queues, bodies)

    drain(queues, lambda_handler, batch_size=batch_size)

    scenario = (
        f"seed {seed}: {count} orders, batch size {batch_size}, "
        f"poison {sorted(ids[n] for n in poison_at)}, transient failures {sorted(flaky)}"
    )
    missing = sorted(set(valid) - set(warehouse.shipments))
    assert not missing, f"{scenario}: valid orders never shipped: {missing}"
    assert not duplicates(), f"{scenario}: orders shipped more than once: {duplicates()}"
    assert dead_lettered(queues) == sorted(ids[n] for n in poison_at), (
        f"{scenario}: the dead-letter queue must hold exactly the poison messages"
    )
