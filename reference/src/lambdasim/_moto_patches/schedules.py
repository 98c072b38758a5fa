"""Schedules: EventBridge scheduled rules and EventBridge Scheduler schedules reach the simulator.

moto stores a rule's ScheduleExpression and a Scheduler schedule, and never fires either. The
simulator's `schedules.Schedules` fires them on the virtual clock; here every change moto
makes to them (PutRule, DeleteRule, EnableRule, DisableRule; CreateSchedule, UpdateSchedule,
DeleteSchedule, DeleteScheduleGroup; CloudFormation goes through the same backend methods)
tells it through `moto_state.schedules_changed`. moto accepts any expression; AWS refuses a bad
one with a ValidationException, and so do the replacements (rules in `rules.schedules`).
moto's CloudFormation lacks AWS::Scheduler::Schedule (SAM's `ScheduleV2` events): `ScheduleResource`
adds it (through the `cloudformation` module's parser patch).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .. import moto_state
from ..rules import schedules as rules
from . import _shared
from ._patching import Patch


def _notifying(original: Callable[..., Any]) -> Callable[..., Any]:
    def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        moto_state.schedules_changed()
        return result

    changed.__wrapped__ = original  # type: ignore[attr-defined]
    return changed


def _wrap_put_rule(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_rule(self: Any, name: str, description: str | None = None, event_bus_arn: str | None = None,
                 event_pattern: str | None = None, role_arn: str | None = None,
                 scheduled_expression: str | None = None, state: str | None = None,
                 managed_by: str | None = None, tags: list[dict[str, str]] | None = None) -> Any:
        """EventsBackend.put_rule: a ScheduleExpression AWS refuses is refused (moto stores any),
        and so is one on a bus other than the default one (eb-create-rule-schedule.html)."""
        if scheduled_expression:
            from moto.events.exceptions import ValidationException

            try:
                rules.parse_expression(scheduled_expression, scheduler=False)
            except rules.InvalidSchedule as problem:
                raise ValidationException(f"Parameter ScheduleExpression is not valid (rule {name}): {problem}")
            if not rules.on_default_bus(event_bus_arn):
                raise ValidationException(f"ScheduleExpression is supported only on the default event bus (rule {name} "
                                          f"is on {event_bus_arn}).")
        rule = original(self, name, description, event_bus_arn, event_pattern, role_arn, scheduled_expression,
                        state, managed_by, tags)
        moto_state.schedules_changed()
        return rule

    put_rule.__wrapped__ = original  # type: ignore[attr-defined]
    return put_rule


def check_schedule(name: str, expression: str, timezone_name: str | None, window: dict[str, Any] | None) -> None:
    """Refuse a schedule AWS refuses: its expression, time zone or flexible window."""
    try:
        rules.parse_expression(expression, scheduler=True)
        rules.zone(timezone_name)
        rules.flexible_window_s(window)
    except rules.InvalidSchedule as problem:
        from moto.scheduler.exceptions import ValidationException

        raise ValidationException(f"Schedule {name}: {problem}")


def _wrap_create_schedule(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_schedule(self: Any, description: str, end_date: str, flexible_time_window: dict[str, Any],
                        group_name: str, kms_key_arn: str, name: str, schedule_expression: str,
                        schedule_expression_timezone: str, start_date: str, state: str, target: dict[str, Any],
                        action_after_completion: str | None) -> Any:
        """EventBridgeSchedulerBackend.create_schedule, checked, then told to the simulator."""
        check_schedule(name, schedule_expression, schedule_expression_timezone, flexible_time_window)
        schedule = original(self, description, end_date, flexible_time_window, group_name, kms_key_arn, name,
                            schedule_expression, schedule_expression_timezone, start_date, state, target,
                            action_after_completion)
        moto_state.schedules_changed()
        return schedule

    create_schedule.__wrapped__ = original  # type: ignore[attr-defined]
    return create_schedule


def _wrap_update_schedule(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_schedule(self: Any, description: str, end_date: str, flexible_time_window: dict[str, Any],
                        group_name: str, kms_key_arn: str, name: str, schedule_expression: str,
                        schedule_expression_timezone: str, start_date: str, state: str,
                        target: dict[str, Any]) -> Any:
        """EventBridgeSchedulerBackend.update_schedule, checked, then told to the simulator."""
        check_schedule(name, schedule_expression, schedule_expression_timezone, flexible_time_window)
        schedule = original(self, description, end_date, flexible_time_window, group_name, kms_key_arn, name,
                            schedule_expression, schedule_expression_timezone, start_date, state, target)
        moto_state.schedules_changed()
        return schedule

    update_schedule.__wrapped__ = original  # type: ignore[attr-defined]
    return update_schedule


class ScheduleResource(_shared.AddedResource):
    """AWS::Scheduler::Schedule for moto's CloudFormation, which lacks it
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-scheduler-schedule.html;
    SAM's `ScheduleV2` events become one). Created with the Scheduler API's backend method, so
    the simulator fires it as it fires one created with boto3. `Ref` is the schedule's name."""

    def __init__(self, account_id: str, region: str, group: str, name: str, arn: str):
        self.account_id, self.region, self.group, self.name, self.arn = account_id, region, group, name, arn
        self.physical_resource_id = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::Schedule"

    CFN_ATTRIBUTES = ("Arn",)

    def cfn_attributes(self) -> dict[str, str]:
        return {"Arn": self.arn}

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> ScheduleResource:
        from moto.scheduler.models import scheduler_backends

        props = cloudformation_json["Properties"]
        name = str(props.get("Name") or resource_name)
        schedule = scheduler_backends[account_id][region_name].create_schedule(
            description=props.get("Description"), end_date=_epoch(props.get("EndDate")),
            flexible_time_window=props["FlexibleTimeWindow"], group_name=props.get("GroupName"),
            kms_key_arn=props.get("KmsKeyArn"), name=name, schedule_expression=props["ScheduleExpression"],
            schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
            start_date=_epoch(props.get("StartDate")), state=props.get("State"), target=dict(props["Target"]),
            action_after_completion=None)
        return cls(account_id, region_name, schedule.group_name, name, schedule.arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json["Properties"]
        name = str(props.get("Name") or resource_name)
        cls(account_id, region_name, str(props.get("GroupName") or "default"), name, "").delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        from moto.scheduler.exceptions import ScheduleGroupNotFound, ScheduleNotFound
        from moto.scheduler.models import scheduler_backends

        try:
            scheduler_backends[account_id][region].delete_schedule(self.group, self.name)
        except (ScheduleNotFound, ScheduleGroupNotFound):  # deleted already (by the API)
            return


def _epoch(value: Any) -> float | None:
    """A template's date (ISO 8601 text) as the epoch seconds the API hands moto."""
    if value is None or isinstance(value, (int, float)):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.events.models import EventsBackend
    from moto.scheduler.models import EventBridgeSchedulerBackend

    rule_args = ("self", "name", "event_bus_arn")
    return [
        Patch(EventsBackend, "put_rule", None,
              ("self", "name", "description", "event_bus_arn", "event_pattern", "role_arn",
               "scheduled_expression", "state", "managed_by", "tags"),
              "scheduled rules: checked, and fired by the simulator", wrap=_wrap_put_rule),
        *(Patch(EventsBackend, method, None, rule_args, "scheduled rules fired by the simulator",
                wrap=_notifying) for method in ("delete_rule", "enable_rule", "disable_rule")),
        Patch(EventBridgeSchedulerBackend, "create_schedule", None,
              ("self", "description", "end_date", "flexible_time_window", "group_name", "kms_key_arn", "name",
               "schedule_expression", "schedule_expression_timezone", "start_date", "state", "target",
               "action_after_completion"),
              "Scheduler schedules: checked, and fired by the simulator", wrap=_wrap_create_schedule),
        Patch(EventBridgeSchedulerBackend, "update_schedule", None,
              ("self", "description", "end_date", "flexible_time_window", "group_name", "kms_key_arn", "name",
               "schedule_expression", "schedule_expression_timezone", "start_date", "state", "target"),
              "Scheduler schedules: checked, and fired by the simulator", wrap=_wrap_update_schedule),
        Patch(EventBridgeSchedulerBackend, "delete_schedule", None, ("self", "group_name", "name"),
              "Scheduler schedules fired by the simulator", wrap=_notifying),
        Patch(EventBridgeSchedulerBackend, "delete_schedule_group", None, ("self", "name"),
              "Scheduler schedules fired by the simulator", wrap=_notifying),
    ]
