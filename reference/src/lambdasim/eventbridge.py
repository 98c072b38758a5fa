"""EventBridge rule targets, every type, delivered on the virtual clock with the target's retry
policy and dead-letter queue.

`_moto_patches.eventbridge` hands every matched target here (moto raises for most types). One
delivery path serves them all (the rules, with sources: `rules.eventbridge`):

- a Lambda function: an asynchronous Invoke (`LambdaService.enqueue_async`); the delivery
  succeeds when Lambda's Invoke API accepts the event (202), and the function's errors and
  concurrency throttles then belong to Lambda's async queue and the function's destinations and
  DLQ, never to the target's RetryPolicy;
- every other type: the adapter's sender writes the event to the target in moto (SQS, SNS,
  Kinesis, Firehose, Step Functions StartExecution, another event bus, a log group, an archive)
  and answers the target service's error when it fails; an API destination is recorded, not
  called (state "recorded": the simulator makes no HTTP request), and so is a target type the
  simulator does not model;
- a failure that is a throttle or a 5xx is retried with exponential backoff and seeded jitter
  until MaximumRetryAttempts (default 185) or MaximumEventAgeInSeconds (default 24 h) runs out;
  any other failure (a missing queue, topic, stream or function; missing permissions; a KMS
  key problem) is not retried. Then the event goes to the target's dead-letter queue (SQS) with
  AWS's attributes, or is dropped without one.

Lambda's Invoke API in the simulator accepts every asynchronous request of an existing function,
and moto's services take every write to an existing resource: refusals a real service makes
(the Invoke request-rate quota, a throttled stream, an outage) are injected with
`sim.eventbridge.refuse(function_name_or_target_arn, ...)`. `duplicate_rate` (default 0) delivers
an event a second time with that probability (seeded), at-least-once delivery made visible.
Every event keeps its `TargetDelivery` in `deliveries` (nothing is lost without a trace), and
`metrics(rule)` counts them as the rule's AWS/Events metrics (Invocations, FailedInvocations,
InvocationAttempts, DeadLetterInvocations, InvocationsSentToDlq, InvocationsFailedToBeSentToDlq,
and ThrottledRules once an invocation was throttled).

Two account quotas per Region are token buckets here (`rules.eventbridge`, eb-quota.html):
PutEvents (`put_events_limit`; over it the whole call is refused with ThrottlingException, by
`_moto_patches.eventbridge`, and botocore's retries apply) and target invocations
(`invocations_limit`; over it an invocation waits, with the retry policy's backoff, for a token:
delayed, not lost, though its MaximumEventAgeInSeconds still runs). None turns a quota off; every
refusal is a `RateThrottle` in `throttles`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from . import moto_state
from .clock import seconds_to_micros
from .rules import eventbridge as rules
from .rules import invoke as inv
from .rules import tenancy
from .rules.throughput import RateLimit, RateThrottle, TokenBucket

if TYPE_CHECKING:
    from .async_queue import AsyncEvent
    from .simulator import Simulator


@dataclass(frozen=True)
class Attempt:
    at_us: int
    status: int  # 202 (Lambda accepted) or 200 (written), else the target service's error status
    code: str
    message: str = ""


@dataclass(frozen=True)
class TargetFailure:
    """A target service's answer to a failed delivery: its HTTP status, error code and message."""

    status: int
    code: str
    message: str = ""


# A delivery to a target other than Lambda: writes the event, answers the failure or None.
Sender = Callable[[], "TargetFailure | None"]

LAMBDA = "lambda"
API_DESTINATION = "api-destination"


@dataclass(eq=False)
class TargetDelivery:
    """One event for one target of one rule."""

    event_id: str
    rule_arn: str
    target_arn: str
    target: dict[str, Any] = field(repr=False)
    event: dict[str, Any] = field(repr=False)
    payload: bytes = field(repr=False)
    account_id: str
    received_us: int
    kind: str = LAMBDA  # the target's type: lambda, sqs, sns, kinesis, firehose, states, event-bus ...
    send: Sender | None = field(default=None, repr=False)  # None: a Lambda target
    trace_header: str | None = None  # the PutEvents call's X-Amzn-Trace-Id, passed to a Lambda target
    attempts: list[Attempt] = field(default_factory=list)
    # pending, delivered, recorded (an API destination or unmodelled type: not sent anywhere),
    # dead-lettered, dropped, dead-letter-failed, not-routed (a bus target of an event that came
    # from another bus: not invoked)
    state: str = "pending"
    exhausted: str | None = None  # MaximumRetryAttempts / MaximumEventAgeInSeconds
    async_events: list[AsyncEvent] = field(default_factory=list, repr=False)
    duplicates: int = 0
    dead_letter_error: str | None = None
    throttles: int = 0  # tries the account's invocation quota delayed (ThrottledRules)

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)


class EventBridgeTargets:
    """Delivers matched events to their targets (see the module docstring)."""

    def __init__(self, sim: Simulator, rng: Random):
        self._sim = sim
        self.rng = rng
        self.duplicate_rate = 0.0
        self.deliveries: list[TargetDelivery] = []
        self._refusals: dict[str, tuple[int, str, str, int | None]] = {}
        # The account's quotas in the simulation's Region (each Region gets a bucket of its own
        # with the same limit); None turns one off.
        self.put_events_limit: RateLimit | None = rules.put_events_limit(sim.region)
        self.invocations_limit: RateLimit | None = rules.invocations_limit(sim.region)
        self.throttles: list[RateThrottle] = []
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        # With IAM enforced (`Simulator(iam=True)`): whether a target's resource policy lets
        # EventBridge deliver to it, `(kind, target ARN, rule ARN) -> (status, code, message)`
        # of the refusal, or None when it does (`lambdasim.iam`).
        self.authorize: Callable[[str, str, str], tuple[int, str, str] | None] | None = None

    def refuse(self, target: str, *, status: int = 429, code: str = "TooManyRequestsException",
               message: str = "Rate Exceeded.", seconds: float | None = None) -> None:
        """Make a target refuse EventBridge's deliveries (for `seconds`, or until `allow`):
        `target` is a function name (Lambda's Invoke API refuses) or any target's ARN."""
        until = None if seconds is None else self._sim._clock.micros + seconds_to_micros(seconds)
        self._refusals[target] = (status, code, message, until)

    def allow(self, target: str) -> None:
        self._refusals.pop(target, None)

    def metrics(self, rule: str | None = None) -> dict[str, int]:
        """The AWS/Events metrics of one rule (its name or ARN) or of all rules, counted from the
        deliveries (`rules.eventbridge.METRICS_OF_STATE`); events still being retried count only
        their attempts."""
        counts = dict.fromkeys(("Invocations", "FailedInvocations", "InvocationAttempts", "DeadLetterInvocations",
                                "InvocationsSentToDlq", "InvocationsFailedToBeSentToDlq"), 0)
        for d in self.deliveries:
            if rule is not None and rule not in (d.rule_arn, d.rule_arn.rsplit("/", 1)[-1]):
                continue
            counts["InvocationAttempts"] += len(d.attempts)
            for metric in rules.METRICS_OF_STATE.get(d.state, ()):
                counts[metric] += 1
            if d.throttles:  # CloudWatch has no data point for it until an invocation is throttled
                counts[rules.THROTTLED_RULES] = counts.get(rules.THROTTLED_RULES, 0) + d.throttles
        return counts

    # -- quotas -----------------------------------------------------------------------------------
    def _bucket(self, quota: str, account_id: str, region: str, limit: RateLimit) -> TokenBucket:
        """The quota's bucket of one account and Region (a new, full one when the limit changed)."""
        bucket = self._buckets.get((quota, account_id, region))
        if bucket is None or bucket.limit != limit:
            bucket = self._buckets[(quota, account_id, region)] = TokenBucket(limit)
        return bucket

    def admit_put_events(self, account_id: str, region: str) -> bool:
        """Take a PutEvents token for one call; False (recorded) when the quota refuses it."""
        limit = self.put_events_limit
        now = self._sim._clock.micros
        if limit is None or self._bucket("PutEvents", account_id, region, limit).try_take(now):
            return True
        self.throttles.append(RateThrottle(now, "events", "PutEvents", f"{account_id}/{region}", limit))
        return False

    def _invocation_admitted(self, d: TargetDelivery, now: int) -> bool:
        """Take an invocation token for this try; without one the try is recorded and scheduled
        again after the retry policy's backoff (the invocation is delayed, eb-quota.html)."""
        limit = self.invocations_limit
        region = d.rule_arn.split(":")[3]
        if limit is None or self._bucket("invocations", d.account_id, region, limit).try_take(now):
            return True
        d.throttles += 1
        self.throttles.append(RateThrottle(now, "events", "invocations", f"{d.rule_arn} {d.target_arn}", limit))
        delay = rules.backoff_s(d.throttles, self.rng)
        self._sim._scheduler.call_at(now + seconds_to_micros(delay), self._attempt, d)
        return False

    # -- delivery ---------------------------------------------------------------------------------
    def deliver(self, account_id: str, rule_arn: str, target: dict[str, Any], event: dict[str, Any],
                payload: bytes, *, kind: str = LAMBDA, send: Sender | None = None,
                trace_header: str | None = None) -> TargetDelivery:
        """Deliver one event to one target now (retries follow on the virtual clock). `send`
        writes it to a target that is not a Lambda function; `trace_header` is the X-Ray trace
        EventBridge passes on (eb-related-service-xray.html)."""
        delivery = TargetDelivery(event_id=str(event.get("id")), rule_arn=rule_arn, target_arn=target["Arn"],
                                  target=target, event=event, payload=payload, account_id=account_id,
                                  received_us=self._sim._clock.micros, kind=kind, send=send,
                                  trace_header=trace_header)
        self.deliveries.append(delivery)
        self._attempt(delivery)
        return delivery

    def record_not_routed(self, account_id: str, rule_arn: str, target: dict[str, Any], event: dict[str, Any]) -> None:
        """An event bus target not invoked: the event came from another bus, and EventBridge does
        not route it to a third one (eb-bus-to-bus.html; eb-monitoring.html counts it in
        DeadLetterInvocations)."""
        self.deliveries.append(TargetDelivery(
            event_id=str(event.get("id")), rule_arn=rule_arn, target_arn=target["Arn"], target=target, event=event,
            payload=b"", account_id=account_id, received_us=self._sim._clock.micros, kind="event-bus",
            state="not-routed"))

    def _attempt(self, d: TargetDelivery) -> None:
        now = self._sim._clock.micros
        max_retries, max_age_s = rules.retry_policy(d.target)
        if (d.attempts or d.throttles) and now - d.received_us > max_age_s * 1_000_000:
            d.exhausted = rules.MAXIMUM_EVENT_AGE
            self._dead_letter(d)
            return
        if not self._invocation_admitted(d, now):
            return
        failure = self._refusal(d.target_arn, now) or self._unauthorized(d.kind, d.target_arn, d.rule_arn)
        if failure is None:
            failure = self._invoke_lambda(d, now) if d.send is None else d.send()
        if failure is None:
            self._delivered(d, now)
            if self.duplicate_rate and self.rng.random() < self.duplicate_rate:
                d.duplicates += 1
                if d.send is None:
                    self._invoke_lambda(d, now)
                else:
                    d.send()
            return
        status = rules.failure_status(failure.code, failure.status)
        d.attempts.append(Attempt(now, status, failure.code, failure.message))
        if not rules.retriable(status):
            self._dead_letter(d)
        elif d.retries >= max_retries:
            d.exhausted = rules.MAXIMUM_RETRY_ATTEMPTS
            self._dead_letter(d)
        else:
            delay = rules.backoff_s(d.retries + 1, self.rng)
            self._sim._scheduler.call_at(now + seconds_to_micros(delay), self._attempt, d)

    def _delivered(self, d: TargetDelivery, now: int) -> None:
        if d.kind == LAMBDA:
            d.attempts.append(Attempt(now, 202, "Accepted"))
            d.state = "delivered"
        elif d.kind == API_DESTINATION:
            d.attempts.append(Attempt(now, 200, "Recorded", "API destination: recorded, no HTTP request made"))
            d.state = "recorded"
        elif d.send is None:
            d.attempts.append(Attempt(now, 200, "Recorded", f"{d.kind} targets are recorded, not simulated"))
            d.state = "recorded"
        else:
            d.attempts.append(Attempt(now, 200, "Delivered"))
            d.state = "delivered"

    def _refusal(self, target_arn: str, now: int) -> TargetFailure | None:
        """An injected refusal of this target (by ARN), dropped once it has run out."""
        refusal = self._refusals.get(target_arn)
        if refusal is not None and refusal[3] is not None and now >= refusal[3]:
            self._refusals.pop(target_arn, None)
            refusal = None
        return None if refusal is None else TargetFailure(*refusal[:3])

    def _unauthorized(self, kind: str, target_arn: str, rule_arn: str) -> TargetFailure | None:
        refusal = self.authorize(kind, target_arn, rule_arn) if self.authorize is not None else None
        return None if refusal is None else TargetFailure(*refusal)

    def _invoke_lambda(self, d: TargetDelivery, now: int) -> TargetFailure | None:
        """Lambda's Invoke API, asynchronous: accepted (None) or its error."""
        region = d.target_arn.split(":")[3]
        try:
            config, arn = moto_state.resolve_function(d.account_id, region, d.target_arn, None)
        except Exception as missing:  # moto's ResourceNotFoundException
            return TargetFailure(404, "ResourceNotFoundException", str(missing))
        refusal = self._refusal(config.name, now)
        if refusal is not None:
            return refusal
        # EventBridge's Invoke call carries no tenant id: a tenant-isolated function refuses it.
        problem = tenancy.tenant_id_problem(config.tenant_isolation, None)
        if problem is not None:
            return TargetFailure(400, tenancy.INVALID_TENANT_CODE, problem)
        if len(d.payload) > inv.ASYNC_REQUEST_LIMIT_BYTES:
            return TargetFailure(inv.REQUEST_TOO_LARGE_STATUS, inv.REQUEST_TOO_LARGE_CODE,
                                 inv.request_too_large_message("Event", len(d.payload)))
        d.async_events.append(self._sim._service.enqueue_async(config, arn, d.payload, source="eventbridge",
                                                               trace_header=d.trace_header))
        return None

    def _dead_letter(self, d: TargetDelivery) -> None:
        # An event that aged out while the invocation quota delayed it never reached its target.
        last = d.attempts[-1] if d.attempts else (
            Attempt(self._sim._clock.micros, 429, rules.THROTTLING_CODE, rules.THROTTLING_MESSAGE) if d.throttles
            else Attempt(self._sim._clock.micros, 0, "", ""))
        dlq = (d.target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            d.state = "dropped"
            return
        attributes = rules.dead_letter_attributes(rule_arn=d.rule_arn, target_arn=d.target_arn,
                                                  error_code=rules.dead_letter_error_code(last.status),
                                                  error_message=f"{last.code}: {last.message}",
                                                  exhausted=d.exhausted, retry_attempts=d.retries)
        refused = self._unauthorized("sqs", dlq, d.rule_arn)
        if refused is not None:  # the DLQ's queue policy does not let EventBridge send to it
            d.state = "dead-letter-failed"
            d.dead_letter_error = f"{refused.code}: {refused.message}"
            return
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
