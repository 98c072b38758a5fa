"""Logs each stream record's event name and new image (the pattern's trigger logs the updates)."""

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        print(json.dumps({"eventName": record["eventName"], "NewImage": record["dynamodb"].get("NewImage")}))
