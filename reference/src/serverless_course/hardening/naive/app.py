"""Handlers of the naive stack: they work on a good day."""

import json
import os

import boto3

_table = boto3.resource("dynamodb").Table(os.environ.get("ORDERS_TABLE", "orders"))


def process(event: dict, context: object) -> None:
    for record in event["Records"]:
        _table.put_item(Item=json.loads(record["body"])["detail"])


def audit(event: dict, context: object) -> None:
    print(json.dumps(event))
