"""Logs that the schedule ran it (the pattern checks the function's logs and Invocations metric)."""

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    print("Invoked by the schedule")
    return {"statusCode": 200}
