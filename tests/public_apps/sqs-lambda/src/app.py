"""Logs each message of the batch the queue delivers (the pattern's consumer logs the event)."""

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        print(json.dumps({"messageId": record["messageId"], "body": record["body"]}))
