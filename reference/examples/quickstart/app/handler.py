"""Write each order from an SQS batch to DynamoDB; report the ones that fail."""

import json
import os

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
processor = BatchProcessor(event_type=EventType.SQS)


def write_order(record) -> None:
    order = json.loads(record.body)  # a malformed body raises: the record is reported as failed
    table.put_item(Item={"order_id": order["order_id"], "amount": order["amount"]})


def lambda_handler(event, context):
    return process_partial_response(
        event=event, record_handler=write_order, processor=processor, context=context
    )
