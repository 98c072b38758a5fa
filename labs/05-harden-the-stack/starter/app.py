"""Lab 05's handlers: ingest (POST /orders -> the queue) and process (the queue -> the table,
each order signed with the partner's key)."""

import hashlib
import hmac
import json
import os

import boto3

sqs = boto3.client("sqs")
table = boto3.resource("dynamodb").Table(os.environ.get("ORDERS_TABLE", "orders"))


def ingest(event, context):
    order = json.loads(event["body"])
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(order))
    return {"statusCode": 202, "body": json.dumps({"order_id": order["order_id"]})}


def sign(order_id: str, key: str) -> str:
    """The partner checks this signature on every order it reads from the table."""
    return hmac.new(key.encode(), order_id.encode(), hashlib.sha256).hexdigest()


def process(event, context):
    key = os.environ["PARTNER_KEY"]
    for record in event["Records"]:
        order = json.loads(record["body"])
        table.put_item(Item={**order, "signature": sign(order["order_id"], key)})
