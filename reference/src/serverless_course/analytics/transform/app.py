"""Firehose's Lambda transformation for the telemetry stream: each record must be one JSON
reading (device_id, device_type, event_time in ISO 8601, a numeric reading); a record that is
not goes back as ProcessingFailed, so Firehose writes it under the error output prefix
(https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html) instead
of losing it. A good record gets its arrival time in Firehose beside its event time, so late
data can be measured in the lake."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

from aws_lambda_powertools.utilities.data_classes import (
    KinesisFirehoseDataTransformationResponse,
    KinesisFirehoseEvent,
    event_source,
)
from aws_lambda_powertools.utilities.serialization import base64_from_json

REQUIRED_TEXT = ("device_id", "device_type", "event_time")


class Malformed(ValueError):
    pass


def reading(data: bytes) -> dict[str, object]:
    """The record as a checked reading; raises Malformed with the reason."""
    try:
        document = json.loads(data)
    except ValueError as error:
        raise Malformed(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise Malformed("not a JSON object")
    for name in REQUIRED_TEXT:
        if not isinstance(document.get(name), str) or not document[name]:
            raise Malformed(f"{name} missing")
    value = document.get("reading")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Malformed("reading is not a number")
    try:
        event_time = datetime.fromisoformat(str(document["event_time"]).replace("Z", "+00:00"))
    except ValueError:
        raise Malformed("event_time is not ISO 8601") from None
    if event_time.tzinfo is None:
        raise Malformed("event_time has no time zone")
    return {**document, "event_time": _iso(event_time)}


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@event_source(data_class=KinesisFirehoseEvent)
def lambda_handler(event: KinesisFirehoseEvent, context: object) -> dict:
    response = KinesisFirehoseDataTransformationResponse()
    for record in event.records:
        try:
            document = reading(record.data_as_bytes)
        except Malformed:
            # The original bytes go back: the error output keeps what the device sent.
            response.add_record(record.build_data_transformation_response(result="ProcessingFailed",
                                                                          data=record.data))
            continue
        arrival = datetime.fromtimestamp(record.approximate_arrival_timestamp / 1000, timezone.utc)
        document["arrival_time"] = _iso(arrival)
        response.add_record(record.build_data_transformation_response(data=base64_from_json(document)))
    return response.asdict()
