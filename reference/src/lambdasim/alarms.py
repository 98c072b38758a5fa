"""CloudWatch alarm evaluation on the virtual clock: metric, metric math and composite alarms.

moto stores alarms and never evaluates them. `AlarmEvaluator` (`sim.alarms`) does, as
CloudWatch does (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html):
every minute on the minute (every 10 s while an alarm has a 10, 20 or 30 s period; an alarm
whose N x Period passes a day at whole hours only), each metric alarm reads the periods of its
evaluation range that end at that instant from moto's metric data, computes its statistic per
period and is evaluated with `rules.alarms`; then each composite alarm is evaluated from its
children's states (children first, a composite of composites after them). A change of state:

- sets the alarm's StateValue, StateReason, StateReasonData and StateUpdatedTimestamp (virtual
  time) in moto, so DescribeAlarms answers it, and adds a StateUpdate item to
  DescribeAlarmHistory;
- when ActionsEnabled, runs the new state's actions: an SNS topic receives AWS's alarm
  notification (Subject `ALARM: "name" in US East (N. Virginia)`, the JSON of
  `rules.alarms.notification_message`), which SNS delivers to its subscribers (SQS queues,
  Lambda functions: the simulator's SNS event); each action adds an Action history item. Actions
  other than SNS topics (Lambda functions, EC2, Auto Scaling, Systems Manager) are not run:
  they are recorded in `skipped_actions`;
- puts the "CloudWatch Alarm State Change" event on the account's default event bus
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html),
  where rules route it as any event.

SetAlarmState through the API is recorded and runs the actions of the state it sets (the
state lasts until the next evaluation, as on AWS). Nothing is scheduled while no alarm exists:
the first alarm created (boto3, or AWS::CloudWatch::Alarm in a template) starts the ticks, the
last one deleted stops them. Metric data is read incrementally (each datum once, indexed by
metric), and the AWS/Lambda metrics are flushed before each evaluation, so an alarm sees every
invocation that ended before it.
"""

from __future__ import annotations

import bisect
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import moto_state
from .clock import from_micros, to_micros
from .rules import alarms as rules

_US = 1_000_000


class AlarmActionNotSimulated(UserWarning):
    """An alarm action the simulator does not run (only SNS topics are)."""


@dataclass(frozen=True)
class AlarmTransition:
    """One change of an alarm's state."""

    at: datetime
    alarm: str
    kind: str  # MetricAlarm | CompositeAlarm
    old_state: str
    new_state: str
    reason: str
    reason_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlarmNotification:
    """A notification an alarm published to an SNS topic."""

    at: datetime
    alarm: str
    topic_arn: str
    subject: str
    message: dict[str, Any]
    message_id: str


@dataclass
class _Series:
    """One metric's data points, ordered by time."""

    times: list[int] = field(default_factory=list)
    points: list[moto_state.MetricPoint] = field(default_factory=list)

    def add(self, point: moto_state.MetricPoint) -> None:
        i = bisect.bisect_right(self.times, point.at_us)
        self.times.insert(i, point.at_us)
        self.points.insert(i, point)

    def between(self, lo_us: int, hi_us: int) -> list[moto_state.MetricPoint]:
        return self.points[bisect.bisect_left(self.times, lo_us):bisect.bisect_left(self.times, hi_us)]


MetricKey = tuple[str, str, tuple[tuple[str, str], ...]]


class _MetricIndex:
    """moto's metric data of one account and Region, read once and indexed by metric."""

    def __init__(self, account_id: str, region: str):
        self.account_id, self.region = account_id, region
        self.position = 0
        self.series: dict[MetricKey, _Series] = {}

    def refresh(self) -> None:
        points, position = moto_state.metric_points(self.account_id, self.region, self.position)
        if position < self.position:  # moto's list was replaced
            self.series.clear()
        self.position = position
        for point in points:
            self.series.setdefault((point.namespace, point.name, point.dimensions), _Series()).add(point)

    def statistic(self, stat: str, key: MetricKey, lo_us: int, hi_us: int,
                  unit: str | None) -> tuple[float | None, float]:
        """(`stat` of the metric's data in [lo_us, hi_us), its sample count): `rules.period_statistic`."""
        series = self.series.get(key)
        if series is None:
            return None, 0.0
        values: list[float] = []
        sets: list[rules.StatisticSet] = []
        distributions: list[rules.Distribution] = []
        for point in series.between(lo_us, hi_us):
            if unit is not None and point.unit not in (unit, None):
                continue
            if point.distribution is not None:
                distributions.append(rules.Distribution(*point.distribution))
            elif point.stats is None:
                values.append(point.value)  # type: ignore[arg-type]
            else:
                sets.append(rules.StatisticSet(*point.stats))
        return rules.period_statistic(stat, values, sets, distributions)


def _dims_key(dimensions: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(d["Name"]), str(d["Value"])) for d in dimensions))


class AlarmEvaluator:
    """Evaluates every CloudWatch alarm of the simulation on the virtual clock (`sim.alarms`).

    Read: `transitions` (`AlarmTransition`, every state change), `notifications`
    (`AlarmNotification`, every SNS publication), `skipped_actions` ((alarm, action ARN) not
    run), `problems` (alarm name -> why the simulator cannot evaluate it: an operator, statistic
    or expression it does not model), `evaluations` (alarm evaluations made). `events = False`
    stops the EventBridge "CloudWatch Alarm State Change" events.
    """

    def __init__(self, *, scheduler: Any, clock_us: Callable[[], int], before_evaluation: Callable[[], None]):
        self._scheduler = scheduler
        self._clock_us = clock_us
        self._before_evaluation = before_evaluation
        self._tick: Any = None
        self._interval_us = 60 * _US
        self._indexes: dict[tuple[str, str], _MetricIndex] = {}
        self.transitions: list[AlarmTransition] = []
        # Called with every transition (sim.deployments watches its alarms through it).
        self.listeners: list[Callable[[AlarmTransition], None]] = []
        self.notifications: list[AlarmNotification] = []
        self.skipped_actions: list[tuple[str, str]] = []
        self.problems: dict[str, str] = {}
        self.evaluations = 0
        self.events = True

    @property
    def interval_s(self) -> int:
        """Seconds between two evaluations of the alarms that exist: 60, or 10 while one has a
        period under a minute."""
        return self._interval_us // _US

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        moto_state.set_alarm_listeners(self._alarms_changed, self._state_set)

    def stop(self) -> None:
        moto_state.set_alarm_listeners(None, None)
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    # -- when to evaluate -----------------------------------------------------------------------
    def _alarms_changed(self) -> None:
        alarms = [alarm for _, _, alarm in moto_state.cloudwatch_alarms()]
        if not alarms:
            if self._tick is not None:
                self._tick.cancel()
                self._tick = None
            return
        fast = any(a["AlarmRule"] is None and (a["Period"] or _math_period(a) or 60) < 60 for a in alarms)
        interval = (10 if fast else 60) * _US
        if self._tick is None or interval != self._interval_us:
            if self._tick is not None:
                self._tick.cancel()
            self._interval_us = interval
            self._schedule_next()

    def _schedule_next(self) -> None:
        now = self._clock_us()
        due = (now // self._interval_us + 1) * self._interval_us
        self._tick = self._scheduler.call_at(due, self._evaluate_all, daemon=True)

    def _evaluate_all(self) -> None:
        self._tick = None
        self.evaluate_now()
        self._schedule_next()

    # -- evaluating -----------------------------------------------------------------------------
    def evaluate_now(self) -> None:
        """Evaluate every alarm at this instant (the ticks call it; lessons need not), each on the
        metric data as it stands at this instant, read once for all of them."""
        at_us = self._clock_us()
        self._before_evaluation()
        for index in self._indexes.values():
            index.refresh()
        found = moto_state.cloudwatch_alarms()
        composites = []
        for account_id, region, alarm in found:
            if alarm["AlarmRule"] is not None:
                composites.append((account_id, region, alarm))
            else:
                self._evaluate_metric_alarm(account_id, region, alarm, at_us)
        if composites:
            self._evaluate_composites(composites, at_us)

    def _index(self, account_id: str, region: str) -> _MetricIndex:
        index = self._indexes.get((account_id, region))
        if index is None:  # the first alarm of this account and Region
            index = self._indexes[(account_id, region)] = _MetricIndex(account_id, region)
            index.refresh()
        return index

    def _evaluate_metric_alarm(self, account_id: str, region: str, alarm: dict[str, Any], at_us: int) -> None:
        name = alarm["AlarmName"]
        try:
            rule = _threshold_rule(alarm)
            period_s = rule.period_s
            if rules.evaluation_interval_s(period_s, rule.evaluation_periods) == 3_600 and at_us % (3_600 * _US):
                return  # a multi-day alarm: evaluated at whole hours
            starts = rules.window_starts_us(at_us, period_s, rules.evaluation_range(rule.evaluation_periods))
            index = self._index(account_id, region)
            points = (_math_points(alarm, index, starts, at_us) if alarm["Metrics"]
                      else _metric_points(alarm, rule, index, starts))
            outcome = rules.evaluate(rule, points, alarm["StateValue"], at_us)
        except rules.AlarmConfigurationError as problem:
            self.problems[name] = str(problem)
            return
        self.problems.pop(name, None)
        self.evaluations += 1
        if not outcome.kept and outcome.state != alarm["StateValue"]:
            self._transition(account_id, region, alarm, "MetricAlarm", outcome, at_us)

    def _evaluate_composites(self, composites: list[tuple[str, str, dict[str, Any]]], at_us: int) -> None:
        # A composite's children are evaluated before it; a composite of composites settles in
        # as many passes as it is deep.
        for _ in range(len(composites)):
            changed = False
            states = {(a, r, alarm["AlarmName"]): alarm for a, r, alarm in moto_state.cloudwatch_alarms()}
            for account_id, region, composite in composites:
                current = states.get((account_id, region, composite["AlarmName"]))
                if current is None:
                    continue
                try:
                    rule = rules.parse_rule(current["AlarmRule"])
                except rules.AlarmConfigurationError as problem:
                    self.problems[current["AlarmName"]] = str(problem)
                    continue
                children = {}
                for _, child in rule.references:
                    found = states.get((account_id, region, child))
                    if found is not None:
                        children[child] = rules.ChildState(child, found["AlarmArn"], found["StateValue"],
                                                           to_micros(_utc(found["StateUpdatedTimestamp"])))
                outcome = rules.evaluate_composite(rule, children)
                self.evaluations += 1
                if outcome.state != current["StateValue"]:
                    self._transition(account_id, region, current, "CompositeAlarm", outcome, at_us)
                    changed = True
                    states = {(a, r, alarm["AlarmName"]): alarm for a, r, alarm in moto_state.cloudwatch_alarms()}
            if not changed:
                return

    # -- a change of state ----------------------------------------------------------------------
    def _transition(self, account_id: str, region: str, alarm: dict[str, Any], kind: str,
                    outcome: rules.Evaluation, at_us: int) -> None:
        name = alarm["AlarmName"]
        data = json.dumps(outcome.reason_data, separators=(",", ":"))
        old = (alarm["StateValue"], alarm["StateReason"], alarm["StateReasonData"])
        if not moto_state.set_alarm_state(account_id, region, name, outcome.state, outcome.reason, data):
            return
        self._record(account_id, region, alarm, kind, old, (outcome.state, outcome.reason, data), at_us)

    def _state_set(self, account_id: str, region: str, name: str, old: tuple[str, str, str]) -> None:
        """SetAlarmState through the API: recorded, the new state's actions run, and the
        composites above the alarm evaluated again."""
        current = next((alarm for a, r, alarm in moto_state.cloudwatch_alarms()
                        if (a, r, alarm["AlarmName"]) == (account_id, region, name)), None)
        if current is None:
            return
        kind = "CompositeAlarm" if current["AlarmRule"] is not None else "MetricAlarm"
        at_us = self._clock_us()
        new = (current["StateValue"], current["StateReason"], current["StateReasonData"] or "")
        self._record(account_id, region, current, kind, old, new, at_us)
        composites = [(a, r, alarm) for a, r, alarm in moto_state.cloudwatch_alarms() if alarm["AlarmRule"] is not None]
        if composites:
            self._evaluate_composites(composites, at_us)

    def _record(self, account_id: str, region: str, alarm: dict[str, Any], kind: str, old: tuple[str, str, str],
                new: tuple[str, str, str], at_us: int) -> None:
        name, when = alarm["AlarmName"], from_micros(at_us)
        moto_state.append_alarm_history(account_id, region, {
            "AlarmName": name, "AlarmType": kind, "Timestamp": when, "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old[0]} to {new[0]}",
            "HistoryData": rules.state_history_data(old, new)})
        reason_data = _json_or_empty(new[2])
        self.transitions.append(AlarmTransition(when, name, kind, old[0], new[0], new[1], reason_data))
        for listener in self.listeners:
            listener(self.transitions[-1])
        if self.events:
            moto_state.put_service_event(account_id, region, _state_change_event(alarm, old, new, at_us))
        if alarm["ActionsEnabled"]:
            for action in rules.actions_for(new[0], alarm):
                self._run_action(account_id, region, alarm, kind, action, old[0], new, at_us)

    def _run_action(self, account_id: str, region: str, alarm: dict[str, Any], kind: str, action: str,
                    old_state: str, new: tuple[str, str, str], at_us: int) -> None:
        name, when = alarm["AlarmName"], from_micros(at_us)
        if not action.startswith("arn:aws:sns:"):
            self.skipped_actions.append((name, action))
            warnings.warn(f"alarm {name}: the action {action} is not run by the simulator (only SNS topics are)",
                          AlarmActionNotSimulated, stacklevel=2)
            return
        message = rules.notification_message(alarm, account_id, region, (new[0], new[1]), old_state, at_us)
        body = json.dumps(message, separators=(",", ":"))
        subject = rules.notification_subject(new[0], name, region)
        try:
            message_id = moto_state.publish_to_topic(action, body, subject)
        except Exception as problem:  # moto's NotFound for a topic that does not exist
            summary, data = f"Failed to execute action {action}", {
                "actionState": "Failed", "stateUpdateTimestamp": at_us // 1000, "notificationResource": action,
                "error": f"{type(problem).__name__}: {problem}"}
        else:
            self.notifications.append(AlarmNotification(when, name, action, subject, message, message_id))
            summary, data = f"Successfully executed action {action}", {
                "actionState": "Succeeded", "stateUpdateTimestamp": at_us // 1000, "notificationResource": action,
                "publishedMessage": body}
        moto_state.append_alarm_history(account_id, region, {
            "AlarmName": name, "AlarmType": kind, "Timestamp": when, "HistoryItemType": "Action",
            "HistorySummary": summary, "HistoryData": json.dumps(data, separators=(",", ":"))})


# ---------------------------------------------------------------------------------------------
# Reading an alarm's periods
# ---------------------------------------------------------------------------------------------


def _threshold_rule(alarm: dict[str, Any]) -> rules.ThresholdRule:
    queries = alarm["Metrics"]
    if queries:
        period = _math_period(alarm)
        if period is None:
            raise rules.AlarmConfigurationError("a metric math alarm needs a metric with a Period")
        namespaces = {q["MetricStat"]["Metric"]["Namespace"] for q in queries if q.get("MetricStat")}
        statistic = None
    else:
        period = alarm["Period"]
        namespaces = {alarm["Namespace"]}
        statistic = alarm["ExtendedStatistic"] or alarm["Statistic"]
        if statistic is None:
            raise rules.AlarmConfigurationError("the alarm has neither Statistic nor ExtendedStatistic")
        rules.percentile_of(statistic)  # refuses what is not modelled
    if alarm["Threshold"] is None:
        raise rules.AlarmConfigurationError("the alarm has no Threshold (anomaly detection alarms are not modelled)")
    return rules.ThresholdRule(
        period_s=int(period), evaluation_periods=int(alarm["EvaluationPeriods"]), threshold=float(alarm["Threshold"]),
        comparison=str(alarm["ComparisonOperator"]), datapoints_to_alarm=alarm["DatapointsToAlarm"],
        treat_missing_data=alarm["TreatMissingData"], statistic=statistic,
        ignore_low_samples=alarm["EvaluateLowSampleCountPercentile"] == "ignore",
        always_ignore_missing=rules.DYNAMODB_NAMESPACE in namespaces)


def _math_period(alarm: dict[str, Any]) -> int | None:
    periods = [q["MetricStat"]["Period"] for q in alarm["Metrics"] if q.get("MetricStat")]
    return int(periods[0]) if periods else None


def _metric_points(alarm: dict[str, Any], rule: rules.ThresholdRule, index: _MetricIndex,
                   starts: list[int]) -> list[rules.Datapoint]:
    key = (alarm["Namespace"], alarm["MetricName"], _dims_key(alarm["Dimensions"]))
    stat = rule.statistic or "Sum"
    period_us = rule.period_s * _US
    points = []
    for start in starts:
        value, count = index.statistic(stat, key, start, start + period_us, alarm["Unit"])
        points.append(rules.Datapoint(start, value, count if value is not None else None,
                                      value is not None and rules.low_sample_count(stat, count)))
    return points


def _math_points(alarm: dict[str, Any], index: _MetricIndex, starts: list[int], at_us: int) -> list[rules.Datapoint]:
    queries = alarm["Metrics"]
    series: dict[str, rules.Series] = {}
    periods: dict[str, int] = {}
    for q in queries:
        stat = q.get("MetricStat")
        if not stat:
            continue
        metric = stat["Metric"]
        key = (metric["Namespace"], metric["MetricName"], _dims_key(metric.get("Dimensions") or []))
        period_us = int(stat["Period"]) * _US
        rules.percentile_of(stat["Stat"])
        values: rules.Series = {}
        for start in starts:
            value, _ = index.statistic(stat["Stat"], key, start, start + period_us, stat.get("Unit"))
            if value is not None:
                values[start] = value
        series[q["Id"]] = values
        periods[q["Id"]] = int(stat["Period"])
    context_ids = rules.iter_metric_ids(queries)
    returned: rules.Value | None = None
    for q in queries:
        if q.get("Expression"):
            context = rules.MathContext(series, context_ids, periods, tuple(starts))
            value = rules.evaluate_expression(q["Expression"], context)
            if isinstance(value, rules.SeriesValue):
                series[q["Id"]] = value.points
            if q.get("ReturnData", True):
                returned = value
        elif q.get("ReturnData", True) and q["Id"] in series:
            returned = rules.SeriesValue(series[q["Id"]])
    if not isinstance(returned, rules.SeriesValue):
        raise rules.AlarmConfigurationError("the alarm's returned query must be one time series")
    return [rules.Datapoint(start, returned.points.get(start)) for start in starts]


# ---------------------------------------------------------------------------------------------
# The EventBridge event
# ---------------------------------------------------------------------------------------------


def _state_change_event(alarm: dict[str, Any], old: tuple[str, str, str], new: tuple[str, str, str],
                        at_us: int) -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event (cloudwatch-and-eventbridge.html): alarmName,
    state and previousState (value, reason, reasonData, timestamp) and the configuration."""
    configuration: dict[str, Any] = {"description": alarm["AlarmDescription"]}
    if alarm["AlarmRule"] is not None:
        configuration["alarmRule"] = alarm["AlarmRule"]
    else:
        configuration["metrics"] = [_event_metric(q) for q in alarm["Metrics"]] or [{
            "id": "m1", "metricStat": {
                "metric": {"namespace": alarm["Namespace"], "name": alarm["MetricName"],
                           "dimensions": {d["Name"]: d["Value"] for d in alarm["Dimensions"]}},
                "period": alarm["Period"], "stat": alarm["ExtendedStatistic"] or alarm["Statistic"]},
            "returnData": True}]
    previous_at = rules.iso_ms(to_micros(_utc(alarm["StateUpdatedTimestamp"])))
    detail = {
        "alarmName": alarm["AlarmName"],
        "state": {"value": new[0], "reason": new[1], "reasonData": new[2], "timestamp": rules.iso_ms(at_us)},
        "previousState": {"value": old[0], "reason": old[1], "reasonData": old[2], "timestamp": previous_at},
        "configuration": configuration,
    }
    return {"Source": "aws.cloudwatch", "DetailType": "CloudWatch Alarm State Change",
            "Resources": [alarm["AlarmArn"]], "Detail": json.dumps(detail)}


def _event_metric(query: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": query["Id"], "returnData": bool(query.get("ReturnData", True))}
    if query.get("Expression"):
        out["expression"] = query["Expression"]
        if query.get("Label"):
            out["label"] = query["Label"]
    stat = query.get("MetricStat")
    if stat:
        metric = stat["Metric"]
        out["metricStat"] = {"metric": {"namespace": metric["Namespace"], "name": metric["MetricName"],
                                        "dimensions": {d["Name"]: d["Value"] for d in metric.get("Dimensions") or []}},
                             "period": stat["Period"], "stat": stat["Stat"]}
    return out


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _json_or_empty(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
