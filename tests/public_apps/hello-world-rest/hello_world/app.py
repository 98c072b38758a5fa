"""Answers API Gateway's proxy event with {"message": "hello world"}, as the template's README shows."""

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps({"message": "hello world"})}
