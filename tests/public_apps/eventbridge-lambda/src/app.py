"""Logs the event the rule matched (the pattern's consumer logs the event)."""

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> None:
    print(json.dumps(event))
