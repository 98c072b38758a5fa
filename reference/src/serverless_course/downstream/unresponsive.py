"""A dependency that accepts requests and never answers, for lessons and tests.

``lambdasim.faults`` makes AWS answer with errors; a hung dependency does not answer at all. The
client then waits its ``read_timeout`` (the Config of the client that made the call) and botocore
raises ``ReadTimeoutError``, which every retry mode retries. ``Unresponsive`` plays that wait
with ``time.sleep``, which the simulator makes virtual: inside a handler the wait spends the
invocation's time and is cut off at the function's timeout, as on AWS::

    with Unresponsive("dynamodb", "PutItem") as hung:
        ...                      # every PutItem attempt waits out its read timeout and fails
        hung.attempts            # how many attempts waited

It hooks botocore's public ``before-send`` event (once per HTTP attempt, inside the retry loop)
for every client created after this module is imported, the way ``lambdasim.faults`` does. A
call the fault injector already answered is left to it.
"""

from __future__ import annotations

import time
from typing import Any

import botocore.handlers
from botocore.exceptions import ReadTimeoutError

from lambdasim.faults import was_faulted

__all__ = ["Unresponsive"]

_active: list[Unresponsive] = []


class Unresponsive:
    """Every HTTP attempt of ``service``'s ``operation`` (API name, e.g. ``"PutItem"``) waits
    for the calling client's read timeout and fails with ``ReadTimeoutError``."""

    def __init__(self, service: str, operation: str) -> None:
        self.service = service
        self.operation = operation
        self.attempts = 0
        self.waited_s = 0.0

    def __enter__(self) -> Unresponsive:
        _active.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _active.remove(self)

    def _hangs(self, event_name: str) -> bool:
        # event_name is "before-send.<service id>.<Operation>"
        _, service, operation = event_name.split(".", 2)
        return service == self.service and operation == self.operation


def _on_before_send(request: Any, event_name: str, **_: Any) -> None:
    if was_faulted(request):
        return
    for dependency in _active:
        if dependency._hangs(event_name):
            read_timeout = request.context["client_config"].read_timeout
            dependency.attempts += 1
            dependency.waited_s += read_timeout
            time.sleep(read_timeout)  # no answer comes; the client gives up at its read timeout
            raise ReadTimeoutError(endpoint_url=request.url)


# Registered first, after lambdasim.faults' own first handler (imported above): a hung attempt
# raises before moto's before-send handler could answer it.
if not any(spec[1] is _on_before_send for spec in botocore.handlers.BUILTIN_HANDLERS):
    botocore.handlers.BUILTIN_HANDLERS.append(
        ("before-send.*.*", _on_before_send, botocore.handlers.REGISTER_FIRST))
