"""Errors the simulator raises to its caller (not errors of the simulated functions).

A handler's own failures never raise here: they come back from `invoke` as AWS returns them
(`FunctionError: Unhandled` and an error document).
"""

from __future__ import annotations


class SimulatorError(RuntimeError):
    """The simulator was used in a way it does not support (a bug in the calling code)."""


class SimulatorNotRunning(SimulatorError):
    """An operation needs a started simulator (`with Simulator() as sim:` or `sim.start()`)."""


class SimulatorAlreadyRunning(SimulatorError):
    """Only one simulator can run in a process at a time: moto and the clock are process-wide."""


class MotoVersionMismatch(SimulatorError):
    """The installed moto is not the version the patches were written and tested against."""
