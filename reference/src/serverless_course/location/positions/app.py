"""Position consumer: the latest position of each device and its geofence transitions.

Reads the fleet stream (a Kinesis event source mapping with ``ReportBatchItemFailures``). For
each record, in the shard's order:

1. Parse the fix (``fixes.Fix``). Poison (not JSON, a field missing or out of range) can never
   succeed: it goes to the poison queue with its reason and counts as processed; reporting it
   would make Lambda retry it until the mapping's retries run out.
2. Work out the geofences the fix is in, and write the device's item (position, fix time and
   those geofences) *only if the fix is newer than the stored one*
   (``attribute_not_exists(device_id) OR ts < :ts``). A duplicate or an older fix that
   arrives late fails the condition and changes nothing.
3. The write returns the item as it was; the geofences entered and left are the difference
   between its geofences and the new ones. Only the fix whose write succeeded sees that
   difference, so each transition is published once, however often its record is delivered.

A record that fails otherwise (a throttle botocore's retries did not absorb, a 500) is reported
in ``batchItemFailures``; Lambda then retries the shard from the lowest reported sequence
number. Every later record *of the same device* in the batch is reported too, unprocessed: if it
were written now, the failed older fix would find a newer one stored when it is retried, fail
the condition, and its transitions would be lost. Other devices' records go on.

Not covered: an invocation that dies between the write and PutEvents loses that fix's
transitions (the retry fails the condition). An outbox (the transitions stored with the write,
cleared once published) closes the gap at the price of a second write per transition.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from botocore.exceptions import ClientError
from pydantic import ValidationError

import fixes

logger = Logger()
# Failed records are reported, never raised: by default Powertools raises when every record of
# a batch failed, and an invocation error would fail every device's records of the batch.
processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
dynamodb = boto3.client("dynamodb")
events = boto3.client("events")
sqs = boto3.client("sqs")
POSITIONS_TABLE = os.environ["POSITIONS_TABLE"]
EVENT_BUS_NAME = os.environ["EVENT_BUS_NAME"]
POISON_QUEUE_URL = os.environ["POISON_QUEUE_URL"]
TRANSITION_SOURCE = "fleet.tracking"
TRANSITION_DETAIL_TYPE = "Geofence Transition"


class EarlierFixOfThisDeviceFailed(Exception):
    """Left for the retry, so that the device's fixes are applied in the order they arrived."""


devices_failed_in_batch: set[str] = set()


# --8<-- [start:record]
def record_handler(record: KinesisStreamRecord) -> None:
    device = record.kinesis.partition_key
    if device in devices_failed_in_batch:
        raise EarlierFixOfThisDeviceFailed(device)
    try:
        apply_fix(record)
    except Exception:
        devices_failed_in_batch.add(device)
        raise


def apply_fix(record: KinesisStreamRecord) -> None:
    try:
        fix = fixes.parse_record(record.kinesis.data)
    except ValidationError as error:
        send_to_poison_queue(record, error)
        return
    inside = fixes.geofences_containing(fix.lon, fix.lat)
    try:
        old = dynamodb.put_item(
            TableName=POSITIONS_TABLE,
            Item={
                "device_id": {"S": fix.device_id}, "ts": {"N": str(fix.ts)},
                "lat": {"N": repr(fix.lat)}, "lon": {"N": repr(fix.lon)},
                "accuracy": {"N": repr(fix.accuracy)}, "received_at": {"N": str(fix.received_at)},
                # A list, not a string set: DynamoDB has no empty set.
                "geofences": {"L": [{"S": g} for g in sorted(inside)]},
            },
            ConditionExpression="attribute_not_exists(device_id) OR ts < :ts",
            ExpressionAttributeValues={":ts": {"N": str(fix.ts)}},
            ReturnValues="ALL_OLD",
        ).get("Attributes", {})
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return  # a duplicate, or older than the stored fix: nothing to change
        raise
    was_inside = {g["S"] for g in old.get("geofences", {}).get("L", [])}
    publish_transitions(fix, entered=inside - was_inside, exited=was_inside - inside)
# --8<-- [end:record]


def publish_transitions(fix: fixes.Fix, *, entered: set[str], exited: set[str]) -> None:
    # EXIT before ENTER: a fix that moves a device from one geofence straight into another
    # leaves the first before it enters the second.
    transitions = [("EXIT", g) for g in sorted(exited)] + [("ENTER", g) for g in sorted(entered)]
    if not transitions:
        return
    sample_time = datetime.fromtimestamp(fix.ts / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")
    entries = [{
        "Source": TRANSITION_SOURCE, "DetailType": TRANSITION_DETAIL_TYPE, "EventBusName": EVENT_BUS_NAME,
        "Detail": json.dumps({"EventType": kind, "GeofenceId": geofence, "DeviceId": fix.device_id,
                              "SampleTime": sample_time, "Position": [fix.lon, fix.lat]}),
    } for kind, geofence in transitions]
    response = events.put_events(Entries=entries)  # at most 10 entries: a fix is in few geofences
    if response["FailedEntryCount"]:
        raise RuntimeError(f"PutEvents failed for {response['FailedEntryCount']} transitions of {fix.device_id}")


def send_to_poison_queue(record: KinesisStreamRecord, error: ValidationError) -> None:
    logger.warning("poison record", sequence_number=record.kinesis.sequence_number, error=str(error))
    sqs.send_message(QueueUrl=POISON_QUEUE_URL, MessageBody=record.kinesis.data, MessageAttributes={
        "ErrorType": {"DataType": "String", "StringValue": type(error).__name__},
        "ErrorMessage": {"DataType": "String", "StringValue": str(error)[:1000]},
        "SequenceNumber": {"DataType": "String", "StringValue": record.kinesis.sequence_number},
    })


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    devices_failed_in_batch.clear()
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
