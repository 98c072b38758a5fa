"""EventBridge: Lambda, SNS and Kinesis targets, and the CloudFormation `Ref` of an event bus.

moto raises NotImplementedError inside `put_events` for any target it does not deliver to
(Lambda, SNS, Kinesis, Step Functions...), which fails the whole call; here a Lambda target
goes to the simulator's `eventbridge.EventBridgeTargets` (retry policy, target DLQ, duplicates)
as an asynchronous invocation with the event's `account` filled in, what EventBridge does on
AWS; SNS topics and Kinesis streams receive the event; the targets moto delivers (queues, log
groups, buses, archives, API destinations) go to moto as before; any other target type is
warned about (`TargetNotDelivered`), and PutEvents never fails because of a target. moto returns the model object for the `Ref`
of an `AWS::Events::EventBus` instead of the bus name (AWS returns the name), so
`EventBusName: !Ref Bus` on a rule crashed with "'EventBus' object has no attribute 'split'":
EventBus gets a `physical_resource_id`. moto parses the same default InputPathsMap with
jsonpath_ng on every delivery to a target (~0.7 ms each, nine per delivery): parsed paths,
which are immutable, are cached.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from . import _shared
from ._patching import Patch

# The targets moto delivers itself: queues, log groups, buses, archives, API destinations.
_MOTO_DELIVERS = ("sqs", "logs", "events")


def _wrap_send_to_targets(original: Callable[..., None]) -> Callable[..., None]:
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        """Rule.send_to_targets: Lambda targets are invoked asynchronously, SNS topics and
        Kinesis streams receive the event, and a target type the simulator does not deliver to
        is recorded as not delivered (a warning), never an error of PutEvents."""
        if not self.event_pattern.matches_event(original_event):
            return None
        by_service: dict[str, list[dict[str, Any]]] = {}
        for target in self.targets:
            parts = str(target.get("Arn", "")).split(":")
            by_service.setdefault(parts[2] if len(parts) > 2 else "", []).append(target)
        moto_targets = [t for service in _MOTO_DELIVERS for t in by_service.get(service, [])]
        if moto_targets:
            saved = self.targets
            self.targets = moto_targets
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = saved
        for target in by_service.get("lambda", []):
            payload = _target_input(target, original_event, transform_input, self.account_id)
            if _eventbridge_targets is not None:
                # Retry policy, target DLQ, duplicates (lambdasim.eventbridge).
                _eventbridge_targets.deliver(self.account_id, self.arn, target,
                                             _aws_event(original_event, self.account_id), payload)
            else:
                _shared.deliver_to_lambda(self.account_id, target["Arn"], payload, "eventbridge")
        for target in by_service.get("sns", []):
            _publish_to_topic(target, _target_input(target, original_event, transform_input, self.account_id))
        for target in by_service.get("kinesis", []):
            _put_to_stream(target, _aws_event(original_event, self.account_id),
                           _target_input(target, original_event, transform_input, self.account_id))
        for service, targets in by_service.items():
            if service not in (*_MOTO_DELIVERS, "lambda", "sns", "kinesis"):
                for target in targets:
                    warnings.warn(f"EventBridge rule {self.name}: the simulator does not deliver to "
                                  f"{service} targets yet; {target['Arn']} did not receive the event",
                                  TargetNotDelivered, stacklevel=2)
        return None

    send_to_targets.__wrapped__ = original  # type: ignore[attr-defined]
    return send_to_targets


class TargetNotDelivered(UserWarning):
    """A rule matched an event for a target type the simulator does not deliver to."""


def _publish_to_topic(target: dict[str, Any], payload: bytes) -> None:
    """An SNS topic target: the event (or its transformed input) is the message
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html)."""
    from moto.sns.models import sns_backends

    arn = str(target["Arn"])
    _, _, _, region, account, _ = arn.split(":", 5)
    sns_backends[account][region].publish(message=payload.decode("utf-8"), arn=arn)


def _put_to_stream(target: dict[str, Any], aws_event: dict[str, Any], payload: bytes) -> None:
    """A Kinesis stream target: one record, its partition key from `KinesisParameters`'
    `PartitionKeyPath` (a JSON path into the event), else the event's id
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_KinesisParameters.html)."""
    import base64

    from moto.kinesis.models import kinesis_backends

    arn = str(target["Arn"])
    _, _, _, region, account, _ = arn.split(":", 5)
    path = (target.get("KinesisParameters") or {}).get("PartitionKeyPath")
    key = _at_path(aws_event, str(path)) if path else aws_event.get("id")
    kinesis_backends[account][region].put_record(
        stream_arn=arn, stream_name=None, partition_key=str(key), explicit_hash_key=None,
        data=base64.b64encode(payload).decode("ascii"))


_eventbridge_targets: Any = None


def set_eventbridge_targets(targets: Any) -> None:
    """The simulator's `eventbridge.EventBridgeTargets` (None: deliver at once, no retry policy)."""
    global _eventbridge_targets
    _eventbridge_targets = targets


def _aws_event(event: dict[str, Any], account_id: str | None = None) -> dict[str, Any]:
    # The event as EventBridge delivers it, fields in the order of AWS's samples
    # (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
    # moto leaves out `account` (the bus owner's account on AWS): the rule's account fills it.
    when = event.get("time")
    if isinstance(when, (int, float)):
        when = datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": event.get("version", "0"),
        "id": event.get("id"),
        "detail-type": event.get("detail-type"),
        "source": event.get("source"),
        "account": event.get("account") or account_id,
        "time": when,
        "region": event.get("region"),
        "resources": event.get("resources", []),
        "detail": event.get("detail", {}),
    }


def _at_path(event: dict[str, Any], path: str) -> Any:
    """The value at a target's simple JSON path (`$.detail.order`) in the event, None if absent."""
    value: Any = event
    for part in path.lstrip("$").strip(".").split("."):
        if part:
            value = value.get(part) if isinstance(value, dict) else None
    return value


def _target_input(target: dict[str, Any], event: dict[str, Any], transform_input: bool,
                  account_id: str | None = None) -> bytes:
    aws_event = _aws_event(event, account_id)
    if transform_input and "Input" in target:
        return str(target["Input"]).encode("utf-8")
    if transform_input and "InputPath" in target:
        return json.dumps(_at_path(aws_event, str(target["InputPath"]))).encode("utf-8")
    if transform_input and "InputTransformer" in target:
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        return json.dumps(
            EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=aws_event,  # type: ignore[arg-type]
            )
        ).encode("utf-8")
    return json.dumps(aws_event).encode("utf-8")


def _event_bus_physical_id(self: Any) -> str:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-eventbus.html
    # "Ref returns the name of the event bus".
    return str(self.name)


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    import jsonpath_ng.ext as jsonpath_ext
    from moto.events.models import EventBus, Rule

    return [
        Patch(Rule, "send_to_targets", None,
              ("self", "original_event", "transform_input"), "EventBridge Lambda targets", wrap=_wrap_send_to_targets),
        Patch(EventBus, "physical_resource_id", property(_event_bus_physical_id), "absent",
              "CloudFormation Ref of an event bus"),
        # moto's EventBridge parses the same default InputPathsMap with jsonpath_ng on every
        # delivery to a target (~0.7 ms each, nine per delivery); parsed paths are immutable.
        Patch(jsonpath_ext, "parse", None, ("path", "debug"), "speed: EventBridge target input paths",
              wrap=functools.lru_cache(maxsize=256)),
    ]
