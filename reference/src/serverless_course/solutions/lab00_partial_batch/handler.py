"""Lab 00 reference solution: an SQS order handler that reports partial batch failures.

Each valid order is shipped once; a message that fails is reported in `batchItemFailures` by
its messageId, so Lambda deletes the rest of the batch and only the failed message returns to
the queue (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
On a FIFO queue the handler stops at the first failure and reports that message and every one
after it, which keeps each message group in order.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from serverless_course.realities.orders import parse_order, warehouse

# Created once per execution environment and reused by warm invocations.
standard_processor = BatchProcessor(event_type=EventType.SQS)
fifo_processor = SqsFifoPartialProcessor()


def ship_order(record: SQSRecord) -> None:
    warehouse.ship(parse_order(record.body))


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event,
        record_handler=ship_order,
        processor=fifo_processor if comes_from_fifo_queue(event) else standard_processor,
        context=context,
    )


def comes_from_fifo_queue(event: dict[str, Any]) -> bool:
    # A FIFO queue's name, and so its ARN, ends in ".fifo".
    records = event.get("Records") or [{}]
    return records[0].get("eventSourceARN", "").endswith(".fifo")
