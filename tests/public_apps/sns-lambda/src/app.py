"""Logs the message of each SNS record (the pattern's subscriber logs the event)."""

from typing import Any


def handler(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        print(f"Message received: {record['Sns']['Message']}")
