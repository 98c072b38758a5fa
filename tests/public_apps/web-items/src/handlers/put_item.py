"""POST / : puts the item {"id", "name"} of the request's body into the table."""

import json
import os
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")


def putItemHandler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = json.loads(event["body"])
    item = {"id": {"S": body["id"]}, "name": {"S": body["name"]}}
    dynamodb.put_item(TableName=os.environ["SAMPLE_TABLE"], Item=item)
    return {"statusCode": 200, "body": json.dumps(body)}
