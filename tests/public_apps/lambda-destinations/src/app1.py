"""Succeeds, unless the event asks it to fail ({"type": "failure"}), as the pattern's README tests it."""

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    if event.get("type") == "failure":
        raise RuntimeError("failure requested by the event")
    return {"status": "processed"}
