"""Lab 05's handlers, hardened: the partner's key comes from Secrets Manager at run time
(Powertools Parameters, cached for five minutes per execution environment), never from the
function's configuration."""

import hashlib
import hmac
import json
import os

import boto3
from aws_lambda_powertools.utilities import parameters

sqs = boto3.client("sqs")
table = boto3.resource("dynamodb").Table(os.environ.get("ORDERS_TABLE", "orders"))
KEY_MAX_AGE_S = 300  # a rotated key is picked up within five minutes


def ingest(event, context):
    order = json.loads(event["body"])
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(order))
    return {"statusCode": 202, "body": json.dumps({"order_id": order["order_id"]})}


def sign(order_id: str, key: str) -> str:
    """The partner checks this signature on every order it reads from the table."""
    return hmac.new(key.encode(), order_id.encode(), hashlib.sha256).hexdigest()


def process(event, context):
    key = parameters.get_secret(os.environ["PARTNER_KEY_SECRET"], max_age=KEY_MAX_AGE_S)
    for record in event["Records"]:
        order = json.loads(record["body"])
        table.put_item(Item={**order, "signature": sign(order["order_id"], key)})
