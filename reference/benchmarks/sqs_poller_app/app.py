"""Benchmark function: one DynamoDB item per SQS record, written with BatchWriteItem."""

import os

import boto3

DDB = boto3.client("dynamodb")
TABLE = os.environ["TABLE"]


def handler(event, context):
    items = [{"PutRequest": {"Item": {"pk": {"S": r["messageId"]}, "body": {"S": r["body"]}}}}
             for r in event["Records"]]
    for start in range(0, len(items), 25):
        DDB.batch_write_item(RequestItems={TABLE: items[start:start + 25]})
