"""Lab 06 starter: the fleet's position consumer (a Kinesis event source mapping with
ReportBatchItemFailures, batches of up to 100 records of the fleet stream).

It works while nothing goes wrong: every fix arrives once, in order, and every write succeeds.
Make it right when fixes arrive twice or late, when a record is poison and when DynamoDB fails.
See the lab's README.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

import boto3

import fixes  # the fix contract (fixes.Fix, fixes.parse_record) and the geofences

dynamodb = boto3.client("dynamodb")
events = boto3.client("events")
POSITIONS_TABLE = os.environ["POSITIONS_TABLE"]
EVENT_BUS_NAME = os.environ["EVENT_BUS_NAME"]
POISON_QUEUE_URL = os.environ["POISON_QUEUE_URL"]


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event["Records"]:
        fix = fixes.parse_record(record["kinesis"]["data"])
        inside = fixes.geofences_containing(fix.lon, fix.lat)
        old = dynamodb.put_item(
            TableName=POSITIONS_TABLE,
            Item={
                "device_id": {"S": fix.device_id}, "ts": {"N": str(fix.ts)},
                "lat": {"N": repr(fix.lat)}, "lon": {"N": repr(fix.lon)},
                "accuracy": {"N": repr(fix.accuracy)}, "received_at": {"N": str(fix.received_at)},
                "geofences": {"L": [{"S": g} for g in sorted(inside)]},
            },
            ReturnValues="ALL_OLD",
        ).get("Attributes", {})
        was_inside = {g["S"] for g in old.get("geofences", {}).get("L", [])}
        sample_time = datetime.fromtimestamp(fix.ts / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
        for kind, geofences in (("EXIT", was_inside - inside), ("ENTER", inside - was_inside)):
            for geofence in sorted(geofences):
                events.put_events(Entries=[{
                    "Source": "fleet.tracking", "DetailType": "Geofence Transition", "EventBusName": EVENT_BUS_NAME,
                    "Detail": json.dumps({"EventType": kind, "GeofenceId": geofence, "DeviceId": fix.device_id,
                                          "SampleTime": sample_time, "Position": [fix.lon, fix.lat]}),
                }])
    return {"batchItemFailures": []}
