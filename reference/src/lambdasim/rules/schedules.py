"""Schedules: EventBridge scheduled rules and EventBridge Scheduler schedules, as pure rules.

Pure functions and constants: no moto, no clock, no simulator. `lambdasim.schedules` fires the
rules and schedules on the virtual clock with them. Cron fields are evaluated by the
`aws-croniter` library (AWS's six fields, `?`, `L`, `W`, `#`, month and weekday names); the rest
is here.

Sources:

- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html and
  eb-cron-expressions.html: `cron(fields)` has six fields, Minutes, Hours, Day-of-month, Month,
  Day-of-week (1-7 or SUN-SAT) and Year (1970-2199); Day-of-month and Day-of-week cannot both be
  given: one of them is `?`; `L` is the last day of the month or of the week; `W` the weekday
  nearest a day of the month; `#` the n-th weekday of the month. Scheduled rules run in UTC.
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html: `rate(value
  unit)`, value a positive number, unit minute | minutes | hour | hours | day | days, singular for
  1 and plural above ("rate(1 hours) and rate(5 hour) aren't valid"); "a rate expression starts
  when you create the scheduled event rule".
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html: only
  the default event bus takes scheduled rules; a scheduled rule sends its targets the "Scheduled Event": source `aws.events`, detail-type
  `Scheduled Event`, resources [the rule's ARN], detail {}, in the envelope of every event
  (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
- https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html: Scheduler's
  `at(yyyy-mm-ddThh:mm:ss)` one-time schedules, `rate()` and `cron()` recurring ones, evaluated
  in ScheduleExpressionTimezone (UTC by default); a rate-based schedule without a StartDate
  "starts invoking the target immediately", with one its first occurrence is the StartDate;
  targets are invoked with 60-second precision. Daylight saving time
  (https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst, the same page's section):
  a cron time that does not exist when clocks go forward is skipped; one that occurs twice when
  they go back runs once; a rate of days is 24 hours after the last invocation.
- https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html: StartDate
  and EndDate bound a recurring schedule and are ignored for a one-time one; State ENABLED |
  DISABLED; ActionAfterCompletion NONE | DELETE (delete the schedule once it completes).
- https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-flexible-time-windows.html
  and API_FlexibleTimeWindow.html: Mode OFF | FLEXIBLE; with FLEXIBLE, MaximumWindowInMinutes
  (1-1,440): the target is invoked "within 15 minutes after the scheduled time" for a 15-minute
  window.
- https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html:
  `<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>` (e.g. 2022-03-22T18:59:43Z),
  `<aws.scheduler.execution-id>` and `<aws.scheduler.attempt-number>` in the target's Input are
  replaced when the schedule invokes it.
- https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html:
  MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86,400, retries "with exponential
  backoff"; after them the event goes to the schedule's dead-letter queue
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html: a
  standard SQS queue, after "exhausting the maximum number of retries") or is dropped. The
  defaults when a target sets no RetryPolicy, 185 retries within 24 hours, are EventBridge
  targets' (eb-rule-retry-policy.html) and what moto's GetSchedule answers; they were not
  confirmed on the Scheduler pages.
- https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html and
  API_Target.html: a templated target calls one API of its service: Lambda Invoke, SQS
  SendMessage, SNS Publish, EventBridge PutEvents (EventBridgeParameters' DetailType and
  Source), with the target's Input.

Modelled where AWS is silent (each a named choice below): a flexible window's delay is drawn
uniformly in [0, window) from a seeded generator; a target fires at the scheduled second (AWS
promises the minute); a Target without Input gets `{}`; the backoff and retriable failures are
EventBridge targets' (`rules.eventbridge`: 1 s doubling to 300 s, jittered; throttles and 5xx
retried, other failures not); `L` alone in Day-of-week is the week's last day, Saturday (7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from random import Random
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import eventbridge as eb_rules

SCHEDULED_EVENT_SOURCE: Final = "aws.events"
SCHEDULED_EVENT_DETAIL_TYPE: Final = "Scheduled Event"

FLEXIBLE_WINDOW_RANGE_MINUTES: Final = (1, 1440)
DEFAULT_TARGET_INPUT: Final = "{}"

_UNIT_SECONDS: Final = {"minute": 60, "hour": 3600, "day": 86_400}
_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")


class InvalidSchedule(ValueError):
    """A schedule expression, time zone or window AWS would refuse, with the reason."""


@dataclass(frozen=True)
class Rate:
    """`rate(value unit)`: every `seconds`, from an anchor (creation or StartDate)."""

    seconds: int


@dataclass(frozen=True)
class Cron:
    """`cron(fields)`: wall-clock times in a time zone."""

    fields: str
    _croniter: Any

    def next_local(self, after: datetime) -> datetime | None:
        """The first matching wall-clock time strictly after `after` (naive), or None."""
        found = self._croniter.get_next(after.replace(tzinfo=timezone.utc))[0]
        return None if found is None else found.replace(tzinfo=None)


@dataclass(frozen=True)
class At:
    """`at(yyyy-mm-ddThh:mm:ss)`: one wall-clock time (Scheduler only)."""

    local: datetime


Expression = Rate | Cron | At


def parse_expression(text: str, *, scheduler: bool) -> Expression:
    """A ScheduleExpression as EventBridge rules (`scheduler=False`: rate and cron, the rate's
    unit singular for 1 and plural above) or EventBridge Scheduler (also at()) accept it."""
    text = (text or "").strip()
    if match := _RATE.match(text):
        value, unit = int(match.group(1)), match.group(2)
        base = unit[:-1] if unit.endswith("s") else unit
        if value <= 0 or base not in _UNIT_SECONDS:
            raise InvalidSchedule(f"{text!r}: a rate is a positive number and minute(s), hour(s) or day(s)")
        if not scheduler and (unit == base) != (value == 1):
            raise InvalidSchedule(f"{text!r}: the unit is singular for 1 and plural above (eb-rate-expressions.html)")
        return Rate(value * _UNIT_SECONDS[base])
    if match := _CRON.match(text):
        return parse_cron(match.group(1))
    if scheduler and (match := _AT.match(text)):
        return At(datetime.fromisoformat(match.group(1)))
    allowed = "rate(...), cron(...) or at(...)" if scheduler else "rate(...) or cron(...)"
    raise InvalidSchedule(f"{text!r} is not a schedule expression: expected {allowed}")


def on_default_bus(event_bus: str | None) -> bool:
    """Whether PutRule's EventBusName (a name or an ARN; None is the default) names the default
    event bus, the only one that takes a ScheduleExpression."""
    return (event_bus or "default").rsplit("/", 1)[-1] == "default"


def parse_cron(fields: str) -> Cron:
    """The six cron fields, checked as AWS checks them (aws-croniter)."""
    from aws_croniter import AwsCroniter

    parts = fields.split()
    if len(parts) == 6 and parts[4].upper() == "L":
        parts[4] = "7"  # modelled: the last day of the week, Saturday (weekdays are SUN=1..SAT=7)
    try:
        return Cron(fields, AwsCroniter(" ".join(parts)))
    except Exception as problem:  # aws-croniter's errors name the field and value
        raise InvalidSchedule(f"cron({fields}): {problem}") from problem


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone of ScheduleExpressionTimezone (UTC when absent)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as problem:
        raise InvalidSchedule(f"ScheduleExpressionTimezone {name!r} is not an IANA time zone") from problem


def _local_to_utc(local: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time; None if the time does not exist (clocks went
    forward); the first of the two instants if it occurs twice (clocks went back)."""
    instant = local.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
    if instant.astimezone(tz).replace(tzinfo=None) != local:
        return None
    return instant


def next_fire(expression: Expression, after: datetime, *, tz: ZoneInfo, anchor: datetime,
              first_at_anchor: bool) -> datetime | None:
    """The first fire time strictly after `after` (aware), or None if there is none.

    A rate fires at anchor + k x rate (k >= 1, or k >= 0 when `first_at_anchor`: Scheduler's
    rate starts at creation or StartDate; an EventBridge rule's one interval after its
    creation). A cron fires at its wall-clock times in `tz`, a time skipped by daylight saving
    not at all, a repeated one once. at() fires at its time in `tz` if that is after `after`."""
    if isinstance(expression, Rate):
        step = timedelta(seconds=expression.seconds)
        first = anchor if first_at_anchor else anchor + step
        if first > after:
            return first
        periods = (after - first) // step + 1
        return first + periods * step
    if isinstance(expression, At):
        instant = _local_to_utc(expression.local, tz)
        return instant if instant is not None and instant > after else None
    local = after.astimezone(tz).replace(tzinfo=None)
    for _ in range(1000):  # skipped and repeated wall-clock times: a few steps, never 1000
        found = expression.next_local(local)
        if found is None:
            return None
        instant = _local_to_utc(found, tz)
        if instant is not None and instant > after:
            return instant
        local = found
    return None


def flexible_window_s(window: dict[str, Any] | None) -> float:
    """The width of a FlexibleTimeWindow in seconds (0 for Mode OFF)."""
    window = window or {}
    mode = window.get("Mode", "OFF")
    if mode == "OFF":
        return 0.0
    minutes = window.get("MaximumWindowInMinutes")
    low, high = FLEXIBLE_WINDOW_RANGE_MINUTES
    if mode != "FLEXIBLE" or minutes is None or not low <= int(minutes) <= high:
        raise InvalidSchedule(f"FlexibleTimeWindow {window}: Mode OFF, or FLEXIBLE with "
                              f"MaximumWindowInMinutes {low}-{high}")
    return int(minutes) * 60.0


def flexible_delay_s(window_s: float, rng: Random) -> float:
    """Modelled: how long after the scheduled time a flexible schedule invokes its target,
    uniform in [0, window) (AWS documents only the bound)."""
    return rng.uniform(0.0, window_s) if window_s else 0.0


def scheduled_event(*, event_id: str, account: str, region: str, rule_arn: str, time: datetime) -> dict[str, Any]:
    """The event a scheduled rule sends its targets (eb-create-rule-schedule.html)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": SCHEDULED_EVENT_DETAIL_TYPE,
        "source": SCHEDULED_EVENT_SOURCE,
        "account": account,
        "time": iso_z(time),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def iso_z(time: datetime) -> str:
    """`2022-03-22T18:59:43Z`, the format of events and of `<aws.scheduler.scheduled-time>`."""
    return time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_input(template: str | None, *, schedule_arn: str, scheduled_time: datetime, execution_id: str,
                 attempt: int) -> str:
    """A Scheduler target's Input with its context attributes replaced
    (managing-schedule-context-attributes.html); `{}` when the target has no Input (modelled)."""
    text = DEFAULT_TARGET_INPUT if template is None else template
    for name, value in (("schedule-arn", schedule_arn), ("scheduled-time", iso_z(scheduled_time)),
                        ("execution-id", execution_id), ("attempt-number", str(attempt))):
        text = text.replace(f"<aws.scheduler.{name}>", value)
    return text


def retry_policy(target: dict[str, Any]) -> tuple[int, int]:
    """(MaximumRetryAttempts, MaximumEventAgeInSeconds) of a Scheduler target: the same
    RetryPolicy shape and defaults (185, 24 h) as EventBridge targets' (modelled, see above)."""
    return eb_rules.retry_policy(target)


def retriable(status: int, code: str = "") -> bool:
    """Modelled as for EventBridge targets: throttles (429, or a throttling error code some
    services send with 400) and server errors are retried; other failures are not."""
    return eb_rules.retriable(status) or "Throttl" in code


def backoff_s(retry: int, rng: Random) -> float:
    """Modelled as for EventBridge targets: 1 s doubling to 300 s, jittered."""
    return eb_rules.backoff_s(retry, rng)


def dead_letter_error_code(status: int, code: str) -> str:
    """ERROR_CODE of a dead-lettered invocation: EventBridge's codes (eb-rule-dlq.html) chosen
    by the target API's answer, a throttle (429, or a throttling code with another status)
    THROTTLING."""
    return "THROTTLING" if "Throttl" in code else eb_rules.dead_letter_error_code(status)


def dead_letter_attributes(*, schedule_arn: str, target_arn: str, error_code: str, error_message: str,
                           exhausted: str | None, retry_attempts: int) -> dict[str, dict[str, str]]:
    """The SQS message attributes of a dead-lettered invocation (configuring-schedule-dlq.html):
    EventBridge targets' names (eb-rule-dlq.html) with SCHEDULE_ARN for RULE_ARN: modelled on
    EventBridge's, not confirmed against a sample message of the Scheduler page."""
    attributes = eb_rules.dead_letter_attributes(rule_arn=schedule_arn, target_arn=target_arn, error_code=error_code,
                                                 error_message=error_message, exhausted=exhausted,
                                                 retry_attempts=retry_attempts)
    return {("SCHEDULE_ARN" if name == "RULE_ARN" else name): value for name, value in attributes.items()}
