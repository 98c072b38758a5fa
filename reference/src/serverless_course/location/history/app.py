"""History consumer: every valid fix of every device, keyed by device and fix time.

Reads the same fleet stream as the position consumer, through a mapping of its own. The key
(``device_id``, ``ts``) makes the write idempotent: a duplicate or a retried record writes the
same item again, and a fix that arrives late still lands in its place in the track. Poison is
skipped here (the position consumer sends it to the poison queue with its reason); a failed
write is reported in ``batchItemFailures`` and retried.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from pydantic import ValidationError

import fixes

logger = Logger()
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)
dynamodb = boto3.client("dynamodb")
HISTORY_TABLE = os.environ["HISTORY_TABLE"]


def record_handler(record: KinesisStreamRecord) -> None:
    try:
        fix = fixes.parse_record(record.kinesis.data)
    except ValidationError:
        logger.info("poison record skipped", sequence_number=record.kinesis.sequence_number)
        return
    dynamodb.put_item(TableName=HISTORY_TABLE, Item={
        "device_id": {"S": fix.device_id}, "ts": {"N": str(fix.ts)},
        "lat": {"N": repr(fix.lat)}, "lon": {"N": repr(fix.lon)},
        "accuracy": {"N": repr(fix.accuracy)}, "received_at": {"N": str(fix.received_at)},
    })


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
