"""A consumer with a bug: it writes every order it reads back to the queue it reads from.

(Meant to forward to the next stage's queue; the environment names the wrong one.)
"""

import json
import os

import boto3

sqs = boto3.client("sqs")


def lambda_handler(event, context):
    for record in event["Records"]:
        order = json.loads(record["body"])
        order["hops"] = order.get("hops", 0) + 1
        sqs.send_message(QueueUrl=os.environ["NEXT_QUEUE_URL"], MessageBody=json.dumps(order))
