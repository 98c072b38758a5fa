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


class RecursionStopped(Exception):
    """Lambda stopped an invocation that was the 17th of its chain (rules/recursion.py).

    Raised by `LambdaService.execute`; each caller applies its rule: the Invoke API answers 400
    RecursiveInvocationException, the async queue sends the event to the DLQ or on-failure
    destination, an SQS mapping releases the batch. The invocation is not one (no record).
    """

    def __init__(self, function_name: str, place_in_chain: int, message: str):
        super().__init__(message)
        self.function_name = function_name
        self.place_in_chain = place_in_chain


class Throttled(Exception):
    """The Lambda service refused an invocation because no concurrency was available.

    Raised by `LambdaService.execute` for every invocation type; each caller applies its own
    documented rule (https://docs.aws.amazon.com/lambda/latest/dg/invocation-retries.html):
    the Invoke API answers 429 TooManyRequestsException, the async queue retries with backoff
    for up to 6 hours, event source mappings back off and leave the records for later.
    `reason` is the `Reason` AWS puts in the 429 body, e.g.
    "ReservedFunctionConcurrentInvocationLimitExceeded" or "ConcurrentInvocationLimitExceeded".
    """

    def __init__(self, function_name: str, reason: str, message: str):
        super().__init__(message)
        self.function_name = function_name
        self.reason = reason
        self.message = message
