"""The chaos harness: seeded failures through the orders processing path, then an audit.

What runs: the module 1 pipeline stack (``serverless_course.pipeline.deploy``, the SAM
template), with the messages sent straight to its orders queue in the shape EventBridge delivers
them (an ``OrderPlaced`` event per message), so the path under test is SQS -> event source
mapping (batches of 10, ``ReportBatchItemFailures``, ``maxReceiveCount`` 5 to the redrive DLQ) ->
processor -> DynamoDB. ``processor=`` replaces the processor's ``processor/app.py`` with another
file (a learner's, or a deliberately wrong one), through ``pipeline.deploy(replace=...)``.

What is injected (all from the seed, on the virtual clock, nothing sleeps for real):

* **poison** messages: bodies that can never succeed (not JSON, an order the contract
  rejects, an event without ``metadata.event_id``); they must end in the poison DLQ.
* **duplicates**: a message sent a second time (at-least-once delivery).
* **throttles**: DynamoDB ``ProvisionedThroughputExceededException`` on the first HTTP attempt
  of a share of the processor's calls (botocore's retries absorb them).
* **transient** errors: DynamoDB 500s on every attempt of a share of ``PutItem`` calls, so the
  error escapes botocore and the record must be retried by SQS.
* **Lambda throttles** (``reserved_concurrency``): the processor's reserved concurrency is set,
  and the poller's invocations are refused and retried while the visibility timeout lasts.
* **in-invocation retries** are counted, not injected: an order written more than once in one
  invocation (each invocation's trace id tells them apart) is code retrying by itself instead of
  leaving the record to SQS.
* **timeouts**: for chosen messages, the table never answers the first write of the order
  (``lambdasim.NoAnswer``: the client waits its 60 s read timeout, past the function's timeout,
  on the virtual clock), the invocation times out and the whole batch comes back after the
  visibility timeout.

The audit: the orders table's stream (enabled by the harness) counts how many times each order
was written (an effect applied twice is two stream records, even when the item is the same); the
two dead-letter queues the processor's failures reach (the poison messages it dead-letters
itself, ``DeadLetterQueueUrl``, and the queue's redrive, ``RedriveDeadLetterQueueUrl``) are
drained and each entry matched with the message it came from. Every valid message must be
written exactly once and not be in a DLQ; every poison message must be in a DLQ with its
reason attached (the ``ErrorType`` and ``ErrorMessage`` message attributes, set by the processor
that dead-letters it) and never written. An entry without a reason (moved by the queue's redrive
policy after ``maxReceiveCount`` receives) or of a valid message is unexplained. ``OrderAccepted`` events seen by a downstream
queue are counted too: every applied order must have at least one (``events_missing`` fails the
audit); more than one is at-least-once delivery (``events_duplicated``), reported, not audited.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lambdasim.sources.sqs import take_all
from serverless_course import pipeline
from serverless_course.pipeline import orders_contract as contract
from serverless_course.pipeline import traffic

POISON_KINDS = ("not JSON", "invalid order", "no event id")


@dataclass(frozen=True)
class ChaosMix:
    """Shares of the messages (or of calls) that get each failure."""

    poison: float = 0.03  #: share of messages that are poison (never processable)
    duplicates: float = 0.05  #: share of messages sent twice
    throttle_rate: float = 0.05  #: share of the processor's DynamoDB calls throttled once
    transient_rate: float = 0.02  #: share of PutItem calls failing on every attempt (500)
    timeouts: float = 0.01  #: share of messages whose first order write hangs past the timeout
    # Lambda throttles: the processor's reserved concurrency (None: unreserved)
    reserved_concurrency: int | None = None


@dataclass
class Message:
    n: int
    order_id: str
    body: str
    poison: str = ""  #: the reason it can never succeed, "" for a valid message
    copies: int = 1  #: how many times it was sent


@dataclass
class ChaosReport:
    seed: int
    sent: int  #: distinct messages
    deliveries: int  #: messages put on the queue (duplicates included)
    applied: int  #: valid messages written exactly once
    dead_lettered: Counter  #: poison DLQ entries by the reason attached (``ErrorType``)
    lost: list[str]  #: order ids neither applied nor dead-lettered (or poison that was applied)
    duplicated: list[str]  #: order ids written more than once
    unexplained_dlq: list[str]  #: DLQ entries of valid messages, without a reason, or unknown
    left_in_queue: int
    retries: int  #: records failed and left for SQS to redeliver (the poller's ``retried``)
    #: writes of an order made again inside the same invocation (the code retrying by itself)
    in_invocation_retries: int
    timeouts: int  #: invocations that timed out
    lambda_throttles: int  #: batches the Lambda service refused (reserved concurrency), retried
    invocations: int
    failed_invocations: int  #: whole-batch failures (errors, timeouts)
    faults: Counter  #: injected faults by code
    events_missing: list[str]  #: applied orders with no OrderAccepted event downstream
    events_duplicated: list[str]  #: orders with more than one OrderAccepted event
    virtual_s: float
    wall_s: float
    poller: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.unexplained_dlq or self.left_in_queue
                    or self.events_missing)

    def ledger(self) -> str:
        dlq = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.dead_lettered.items())) or "-"
        faults = ", ".join(f"{code}: {n}" for code, n in sorted(self.faults.items())) or "-"
        rows = [
            ("seed", self.seed),
            ("sent (distinct / deliveries)", f"{self.sent} / {self.deliveries}"),
            ("applied exactly once", self.applied),
            ("dead-lettered", f"{sum(self.dead_lettered.values())} ({dlq})"),
            ("lost", len(self.lost)),
            ("duplicated", len(self.duplicated)),
            ("unexplained DLQ entries", len(self.unexplained_dlq)),
            ("left in queue", self.left_in_queue),
            ("retries (records redelivered)", self.retries),
            ("writes retried inside an invocation", self.in_invocation_retries),
            ("invocations (whole-batch failures, timeouts)",
             f"{self.invocations} ({self.failed_invocations}, {self.timeouts})"),
            ("faults injected (HTTP attempts)", faults),
            ("Lambda throttles (batch invoke attempts)", self.lambda_throttles),
            ("OrderAccepted missing / duplicated", f"{len(self.events_missing)} / {len(self.events_duplicated)}"),
            ("virtual time / wall time", f"{self.virtual_s:.0f} s / {self.wall_s:.2f} s (wall)"),
            ("audit", "PASS" if self.ok else "FAIL"),
        ]
        width = max(len(r[0]) for r in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)

    def __str__(self) -> str:
        return self.ledger()


def _bus_event(detail: dict[str, Any] | str, n: int, when: datetime) -> str:
    """An ``OrderPlaced`` event as EventBridge delivers it to an SQS target."""
    return json.dumps({
        "version": "0", "id": f"00000000-0000-4000-8000-{n:012d}", "detail-type": contract.ORDER_PLACED,
        "source": contract.SOURCE_API, "account": "123456789012", "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1", "resources": [], "detail": detail,
    })


def make_messages(count: int, seed: int, mix: ChaosMix, when: datetime) -> list[Message]:
    rng = random.Random(f"chaos-{seed}")
    messages = []
    for n in range(count):
        order_id = f"o-{seed:03d}-{n:05d}"
        order = traffic.order(rng, order_id)
        detail = {"metadata": {"event_id": contract.event_id_for(order_id),
                               "correlation_id": f"corr-{seed:03d}-{n:05d}",
                               "schema_version": contract.SCHEMA_VERSION,
                               "occurred_at": when.isoformat()},
                  "data": order}
        poison = rng.choice(POISON_KINDS) if rng.random() < mix.poison else ""
        if poison == "not JSON":
            body = _bus_event(detail, n, when)[:-7]  # truncated
        elif poison == "invalid order":
            order["items"][0]["quantity"] = 0
            body = _bus_event(detail, n, when)
        elif poison == "no event id":
            del detail["metadata"]["event_id"]
            body = _bus_event(detail, n, when)
        else:
            body = _bus_event(detail, n, when)
        messages.append(Message(n, order_id, body, poison))
    for m in messages:
        if rng.random() < mix.duplicates:
            m.copies = 2
    return messages


def _stream_writes(sim: Any, table_name: str) -> Counter:
    """Writes per order id, from the table's stream (INSERT and MODIFY records)."""
    ddb, streams = sim.client("dynamodb"), sim.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    writes: Counter = Counter()
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            out = streams.get_records(ShardIterator=it, Limit=1000)
            for rec in out["Records"]:
                if rec["eventName"] in ("INSERT", "MODIFY"):
                    writes[rec["dynamodb"]["Keys"]["order_id"]["S"]] += 1
            if not out["Records"]:
                break
            it = out.get("NextShardIterator")
    return writes


def run_chaos(processor: str | Path | None = None, seed: int = 0, messages: int = 1000,
              faults: ChaosMix | None = None, quiet: bool = True,
              isolation: Any = None) -> ChaosReport:
    """Run ``messages`` messages with the failures of ``faults`` (seeded by ``seed``) through
    the pipeline's processing path; ``processor`` is a file replacing ``processor/app.py``
    (None: the reference processor). Returns the audited ``ChaosReport``. ``quiet`` discards
    the functions' output (the simulation runs with ``logs=False`` for speed, so the handlers'
    log lines would go to the process's stdout). ``isolation`` (graders) runs a replaced
    processor in worker processes (``lambdasim.isolation``)."""
    with contextlib.ExitStack() as stack:
        if quiet:
            stack.enter_context(contextlib.redirect_stdout(open(os.devnull, "w")))
            stack.enter_context(warnings.catch_warnings())
            warnings.filterwarnings("ignore", message="No application metrics")
        # A run makes and drops hundreds of thousands of objects (moto's, botocore's), and each
        # of the collector's full passes would walk everything the process held before too
        # (its imports, earlier runs' leftovers): frozen, those are left out until the run ends
        # (lesson 03-06's eight runs: full collections 1.65 -> 0.42 s of CPU). A process that
        # froze its objects itself (the test suite, a grading) keeps them frozen: unfreezing
        # after the run would undo its choice.
        if not gc.get_freeze_count():
            gc.freeze()
            stack.callback(gc.unfreeze)
        return _run(processor, seed, messages, faults, isolation)


def _run(processor: str | Path | None, seed: int, messages: int,
         faults: ChaosMix | None, isolation: Any) -> ChaosReport:
    from lambdasim import Simulator
    from lambdasim.faults import NoAnswer, ServerError, Throttle

    mix = faults or ChaosMix()
    wall = time.perf_counter()
    with Simulator(seed=seed, logs=False, metrics=False) as sim:
        replace = {"ProcessorFunction": {"processor/app.py": Path(processor)}} if processor else None
        stack = pipeline.deploy(sim, stack_name=f"chaos{seed}", replace=replace, validate=False,
                                isolation=isolation)
        out = stack.outputs
        sqs, ddb, events = sim.client("sqs"), sim.client("dynamodb"), sim.client("events")
        orders_table = out["OrdersTableName"]
        ddb.update_table(TableName=orders_table, StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        consumer = sqs.create_queue(QueueName=f"chaos{seed}-accepted")["QueueUrl"]
        consumer_arn = sqs.get_queue_attributes(QueueUrl=consumer, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        events.put_rule(Name="accepted", EventBusName=out["EventBusName"],
                        EventPattern=json.dumps({"detail-type": [contract.ORDER_ACCEPTED]}))
        events.put_targets(Rule="accepted", EventBusName=out["EventBusName"],
                           Targets=[{"Id": "consumer", "Arn": consumer_arn}])
        function = stack.function_name("ProcessorFunction")
        if mix.reserved_concurrency is not None:
            sim.client("lambda").put_function_concurrency(
                FunctionName=function, ReservedConcurrentExecutions=mix.reserved_concurrency)

        msgs = make_messages(messages, seed, mix, sim.now)
        by_body = {m.body: m for m in msgs}
        rng = random.Random(f"chaos-timeouts-{seed}")
        hang = {m.order_id for m in msgs if not m.poison and rng.random() < mix.timeouts}
        hung: set[str] = set()
        # Which invocation writes which order: each invocation has its own trace id in the
        # function's environment while its calls are made.
        writes_in: Counter = Counter()

        def first_write_of_a_hanging_order(params: Any) -> bool:
            # The first PutItem rule: it sees every PutItem call, so it also counts the writes.
            order_id = params.get("Item", {}).get("order_id", {}).get("S")
            if params.get("TableName") == orders_table:
                writes_in[(os.environ.get("_X_AMZN_TRACE_ID"), order_id)] += 1
            if params.get("TableName") != orders_table or order_id not in hang or order_id in hung:
                return False
            hung.add(order_id)
            return True

        f = sim.faults
        # The table never answers that write: the client waits its read timeout (60 s), past the
        # function's 10 s timeout, so the invocation times out (virtual time, nothing sleeps).
        f.add("dynamodb", "PutItem", NoAnswer(), when=first_write_of_a_hanging_order, label="timeout")
        if mix.transient_rate:
            f.add("dynamodb", "PutItem", ServerError(), rate=mix.transient_rate, label="transient")
        if mix.throttle_rate:
            f.add("dynamodb", "*", Throttle(), rate=mix.throttle_rate, attempts=1, label="throttle")
        f.reset()

        # Deliveries: every message once, duplicates again later, in a seeded order.
        deliveries = [m for m in msgs for _ in range(m.copies)]
        random.Random(f"chaos-order-{seed}").shuffle(deliveries)
        url = out["QueueUrl"]
        for start in range(0, len(deliveries), 10):
            chunk = deliveries[start:start + 10]
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": m.body} for i, m in enumerate(chunk)])
        sim.run_until_idle(max_seconds=24 * 3600)

        injected = Counter(i.label or i.code for i in f.injected if i.kind in ("error", "no answer"))
        writes = _stream_writes(sim, orders_table)
        dlq = take_all(sqs, out["DeadLetterQueueUrl"]) + take_all(sqs, out["RedriveDeadLetterQueueUrl"])
        left = len(take_all(sqs, url))
        accepted = Counter(json.loads(m["Body"])["detail"]["data"]["order_id"]
                           for m in take_all(sqs, consumer))
        poller = next(iter(sim.pollers.values()))
        invocations = [r for r in sim.invocations if r.function_name == function]
        virtual_s = sim.elapsed

    dead: Counter = Counter()
    unexplained: list[str] = []
    dlq_ids: Counter = Counter()
    for entry in dlq:
        m = by_body.get(entry["Body"])
        if m is None:
            unexplained.append(f"unknown body: {entry['Body'][:60]}")
            continue
        dlq_ids[m.order_id] += 1
        reason = entry.get("MessageAttributes", {}).get("ErrorType", {}).get("StringValue")
        if m.poison and reason:
            dead[reason] += 1
        elif m.poison:
            unexplained.append(f"{m.order_id} (poison, no reason attached)")
        else:
            unexplained.append(m.order_id)
    lost, duplicated, applied = [], [], 0
    for m in msgs:
        n = writes.get(m.order_id, 0)
        if m.poison:
            if n or not dlq_ids[m.order_id]:
                lost.append(m.order_id)  # applied although invalid, or vanished
            continue
        if n == 1:
            applied += 1
        elif n > 1:
            duplicated.append(m.order_id)
        elif not dlq_ids[m.order_id]:
            lost.append(m.order_id)
    valid_applied = [m.order_id for m in msgs if not m.poison and writes.get(m.order_id)]
    return ChaosReport(
        seed=seed, sent=len(msgs), deliveries=len(deliveries), applied=applied,
        dead_lettered=dead, lost=lost, duplicated=duplicated, unexplained_dlq=unexplained,
        left_in_queue=left, retries=poller.stats.retried,
        in_invocation_retries=sum(n - 1 for n in writes_in.values()),
        timeouts=sum(1 for r in invocations if r.timed_out), invocations=len(invocations),
        lambda_throttles=poller.stats.throttled,
        failed_invocations=poller.stats.failed_invocations, faults=injected,
        events_missing=[o for o in valid_applied if not accepted[o]],
        events_duplicated=[o for o, c in accepted.items() if c > 1],
        virtual_s=virtual_s, wall_s=time.perf_counter() - wall, poller=poller)
