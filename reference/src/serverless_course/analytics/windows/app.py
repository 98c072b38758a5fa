"""Per-minute aggregates from the Kinesis stream with Lambda's tumbling windows
(https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html): within a window
each batch's counts are folded into the returned `state`, which Lambda hands to the next
invocation; the final invocation of the window (`isFinalInvokeForWindow`) writes one item per
device type to DynamoDB. Windows are on the records' arrival in the stream, not their event
time: a late reading is counted in the minute it arrived."""

from __future__ import annotations

import json
import os
from datetime import datetime
from decimal import Decimal

import boto3
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent, event_source

_table = None


def _aggregates():
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["AGGREGATES_TABLE"])
    return _table


def fold(state: dict[str, list[float]], reading: dict) -> None:
    """Add one reading to the window's state: device type -> [count, sum, max]; raises
    ValueError, KeyError or TypeError for a reading that is not one."""
    datetime.fromisoformat(reading["event_time"].replace("Z", "+00:00"))
    value = reading["reading"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("reading is not a number")
    count, total, top = state.get(reading["device_type"], [0, 0.0, value])
    state[reading["device_type"]] = [count + 1, total + value, max(top, value)]


@event_source(data_class=KinesisStreamEvent)
def lambda_handler(event: KinesisStreamEvent, context: object) -> dict:
    state: dict[str, list[float]] = dict(event.state or {})
    for record in event.records:
        try:
            reading = json.loads(record.kinesis.data_as_bytes())
            fold(state, reading)
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # malformed telemetry: the lake's error output keeps it; a window skips it
    if event.is_final_invoke_for_window:
        window = event.window
        with _aggregates().batch_writer() as batch:
            for device_type, (count, total, top) in state.items():
                batch.put_item(Item={
                    "device_type": device_type, "window": f"{window.start}#{event.shard_id}",
                    "window_start": window.start, "readings": int(count),
                    "total": Decimal(str(round(total, 6))), "max": Decimal(str(top))})
    return {"state": state}
