"""Lab 00: an SQS handler for order messages. This is the file you edit.

As it stands the handler works, but all-or-nothing: the first bad message raises, so Lambda
returns the whole batch to the queue and the orders already shipped in it ship again on the
retry. Your task (see README.md): report partial batch failures instead, so that only the
messages that failed are retried.
"""

from __future__ import annotations

from typing import Any

from serverless_course.realities.orders import parse_order, warehouse


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    # TODO: process every record, even after one has failed, and remember the messageId of
    #       each record that raised.
    # TODO: return {"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]} for the failed
    #       records (an empty list when none failed). Never report success for a record that
    #       failed: Lambda would delete it and the order would be lost.
    # TODO: on a FIFO queue (eventSourceARN ends in ".fifo"), stop at the first failure and
    #       report that record and every record after it, unprocessed, to keep the order.
    # Hint: Powertools' BatchProcessor, SqsFifoPartialProcessor and process_partial_response
    #       (aws_lambda_powertools.utilities.batch) do all three.
    for record in event["Records"]:
        order = parse_order(record["body"])  # raises InvalidOrder for a poison message
        warehouse.ship(order)  # may raise WarehouseUnavailable: a transient fault
