"""GET / : every item of the table."""

import json
import os
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")


def getAllItemsHandler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    items = dynamodb.scan(TableName=os.environ["SAMPLE_TABLE"])["Items"]
    body = [{"id": item["id"]["S"], "name": item["name"]["S"]} for item in items]
    return {"statusCode": 200, "body": json.dumps(body)}
