"""Logs the payload of the scheduled event (what the quick start's function does)."""

import json
from typing import Any


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    print(json.dumps(event))
