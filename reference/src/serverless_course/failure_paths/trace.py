"""What happened on each failure path, read back from the simulator and the queues.

Every try is an ``Attempt``: who made it (Lambda's asynchronous queue, EventBridge calling
Lambda's Invoke API, the Kinesis event source mapping), when (virtual seconds since ``since``),
and whether it worked. ``read_queue`` reads a failure queue back as the lesson prints it, and
``discarded_records`` reads the records a stream's on-failure record points at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lambdasim import Simulator
from lambdasim.clock import to_micros
from lambdasim.sources.sqs import take_all

LAMBDA = "Lambda"
EVENTBRIDGE = "EventBridge"
STREAM_MAPPING = "Kinesis mapping"


@dataclass(frozen=True)
class Attempt:
    """One try to get an input processed."""

    by: str  # LAMBDA, EVENTBRIDGE or STREAM_MAPPING
    at_s: float  # virtual seconds since the lesson's origin
    ok: bool
    note: str  # what this try was: the error, the Invoke API's answer, the batch


@dataclass(frozen=True)
class Message:
    """A message read from a failure queue: its body (JSON when it parses) and attributes."""

    body: Any
    attributes: dict[str, str]


def _seconds(us: int, since: datetime) -> float:
    return (us - to_micros(since)) / 1_000_000


def async_attempts(sim: Simulator, function_name: str, since: datetime) -> list[Attempt]:
    """The runs of a function's asynchronous events (from any source) received since `since`."""
    attempts = []
    for event in sim.async_queue.received:
        if event.request.config.name != function_name or event.request.received_us < to_micros(since):
            continue
        for run in event.attempts:
            note = "ok" if run.succeeded else run.error_type or "error"
            attempts.append(Attempt(LAMBDA, _seconds(run.start_us, since), run.succeeded, note))
    return sorted(attempts, key=lambda a: a.at_s)


def eventbridge_attempts(sim: Simulator, function_name: str, since: datetime) -> list[Attempt]:
    """EventBridge's Invoke calls to a Lambda target for the events it received since `since`
    (accepted: 202, or refused), then the function's runs of the events Lambda accepted."""
    attempts = []
    for delivery in sim.eventbridge.deliveries:
        if not delivery.target_arn.endswith(f":function:{function_name}") or delivery.received_us < to_micros(since):
            continue
        for call in delivery.attempts:
            accepted = call.status == 202
            note = "Invoke accepted (202)" if accepted else f"Invoke refused ({call.status} {call.code})"
            attempts.append(Attempt(EVENTBRIDGE, _seconds(call.at_us, since), accepted, note))
    return sorted(attempts + async_attempts(sim, function_name, since), key=lambda a: a.at_s)


def stream_attempts(sim: Simulator, mapping_uuid: str, since: datetime) -> list[Attempt]:
    """The invocations of a stream event source mapping since `since`: one per batch, retries
    and halves of a bisected batch included."""
    attempts = []
    for batch in sim.poller(mapping_uuid).batches:
        if batch.invoked_us < to_micros(since):
            continue
        ok = batch.settlement is not None and not batch.settlement.failed
        note = f"{len(batch.records)} record(s), try {batch.attempt}"
        attempts.append(Attempt(STREAM_MAPPING, _seconds(batch.invoked_us, since), ok, note))
    return attempts


def read_queue(sim: Simulator, queue_url: str) -> list[Message]:
    """Every message of a queue, with its message attributes (and deleted: read once)."""
    messages = []
    for m in take_all(sim.client("sqs"), queue_url):
        attributes = {name: value["StringValue"] for name, value in m.get("MessageAttributes", {}).items()}
        try:
            body = json.loads(m["Body"])
        except json.JSONDecodeError:
            body = m["Body"]
        messages.append(Message(body, attributes))
    return messages


def discarded_records(sim: Simulator, batch_info: dict[str, Any]) -> list[dict[str, Any]]:
    """The records a stream's on-failure record points at (``KinesisBatchInfo``), read back from
    the stream: the destination gets their position, not their data, so read them before the
    stream's retention period drops them."""
    kinesis = sim.client("kinesis")
    iterator = kinesis.get_shard_iterator(
        StreamARN=batch_info["streamArn"], ShardId=batch_info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=batch_info["startSequenceNumber"],
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, Limit=batch_info["batchSize"],
                                  StreamARN=batch_info["streamArn"])["Records"]
    return [{"sequenceNumber": r["SequenceNumber"], "data": json.loads(r["Data"])} for r in records]
