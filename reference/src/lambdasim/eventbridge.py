"""EventBridge rule targets that are Lambda functions, delivered on the virtual clock.

`_moto_patches.eventbridge` hands every matched Lambda target here (moto raises for them).
Each delivery is an asynchronous Invoke of the function (`LambdaService.enqueue_async`); the
target's RetryPolicy and DeadLetterConfig apply to failures of that Invoke call, as on AWS
(the rules and the model, with sources: `rules.eventbridge`):

- accepted (202): delivered; the function's own async handling takes over (errors, throttles
  for lack of concurrency, the function's destinations and DLQ);
- refused with a throttle or a 5xx: retried with exponential backoff and seeded jitter until
  MaximumRetryAttempts (default 185) or MaximumEventAgeInSeconds (default 24 h) runs out, then
  sent to the target's dead-letter queue (SQS) with AWS's attributes, or dropped without one;
- refused otherwise (the function does not exist: 404; the event is too large: 413): straight
  to the dead-letter queue (or dropped), no retry.

Lambda's Invoke API in the simulator accepts every asynchronous request of an existing function:
API-level refusals (the Invoke request-rate quota, a service outage) are injected with
`sim.eventbridge.refuse(function_name, ...)`. `duplicate_rate` (default 0) delivers an accepted
event a second time with that probability (seeded), at-least-once delivery made visible.
Every event keeps its `TargetDelivery` in `deliveries`: nothing is lost without a trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from . import moto_state
from .clock import seconds_to_micros
from .rules import eventbridge as rules
from .rules import invoke as inv

if TYPE_CHECKING:
    from .async_queue import AsyncEvent
    from .simulator import Simulator


@dataclass(frozen=True)
class Attempt:
    at_us: int
    status: int  # 202 accepted, else the Invoke API's error status
    code: str
    message: str = ""


@dataclass(eq=False)
class TargetDelivery:
    """One event for one Lambda target of one rule."""

    event_id: str
    rule_arn: str
    target_arn: str
    target: dict[str, Any] = field(repr=False)
    event: dict[str, Any] = field(repr=False)
    payload: bytes = field(repr=False)
    account_id: str
    received_us: int
    attempts: list[Attempt] = field(default_factory=list)
    state: str = "pending"  # pending, delivered, dead-lettered, dropped, dead-letter-failed
    exhausted: str | None = None  # MaximumRetryAttempts / MaximumEventAgeInSeconds
    async_events: list[AsyncEvent] = field(default_factory=list, repr=False)
    duplicates: int = 0
    dead_letter_error: str | None = None

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)


class EventBridgeTargets:
    """Delivers matched events to Lambda targets (see the module docstring)."""

    def __init__(self, sim: Simulator, rng: Random):
        self._sim = sim
        self.rng = rng
        self.duplicate_rate = 0.0
        self.deliveries: list[TargetDelivery] = []
        self._refusals: dict[str, tuple[int, str, str, int | None]] = {}

    def refuse(self, function_name: str, *, status: int = 429, code: str = "TooManyRequestsException",
               message: str = "Rate Exceeded.", seconds: float | None = None) -> None:
        """Make Lambda's Invoke API refuse this function's asynchronous invocations from EventBridge
        (for `seconds`, or until `allow`)."""
        until = None if seconds is None else self._sim._clock.micros + seconds_to_micros(seconds)
        self._refusals[function_name] = (status, code, message, until)

    def allow(self, function_name: str) -> None:
        self._refusals.pop(function_name, None)

    # -- delivery ---------------------------------------------------------------------------------
    def deliver(self, account_id: str, rule_arn: str, target: dict[str, Any], event: dict[str, Any],
                payload: bytes) -> TargetDelivery:
        delivery = TargetDelivery(event_id=str(event.get("id")), rule_arn=rule_arn, target_arn=target["Arn"],
                                  target=target, event=event, payload=payload, account_id=account_id,
                                  received_us=self._sim._clock.micros)
        self.deliveries.append(delivery)
        self._attempt(delivery)
        return delivery

    def _attempt(self, d: TargetDelivery) -> None:
        now = self._sim._clock.micros
        max_retries, max_age_s = rules.retry_policy(d.target)
        if d.attempts and now - d.received_us > max_age_s * 1_000_000:
            d.exhausted = rules.MAXIMUM_EVENT_AGE
            self._dead_letter(d)
            return
        service = self._sim._service
        region = d.target_arn.split(":")[3]
        try:
            config, arn = moto_state.resolve_function(d.account_id, region, d.target_arn, None)
        except Exception as missing:  # moto's ResourceNotFoundException
            d.attempts.append(Attempt(now, 404, "ResourceNotFoundException", str(missing)))
            self._dead_letter(d)
            return
        refusal = self._refusals.get(config.name)
        if refusal is not None and refusal[3] is not None and now >= refusal[3]:
            self._refusals.pop(config.name, None)
            refusal = None
        if refusal is None and len(d.payload) > inv.ASYNC_REQUEST_LIMIT_BYTES:
            refusal = (inv.REQUEST_TOO_LARGE_STATUS, inv.REQUEST_TOO_LARGE_CODE,
                       inv.request_too_large_message("Event", len(d.payload)), None)
        if refusal is None:
            d.attempts.append(Attempt(now, 202, "Accepted"))
            d.async_events.append(service.enqueue_async(config, arn, d.payload, source="eventbridge"))
            d.state = "delivered"
            if self.duplicate_rate and self.rng.random() < self.duplicate_rate:
                d.duplicates += 1
                d.async_events.append(service.enqueue_async(config, arn, d.payload, source="eventbridge"))
            return
        status, code, message, _ = refusal
        d.attempts.append(Attempt(now, status, code, message))
        if not rules.retriable(status):
            self._dead_letter(d)
        elif d.retries >= max_retries:
            d.exhausted = rules.MAXIMUM_RETRY_ATTEMPTS
            self._dead_letter(d)
        else:
            delay = rules.backoff_s(d.retries + 1, self.rng)
            self._sim._scheduler.call_at(now + seconds_to_micros(delay), self._attempt, d)

    def _dead_letter(self, d: TargetDelivery) -> None:
        last = d.attempts[-1] if d.attempts else Attempt(self._sim._clock.micros, 0, "", "")
        dlq = (d.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            d.state = "dropped"
            return
        attributes = rules.dead_letter_attributes(rule_arn=d.rule_arn, target_arn=d.target_arn,
                                                  error_code=rules.dead_letter_error_code(last.status),
                                                  error_message=f"{last.code}: {last.message}",
                                                  exhausted=d.exhausted, retry_attempts=d.retries)
        try:
            _, _, _, region, account, name = dlq.split(":", 5)
            sqs = self._sim.client("sqs") if region == self._sim.region else self._sim.client("sqs", region_name=region)
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(d.event), MessageAttributes=attributes)
        except Exception as e:  # a missing queue: AWS counts InvocationsFailedToBeSentToDlq
            d.state = "dead-letter-failed"
            d.dead_letter_error = f"{type(e).__name__}: {e}"
            return
        d.state = "dead-lettered"
