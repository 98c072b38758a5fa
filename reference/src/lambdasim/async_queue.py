"""Lambda's internal queue for asynchronous invocations (InvocationType=Event).

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html : Lambda places the event in
a queue and returns 202 at once; a separate process reads the queue and runs the function.

What is modelled now: the event is accepted (size checked, request id assigned) and runs once
when the virtual clock reaches its due time; every outcome is kept in `completed`.
Not yet (the next engineer plugs them into `AsyncInvocationQueue._settle`): the 2 retries with
their delays, MaximumEventAgeInSeconds / MaximumRetryAttempts from
`put_function_event_invoke_config`, on-success/on-failure destinations with the invocation
record, the function's DLQ, and throttling (retried up to 6 h with backoff).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .clock import Scheduler
from .runtime import InvocationRecord, InvocationRequest


@dataclass(eq=False)
class AsyncEvent:
    """One event in the queue: the request and what happened to it so far."""

    request: InvocationRequest
    enqueued_us: int
    attempts: list[InvocationRecord] = field(default_factory=list)

    @property
    def last(self) -> InvocationRecord | None:
        """The latest attempt, or None before the first."""
        return self.attempts[-1] if self.attempts else None


class AsyncInvocationQueue:
    """Accepts asynchronous invocations and runs them on the virtual clock."""

    # Lambda picks an event up almost at once; the simulator runs it at the time it was queued
    # (as soon as the clock is allowed to move), which keeps runs reproducible.
    DISPATCH_DELAY_US = 0

    def __init__(self, scheduler: Scheduler, execute: Callable[[InvocationRequest], InvocationRecord]):
        self._scheduler = scheduler
        self._execute = execute
        self.pending: list[AsyncEvent] = []
        self.completed: list[AsyncEvent] = []

    def enqueue(self, request: InvocationRequest) -> AsyncEvent:
        """Queue an accepted event; it runs when the clock reaches `request.received_us`."""
        item = AsyncEvent(request, request.received_us)
        self.pending.append(item)
        self._scheduler.call_at(request.received_us + self.DISPATCH_DELAY_US, self._dispatch, item)
        return item

    def _dispatch(self, item: AsyncEvent) -> None:
        record = self._execute(item.request)
        item.attempts.append(record)
        self._settle(item, record)

    def _settle(self, item: AsyncEvent, record: InvocationRecord) -> None:
        # The one place the async error handling rules go (retries, event age, destinations,
        # DLQ). For now every event is settled after its first attempt.
        self.pending.remove(item)
        self.completed.append(item)
