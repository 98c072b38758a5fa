"""Reads the instance and its new state from the EC2 state-change event and returns the event
with its detail-type marked as processed (what the quick start's handler does with its typed
event model)."""

from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event["detail"]
    print(f"Instance {detail['instance-id']} is {detail['state']}")
    return {**event, "detail-type": "HelloWorldFunction updated event of " + event["detail-type"]}
