"""CloudWatch alarms: created as AWS creates them, composite alarms, their history, templates.

moto 5.2.5 stores metric alarms and never evaluates them (the simulator's `alarms.AlarmEvaluator`
does, told of every change through `moto_state.alarms_changed`), and:

- starts a new alarm in OK; AWS starts it in INSUFFICIENT_DATA, "Unchecked: Initial alarm
  creation", and an update leaves the state unchanged (API_PutMetricAlarm.html): the
  replacement keeps the state and records the ConfigurationUpdate history item;
- has no PutCompositeAlarm (NotImplementedError): added, stored as moto's own alarm with its
  `rule` (which DescribeAlarms already answers as CompositeAlarms), the rule parsed by
  `rules.alarms.parse_rule` and refused when it does not parse (API_PutCompositeAlarm.html);
- has no DescribeAlarmHistory (NotImplementedError): added, answering the items the adapter
  and the simulator keep (`moto_state.alarm_history`), filtered and paged as
  API_DescribeAlarmHistory.html says (AlarmName, AlarmTypes, HistoryItemType, StartDate,
  EndDate, ScanBy, MaxRecords, NextToken);
- SetAlarmState changes the state and nothing else: the simulator is told, and records the
  history item and runs the actions of the new state, as AWS does for SetAlarmState;
- moto's CloudFormation lacks AWS::CloudWatch::Alarm and AWS::CloudWatch::CompositeAlarm:
  added (`AlarmResource`, `CompositeAlarmResource`, through the `cloudformation` module's parser
  patch), created with the same backend method as the API;
- PutMetricData's Values and Counts become one datum per value and count in moto (a million
  durations, a million objects): each MetricDatum with Values is kept as one datum, a statistic
  set moto's statistics read as such, that carries its values and counts for percentiles
  (API_PutMetricData.html: Values and Counts support percentile statistics).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from .. import moto_state
from ..rules import alarms as rules
from . import _shared
from ._patching import Patch


def _history_item(name: str, kind: str, item_type: str, summary: str, data: dict[str, Any]) -> dict[str, Any]:
    from moto.core.utils import utcnow

    return {"AlarmName": name, "AlarmType": kind, "Timestamp": utcnow().replace(tzinfo=timezone.utc),
            "HistoryItemType": item_type, "HistorySummary": summary,
            "HistoryData": json.dumps(data, separators=(",", ":"))}


def _wrap_put_metric_alarm(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        """CloudWatchBackend.put_metric_alarm: a new alarm starts INSUFFICIENT_DATA; an update
        keeps the state; both recorded in the alarm's history, and told to the simulator."""
        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        kind = "CompositeAlarm" if alarm.rule is not None else "MetricAlarm"
        if previous is None:
            alarm.state_value = rules.INSUFFICIENT_DATA
            alarm.state_reason = rules.INITIAL_REASON
            summary, change = f'Alarm "{name}" created', "Create"
        else:
            alarm.state_value, alarm.state_reason = previous.state_value, previous.state_reason
            alarm.state_reason_data, alarm.state_updated_timestamp = (previous.state_reason_data,
                                                                      previous.state_updated_timestamp)
            alarm.history = previous.history
            summary, change = f'Alarm "{name}" updated', "Update"
        moto_state.append_alarm_history(self.account_id, self.region_name, _history_item(
            name, kind, "ConfigurationUpdate", summary, {"type": change, "version": "1.0"}))
        moto_state.alarms_changed()
        return alarm

    put_metric_alarm.__wrapped__ = original  # type: ignore[attr-defined]
    return put_metric_alarm


@lru_cache(maxsize=1)
def _distribution_datum() -> type:
    from moto.cloudwatch.models import MetricAggregatedDatum

    class MetricDistributionDatum(MetricAggregatedDatum):  # type: ignore[misc]
        """A MetricDatum's Values and Counts: a statistic set to moto, the values to percentiles."""

        def __init__(self, namespace: str, member: dict[str, Any]):
            values = tuple(float(v) for v in member["Values"])
            counts = tuple(float(c) for c in member.get("Counts") or [1.0] * len(values))
            super().__init__(namespace, member["MetricName"], min(values), max(values), sum(counts),
                             sum(v * c for v, c in zip(values, counts)),
                             member.get("Dimensions") or [], member.get("Timestamp"), member.get("Unit"))
            self.distribution = (values, counts)

    return MetricDistributionDatum


def _wrap_put_metric_data(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        """CloudWatchBackend.put_metric_data, a datum with Values kept as one datum."""
        for i, member in enumerate(metric_data):
            self._validate_parameters_put_metric_data(member, i + 1)
        original(self, namespace, [m for m in metric_data if not m.get("Values")])
        datum = _distribution_datum()
        self.metric_data.extend(datum(namespace, m) for m in metric_data if m.get("Values"))

    put_metric_data.__wrapped__ = original  # type: ignore[attr-defined]
    return put_metric_data


def _wrap_delete_alarms(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_alarms(self: Any, alarm_names: list[str]) -> None:
        """CloudWatchBackend.delete_alarms, recorded in history and told to the simulator."""
        gone = [self.alarms[name] for name in alarm_names if name in self.alarms]
        original(self, alarm_names)
        for alarm in gone:
            kind = "CompositeAlarm" if alarm.rule is not None else "MetricAlarm"
            moto_state.append_alarm_history(self.account_id, self.region_name, _history_item(
                alarm.name, kind, "ConfigurationUpdate", f'Alarm "{alarm.name}" deleted',
                {"type": "Delete", "version": "1.0"}))
        moto_state.alarms_changed()

    delete_alarms.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_alarms


def _wrap_set_alarm_state(original: Callable[..., Any]) -> Callable[..., Any]:
    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        """CloudWatchBackend.set_alarm_state, then the simulator records the change and runs
        the new state's actions (the state lasts until the next evaluation)."""
        alarm = self.alarms.get(alarm_name)
        old = (alarm.state_value, alarm.state_reason, alarm.state_reason_data) if alarm is not None else None
        original(self, alarm_name, reason, reason_data, state_value)
        if old is not None:
            moto_state.alarm_state_set(self.account_id, self.region_name, alarm_name, old)

    set_alarm_state.__wrapped__ = original  # type: ignore[attr-defined]
    return set_alarm_state


def _checked_rule(rule: str) -> str:
    from moto.cloudwatch.exceptions import ValidationError

    try:
        rules.parse_rule(rule)
    except rules.AlarmConfigurationError as problem:
        raise ValidationError(str(problem)) from None
    return rule


def put_composite_alarm(backend: Any, name: str, rule: str, *, description: str | None = None,
                        actions_enabled: bool | None = True, alarm_actions: list[str] | None = None,
                        ok_actions: list[str] | None = None, insufficient_data_actions: list[str] | None = None,
                        tags: list[dict[str, str]] | None = None) -> Any:
    """A composite alarm in moto's backend: its alarm with the rule, checked first."""
    return backend.put_metric_alarm(
        name=name, namespace=None, metric_name=None, comparison_operator=None, evaluation_periods=None,
        period=None, threshold=None, statistic=None, description=description, dimensions=[],
        alarm_actions=list(alarm_actions or []), ok_actions=list(ok_actions or []),
        insufficient_data_actions=list(insufficient_data_actions or []),
        actions_enabled=True if actions_enabled is None else actions_enabled, rule=_checked_rule(rule),
        tags=tags)


def _response_put_composite_alarm(self: Any) -> Any:
    """PutCompositeAlarm (API_PutCompositeAlarm.html)."""
    from moto.core.responses import EmptyResult

    put_composite_alarm(
        self.cloudwatch_backend, self._get_param("AlarmName"), self._get_param("AlarmRule"),
        description=self._get_param("AlarmDescription"), actions_enabled=self._get_bool_param("ActionsEnabled"),
        alarm_actions=self._get_param("AlarmActions", []), ok_actions=self._get_param("OKActions", []),
        insufficient_data_actions=self._get_param("InsufficientDataActions", []), tags=self._get_param("Tags", []))
    return EmptyResult()


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _response_describe_alarm_history(self: Any) -> Any:
    """DescribeAlarmHistory (API_DescribeAlarmHistory.html): newest first unless ScanBy is
    TimestampAscending; MaxRecords 1-100 (default 50) with a NextToken."""
    from moto.cloudwatch.exceptions import InvalidParameterValue
    from moto.core.responses import ActionResult

    name = self._get_param("AlarmName")
    types = self._get_param("AlarmTypes", []) or ["MetricAlarm"]  # the API's default: metric alarms only
    item_type = self._get_param("HistoryItemType")
    start, end = _as_utc(self._get_param("StartDate")), _as_utc(self._get_param("EndDate"))
    items = [item for item in moto_state.alarm_history(self.current_account, self.region)
             if (name is None or item["AlarmName"] == name) and item["AlarmType"] in types
             and (item_type is None or item["HistoryItemType"] == item_type)
             and (start is None or item["Timestamp"] >= start) and (end is None or item["Timestamp"] <= end)]
    if self._get_param("ScanBy") != "TimestampAscending":
        items.reverse()
    limit = int(self._get_param("MaxRecords") or 50)
    token = self._get_param("NextToken")
    try:
        offset = int(token) if token else 0
    except ValueError:
        raise InvalidParameterValue("The value for NextToken is not valid.") from None
    page = items[offset:offset + limit]
    result: dict[str, Any] = {"AlarmHistoryItems": page}
    if offset + limit < len(items):
        result["NextToken"] = str(offset + limit)
    return ActionResult(result)


def _metric_queries(metrics: list[dict[str, Any]]) -> list[Any]:
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

    out = []
    for q in metrics:
        stat = q.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            metric_stat = MetricStat(
                Metric(metric["MetricName"], metric.get("Namespace"),
                       [Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions") or []]),
                stat["Period"], stat["Stat"], stat.get("Unit"))
        out.append(MetricDataQuery(q["Id"], q.get("Label"), q.get("Period"), q.get("ReturnData", True),
                                   q.get("Expression"), metric_stat))
    return out


class AlarmResource(_shared.AddedResource):
    """AWS::CloudWatch::Alarm for moto's CloudFormation, which lacks it
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html):
    created with PutMetricAlarm's backend method, so it is evaluated like any alarm. `Ref` is the
    alarm's name; `Fn::GetAtt Arn` its ARN."""

    def __init__(self, account_id: str, region: str, name: str, arn: str):
        self.account_id, self.region, self.name, self.arn = account_id, region, name, arn
        self.physical_resource_id = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    CFN_ATTRIBUTES = ("Arn",)

    def cfn_attributes(self) -> dict[str, str]:
        return {"Arn": self.arn}

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> AlarmResource:
        props = cloudformation_json["Properties"]
        name = str(props.get("AlarmName") or resource_name)
        alarm = moto_state.cloudwatch_backend(account_id, region_name).put_metric_alarm(
            name=name, namespace=props.get("Namespace"), metric_name=props.get("MetricName"),
            comparison_operator=props["ComparisonOperator"], evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props["Period"]) if props.get("Period") else None,
            threshold=float(props["Threshold"]) if props.get("Threshold") is not None else None,
            statistic=props.get("Statistic"), description=props.get("AlarmDescription"),
            dimensions=list(props.get("Dimensions") or []), alarm_actions=list(props.get("AlarmActions") or []),
            metric_data_queries=_metric_queries(list(props.get("Metrics") or [])) or None,
            datapoints_to_alarm=int(props["DatapointsToAlarm"]) if props.get("DatapointsToAlarm") else None,
            extended_statistic=props.get("ExtendedStatistic"), ok_actions=list(props.get("OKActions") or []),
            insufficient_data_actions=list(props.get("InsufficientDataActions") or []), unit=props.get("Unit"),
            actions_enabled=_bool(props.get("ActionsEnabled", True)), treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"), tags=list(props.get("Tags") or []))
        return cls(account_id, region_name, name, alarm.alarm_arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        name = str(cloudformation_json["Properties"].get("AlarmName") or resource_name)
        cls(account_id, region_name, name, "").delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        moto_state.cloudwatch_backend(account_id, region).delete_alarms([self.name])


class CompositeAlarmResource(AlarmResource):
    """AWS::CloudWatch::CompositeAlarm for moto's CloudFormation
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-compositealarm.html):
    created as PutCompositeAlarm creates one."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::CompositeAlarm"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> AlarmResource:
        props = cloudformation_json["Properties"]
        name = str(props.get("AlarmName") or resource_name)
        alarm = put_composite_alarm(
            moto_state.cloudwatch_backend(account_id, region_name), name, str(props["AlarmRule"]),
            description=props.get("AlarmDescription"), actions_enabled=_bool(props.get("ActionsEnabled", True)),
            alarm_actions=props.get("AlarmActions"), ok_actions=props.get("OKActions"),
            insufficient_data_actions=props.get("InsufficientDataActions"), tags=props.get("Tags"))
        return cls(account_id, region_name, name, alarm.alarm_arn)


ADDED_RESOURCES = (AlarmResource, CompositeAlarmResource)


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse

    return [
        Patch(CloudWatchBackend, "put_metric_alarm", None,
              ("self", "name", "namespace", "metric_name", "comparison_operator", "evaluation_periods", "period",
               "threshold", "statistic", "description", "dimensions", "alarm_actions", "metric_data_queries",
               "datapoints_to_alarm", "extended_statistic", "ok_actions", "insufficient_data_actions", "unit",
               "actions_enabled", "treat_missing_data", "evaluate_low_sample_count_percentile",
               "threshold_metric_id", "rule", "tags"),
              "alarms start INSUFFICIENT_DATA, keep their state on update, and are evaluated",
              wrap=_wrap_put_metric_alarm),
        Patch(CloudWatchBackend, "put_metric_data", None, ("self", "namespace", "metric_data"),
              "Values and Counts kept as one datum, with its values for percentiles", wrap=_wrap_put_metric_data),
        Patch(CloudWatchBackend, "delete_alarms", None, ("self", "alarm_names"), "alarm history, evaluation",
              wrap=_wrap_delete_alarms),
        Patch(CloudWatchBackend, "set_alarm_state", None, ("self", "alarm_name", "reason", "reason_data",
                                                           "state_value"),
              "SetAlarmState's history and actions", wrap=_wrap_set_alarm_state),
        Patch(CloudWatchResponse, "put_composite_alarm", _response_put_composite_alarm, "absent",
              "PutCompositeAlarm"),
        Patch(CloudWatchResponse, "describe_alarm_history", _response_describe_alarm_history, "absent",
              "DescribeAlarmHistory"),
    ]
