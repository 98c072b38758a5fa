"""The handler of the drain experiment: it does nothing but take its time (the simulator's
`set_duration` gives each invocation `seconds_per_message` per record) and succeed."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> None:
    return None
