"""The on-success destination: logs the invocation record Lambda sends it."""

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> None:
    print(json.dumps(event))
