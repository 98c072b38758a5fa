"""Two Lambda handlers for one SQS queue of orders: all-or-nothing, and partial batch responses.

Both ship every valid order. They differ in what happens to a batch that holds a poison message:

- `all_or_nothing_handler` raises at the first bad message, so Lambda returns the *whole* batch to
  the queue, including the orders it already shipped.
- `partial_batch_handler` processes every record and reports only the failed ones in
  `batchItemFailures`; with `ReportBatchItemFailures` on the event source mapping, Lambda
  deletes the rest (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from serverless_course.realities.orders import parse_order, warehouse


# --8<-- [start:all_or_nothing]
def all_or_nothing_handler(event: dict[str, Any], context: LambdaContext) -> None:
    for record in event["Records"]:
        order = parse_order(record["body"])  # a poison message raises: the whole batch fails
        warehouse.ship(order)
    # Returning normally tells Lambda that every message in the batch succeeded.


# --8<-- [end:all_or_nothing]


# --8<-- [start:partial_batch]
processor = BatchProcessor(event_type=EventType.SQS)  # created once, reused by warm invocations


def ship_order(record: SQSRecord) -> None:
    warehouse.ship(parse_order(record.body))  # an exception marks only this record as failed


def partial_batch_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse:
    # Runs ship_order on every record and returns {"batchItemFailures": [{"itemIdentifier": id}]}
    # for those that raised. Needs ReportBatchItemFailures on the event source mapping.
    return process_partial_response(
        event=event, record_handler=ship_order, processor=processor, context=context
    )


# --8<-- [end:partial_batch]
