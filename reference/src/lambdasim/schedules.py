"""EventBridge scheduled rules and EventBridge Scheduler schedules, fired on the virtual clock.

moto stores both and fires neither. This player reads them from moto (`moto_state`) whenever one
is created, changed or deleted (boto3 or CloudFormation/SAM: `Schedule` and `ScheduleV2`
events), plans each one's next fire time with AWS's rules (`rules.schedules`, with sources) and
fires it when the clock gets there. Planned fires are daemon calls: a schedule never keeps
`run_until_idle` busy, the work it starts (an asynchronous invocation) does.

- A scheduled rule (rate or cron, UTC) sends the "Scheduled Event" to its targets through
  EventBridge's own delivery (`moto_state.send_scheduled_event`: Input, InputPath,
  InputTransformer; Lambda targets with the rule target's RetryPolicy and DLQ through
  `sim.eventbridge`). A rate starts one interval after the rule's creation (or its re-enabling,
  modelled). A DISABLED or deleted rule does not fire.
- A Scheduler schedule (at, rate, cron in its time zone; StartDate, EndDate, State,
  FlexibleTimeWindow) invokes its one target with its Input, context attributes replaced: a
  Lambda function asynchronously (Lambda's async retries, destinations and DLQ then apply), an
  SQS queue (SendMessage), an SNS topic (Publish) or an event bus (PutEvents with the target's
  EventBridgeParameters). A failure to deliver follows the target's RetryPolicy (throttles and
  5xx retried with backoff until MaximumRetryAttempts or MaximumEventAgeInSeconds; other
  failures not) and ends in its DeadLetterConfig queue or is dropped. A flexible window delays
  each fire by a seeded draw within it; the payload keeps the scheduled time.
  ActionAfterCompletion DELETE deletes the schedule after its last fire (moto keeps the value
  from CreateSchedule only).

Every fire is kept in `fired` (`ScheduleFire`): what fired, when it was due and when it ran, the
payload or event, each delivery attempt and how it ended.
"""

from __future__ import annotations

import json
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from random import Random
from typing import TYPE_CHECKING, Any

from . import moto_state
from .clock import from_micros, seconds_to_micros, to_micros
from .rules import eventbridge as eb_rules
from .rules import invoke as inv
from .rules import schedules as rules

if TYPE_CHECKING:
    from .async_queue import AsyncEvent
    from .clock import ScheduledCall
    from .simulator import Simulator

__all__ = ["DeliveryAttempt", "ScheduleFire", "Schedules", "TargetNotSimulated"]

RULE = "rule"
SCHEDULE = "schedule"


class TargetNotSimulated(UserWarning):
    """A Scheduler schedule fired for a target type the simulator does not deliver to."""


@dataclass(frozen=True)
class DeliveryAttempt:
    at_us: int
    status: int  # 200/202 accepted, else the target API's HTTP status
    code: str
    message: str = ""


@dataclass(eq=False)
class ScheduleFire:
    """One fire of a scheduled rule (`kind` "rule") or a Scheduler schedule ("schedule")."""

    kind: str
    arn: str
    name: str
    scheduled_us: int  # the time the expression gave
    fired_us: int  # when it ran (later by a flexible window's delay)
    target_arn: str = ""  # a schedule's target (a rule's targets get the event)
    event: dict[str, Any] | None = field(default=None, repr=False)  # a rule's Scheduled Event
    payload: str | None = field(default=None, repr=False)  # a schedule's first rendered Input
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    state: str = "pending"  # delivered, dead-lettered, dropped, dead-letter-failed, not-simulated
    exhausted: str | None = None
    async_events: list[AsyncEvent] = field(default_factory=list, repr=False)
    dead_letter_error: str | None = None

    @property
    def scheduled_at(self) -> datetime:
        return from_micros(self.scheduled_us)

    @property
    def fired_at(self) -> datetime:
        return from_micros(self.fired_us)

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)


@dataclass(eq=False)
class _Plan:
    kind: str
    info: dict[str, Any]  # what moto_state read (see scheduled_rules / scheduler_schedules)
    fingerprint: tuple[Any, ...]
    anchor: datetime  # a rate's start
    call: ScheduledCall | None = None


class Schedules:
    """Fires scheduled rules and Scheduler schedules (see the module docstring)."""

    def __init__(self, sim: Simulator, rng: Random):
        self._sim = sim
        self.rng = rng
        self.fired: list[ScheduleFire] = []
        self._plans: dict[str, _Plan] = {}

    def start(self) -> None:
        moto_state.set_schedules_listener(self.sync)
        self.sync()

    def stop(self) -> None:
        moto_state.set_schedules_listener(None)
        for plan in self._plans.values():
            if plan.call is not None:
                plan.call.cancel()
        self._plans.clear()

    def next_fire(self, arn: str) -> datetime | None:
        """When the rule or schedule with this ARN fires next (a flexible window's delay
        included), or None."""
        for plan in self._plans.values():
            if plan.info["arn"] == arn and plan.call is not None and not plan.call.cancelled:
                return plan.call.at
        return None

    # -- reading moto -----------------------------------------------------------------------------
    def sync(self) -> None:
        """Read every scheduled rule and schedule from moto; plan new or changed ones, forget
        deleted ones."""
        now = self._sim.now
        seen: dict[str, tuple[str, dict[str, Any], tuple[Any, ...]]] = {}
        for rule in moto_state.scheduled_rules():
            seen[f"{RULE}:{rule['arn']}"] = (RULE, rule, (rule["expression"], rule["state"]))
        for schedule in moto_state.scheduler_schedules():
            schedule["arn"] = schedule["Arn"]
            fingerprint = (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"],
                           schedule["StartDate"], schedule["EndDate"], schedule["State"],
                           json.dumps(schedule["FlexibleTimeWindow"], sort_keys=True))
            seen[f"{SCHEDULE}:{schedule['Arn']}"] = (SCHEDULE, schedule, fingerprint)
        for key in [key for key in self._plans if key not in seen]:
            self._forget(key)
        for key, (kind, info, fingerprint) in seen.items():
            plan = self._plans.get(key)
            if plan is not None and plan.fingerprint == fingerprint:
                plan.info = info  # targets, input, retry policy: read at each fire
                continue
            if plan is not None:
                self._forget(key)
            anchor = now
            if kind == SCHEDULE and info["StartDate"] is not None:
                anchor = _date(info["StartDate"])
            plan = self._plans[key] = _Plan(kind, info, fingerprint, anchor)
            if _state(plan) == "ENABLED":
                self._plan_next(key, plan, after=max(now, anchor) - _ONE_MICROSECOND
                                if kind == SCHEDULE else now)

    def _forget(self, key: str) -> None:
        plan = self._plans.pop(key)
        if plan.call is not None:
            plan.call.cancel()

    # -- planning ---------------------------------------------------------------------------------
    def _plan_next(self, key: str, plan: _Plan, *, after: datetime) -> bool:
        """Schedule the plan's next fire after `after`; False if it has none."""
        info = plan.info
        if plan.kind == RULE:
            expression = rules.parse_expression(info["expression"], scheduler=False)
            tz = rules.zone("UTC")
            window_s = 0.0
        else:
            expression = rules.parse_expression(info["ScheduleExpression"], scheduler=True)
            tz = rules.zone(info["ScheduleExpressionTimezone"])
            window_s = rules.flexible_window_s(info["FlexibleTimeWindow"])
        due = rules.next_fire(expression, after, tz=tz, anchor=plan.anchor, first_at_anchor=plan.kind == SCHEDULE)
        if due is None:
            return False
        if plan.kind == SCHEDULE and not isinstance(expression, rules.At) and info["EndDate"] is not None \
                and due >= _date(info["EndDate"]):
            return False
        delay = rules.flexible_delay_s(window_s, self.rng)
        plan.call = self._sim._scheduler.call_at(to_micros(due) + seconds_to_micros(delay), self._fire, key, plan,
                                                 to_micros(due), daemon=True)
        return True

    def _fire(self, key: str, plan: _Plan, due_us: int) -> None:
        if self._plans.get(key) is not plan:  # replaced or deleted meanwhile
            return
        plan.call = None
        if plan.kind == RULE:
            self._fire_rule(plan.info, due_us)
        else:
            self._fire_schedule(plan.info, due_us)
        if self._plans.get(key) is not plan:  # the delivery changed the schedules
            return
        more = self._plan_next(key, plan, after=from_micros(due_us))
        if not more and plan.kind == SCHEDULE and plan.info.get("ActionAfterCompletion") == "DELETE":
            info = plan.info
            moto_state.delete_scheduler_schedule(info["account"], info["region"], info["GroupName"], info["Name"])

    # -- firing a rule ----------------------------------------------------------------------------
    def _fire_rule(self, rule: dict[str, Any], due_us: int) -> None:
        event = rules.scheduled_event(event_id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                                      account=rule["account"], region=rule["region"], rule_arn=rule["arn"],
                                      time=from_micros(due_us))
        now = self._sim._clock.micros
        fire = ScheduleFire(RULE, rule["arn"], rule["name"], due_us, now, event=event)
        self.fired.append(fire)
        sent = moto_state.send_scheduled_event(rule["account"], rule["region"], rule["bus"], rule["name"], event)
        fire.state = "delivered" if sent else "dropped"
        fire.attempts.append(DeliveryAttempt(now, 200 if sent else 404, "Sent" if sent else "RuleNotEnabled"))

    # -- firing a schedule ------------------------------------------------------------------------
    def _fire_schedule(self, schedule: dict[str, Any], due_us: int) -> None:
        target = dict(schedule["Target"])
        fire = ScheduleFire(SCHEDULE, schedule["Arn"], schedule["Name"], due_us, self._sim._clock.micros,
                            target_arn=str(target.get("Arn", "")))
        self.fired.append(fire)
        self._attempt(fire, target)

    def _attempt(self, fire: ScheduleFire, target: dict[str, Any]) -> None:
        now = self._sim._clock.micros
        max_retries, max_age_s = rules.retry_policy(target)
        if fire.attempts and now - fire.fired_us > max_age_s * 1_000_000:
            fire.exhausted = eb_rules.MAXIMUM_EVENT_AGE
            self._dead_letter(fire, target)
            return
        payload = rules.render_input(target.get("Input"), schedule_arn=fire.arn, scheduled_time=fire.scheduled_at,
                                     execution_id=f"{self.rng.getrandbits(64):016x}",
                                     attempt=len(fire.attempts) + 1)
        if fire.payload is None:
            fire.payload = payload
        status, code, message = self._send(fire, target, payload)
        fire.attempts.append(DeliveryAttempt(now, status, code, message))
        if status < 300:
            fire.state = "delivered"
        elif code == "NotSimulated":
            fire.state = "not-simulated"
        elif not rules.retriable(status, code):
            self._dead_letter(fire, target)
        elif fire.retries >= max_retries:
            fire.exhausted = eb_rules.MAXIMUM_RETRY_ATTEMPTS
            self._dead_letter(fire, target)
        else:
            delay = rules.backoff_s(fire.retries + 1, self.rng)
            self._sim._scheduler.call_at(now + seconds_to_micros(delay), self._attempt, fire, target)

    def _send(self, fire: ScheduleFire, target: dict[str, Any], payload: str) -> tuple[int, str, str]:
        """Call the target's API once: (HTTP status, code, message)."""
        from botocore.exceptions import ClientError

        arn = fire.target_arn
        parts = arn.split(":", 5)
        service = parts[2] if len(parts) == 6 else ""
        try:
            if service == "lambda":
                return self._invoke(fire, arn, payload)
            if service == "sqs":
                client = self._client("sqs", parts[3])
                url = client.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
                extra = {}
                group = (target.get("SqsParameters") or {}).get("MessageGroupId")
                if group:
                    extra["MessageGroupId"] = group
                client.send_message(QueueUrl=url, MessageBody=payload, **extra)
                return 200, "Sent", ""
            if service == "sns":
                self._client("sns", parts[3]).publish(TopicArn=arn, Message=payload)
                return 200, "Sent", ""
            if service == "events":
                parameters = target.get("EventBridgeParameters") or {}
                answer = self._client("events", parts[3]).put_events(Entries=[{
                    "EventBusName": arn, "Source": parameters.get("Source", ""),
                    "DetailType": parameters.get("DetailType", ""), "Detail": payload}])
                if answer.get("FailedEntryCount"):
                    entry = answer["Entries"][0]
                    return 500, str(entry.get("ErrorCode", "InternalFailure")), str(entry.get("ErrorMessage", ""))
                return 200, "Sent", ""
        except ClientError as error:
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            details = error.response.get("Error", {})
            return status, str(details.get("Code", "")), str(details.get("Message", ""))
        warnings.warn(f"Schedule {fire.name}: the simulator does not deliver to {service or arn} targets yet; "
                      f"{arn} did not receive the invocation", TargetNotSimulated, stacklevel=2)
        return 400, "NotSimulated", f"{service} targets are not simulated"

    def _invoke(self, fire: ScheduleFire, arn: str, payload: str) -> tuple[int, str, str]:
        """Lambda's Invoke API, asynchronous (InvocationType Event): accepted into the function's
        async queue, or refused (404 unknown function, 413 too large)."""
        body = payload.encode("utf-8")
        account, region = arn.split(":")[4], arn.split(":")[3]
        try:
            config, invoked_arn = moto_state.resolve_function(account, region, arn, None)
        except Exception as missing:  # moto's ResourceNotFoundException
            return 404, "ResourceNotFoundException", str(missing)
        if len(body) > inv.ASYNC_REQUEST_LIMIT_BYTES:
            return inv.REQUEST_TOO_LARGE_STATUS, inv.REQUEST_TOO_LARGE_CODE, inv.request_too_large_message("Event", len(body))
        fire.async_events.append(self._sim._service.enqueue_async(config, invoked_arn, body, source="scheduler"))
        return 202, "Accepted", ""

    def _client(self, service: str, region: str) -> Any:
        return self._sim.client(service) if region == self._sim.region else self._sim.client(service, region_name=region)

    def _dead_letter(self, fire: ScheduleFire, target: dict[str, Any]) -> None:
        last = fire.attempts[-1]
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        if not dlq:
            fire.state = "dropped"
            return
        attributes = rules.dead_letter_attributes(
            schedule_arn=fire.arn, target_arn=fire.target_arn, error_code=rules.dead_letter_error_code(last.status, last.code),
            error_message=f"{last.code}: {last.message}", exhausted=fire.exhausted, retry_attempts=fire.retries)
        try:
            _, _, _, region, account, name = str(dlq).split(":", 5)
            sqs = self._client("sqs", region)
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=fire.payload or rules.DEFAULT_TARGET_INPUT,
                             MessageAttributes=attributes)
        except Exception as e:  # a missing queue: nothing reaches the DLQ
            fire.state = "dead-letter-failed"
            fire.dead_letter_error = f"{type(e).__name__}: {e}"
            return
        fire.state = "dead-lettered"


_ONE_MICROSECOND = from_micros(1) - from_micros(0)


def _state(plan: _Plan) -> str:
    return str(plan.info["state"] if plan.kind == RULE else plan.info["State"])


def _date(value: Any) -> datetime:
    """A schedule's StartDate or EndDate as moto keeps it (epoch seconds, or ISO text)."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)
