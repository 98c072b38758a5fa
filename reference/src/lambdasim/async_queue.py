"""Lambda's internal queue for asynchronous invocations (InvocationType=Event).

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html : Lambda places the event in
a queue and returns 202 at once; a separate process reads the queue and runs the function.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html and
invocation-async-retain-records.html : what happens next, played here on the virtual clock
(the numbers and shapes are in `rules.async_invoke`, with their sources and the modelling
choices):

- The event runs when the clock reaches its due time. An attempt that ends in a function error
  (the handler raised, the runtime failed, the invocation timed out) is retried 60 s and then
  120 s after it ended, up to MaximumRetryAttempts (default 2) from the function's event invoke
  config for the qualifier the event was invoked with.
- An attempt the service refuses for lack of concurrency (`errors.Throttled` from `execute`)
  returns the event to the queue; it is tried again after 1, 2, 4 ... up to 300 s. Throttles do
  not use up the retry attempts. With reserved concurrency 0 the event is discarded at once.
- An event older than MaximumEventAgeInSeconds (default 6 h) when its next attempt is due is
  discarded (EventAgeExceeded).
- An event whose function (or version) was deleted before its next attempt is discarded without
  running (condition `FunctionDeleted`, the simulator's name: a deleted function cannot be
  invoked, https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunction.html), and nothing is
  sent: the function's destinations and DLQ were deleted with it. So a deleted stack's queued
  events never run its functions.
- When the event settles, the invocation record goes to the on-success or on-failure
  destination, and a discarded event also goes to the function's dead-letter queue (both, when
  both are configured).

Every accepted event stays in `received`; `pending` holds those not settled yet and `completed`
the settled ones, with their attempts, throttles, condition, settle time and deliveries: what the
AWS/Lambda async metrics (AsyncEventsReceived, AsyncEventAge, AsyncEventsDropped,
DeadLetterErrors, DestinationDeliveryFailures) are computed from.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any, Literal

from . import moto_state
from .clock import Scheduler, from_micros, seconds_to_micros
from .destinations import DeliveryFailed, Destinations, decoded
from .errors import RecursionStopped, Throttled
from .rules import async_invoke as ai
from .rules import recursion
from .runtime import InvocationRecord, InvocationRequest


@dataclass(frozen=True)
class ThrottledTry:
    """A try the service refused for lack of concurrency."""

    at_us: int
    reason: str
    message: str


@dataclass(frozen=True)
class Delivery:
    """One record or dead letter sent (or not) when the event settled."""

    kind: Literal["on-success", "on-failure", "dead-letter"]
    target: str
    at_us: int
    ok: bool
    error: str | None = None


@dataclass(eq=False)
class AsyncEvent:
    """One event in the queue: the request and what happened to it so far."""

    request: InvocationRequest
    enqueued_us: int
    attempts: list[InvocationRecord] = field(default_factory=list)
    throttles: list[ThrottledTry] = field(default_factory=list)
    condition: str | None = None  # "Success", "RetriesExhausted", "EventAgeExceeded" once settled
    settled_us: int | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    _throttled_in_a_row: int = field(default=0, repr=False)

    @property
    def last(self) -> InvocationRecord | None:
        """The latest attempt that ran, or None before the first."""
        return self.attempts[-1] if self.attempts else None

    @property
    def settled(self) -> bool:
        """True once the event succeeded or was discarded."""
        return self.condition is not None

    @property
    def dropped(self) -> bool:
        """True if the event was discarded (retries exhausted or too old): AsyncEventsDropped."""
        return self.condition is not None and self.condition != ai.SUCCESS

    @property
    def approximate_invoke_count(self) -> int:
        """Every try Lambda made, throttled ones included (the record's approximateInvokeCount)."""
        return len(self.attempts) + len(self.throttles)

    @property
    def ages_ms(self) -> list[float]:
        """For each attempt that ran, the time from queueing to its start: AsyncEventAge."""
        return [(a.start_us - self.enqueued_us) / 1000 for a in self.attempts]

    def failed_deliveries(self, kind: str) -> int:
        """Deliveries of this kind that failed ("dead-letter": DeadLetterErrors; the two
        destination kinds: DestinationDeliveryFailures)."""
        return sum(1 for d in self.deliveries if d.kind == kind and not d.ok)


def _moto_settings(request: InvocationRequest) -> ai.AsyncSettings:
    return moto_state.async_settings(request.config.account_id, request.config.region,
                                        request.config.name, request.invoked_arn)


def _moto_reserved(request: InvocationRequest) -> int | None:
    return moto_state.function_reserved_concurrency(request.config.account_id, request.config.region,
                                                       request.config.name)


def _moto_function_exists(request: InvocationRequest) -> bool:
    try:
        moto_state.resolve_function(request.config.account_id, request.config.region, request.config.name,
                                    request.config.version)
    except Exception:  # moto's ResourceNotFoundException: the function (or version) was deleted
        return False
    return True


class AsyncInvocationQueue:
    """Accepts asynchronous invocations and runs them on the virtual clock, with AWS's retries,
    event age, destinations and dead-letter queue.

    `settings_for(request)` reads the event's `AsyncSettings` (from moto: the event invoke
    config of the invoked qualifier and the function's DeadLetterConfig) each time it is needed,
    so a change applies to events already queued, as on AWS. `reserved_for(request)` reads the
    function's reserved concurrency when a throttle needs it. `jitter=True` spreads throttle
    backoffs (seeded by `rng`).
    """

    # Lambda picks an event up almost at once; the simulator runs it at the time it was queued
    # (as soon as the clock is allowed to move), which keeps runs reproducible.
    DISPATCH_DELAY_US = 0

    def __init__(
        self,
        scheduler: Scheduler,
        execute: Callable[[InvocationRequest], InvocationRecord],
        *,
        settings_for: Callable[[InvocationRequest], ai.AsyncSettings] = _moto_settings,
        reserved_for: Callable[[InvocationRequest], int | None] = _moto_reserved,
        exists: Callable[[InvocationRequest], bool] = _moto_function_exists,
        destinations: Destinations | None = None,
        rng: Random | None = None,
        jitter: bool = False,
    ):
        self._scheduler = scheduler
        self._execute = execute
        self.settings_for = settings_for
        self.reserved_for = reserved_for
        self.exists = exists
        self.destinations = destinations or Destinations()
        self.rng = rng or Random("async")
        self.jitter = jitter
        self.received: list[AsyncEvent] = []
        self.pending: list[AsyncEvent] = []
        self.completed: list[AsyncEvent] = []

    def enqueue(self, request: InvocationRequest) -> AsyncEvent:
        """Queue an accepted event; it runs when the clock reaches `request.received_us`."""
        item = AsyncEvent(request, request.received_us)
        self.received.append(item)
        self.pending.append(item)
        self._scheduler.call_at(request.received_us + self.DISPATCH_DELAY_US, self._dispatch, item)
        return item

    # -- the event's life -----------------------------------------------------------------------
    def _dispatch(self, item: AsyncEvent) -> None:
        now = self._scheduler.now_us
        if not self.exists(item.request):
            self._discard_deleted(item, now)
            return
        settings = self.settings_for(item.request)
        if ai.event_expired((now - item.enqueued_us) / 1_000_000, settings.maximum_event_age_s):
            self._settle_as(item, ai.EVENT_AGE_EXCEEDED, settings)
            return
        try:
            record = self._execute(item.request)
        except RecursionStopped:
            # Not retried: the event goes to the DLQ or on-failure destination (rules/recursion.py).
            self._settle_as(item, recursion.STOPPED_CONDITION, settings)
            return
        except Throttled as throttled:
            item.throttles.append(ThrottledTry(now, throttled.reason, throttled.message))
            item._throttled_in_a_row += 1
            if ai.reserved_concurrency_zero_discards(throttled.reason, self.reserved_for(item.request)):
                self._settle_as(item, ai.RETRIES_EXHAUSTED, settings)
                return
            delay = ai.throttle_retry_delay_s(item._throttled_in_a_row, self.rng if self.jitter else None)
            self._scheduler.call_at(now + seconds_to_micros(delay), self._dispatch, item)
            return
        item._throttled_in_a_row = 0
        item.attempts.append(record)
        self._scheduler.call_at(record.start_us + record.total_us, self._settle, item, record)

    def _settle(self, item: AsyncEvent, record: InvocationRecord) -> None:
        # The attempt has ended (`record.end`): success, a retry, or out of retries.
        settings = self.settings_for(item.request)
        if record.succeeded:
            self._settle_as(item, ai.SUCCESS, settings)
        elif ai.retries_left(settings, len(item.attempts)):
            delay = ai.function_error_retry_delay_s(len(item.attempts))
            self._scheduler.call_at(self._scheduler.now_us + seconds_to_micros(delay), self._dispatch, item)
        else:
            self._settle_as(item, ai.RETRIES_EXHAUSTED, settings)

    def _discard_deleted(self, item: AsyncEvent, now: int) -> None:
        # A deleted function cannot run (API_DeleteFunction.html; an Invoke of it is
        # ResourceNotFoundException): its queued event is dropped, and its event invoke config
        # and DLQ went with it, so no record is sent anywhere.
        item.condition = ai.FUNCTION_DELETED
        item.settled_us = now
        self.pending.remove(item)
        self.completed.append(item)

    def _settle_as(self, item: AsyncEvent, condition: str, settings: ai.AsyncSettings) -> None:
        now = self._scheduler.now_us
        item.condition = condition
        item.settled_us = now
        self.pending.remove(item)
        self.completed.append(item)
        if condition == ai.SUCCESS:
            if settings.on_success:
                self._send_record(item, "on-success", settings.on_success, now)
            return
        if settings.on_failure:
            self._send_record(item, "on-failure", settings.on_failure, now)
        if settings.dead_letter_target:
            self._send_dead_letter(item, settings.dead_letter_target, now)

    # -- deliveries -----------------------------------------------------------------------------
    def invocation_record(self, item: AsyncEvent, at_us: int) -> dict[str, Any]:
        """The invocation record of a settled event, as its destination receives it."""
        request = item.request
        last = item.last
        if last is not None:
            status, version, error, response = 200, last.version, last.function_error, decoded(last.payload)
        elif item.condition == recursion.STOPPED_CONDITION:  # loop detection stopped it (rules/recursion.py)
            status, version, error = recursion.EXCEPTION_STATUS, None, None
            response = {"errorType": recursion.EXCEPTION_CODE, "errorMessage": recursion.EXCEPTION_MESSAGE}
        else:  # never ran: throttled until discarded (modelled, see rules.async_invoke)
            message = item.throttles[-1].message if item.throttles else "Event age exceeded"
            status, version, error, response = ai.THROTTLE_STATUS, None, None, ai.throttle_response(message)
        return ai.invocation_record(
            at=from_micros(at_us),
            request_id=request.request_id,
            function_arn=ai.qualified_function_arn(request.invoked_arn, request.config.arn),
            condition=item.condition or "",
            approximate_invoke_count=item.approximate_invoke_count,
            request_payload=decoded(request.payload) if request.payload.strip() else {},
            status_code=status,
            executed_version=version,
            function_error=error,
            response_payload=response,
        )

    def _send_record(self, item: AsyncEvent, kind: Literal["on-success", "on-failure"], target: str,
                     now: int) -> None:
        record = self.invocation_record(item, now)
        random_uuid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))  # S3 object names
        try:
            self.destinations.send_record(target, record, function_name=item.request.config.name,
                                          at=from_micros(now), random_uuid=random_uuid)
        except DeliveryFailed as failed:
            item.deliveries.append(Delivery(kind, target, now, False, str(failed)))
        else:
            item.deliveries.append(Delivery(kind, target, now, True))

    def _send_dead_letter(self, item: AsyncEvent, target: str, now: int) -> None:
        last = item.last
        if last is not None:
            result = decoded(last.payload)
            message = result.get("errorMessage", "") if isinstance(result, dict) else str(result or "")
            code = 200
        elif item.condition == recursion.STOPPED_CONDITION:
            message, code = recursion.EXCEPTION_MESSAGE, recursion.EXCEPTION_STATUS
        else:
            message = item.throttles[-1].message if item.throttles else "Event age exceeded"
            code = ai.THROTTLE_STATUS
        attributes = ai.dead_letter_attributes(item.request.request_id, code, message)
        try:
            self.destinations.send_dead_letter(target, item.request.payload, attributes)
        except DeliveryFailed as failed:
            item.deliveries.append(Delivery("dead-letter", target, now, False, str(failed)))
        else:
            item.deliveries.append(Delivery("dead-letter", target, now, True))
