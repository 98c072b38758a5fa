"""EventBridge: every rule target through the simulator's delivery path, and the CloudFormation
`Ref` of an event bus.

moto raises NotImplementedError inside `put_events` for any target it does not deliver to
(Lambda, SNS, Kinesis, Step Functions...), and any error of a target it does deliver to (a
deleted queue, a missing log group or bus) fails the whole call. Here every matched target goes
to the simulator's `eventbridge.EventBridgeTargets` (retry policy, target DLQ, duplicates,
metrics; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html),
with a sender that writes the event to the target in moto and answers the target service's
error: Lambda functions are invoked asynchronously; SQS queues (FIFO: `SqsParameters`'
MessageGroupId), SNS topics, Kinesis streams, Firehose streams (PutRecord), Step Functions state
machines (StartExecution with the event as input), other event buses (the event is put on the
bus, whose rules run; an event received from another bus is not routed to a further bus: that
target is recorded as not invoked, DeadLetterInvocations), log groups and archives receive the event; API destinations
are recorded, never called. A target type the simulator does not model is recorded and warned
about (`TargetNotDelivered`). PutEvents never fails because of a target
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html). Every target gets the
event as EventBridge delivers it (with `account`), or its Input / InputPath / InputTransformer.
moto returns the model object for the `Ref` of an `AWS::Events::EventBus` instead of the bus name
(AWS returns the name), so `EventBusName: !Ref Bus` on a rule crashed with "'EventBus' object has
no attribute 'split'": EventBus gets a `physical_resource_id`. moto parses the same default
InputPathsMap with jsonpath_ng on every delivery to a target (~0.7 ms each, nine per delivery):
parsed paths, which are immutable, are cached. PutEvents meets the account's PutEvents quota
first (`EventBridgeTargets.admit_put_events`): over it the whole call fails with 400
ThrottlingException, as AWS refuses it (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html,
https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html), and the caller's
botocore retries it.
"""

from __future__ import annotations

import base64
import functools
import json
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ..eventbridge import Sender, TargetFailure
from ..rules import eventbridge as eb_rules
from . import _shared
from ._patching import Patch

# The event buses the event being delivered now was passed from (one entry per bus-to-bus hop in
# progress): EventBridge "can't route events received from a sender event bus to a third event
# bus" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-bus-to-bus.html).
_received_from_bus: list[str] = []


def _wrap_send_to_targets(original: Callable[..., None]) -> Callable[..., None]:
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        """Rule.send_to_targets: each target through the simulator's delivery path (see the
        module docstring); never an error of PutEvents."""
        if not self.event_pattern.matches_event(original_event):
            return None
        aws_event = _aws_event(original_event, self.account_id)
        for target in self.targets:
            arn = str(target.get("Arn", ""))
            if _received_from_bus and _kind(arn) == "event-bus":
                # Not routed to a further bus: a target not invoked (DeadLetterInvocations,
                # eb-monitoring.html), which also keeps bus-to-bus rules from looping.
                if _eventbridge_targets is not None:
                    _eventbridge_targets.record_not_routed(self.account_id, self.arn, target, aws_event)
                continue
            _deliver(self, original, target, original_event, aws_event, transform_input)
        return None

    send_to_targets.__wrapped__ = original  # type: ignore[attr-defined]
    return send_to_targets


def _deliver(rule: Any, original: Callable[..., None], target: dict[str, Any], event: dict[str, Any],
             aws_event: dict[str, Any], transform_input: bool) -> None:
    arn = str(target.get("Arn", ""))
    kind = _kind(arn)
    payload = _target_input(target, event, transform_input, rule)
    trace_header = _shared.trace_header  # the PutEvents call's: EventBridge passes it to targets
    if kind == "lambda":
        if _eventbridge_targets is not None:
            _eventbridge_targets.deliver(rule.account_id, rule.arn, target, aws_event, payload,
                                         trace_header=trace_header)
        else:
            _shared.deliver_to_lambda(rule.account_id, arn, payload, "eventbridge")
        return
    send = _sender(rule, original, kind, target, event, aws_event, payload, transform_input, trace_header)
    if send is None:
        warnings.warn(f"EventBridge rule {rule.name}: the simulator does not deliver to {kind} targets yet; "
                      f"{arn} did not receive the event (recorded in sim.eventbridge.deliveries)",
                      TargetNotDelivered, stacklevel=3)
    if _eventbridge_targets is not None:
        _eventbridge_targets.deliver(rule.account_id, rule.arn, target, aws_event, payload, kind=kind, send=send)
    elif send is not None:
        send()


def _kind(arn: str) -> str:
    """The target's type from its ARN: the service, or `event-bus`, `api-destination`, `archive`
    and `log-group` where one service has several."""
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 else ""
    resource = parts[5] if len(parts) > 5 else ""
    if service == "events":
        return resource.split("/", 1)[0] if resource else "archive"
    return service


def _sender(rule: Any, original: Callable[..., None], kind: str, target: dict[str, Any], event: dict[str, Any],
            aws_event: dict[str, Any], payload: bytes, transform_input: bool,
            trace_header: str | None = None) -> Sender | None:
    """The function that writes the event to this target in moto, None for a type not modelled."""
    arn = str(target["Arn"])
    senders: dict[str, Callable[[], None]] = {
        "sqs": lambda: _send_to_queue(target, payload, trace_header),
        "sns": lambda: _publish_to_topic(target, payload),
        "kinesis": lambda: _put_to_stream(target, aws_event, payload),
        "firehose": lambda: _put_to_firehose(target, payload),
        "states": lambda: _start_execution(target, payload),
        "event-bus": lambda: _put_on_bus(arn, aws_event),
        "api-destination": lambda: _find_api_destination(arn),
        # moto's own deliveries: a log group, an archive (its rule's internal target).
        "logs": lambda: _moto_delivers(rule, original, target, event, transform_input),
        "archive": lambda: _moto_delivers(rule, original, target, event, transform_input),
    }
    write = senders.get(kind)
    return None if write is None else functools.partial(_failure_of, write)


def _failure_of(write: Callable[[], None]) -> TargetFailure | None:
    """Run a write; the target service's error (status, code, message) if moto raised one."""
    try:
        write()
    except Exception as error:  # moto's service errors in their three shapes, or a bug (a 500)
        return _target_failure(error)
    return None


def _target_failure(error: Exception) -> TargetFailure:
    message = str(getattr(error, "message", "") or error)
    code_attribute = getattr(error, "code", None)
    if isinstance(code_attribute, str):  # moto.core.exceptions.ServiceException: code is the error code
        return TargetFailure(400, code_attribute, message)
    if isinstance(code_attribute, int) and hasattr(error, "error_type"):  # RESTError / JsonRESTError
        return TargetFailure(code_attribute, str(error.error_type), message)
    if hasattr(error, "STATUS") and hasattr(error, "TYPE"):  # moto's Step Functions errors
        return TargetFailure(int(error.STATUS), str(error.TYPE), message)
    return TargetFailure(500, type(error).__name__, message)


def _moto_delivers(rule: Any, original: Callable[..., None], target: dict[str, Any], event: dict[str, Any],
                   transform_input: bool) -> None:
    saved = rule.targets
    rule.targets = [target]
    try:
        original(rule, event, transform_input)
    finally:
        rule.targets = saved


def _send_to_queue(target: dict[str, Any], payload: bytes, trace_header: str | None = None) -> None:
    """An SQS queue target; a FIFO queue takes SqsParameters' MessageGroupId and needs
    content-based deduplication
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html)."""
    from moto.core.exceptions import ServiceException
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = str(target["Arn"]).split(":", 5)
    backend = sqs_backends[account][region]
    queue = backend.get_queue(name)
    group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
    if queue.fifo_queue and queue.attributes.get("ContentBasedDeduplication") != "true":
        raise ServiceException("InvalidParameterValue", "To let EventBridge send messages to your SQS FIFO queue, "
                        "you must enable content-based deduplication.")
    # The trace goes on as the message's AWSTraceHeader (eb-related-service-xray.html), also on
    # a retry made later, outside the PutEvents call.
    system_attributes = {"AWSTraceHeader": {"StringValue": trace_header, "DataType": "String"}} if trace_header else None
    backend.send_message(queue_name=name, message_body=payload.decode("utf-8"), group_id=group_id,
                         system_attributes=system_attributes)


def _put_to_firehose(target: dict[str, Any], payload: bytes) -> None:
    """A Firehose stream target: one PutRecord of the event
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html)."""
    from moto.firehose.models import firehose_backends

    _, _, _, region, account, resource = str(target["Arn"]).split(":", 5)
    firehose_backends[account][region].put_record(resource.split("/", 1)[1], {"Data": payload})


def _start_execution(target: dict[str, Any], payload: bytes) -> None:
    """A Step Functions state machine target: StartExecution with the event as its input
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html)."""
    from moto.stepfunctions.models import stepfunctions_backends

    arn = str(target["Arn"])
    _, _, _, region, account, _ = arn.split(":", 5)
    stepfunctions_backends[account][region].start_execution(arn, "", payload.decode("utf-8"))


def _put_on_bus(arn: str, aws_event: dict[str, Any]) -> None:
    """Another event bus as the target: the event is put on that bus, whose rules then run
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-bus-to-bus.html). A missing bus
    fails the delivery."""
    from moto.core.exceptions import ServiceException
    from moto.events.models import events_backends

    _, _, _, region, account, resource = arn.split(":", 5)
    entry = {"Source": aws_event["source"], "DetailType": aws_event["detail-type"],
             "Detail": json.dumps(aws_event["detail"]), "Resources": aws_event.get("resources", []),
             "EventBusName": resource.split("/", 1)[1]}
    _received_from_bus.append(arn)
    try:
        (answer,) = events_backends[account][region].put_events([entry])
    finally:
        _received_from_bus.pop()
    if "ErrorCode" in answer:
        raise ServiceException(answer["ErrorCode"], answer.get("ErrorMessage", ""))


def _find_api_destination(arn: str) -> None:
    """An API destination target is recorded, never called; one that does not exist fails."""
    from moto.events.models import events_backends

    _, _, _, region, account, resource = arn.split(":", 5)
    events_backends[account][region].describe_api_destination(resource.split("/")[1])


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
    from moto.kinesis.models import kinesis_backends

    arn = str(target["Arn"])
    _, _, _, region, account, _ = arn.split(":", 5)
    path = (target.get("KinesisParameters") or {}).get("PartitionKeyPath")
    key = eb_rules.value_at(aws_event, str(path)) if path else aws_event.get("id")
    kinesis_backends[account][region].put_record(
        stream_arn=arn, stream_name=None, partition_key=str(key), explicit_hash_key=None,
        data=base64.b64encode(payload).decode("ascii"))


_eventbridge_targets: Any = None


def _wrap_put_events(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def put_events(self: Any) -> str:
        """EventsHandler.put_events: refused whole (no entry is put) over the PutEvents quota."""
        if _eventbridge_targets is not None and not _eventbridge_targets.admit_put_events(
                self.current_account, self.region):
            from moto.core.exceptions import JsonRESTError

            raise JsonRESTError(eb_rules.THROTTLING_CODE, eb_rules.THROTTLING_MESSAGE)
        return original(self)

    put_events.__wrapped__ = original  # type: ignore[attr-defined]
    return put_events


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


def _target_input(target: dict[str, Any], event: dict[str, Any], transform_input: bool,
                  rule: Any) -> bytes:
    aws_event = _aws_event(event, rule.account_id)
    if transform_input and "Input" in target:
        return str(target["Input"]).encode("utf-8")
    if transform_input and "InputPath" in target:
        return json.dumps(eb_rules.value_at(aws_event, str(target["InputPath"]))).encode("utf-8")
    if transform_input and "InputTransformer" in target:
        transformer = target["InputTransformer"]
        return eb_rules.transform_input(
            str(transformer.get("InputTemplate", "")), transformer.get("InputPathsMap", {}), aws_event,
            rule_arn=rule.arn, rule_name=rule.name, ingestion_time=_ingestion_time(event)).encode("utf-8")
    return json.dumps(aws_event).encode("utf-8")


def _ingestion_time(event: dict[str, Any]) -> str:
    # moto stamps the events it receives with `ingestion-time` (Unix seconds); the scheduled
    # events the simulator sends carry it too.
    received = event.get("ingestion-time")
    when = (datetime.fromtimestamp(received, tz=timezone.utc) if isinstance(received, (int, float))
            else datetime.now(timezone.utc))
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_bus_physical_id(self: Any) -> str:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-eventbus.html
    # "Ref returns the name of the event bus".
    return str(self.name)


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    import jsonpath_ng.ext as jsonpath_ext
    from moto.events.models import EventBus, Rule
    from moto.events.responses import EventsHandler

    return [
        Patch(EventsHandler, "put_events", None, ("self",), "EventBridge PutEvents quota", wrap=_wrap_put_events),
        Patch(Rule, "send_to_targets", None,
              ("self", "original_event", "transform_input"), "EventBridge targets", wrap=_wrap_send_to_targets),
        Patch(EventBus, "physical_resource_id", property(_event_bus_physical_id), "absent",
              "CloudFormation Ref of an event bus"),
        # moto's EventBridge parses the same default InputPathsMap with jsonpath_ng on every
        # delivery to a target (~0.7 ms each, nine per delivery); parsed paths are immutable.
        Patch(jsonpath_ext, "parse", None, ("path", "debug"), "speed: EventBridge target input paths",
              wrap=functools.lru_cache(maxsize=256)),
    ]
