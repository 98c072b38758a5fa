"""GET /{id} : the item with that id."""

import json
import os
from typing import Any

import boto3

dynamodb = boto3.client("dynamodb")


def getByIdHandler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    key = {"id": {"S": event["pathParameters"]["id"]}}
    item = dynamodb.get_item(TableName=os.environ["SAMPLE_TABLE"], Key=key).get("Item")
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
    return {"statusCode": 200, "body": json.dumps({"id": item["id"]["S"], "name": item["name"]["S"]})}
