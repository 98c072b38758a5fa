"""The simulator running in this process, if any (one at a time): what the parts below the
facade reach it by (a destination's boto3 clients, `sam.deploy`'s check) without importing it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .simulator import Simulator

current: Simulator | None = None


def active_simulator() -> Simulator | None:
    """The running simulator, if any (one per process)."""
    return current
