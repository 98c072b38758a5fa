"""Every change the simulator makes to moto, in one module, applied on start and removed on stop.

The simulator's other parts never import this module: they read moto's state through
`moto_state` (which also reads what these patches keep on moto's objects), and only the
`Simulator` facade applies and removes the patches (layers: README.md, "Layers").

moto is pinned to exactly 5.2.5 (requirements.txt); `verify()` checks the version and that each
patched attribute still exists with the parameters these patches expect, and `apply()` refuses
to run otherwise. tests/lambdasim/test_moto_patches.py calls it, so an upgrade of moto fails
loudly there instead of subtly in a lesson.

What is patched and why:

1. Lambda invocation. moto runs handler code only through Docker. The Invoke and InvokeAsync
   API handlers, the backend's `invoke` (used by other services: Secrets Manager, EventBridge
   notifications) and `LambdaFunction.invoke` (used by SNS, S3 notifications and CloudWatch
   Logs subscriptions, which invoke asynchronously on AWS) are routed to the simulator's
   `LambdaService`. `LambdaFunction._invoke_lambda` (the Docker path) raises if anything still
   reaches it.
2. Event source mappings. moto invokes functions synchronously inside `send_message`,
   `put_record(s)` and each DynamoDB write, one record at a time, and deletes messages or
   stream records on "success". Those hooks iterate `lambda_event_source_mappings` on the
   queue, table or stream: a property that always reads as empty turns them off. The mappings
   themselves stay in moto's Lambda backend, readable through the public API, for the
   simulator's own pollers.
3. EventBridge Lambda targets. moto raises NotImplementedError for them inside `put_events`;
   here a Lambda target becomes an asynchronous invocation (what EventBridge does on AWS) and
   the other targets go to moto as before.
4. CloudFormation `Ref` of an `AWS::Events::EventBus`. moto returns the model object instead of
   the bus name (AWS returns the name), so `EventBusName: !Ref Bus` on a rule crashed with
   "'EventBus' object has no attribute 'split'". EventBus gets a `physical_resource_id`.
5. SQS cost with queue depth. Every SendMessage computed all queue attributes, and with them
   three full scans of the queue that read the clock once or twice per message; every received
   message did it three more times for the retention check; every delete scanned the queue
   twice and rebuilt it. The counters are now cached (exact: see `_counts`), the retention
   check reads the one attribute it needs, a scan reads the clock once, and a delete stops at
   the message it deletes.
6. SQS long polling. Under a frozen clock moto's wait loop never ends. The simulator answers a
   receive at once; a handler that long-polls an empty queue spends the wait on its own
   virtual clock, as it would on AWS.
7. The simulator's SQS pollers (`lambdasim.pollers`). Creating, updating or deleting an event
   source mapping (API or CloudFormation) tells the pollers to re-read the mappings through
   `ListEventSourceMappings`, at once and at no cost while nothing changes (re-reading every
   virtual second costs ~0.6 ms of real time per virtual second: 2 s per simulated hour).
   An SQS or stream mapping AWS would reject (BatchSize, batching window, FIFO rules, a function
   timeout over the queue's visibility timeout) is rejected with AWS's 400 error. A
   message entering a queue wakes that queue's pollers, and `moto_state.queue_next_change_ms`
   says when the next hidden or delayed message becomes visible: together they play Lambda's
   long polling without a poll per virtual second. A message that handler code sends (at its
   invocation's own time, ahead of the scheduler) is invisible until that time.
8. SQS FIFO redelivery order. moto forgets timed-out in-flight messages one at a time during
   its scan, so after a failed batch times out it could deliver a group's later message before
   its earlier ones. The receive wrapper forgets every timed-out message of a FIFO queue first.
8. Asynchronous invocation settings. moto ignores the event invoke config's Qualifier, appends
   on every put and always answers the first config (a second put or an update changed
   nothing); the config API is replaced by one that keeps a config per function ($LATEST),
   version and alias, replaces on put and merges on update, as AWS does. moto drops
   `DeadLetterConfig` on create/update; it is kept and returned. moto's CloudFormation passes
   7 properties of AWS::Lambda::Function to create_function (no DeadLetterConfig,
   Architectures, Layers, TracingConfig, EphemeralStorage, Tags...): all of them go now; and
   it lacks AWS::Lambda::EventInvokeConfig (SAM's EventInvokeConfig), which is added.
9. Concurrency. moto stores reserved concurrency without enforcing it and checks the
   100-unreserved rule only with MOTO_LAMBDA_CONCURRENCY_QUOTA set: `put_function_concurrency`
   now always checks it against the simulator's account pool, with AWS's message. moto has no
   GetAccountSettings nor provisioned concurrency API (404): routes and handlers are added, the
   simulator answers them (`rules/concurrency.py`, `EnvironmentPool`).
10. Streams, EventBridge, SNS and S3 to Lambda (issue 5). `Stream.put_record` (Kinesis) and
   `StreamShard.add` (DynamoDB Streams) tell the simulator's stream pollers that records
   arrived (`moto_state.set_stream_listener`); creating a stream mapping fixes its LATEST position
   (`moto_state.stream_mapping_start`; moto also drops StartingPositionTimestamp from its answers).
   EventBridge Lambda targets go to the simulator's `eventbridge.EventBridgeTargets` (retry
   policy, target DLQ, duplicates) with the event's `account` filled in. `Subscription.publish`
   for `lambda` subscriptions sends AWS's SNS event (moto sends a fixed sample with a fake
   topic, attributes and a 1970 timestamp); `LambdaFunction.invoke` completes S3 notification
   events (userIdentity, requestParameters, responseElements, ownerIdentity, sequencer, key
   encoding).
11. SQS dead-letter queue redrive. moto 5.2.5 has no StartMessageMoveTask,
   ListMessageMoveTasks nor CancelMessageMoveTask (NotImplementedError): SQSResponse gets
   them, answered by the simulator's `redrive.MessageMoveTasks`, which moves messages on the
   virtual clock. moto moves a message to the DLQ without recording where it came from: the
   receive now records its source queue (ReceiveMessage answers it as DeadLetterQueueSourceArn,
   and a redrive without DestinationArn sends the message back there), and a message moved to a
   FIFO DLQ takes its message ID as deduplication ID, as AWS documents.
12. moto's request dispatch (speed, same answers). For every request moto matched the URL
   against ~200 services' patterns, rebuilt the matching backend's route table and compiled its
   routes, then listed every member of the response class with `inspect.getmembers` to find the
   action's method: 0.15 ms of a 0.9 ms call. The route is now found once per URL
   (`_route`, cleared on apply and remove, when the route tables change) and the method by its
   name (`_FunctionNames`). reference/benchmarks/api_calls.py measures the call path.

moto's CloudFormation is slow to import (1-3 s) and only templates need it: its patch is applied
when a simulation first imports it (`_cloudformation_patches`, `_AfterImport`).
"""

from __future__ import annotations

import functools
import importlib.abc
import inspect
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import moto_state
from .errors import MotoVersionMismatch, SimulatorError, SimulatorNotRunning, Throttled
from .functions import FunctionConfig
from .service import RequestRejected

if TYPE_CHECKING:
    from .service import LambdaService

EXPECTED_MOTO_VERSION = "5.2.5"

_service: LambdaService | None = None
_MISSING = object()


# ---------------------------------------------------------------------------------------------
# Reading moto's Lambda models (the only place the simulator touches them)
# ---------------------------------------------------------------------------------------------










def _require_service() -> LambdaService:
    if _service is None:
        raise SimulatorNotRunning("a Lambda function was invoked while no Simulator is running")
    return _service


def _api_error(rejected: RequestRejected) -> Exception:
    from moto.core.exceptions import JsonRESTError

    err = JsonRESTError(rejected.code, rejected.message)
    err.code = rejected.status
    if rejected.body is not None:
        err.description = json.dumps(rejected.body, separators=(",", ":"))
    return err


def _raw_body(response: Any) -> bytes:
    body = getattr(response, "raw_body", None)
    if body is None:
        body = response.body
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# 1. Lambda invocation
# ---------------------------------------------------------------------------------------------


def _response_invoke(self: Any) -> tuple[int, dict[str, str], bytes]:
    """Replaces LambdaResponse.invoke (the Invoke API)."""
    service = _require_service()
    function_name = unquote(self.path.rsplit("/", 2)[-2])
    qualifier = (self.querystring.get("Qualifier") or [None])[0]
    invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    body = _raw_body(self)
    try:
        answer = service.invoke_api(
            lambda: moto_state.resolve_function(self.current_account, self.region, function_name, qualifier),
            body,
            invocation_type,
            self.headers.get("X-Amz-Client-Context"),
            self.headers.get("X-Amz-Log-Type"),
        )
    except RequestRejected as rejected:
        raise _api_error(rejected) from None
    headers = dict(answer.headers)
    headers["status"] = str(answer.status)  # moto takes the status from this header
    return answer.status, headers, answer.body


def _response_invoke_async(self: Any) -> tuple[int, dict[str, str], bytes]:
    """Replaces LambdaResponse.invoke_async (the deprecated InvokeAsync API, 256 KB)."""
    from .rules.invoke import INVOKE_ASYNC_API_LIMIT_BYTES

    service = _require_service()
    index = -3 if self.path.endswith("/") else -2
    function_name = unquote(self.path.rsplit("/", 3)[index])
    body = _raw_body(self)
    try:
        if len(body) > INVOKE_ASYNC_API_LIMIT_BYTES:
            raise RequestRejected(
                413,
                "RequestEntityTooLargeException",
                f"{len(body)} byte payload is too large for the InvokeAsync operation "
                f"(limit {INVOKE_ASYNC_API_LIMIT_BYTES} bytes)",
            )
        config, arn = moto_state.resolve_function(self.current_account, self.region, function_name, None)
        service.check_payload(body, "Event")
        service.enqueue_async(config, arn, body, source="invoke-async")
    except RequestRejected as rejected:
        raise _api_error(rejected) from None
    return 202, {"status": "202"}, b""


def _backend_invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    """Replaces LambdaBackend.invoke: other moto services calling a function by name."""
    service = _require_service()
    config, arn = moto_state.resolve_function(self.account_id, self.region_name, function_name, qualifier)
    payload = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    invocation_type = (headers or {}).get("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "Event":
        service.enqueue_async(config, arn, payload, source="moto")
        return b""
    try:
        record = service.run_sync(service.new_request(config, arn, payload, "RequestResponse", source="moto"))
    except Throttled as throttled:
        from .rules import concurrency as cc

        raise _api_error(RequestRejected(cc.THROTTLE_STATUS, cc.THROTTLE_CODE, throttled.message,
                                         cc.throttle_body(throttled.reason))) from None
    if record.function_error and response_headers is not None:
        response_headers["x-amz-function-error"] = record.function_error
    return record.payload


def _function_invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
    """Replaces LambdaFunction.invoke: S3 and Logs pushes, asynchronous on AWS. (SNS comes
    through `_sns_publish`.)"""
    service = _require_service()
    config = moto_state.function_config(self)
    payload = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    source = "moto"
    try:
        event = json.loads(payload)
    except ValueError:
        event = None
    if isinstance(event, dict) and event.get("Records") and event["Records"][0].get("eventSource") == "aws:s3":
        payload, source = json.dumps(_aws_s3_event(event, config.account_id)).encode("utf-8"), "s3"
    service.enqueue_async(config, config.arn, payload, source=source)
    return b""


def _aws_s3_event(event: dict[str, Any], account_id: str) -> dict[str, Any]:
    """moto's S3 notification with the fields AWS sends and moto leaves out
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
    userIdentity, requestParameters, responseElements, the bucket's ownerIdentity and the
    object's sequencer. Identities and request ids are fixed stand-ins (moto has no callers);
    the sequencer grows with the virtual time, as AWS's orders events of one key."""
    import hashlib

    records = []
    for record in event["Records"]:
        record = json.loads(json.dumps(record))
        s3 = record.get("s3", {})
        key = s3.get("object", {}).get("key", "")
        digest = hashlib.sha256(f"{record.get('eventTime')}/{key}".encode()).hexdigest().upper()
        principal = f"AWS:AIDA{account_id}EXAMPLE"
        out = {
            "eventVersion": record.get("eventVersion", "2.1"),
            "eventSource": "aws:s3",
            "awsRegion": record.get("awsRegion"),
            "eventTime": record.get("eventTime"),
            "eventName": record.get("eventName"),
            "userIdentity": {"principalId": principal},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": digest[:16], "x-amz-id-2": digest[16:64]},
            "s3": s3,
        }
        bucket = s3.setdefault("bucket", {})
        bucket.setdefault("ownerIdentity", {"principalId": f"A{account_id}"})
        obj = s3.setdefault("object", {})
        if "key" in obj:  # URL-encoded as AWS does ("a b/c" -> "a+b/c"); moto also encodes "/"
            from urllib.parse import quote_plus, unquote_plus

            obj["key"] = quote_plus(unquote_plus(obj["key"]), safe="/")
        obj.setdefault("sequencer", f"{int(moto_state.now_ms() * 1000):016X}")
        if "glacierEventData" in record:
            out["glacierEventData"] = record["glacierEventData"]
        records.append(out)
    return {"Records": records}


def _sns_publish(self: Any, message: str, message_id: str, subject: str | None = None,
                 message_attributes: dict[str, Any] | None = None, group_id: str | None = None,
                 deduplication_id: str | None = None, message_structure: str | None = None) -> None:
    """Replaces Subscription.publish for `lambda` subscriptions: moto sends a fixed sample
    event (topic `arn:aws:sns:EXAMPLE`, made-up attributes, 1970 timestamp); AWS sends the real
    topic, subscription, message id, attributes and time (with-sns.html), asynchronously."""
    assert _original_sns_publish is not None
    if self.protocol != "lambda":
        return _original_sns_publish(self, message, message_id, subject, message_attributes, group_id,
                                     deduplication_id, message_structure)
    if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(message_attributes, message):
        return None
    if message_structure == "json":
        message = self._parse_message_structure(message, self.protocol)
    region = self.topic.arn.split(":")[3]
    base = f"https://sns.{region}.amazonaws.com"
    attributes = {
        name: {"Type": value.get("Type", value.get("DataType", "String")),
               "Value": value.get("Value", value.get("StringValue", value.get("BinaryValue", "")))}
        for name, value in (message_attributes or {}).items()
    }
    when = datetime.fromtimestamp(moto_state.now_ms() / 1000, tz=timezone.utc)
    event = {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": self.arn,
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": self.topic.arn,
            "Subject": subject,
            "Message": message,
            "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": f"{base}/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeUrl": f"{base}/?Action=Unsubscribe&SubscriptionArn={self.arn}",
            "MessageAttributes": attributes,
        },
    }]}
    _deliver_to_lambda(self.account_id, self.endpoint, json.dumps(event).encode("utf-8"), "sns")
    return None


_original_sns_publish: Callable[..., None] | None = None


def _docker_invoke(self: Any, event: str | None = None) -> tuple[str, bool, str]:
    """Replaces LambdaFunction._invoke_lambda, moto's Docker path, which must never run."""
    raise SimulatorError(
        f"moto tried to run {self.function_name} through Docker; a route into Lambda is not "
        "covered by lambdasim._moto_patches"
    )


def _events_invoke_lambda(account_id: str, fn_arn: str, event: Any) -> None:
    """Replaces moto.events.notifications._invoke_lambda (EventBridge notification targets)."""
    _deliver_to_lambda(account_id, fn_arn, json.dumps(event).encode("utf-8"), "events")


def _deliver_to_lambda(account_id: str, function_arn: str, payload: bytes, source: str) -> None:
    _require_service().enqueue_by_arn(account_id, function_arn, payload, source=source)


# ---------------------------------------------------------------------------------------------
# 2. Event source mapping hooks: a property that always reads as empty
# ---------------------------------------------------------------------------------------------


def _no_mappings(self: Any) -> dict[str, Any]:
    return {}


def _ignore_mappings(self: Any, value: Any) -> None:
    return None


_NO_MAPPINGS = property(_no_mappings, _ignore_mappings, doc="lambdasim: moto's own pollers are off")


# ---------------------------------------------------------------------------------------------
# 3. EventBridge rule targets
# ---------------------------------------------------------------------------------------------

_original_send_to_targets: Callable[..., None] | None = None


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    """Replaces Rule.send_to_targets: Lambda targets are invoked asynchronously."""
    assert _original_send_to_targets is not None
    lambda_targets = [t for t in self.targets if t.get("Arn", "").split(":")[2:3] == ["lambda"]]
    if not lambda_targets:
        return _original_send_to_targets(self, original_event, transform_input)
    if not self.event_pattern.matches_event(original_event):
        return None
    others = [t for t in self.targets if t not in lambda_targets]
    if others:
        saved = self.targets
        self.targets = others
        try:
            _original_send_to_targets(self, original_event, transform_input)
        finally:
            self.targets = saved
    for target in lambda_targets:
        payload = _target_input(target, original_event, transform_input, self.account_id)
        if _eventbridge_targets is not None:
            # Retry policy, target DLQ, duplicates (lambdasim.eventbridge).
            _eventbridge_targets.deliver(self.account_id, self.arn, target,
                                         _aws_event(original_event, self.account_id), payload)
        else:
            _deliver_to_lambda(self.account_id, target["Arn"], payload, "eventbridge")
    return None


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


def _target_input(target: dict[str, Any], event: dict[str, Any], transform_input: bool,
                  account_id: str | None = None) -> bytes:
    aws_event = _aws_event(event, account_id)
    if transform_input and "Input" in target:
        return str(target["Input"]).encode("utf-8")
    if transform_input and "InputPath" in target:
        value: Any = aws_event
        for part in str(target["InputPath"]).lstrip("$").strip(".").split("."):
            if part:
                value = value.get(part) if isinstance(value, dict) else None
        return json.dumps(value).encode("utf-8")
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


# ---------------------------------------------------------------------------------------------
# 4. CloudFormation Ref of an event bus returns its name
# ---------------------------------------------------------------------------------------------


def _event_bus_physical_id(self: Any) -> str:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-eventbus.html
    # "Ref returns the name of the event bus".
    return str(self.name)


# ---------------------------------------------------------------------------------------------
# 5 and 6. SQS: cached counters, one clock read per scan, long polling on virtual time
# ---------------------------------------------------------------------------------------------










def _approx_visible(self: Any) -> int:
    return moto_state.queue_counts(self)[0]


def _approx_delayed(self: Any) -> int:
    return moto_state.queue_counts(self)[1]


def _approx_not_visible(self: Any) -> int:
    return moto_state.queue_counts(self)[2]




def _wrap_add_message(original: Callable[..., None]) -> Callable[..., None]:
    def add_message(self: Any, message: Any) -> None:
        dead_lettered = _receiving_from is not None and self is _receiving_from.dead_letter_queue
        if dead_lettered and self.fifo_queue:
            # sqs-configure-dead-letter-queue-redrive.html: moved to a FIFO DLQ, a message's
            # deduplication ID becomes its message ID.
            message.deduplication_id = message.id
        original(self, message)
        appended = bool(self._messages) and self._messages[-1] is message
        if dead_lettered and appended:
            self.__dict__.setdefault(moto_state.DLQ_SOURCES_ATTR, {})[message.id] = _receiving_from.queue_arn
        if appended and _service is not None and _service.runtime.current_frame is not None:
            # Sent by handler code at its invocation's own time, which runs ahead of the rest of
            # the simulation: nobody may receive it before that time.
            message.delayed_until = max(message.delayed_until, moto_state.now_ms())
        if appended:
            moto_state.message_added(self.queue_arn, message.delayed_until)
        cache = self.__dict__.get("_lambdasim_counts")
        if cache is None:
            return
        if not (self._messages and self._messages[-1] is message):
            return  # a FIFO duplicate that was dropped: nothing changed
        now = moto_state.now_ms()
        if not cache[0] <= now < cache[1]:
            moto_state.forget_queue_counts(self)
            return
        # The new message's class is the same for every time in the cache's window, except
        # where its own transitions fall inside it: shorten the window to them.
        t0 = cache[0]
        if now < message.delayed_until:
            cache[3] += 1
        if not now > message.visible_at:
            cache[4] += 1
        if now > message.visible_at and not now < message.delayed_until:
            cache[2] += 1
        if message.delayed_until > t0:
            cache[1] = min(cache[1], message.delayed_until)
        if message.visible_at >= t0:
            cache[1] = min(cache[1], message.visible_at)

    add_message.__wrapped__ = original  # type: ignore[attr-defined]
    return add_message


def _delete_message(self: Any, receipt_handle: str) -> None:
    """Replaces Queue.delete_message: the same rule, stopping at the message that matches.

    moto scans the whole queue twice and rebuilds it for every delete. Receipt handles are
    unique (185 random letters each), so at most one message has the handle: the scan can stop
    there, and the oldest messages, the ones consumers delete, sit at the front.
    """
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    if receipt_handle in self.deleted_messages:
        return  # already deleted: AWS accepts the repeat
    messages = self._messages
    for index, message in enumerate(messages):
        if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            del messages[index]
            moto_state.forget_queue_counts(self)
            return
    raise ReceiptHandleIsInvalid()


def _wrap_backend_mutation(original: Callable[..., Any]) -> Callable[..., Any]:
    # change_message_visibility, purge_queue: the first argument after self is the queue name.
    def mutation(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.queues.get(queue_name)
        try:
            return original(self, queue_name, *args, **kwargs)
        finally:
            moto_state.forget_queue_counts(queue)

    mutation.__wrapped__ = original  # type: ignore[attr-defined]
    return mutation


def _wrap_receive(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        queue = self.queues.get(queue_name)
        dlq = getattr(queue, "dead_letter_queue", None)
        moto_state.forget_queue_counts(queue)
        if queue is not None and queue.fifo_queue and queue.pending_messages:
            # moto forgets a timed-out in-flight message only when its scan reaches it, so when
            # several messages of a group time out together a later one is delivered while the
            # earlier ones still count as in flight: the group's order breaks. Forget them all
            # first (FIFO-queues-understanding-logic.html: a group's messages come in order).
            for message in [m for m in queue.pending_messages if m.visible]:
                queue.pending_messages.discard(message)
        global _receiving_from
        _receiving_from = queue  # moto dead-letters messages inside the receive (add_message)
        try:
            result = original(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        finally:
            _receiving_from = None
            moto_state.forget_queue_counts(queue)
            moto_state.forget_queue_counts(dlq)
        if not result and wait_seconds_timeout and _service is not None:
            frame = _service.runtime.current_frame
            if frame is not None:
                frame.sleep(int(wait_seconds_timeout))
        return result

    receive_message.__wrapped__ = original  # type: ignore[attr-defined]
    return receive_message


def _retention_ok(self: Any, queue_name: str, message: Any) -> bool:
    """Replaces SQSBackend.is_message_valid_based_on_retention_period (same rule, O(1))."""
    from moto.core.utils import unix_time

    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return bool(retain_until > unix_time())


# ---------------------------------------------------------------------------------------------
# 7. Event source mappings and queues tell the simulator's pollers what changed
# ---------------------------------------------------------------------------------------------







def _check_sqs_mapping(backend: Any, source_arn: Any, function_name: Any, batch_size: Any, window_s: Any,
                       scaling_config: Any = None, starting_position: Any = None) -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.core.exceptions import JsonRESTError

    from .sources.sqs import mapping_config_problem, visibility_timeout_problem

    if not isinstance(source_arn, str) or source_arn.split(":")[2:3] != ["sqs"]:
        return
    problem = mapping_config_problem(
        int(batch_size) if batch_size is not None else None,
        int(window_s) if window_s is not None else None,
        fifo=source_arn.endswith(".fifo"),
        maximum_concurrency=_maximum_concurrency(scaling_config),
        starting_position=starting_position,
    )
    queue = moto_state.queue_by_arn(source_arn)
    if not problem and queue is not None and isinstance(function_name, str):
        try:
            function_timeout = int(backend.get_function(function_name).timeout)
        except JsonRESTError:  # an unknown function, version or alias: moto's own call answers it
            function_timeout = None
        if function_timeout is not None:
            problem = visibility_timeout_problem(int(queue.visibility_timeout), function_timeout)
    if problem:
        raise InvalidParameterValueException(problem)


def _maximum_concurrency(scaling_config: Any) -> int | None:
    value = scaling_config.get("MaximumConcurrency") if isinstance(scaling_config, dict) else None
    return None if value is None else int(value)


def _check_stream_mapping(source_arn: Any, spec: dict[str, Any], *, creating: bool = False) -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException

    from .sources.streams import mapping_config_problem

    service = source_arn.split(":")[2] if isinstance(source_arn, str) and source_arn.count(":") >= 5 else ""
    if service not in ("kinesis", "dynamodb"):
        return
    problem = mapping_config_problem(spec, service=service, creating=creating)
    if problem:
        raise InvalidParameterValueException(problem)






def _wrap_kinesis_put(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_record(self: Any, partition_key: str, explicit_hash_key: str, data: str) -> Any:
        result = original(self, partition_key, explicit_hash_key, data)
        moto_state.records_added(self.arn)
        return result

    put_record.__wrapped__ = original  # type: ignore[attr-defined]
    return put_record


def _wrap_ddb_stream_add(original: Callable[..., Any]) -> Callable[..., Any]:
    def add(self: Any, old: Any, new: Any) -> None:
        original(self, old, new)
        moto_state.records_added(f"{self.table.table_arn}/stream/{self.table.latest_stream_label}")

    add.__wrapped__ = original  # type: ignore[attr-defined]
    return add


def _capture_stream_start(esm: Any) -> None:
    """Where a stream mapping starts reading, fixed at its creation as on AWS: for LATEST the
    last sequence number of each shard now, for AT_TIMESTAMP the timestamp (moto does not
    return StartingPositionTimestamp)."""
    arn = esm.event_source_arn
    service = arn.split(":")[2]
    start: dict[str, Any] = {"timestamp": esm.starting_position_timestamp, "latest": {}}
    if esm.starting_position == "LATEST":
        if service == "kinesis":
            from moto.kinesis.models import kinesis_backends

            stream = kinesis_backends[esm.account_id][esm.region].describe_stream(stream_arn=arn, stream_name=None)
            start["latest"] = {s.shard_id: s.get_max_sequence_number() for s in stream.shards.values()}
        elif service == "dynamodb":
            from moto.dynamodb.models import dynamodb_backends

            table = dynamodb_backends[esm.account_id][esm.region].get_table(arn.split(":", 5)[5].split("/")[1])
            shard = table.stream_shard
            if shard is not None and shard.items:
                start["latest"] = {shard.id: shard.starting_sequence_number + len(shard.items) - 1}
    setattr(esm, moto_state.STREAM_START_ATTR, start)




def _wrap_esm_create(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        _check_sqs_mapping(self, spec.get("EventSourceArn"), spec.get("FunctionName"), spec.get("BatchSize"),
                           spec.get("MaximumBatchingWindowInSeconds"), spec.get("ScalingConfig"),
                           spec.get("StartingPosition"))
        _check_stream_mapping(spec.get("EventSourceArn"), spec, creating=True)
        esm = original(self, spec)
        if esm.event_source_arn.split(":")[2] in ("kinesis", "dynamodb"):
            _capture_stream_start(esm)
        moto_state.mappings_changed()
        return esm

    create_event_source_mapping.__wrapped__ = original  # type: ignore[attr-defined]
    return create_event_source_mapping


def _wrap_esm_update(original: Callable[..., Any]) -> Callable[..., Any]:
    def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        esm = self.get_event_source_mapping(uuid)
        if esm is not None:
            _check_sqs_mapping(self, esm.event_source_arn, spec.get("FunctionName", esm.function_arn),
                               spec.get("BatchSize", esm.batch_size),
                               spec.get("MaximumBatchingWindowInSeconds", esm.max_batch_window),
                               spec.get("ScalingConfig", esm.scaling_config))
            _check_stream_mapping(esm.event_source_arn, spec)
        result = original(self, uuid, spec)
        moto_state.mappings_changed()
        return result

    update_event_source_mapping.__wrapped__ = original  # type: ignore[attr-defined]
    return update_event_source_mapping


def _wrap_esm_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_event_source_mapping(self: Any, uuid: str) -> Any:
        result = original(self, uuid)
        moto_state.mappings_changed()
        return result

    delete_event_source_mapping.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_event_source_mapping


# ---------------------------------------------------------------------------------------------
# 8. Asynchronous invocation settings: event invoke config per qualifier, DeadLetterConfig, and
#    CloudFormation's AWS::Lambda::EventInvokeConfig and full AWS::Lambda::Function properties
# ---------------------------------------------------------------------------------------------

_EIC_NUMBERS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")


def _split_qualified(name_or_arn: str, qualifier: str | None) -> tuple[str, str]:
    """(function name or unqualified ARN, qualifier: the one in the name, the one given, or
    $LATEST). API_PutFunctionEventInvokeConfig: a config without a qualifier is $LATEST's."""
    inline = moto_state.qualifier_in(name_or_arn)
    base = name_or_arn.rsplit(":", 1)[0] if inline else name_or_arn
    return base, inline or qualifier or "$LATEST"


def _event_invoke_configs(fn: Any) -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = fn.__dict__.setdefault(moto_state.EIC_ATTR, {})
    return configs


def put_event_invoke_config(
    backend: Any, name_or_arn: str, qualifier: str | None, body: dict[str, Any], *,
    update: bool = False, check_qualifier: bool = True,
) -> dict[str, Any]:
    """Put (replace) or update (merge) the event invoke config of a function, version or alias,
    as AWS does (API_PutFunctionEventInvokeConfig / API_UpdateFunctionEventInvokeConfig).

    moto 5.2.5 ignores the qualifier, appends on put and always answers the first config, so a
    second put or an update changed nothing; its FunctionArn is unqualified.
    """
    from moto.awslambda.exceptions import InvalidParameterValueException, UnknownEventConfig
    from moto.awslambda.models import EventInvokeConfig
    from moto.core.utils import unix_time

    from .rules import async_invoke as ai

    base, q = _split_qualified(name_or_arn, qualifier)
    latest = backend.get_function(base)
    if check_qualifier and q != "$LATEST":
        backend.get_function(base, q)  # ResourceNotFoundException for an unknown version or alias
    configs = _event_invoke_configs(latest)
    if update:
        if q not in configs:
            raise UnknownEventConfig(f"{latest.function_arn}:{q}")
        new = {k: v for k, v in configs[q].items() if k != "LastModified"}
        new.update({k: body[k] for k in _EIC_NUMBERS if k in body})
        if body.get("DestinationConfig") is not None:
            new["DestinationConfig"] = {**new.get("DestinationConfig", {}), **body["DestinationConfig"]}
    else:
        new = {k: body[k] for k in (*_EIC_NUMBERS, "DestinationConfig") if body.get(k) is not None}
    for key in _EIC_NUMBERS:
        if key in new:
            new[key] = int(new[key])
    EventInvokeConfig(latest.function_arn, latest.last_modified, new)  # moto's checks: maxima, ARNs
    low = {"MaximumRetryAttempts": ai.MAXIMUM_RETRY_ATTEMPTS_RANGE[0],
           "MaximumEventAgeInSeconds": ai.MAXIMUM_EVENT_AGE_RANGE_S[0]}
    for key, minimum in low.items():
        if key in new and new[key] < minimum:
            raise InvalidParameterValueException(f"{key} must be at least {minimum}")
    destinations = new.get("DestinationConfig") or {}
    for side in ("OnSuccess", "OnFailure"):
        target = (destinations.get(side) or {}).get("Destination")
        problem = ai.destination_problem(target, on_failure=side == "OnFailure") if target else None
        if problem:
            raise InvalidParameterValueException(problem)
    stored = {
        "LastModified": unix_time(),
        **{k: new[k] for k in _EIC_NUMBERS if k in new},
        "DestinationConfig": {side: dict(destinations.get(side) or {}) for side in ("OnSuccess", "OnFailure")},
    }
    configs[q] = stored
    return _eic_answer(latest, q, stored)


def _eic_answer(latest: Any, qualifier: str, stored: dict[str, Any]) -> dict[str, Any]:
    return {"LastModified": stored["LastModified"], "FunctionArn": f"{latest.function_arn}:{qualifier}",
            **{k: v for k, v in stored.items() if k != "LastModified"}}


def _eic_lookup(backend: Any, name_or_arn: str, qualifier: str | None) -> tuple[Any, str, dict[str, Any]]:
    from moto.awslambda.exceptions import UnknownEventConfig

    base, q = _split_qualified(name_or_arn, qualifier)
    latest = backend.get_function(base)
    configs = _event_invoke_configs(latest)
    if q not in configs:
        raise UnknownEventConfig(f"{latest.function_arn}:{q}")
    return latest, q, configs


def _eic_request(self: Any) -> tuple[str, str | None]:
    # /2019-09-25/functions/<name>/event-invoke-config[/list]?Qualifier=...
    name = unquote(self.path.split("/functions/", 1)[1].split("/", 1)[0])
    return name, (self.querystring.get("Qualifier") or [None])[0]


def _response_put_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.put_function_event_invoke_config (replace, per qualifier)."""
    name, qualifier = _eic_request(self)
    return 200, {"status": 200}, json.dumps(put_event_invoke_config(self.backend, name, qualifier, self.json_body))


def _response_update_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.update_function_event_invoke_config (merge, per qualifier)."""
    name, qualifier = _eic_request(self)
    answer = put_event_invoke_config(self.backend, name, qualifier, self.json_body, update=True)
    return 200, {"status": 200}, json.dumps(answer)


def _response_get_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.get_function_event_invoke_config."""
    latest, q, configs = _eic_lookup(self.backend, *_eic_request(self))
    return 200, {"status": 200}, json.dumps(_eic_answer(latest, q, configs[q]))


def _response_delete_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.delete_function_event_invoke_config."""
    _, q, configs = _eic_lookup(self.backend, *_eic_request(self))
    del configs[q]
    return 204, {"status": 204}, ""


def _response_list_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.list_function_event_invoke_configs (every qualifier's config)."""
    name, _ = _eic_request(self)
    latest = self.backend.get_function(_split_qualified(name, None)[0])
    answers = [_eic_answer(latest, q, c) for q, c in _event_invoke_configs(latest).items()]
    return 200, {"status": 200}, json.dumps({"FunctionEventInvokeConfigs": answers})






def _dead_letter_target(config: Any) -> str | None:
    return (config or {}).get("TargetArn") or None


def _wrap_function_init(original: Callable[..., None]) -> Callable[..., None]:
    # moto drops DeadLetterConfig (API_CreateFunction.html: "DeadLetterConfig"); keep it.
    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
        original(self, account_id, spec, region, version)
        self.__dict__[moto_state.DLQ_ATTR] = _dead_letter_target(spec.get("DeadLetterConfig"))

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    return __init__


def _wrap_get_configuration(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original(self, on_create)
        target = self.__dict__.get(moto_state.DLQ_ATTR)
        if target:
            config["DeadLetterConfig"] = {"TargetArn": target}
        return config

    get_configuration.__wrapped__ = original  # type: ignore[attr-defined]
    return get_configuration


def _wrap_update_configuration(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    # API_UpdateFunctionConfiguration.html: DeadLetterConfig; an empty TargetArn removes it.
    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.__dict__[moto_state.DLQ_ATTR] = _dead_letter_target(config_updates["DeadLetterConfig"])
        return original(self, config_updates)

    update_configuration.__wrapped__ = original  # type: ignore[attr-defined]
    return update_configuration


def _function_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    **kwargs: Any,
) -> Any:
    """Replaces LambdaFunction.create_from_cloudformation_json: moto passes 7 properties to
    create_function and drops DeadLetterConfig, Architectures, Layers, TracingConfig,
    EphemeralStorage, Tags... Here every property goes, as CloudFormation passes them
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html)."""
    import base64

    props = cloudformation_json["Properties"]
    spec = {k: v for k, v in props.items() if k != "Tags"}
    spec["FunctionName"] = resource_name
    spec["Code"] = dict(props["Code"])
    if "ZipFile" in spec["Code"]:
        spec["Code"]["ZipFile"] = base64.b64encode(cls._create_zipfile_from_plaintext_code(spec["Code"]["ZipFile"]))
    if props.get("Tags"):
        spec["Tags"] = {t["Key"]: t["Value"] for t in props["Tags"]}
    return moto_state.lambda_backend(account_id, region_name).create_function(spec)


class _EventInvokeConfigResource:
    """AWS::Lambda::EventInvokeConfig for moto's CloudFormation, which lacks it
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventinvokeconfig.html;
    SAM's EventInvokeConfig property becomes one). The config lands where the API puts it.
    The qualifier is not checked: moto's CloudFormation does not create AWS::Lambda::Alias."""

    _PROPS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")

    def __init__(self, function_name: str, qualifier: str, physical_id: str):
        self.function_name = function_name
        self.qualifier = qualifier
        self.physical_resource_id = physical_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Lambda::EventInvokeConfig"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _EventInvokeConfigResource:
        props = cloudformation_json["Properties"]
        body = {k: props[k] for k in cls._PROPS if k in props}
        name, qualifier = str(props["FunctionName"]), str(props["Qualifier"])
        put_event_invoke_config(moto_state.lambda_backend(account_id, region_name), name, qualifier, body, check_qualifier=False)
        return cls(name, qualifier, resource_name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str,
    ) -> _EventInvokeConfigResource:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json["Properties"]
        cls(str(props["FunctionName"]), str(props["Qualifier"]), resource_name).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        from moto.awslambda.exceptions import LambdaClientError

        try:
            _, q, configs = _eic_lookup(moto_state.lambda_backend(account_id, region), self.function_name, self.qualifier)
        except LambdaClientError:  # the function (or the config) is gone already
            return
        del configs[q]

    def is_created(self) -> bool:
        return True


def _wrap_resource_class_from_type(original: Callable[[str], Any]) -> Callable[[str], Any]:
    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type == _EventInvokeConfigResource.cloudformation_type():
            return _EventInvokeConfigResource
        return original(resource_type)

    resource_class_from_type.__wrapped__ = original  # type: ignore[attr-defined]
    return resource_class_from_type


# ---------------------------------------------------------------------------------------------
# 9. Concurrency: reserved concurrency checked as AWS checks it, account settings, provisioned
#    concurrency (rules: lambdasim/rules/concurrency.py)
# ---------------------------------------------------------------------------------------------




def _put_function_concurrency(self: Any, function_name: str, value: Any) -> Any:
    """Replaces LambdaBackend.put_function_concurrency: the 100-unreserved rule, always.

    moto checks it only with MOTO_LAMBDA_CONCURRENCY_QUOTA set; AWS always does, against the
    account's quota (the simulator's `account_concurrency`).
    """
    from moto.awslambda.exceptions import InvalidParameterValueException

    from .rules.concurrency import reserved_concurrency_error

    service = _require_service()
    fn = self.get_function(function_name)
    value = int(value)
    problem = reserved_concurrency_error(
        service.runtime.pool.limits.account_limit, moto_state.reserved_concurrency(self.account_id, self.region_name),
        fn.function_name, value)
    if problem:
        raise InvalidParameterValueException(problem)
    fn.reserved_concurrency = value
    return fn.reserved_concurrency


# Routes moto lacks (it answers 404 "Not yet implemented"): botocore's Lambda model names them
# GetAccountSettings and Put/Get/Delete/ListProvisionedConcurrencyConfig(s).
_EXTRA_LAMBDA_URLS = {
    r"{0}/(?P<api_version>[^/]+)/account-settings/?$": None,
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$": None,
}


def _wrap_lambda_urls(original: dict[str, Any]) -> dict[str, Any]:
    from moto.awslambda.responses import LambdaResponse

    return {**original, **{url: LambdaResponse.dispatch for url in _EXTRA_LAMBDA_URLS}}


def _response_get_account_settings(self: Any) -> tuple[int, dict[str, str], str]:
    """GetAccountSettings (https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html).

    Limits from gettingstarted-limits.html (75 GB code storage, 250 MB unzipped, 50 MB zipped
    upload); ConcurrentExecutions is the simulator's account pool, UnreservedConcurrentExecutions
    that pool minus every reservation.
    """
    service = _require_service()
    limits = service.runtime.pool.limits
    backend = moto_state.lambda_backend(self.current_account, self.region)
    functions = list(backend.list_functions())
    versions = list(backend.list_functions("ALL"))
    body = {
        "AccountLimit": {
            "TotalCodeSize": 80530636800,
            "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": limits.account_limit,
            "UnreservedConcurrentExecutions": limits.unreserved_pool(
                moto_state.reserved_concurrency(self.current_account, self.region)),
        },
        "AccountUsage": {
            "TotalCodeSize": sum(int(fn.code_size or 0) for fn in versions),
            "FunctionCount": len(functions),
        },
    }
    return 200, {}, json.dumps(body)


def _provisioned_target(self: Any) -> tuple[LambdaService, FunctionConfig, str]:
    service = _require_service()
    function_name = unquote(self.path.rstrip("/").rsplit("/", 2)[-2])
    qualifier = (self.querystring.get("Qualifier") or [None])[0]
    if not qualifier:
        from moto.awslambda.exceptions import InvalidParameterValueException

        raise InvalidParameterValueException("Qualifier is required for provisioned concurrency.")
    config, _ = moto_state.resolve_function(self.current_account, self.region, function_name, qualifier)
    return service, config, qualifier


def _config_not_found() -> Exception:
    from moto.core.exceptions import JsonRESTError

    err = JsonRESTError("ProvisionedConcurrencyConfigNotFoundException",
                        "No Provisioned Concurrency Config found for this function")
    err.code = 404
    return err


def _response_put_provisioned(self: Any) -> tuple[int, dict[str, str], str]:
    """PutProvisionedConcurrencyConfig: environments are initialised now, ahead of invocations."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    from .environments import ConfigurationRejected

    service, config, qualifier = _provisioned_target(self)
    requested = int(json.loads(self.body or "{}").get("ProvisionedConcurrentExecutions", 0))
    try:
        service.runtime.provision(config, qualifier, requested)
    except ConfigurationRejected as rejected:
        raise InvalidParameterValueException(str(rejected)) from None
    pool = service.runtime.pool
    answer = pool.provisioned_status(config.name, qualifier, service.clock.micros)
    return 202, {"status": "202"}, json.dumps(answer)


def _response_get_provisioned(self: Any) -> tuple[int, dict[str, str], str]:
    """GetProvisionedConcurrencyConfig, and ListProvisionedConcurrencyConfigs (same route, ?List=ALL)."""
    service = _require_service()
    pool = service.runtime.pool
    if (self.querystring.get("List") or [None])[0] == "ALL":
        function_name = unquote(self.path.rstrip("/").rsplit("/", 2)[-2])
        config, _ = moto_state.resolve_function(self.current_account, self.region, function_name, None)
        items = []
        for (name, qualifier), _cfg in sorted(pool.provisioned_configs.items()):
            if name == config.name:
                status = pool.provisioned_status(name, qualifier, service.clock.micros) or {}
                items.append({"FunctionArn": f"{config.arn}:{qualifier}", **status})
        return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": items})
    _, config, qualifier = _provisioned_target(self)
    answer = pool.provisioned_status(config.name, qualifier, service.clock.micros)
    if answer is None:
        raise _config_not_found()
    return 200, {}, json.dumps(answer)


def _response_delete_provisioned(self: Any) -> tuple[int, dict[str, str], str]:
    """DeleteProvisionedConcurrencyConfig: the environments become on-demand ones."""
    service, config, qualifier = _provisioned_target(self)
    if (config.name, qualifier) not in service.runtime.pool.provisioned_configs:
        raise _config_not_found()
    service.runtime.provision(config, qualifier, 0)
    return 204, {"status": "204"}, ""


def _response_list_provisioned(self: Any) -> tuple[int, dict[str, str], str]:
    return _response_get_provisioned(self)


# ---------------------------------------------------------------------------------------------
# 11. SQS dead-letter queue redrive: the message move task API (moto has none) and where a
#     dead-lettered message came from (lambdasim/redrive.py, rules/sqs_redrive.py)
# ---------------------------------------------------------------------------------------------

_receiving_from: Any = None  # the queue a ReceiveMessage reads, while moto runs it
_message_moves: Any = None


def set_message_moves(tasks: Any) -> None:
    """The simulator's `redrive.MessageMoveTasks` (None: the move task API is unavailable)."""
    global _message_moves
    _message_moves = tasks












def _require_message_moves() -> Any:
    if _message_moves is None:
        raise SimulatorNotRunning("an SQS message move task was called while no Simulator is running")
    return _message_moves


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _move_task_call(call: Callable[[Any], Any]) -> Any:
    # A request the simulator refuses becomes the SQS error AWS answers. moto serialises an
    # SQSException with the status of botocore's error shape, which has none for
    # ResourceNotFoundException (400); AWS answers it with 404.
    from moto.core.exceptions import JsonRESTError
    from moto.sqs.exceptions import SQSException

    from .redrive import MoveRejected

    try:
        return call(_require_message_moves())
    except MoveRejected as rejected:
        code, status, message = rejected.error
        if status == 400:
            raise SQSException(code, message) from None
        error = JsonRESTError(code, message)
        error.code = status
        raise error from None


def _response_start_message_move_task(self: Any) -> Any:
    """StartMessageMoveTask (API_StartMessageMoveTask.html), run by `redrive.MessageMoveTasks`."""
    from moto.core.responses import ActionResult

    handle = _move_task_call(lambda moves: moves.start(
        self._get_param("SourceArn"), self._get_param("DestinationArn"),
        _optional_int(self._get_param("MaxNumberOfMessagesPerSecond"))))
    return ActionResult({"TaskHandle": handle})


def _response_list_message_move_tasks(self: Any) -> Any:
    """ListMessageMoveTasks (API_ListMessageMoveTasks.html)."""
    from moto.core.responses import ActionResult

    results = _move_task_call(lambda moves: moves.list(
        self._get_param("SourceArn"), _optional_int(self._get_param("MaxResults"))))
    return ActionResult({"Results": results})


def _response_cancel_message_move_task(self: Any) -> Any:
    """CancelMessageMoveTask (API_CancelMessageMoveTask.html)."""
    from moto.core.responses import ActionResult

    moved = _move_task_call(lambda moves: moves.cancel(self._get_param("TaskHandle")))
    return ActionResult({"ApproximateNumberOfMessagesMoved": moved})


def _wrap_receive_response(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # moto answers a fixed list of message system attributes, without DeadLetterQueueSourceArn
    # (API_ReceiveMessage.html lists it).
    def receive_message(self: Any) -> Any:
        answer = original(self)
        requested = set(self._get_param("AttributeNames", []) + self._get_param("MessageSystemAttributeNames", []))
        if not requested & {"All", "DeadLetterQueueSourceArn"}:
            return answer
        sources = self.sqs_backend.get_queue(self._get_queue_name()).__dict__.get(moto_state.DLQ_SOURCES_ATTR, {})
        for message in (answer.result or {}).get("Messages", []):
            source_arn = sources.get(message["MessageId"])
            if source_arn:
                message.setdefault("Attributes", {})["DeadLetterQueueSourceArn"] = source_arn
        return answer

    receive_message.__wrapped__ = original  # type: ignore[attr-defined]
    return receive_message


# ---------------------------------------------------------------------------------------------
# 12. moto's request dispatch: routes found once per URL, response methods found by name
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _route(clean_url: str) -> tuple[tuple[str, ...], Callable[..., Any] | None]:
    """The services whose URL pattern matches `clean_url`, in moto's order, up to the one with a
    route for it, and that route's handler (None: no service routes it).

    moto's `BotocoreStubber.process_request` finds this on every request by matching the URL
    against ~200 services' patterns, then rebuilding the matching backend's `urls` dict and
    compiling each of its routes. The answer depends only on the URL and on the route tables,
    which change only when the patches are applied or removed (`apply`/`remove` clear this cache).
    """
    import moto.backend_index as backend_index
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.base_backend import BackendDict

    matched: list[str] = []
    for service, pattern in backend_index.backend_url_patterns:
        if not pattern.match(clean_url):
            continue
        matched.append(service)
        backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
        if isinstance(backend_dict, BackendDict):
            regions = backend_dict[DEFAULT_ACCOUNT_ID]
            backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
        else:
            backend = backend_dict["global"]
        for url, handler in backend.urls.items():
            if re.compile(url).match(clean_url):
                return tuple(matched), handler
    return tuple(matched), None


_AWS_URL = re.compile(r"https?://.+\.amazonaws.com/.*")


def _process_request(self: Any, request: Any) -> Any:
    """moto 5.2.5's `BotocoreStubber.process_request` with the route from `_route`; the
    passthrough and allow-list settings are still read on every request, as moto reads them."""
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
    from moto.core.exceptions import HTTPException, ServiceNotWhitelisted
    from moto.core.request import normalize_request
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api import recorder

    parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
    clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
    if passthrough_url(clean_url):
        return None
    services, handler = _route(clean_url)
    for service in services:
        if passthrough_service(service):
            return None
        if not service_whitelisted(service):
            raise ServiceNotWhitelisted(service)
    if handler is None:
        return (404, {}, "Not yet implemented") if _AWS_URL.match(clean_url) else None
    normalized_request = normalize_request(request)
    try:
        recorder._record_request(normalized_request)
        return handler(normalized_request, normalized_request.raw_url, normalized_request.headers)
    except HTTPException as e:
        return e.code, e.get_headers(), e.get_body()


class _FunctionNames:
    """What `moto.core.utils.method_names_from_class` answers, without listing the class.

    moto's `BaseResponse.call_action` lists every member of the response class with
    `inspect.getmembers` on every request (~0.2 ms), only to ask whether the action's name is
    among its plain functions; this answers that question for the one name.
    """

    def __init__(self, cls: type):
        self.cls = cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.cls, name, None))


# ---------------------------------------------------------------------------------------------
# The patch table, verification, apply/remove
# ---------------------------------------------------------------------------------------------


@dataclass
class _Patch:
    owner: Any
    name: str
    new: Any
    # Parameter names of the original callable, "property", or "instance:<ClassInitCode>" for an
    # attribute moto sets in __init__ (checked in the source of __init__).
    expect: tuple[str, ...] | str
    why: str
    original: Any = _MISSING


def _patch_table() -> list[_Patch]:
    """The patches applied on start (see `_cloudformation_patches` for the others)."""
    import moto.awslambda.urls as lambda_urls
    import jsonpath_ng.ext as jsonpath_ext
    import moto.events.notifications as events_notifications
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.responses import LambdaResponse
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.dynamodb.models.table import StreamShard, Table
    from moto.events.models import EventBus, Rule
    from moto.kinesis.models import Stream
    from moto.sns.models import Subscription
    from moto.sqs.models import Queue, SQSBackend
    from moto.sqs.responses import SQSResponse
    from moto.core import responses as core_responses
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.utilities.aws_headers import amz_crc32

    backend_invoke = ("self", "function_name", "qualifier", "body", "headers", "response_headers")
    return [
        _Patch(LambdaResponse, "invoke", amz_crc32(_response_invoke), ("self",), "Invoke API"),
        _Patch(LambdaResponse, "invoke_async", amz_crc32(_response_invoke_async), ("self",), "InvokeAsync API"),
        _Patch(LambdaBackend, "invoke", _backend_invoke, backend_invoke, "service-to-Lambda calls"),
        _Patch(LambdaSimpleBackend, "invoke", _backend_invoke, backend_invoke, "same, use_docker=False"),
        _Patch(LambdaFunction, "invoke", _function_invoke,
               ("self", "body", "request_headers", "response_headers"), "SNS/S3/Logs pushes"),
        _Patch(LambdaFunction, "_invoke_lambda", _docker_invoke, ("self", "event"), "Docker path"),
        _Patch(events_notifications, "_invoke_lambda", _events_invoke_lambda,
               ("account_id", "fn_arn", "event"), "EventBridge notifications"),
        _Patch(Queue, "lambda_event_source_mappings", _NO_MAPPINGS, "instance", "SQS ESM hook"),
        _Patch(Table, "lambda_event_source_mappings", _NO_MAPPINGS, "instance", "DynamoDB stream ESM hook"),
        _Patch(Stream, "lambda_event_source_mappings", _NO_MAPPINGS, "instance", "Kinesis ESM hook"),
        _Patch(Subscription, "publish", _sns_publish,
               ("self", "message", "message_id", "subject", "message_attributes", "group_id", "deduplication_id",
                "message_structure"), "SNS to Lambda: AWS's event"),
        _Patch(Rule, "send_to_targets", _send_to_targets,
               ("self", "original_event", "transform_input"), "EventBridge Lambda targets"),
        _Patch(EventBus, "physical_resource_id", property(_event_bus_physical_id), "absent",
               "CloudFormation Ref of an event bus"),
        _Patch(Queue, "approximate_number_of_messages", property(_approx_visible), "property", "SQS counters"),
        _Patch(Queue, "approximate_number_of_messages_delayed", property(_approx_delayed), "property",
               "SQS counters"),
        _Patch(Queue, "approximate_number_of_messages_not_visible", property(_approx_not_visible),
               "property", "SQS counters"),
        _Patch(Queue, "messages", property(moto_state.visible_messages), "property", "SQS scan"),
        _Patch(Queue, "add_message", None, ("self", "message"), "SQS counters (append)"),
        _Patch(Queue, "delete_message", _delete_message, ("self", "receipt_handle"), "SQS delete"),
        _Patch(SQSBackend, "receive_message", None,
               ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout",
                "message_attribute_names"), "SQS counters, long polling"),
        _Patch(SQSBackend, "change_message_visibility", None,
               ("self", "queue_name", "receipt_handle", "visibility_timeout"), "SQS counters"),
        _Patch(SQSBackend, "purge_queue", None, ("self", "queue_name"), "SQS counters"),
        _Patch(SQSBackend, "is_message_valid_based_on_retention_period", _retention_ok,
               ("self", "queue_name", "message"), "SQS retention check"),
        _Patch(LambdaBackend, "create_event_source_mapping", None, ("self", "spec"), "SQS pollers"),
        _Patch(LambdaBackend, "update_event_source_mapping", None, ("self", "uuid", "spec"), "SQS pollers"),
        _Patch(LambdaBackend, "delete_event_source_mapping", None, ("self", "uuid"), "SQS pollers"),
        _Patch(Stream, "put_record", None, ("self", "partition_key", "explicit_hash_key", "data"),
               "Kinesis writes wake the stream pollers"),
        _Patch(StreamShard, "add", None, ("self", "old", "new"), "DynamoDB stream writes wake the stream pollers"),
        _Patch(LambdaResponse, "put_function_event_invoke_config", _response_put_eic, ("self",),
               "event invoke config per qualifier"),
        _Patch(LambdaResponse, "update_function_event_invoke_config", _response_update_eic, ("self",),
               "event invoke config per qualifier"),
        _Patch(LambdaResponse, "get_function_event_invoke_config", _response_get_eic, ("self",),
               "event invoke config per qualifier"),
        _Patch(LambdaResponse, "delete_function_event_invoke_config", _response_delete_eic, ("self",),
               "event invoke config per qualifier"),
        _Patch(LambdaResponse, "list_function_event_invoke_configs", _response_list_eic, ("self",),
               "event invoke config per qualifier"),
        _Patch(LambdaFunction, "__init__", None, ("self", "account_id", "spec", "region", "version"),
               "DeadLetterConfig"),
        _Patch(LambdaFunction, "get_configuration", None, ("self", "on_create"), "DeadLetterConfig"),
        _Patch(LambdaFunction, "update_configuration", None, ("self", "config_updates"), "DeadLetterConfig"),
        _Patch(LambdaFunction, "create_from_cloudformation_json", classmethod(_function_from_cloudformation),
               ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
               "CloudFormation AWS::Lambda::Function properties"),
        _Patch(LambdaBackend, "put_function_concurrency", _put_function_concurrency,
               ("self", "function_name", "reserved_concurrency"), "100 unreserved, always"),
        _Patch(lambda_urls, "url_paths", None, "urls", "account settings, provisioned concurrency routes"),
        _Patch(LambdaResponse, "get_account_settings", _response_get_account_settings, "absent",
               "GetAccountSettings"),
        _Patch(LambdaResponse, "put_provisioned_concurrency_config", _response_put_provisioned, "absent",
               "provisioned concurrency"),
        _Patch(LambdaResponse, "get_provisioned_concurrency_config", _response_get_provisioned, "absent",
               "provisioned concurrency"),
        _Patch(LambdaResponse, "delete_provisioned_concurrency_config", _response_delete_provisioned, "absent",
               "provisioned concurrency"),
        _Patch(LambdaResponse, "list_provisioned_concurrency_configs", _response_list_provisioned, "absent",
               "provisioned concurrency"),
        _Patch(SQSResponse, "start_message_move_task", _response_start_message_move_task, "absent",
               "SQS DLQ redrive"),
        _Patch(SQSResponse, "list_message_move_tasks", _response_list_message_move_tasks, "absent",
               "SQS DLQ redrive"),
        _Patch(SQSResponse, "cancel_message_move_task", _response_cancel_message_move_task, "absent",
               "SQS DLQ redrive"),
        _Patch(SQSResponse, "receive_message", None, ("self",), "DeadLetterQueueSourceArn"),
        # moto's EventBridge parses the same default InputPathsMap with jsonpath_ng on every
        # delivery to a target (~0.7 ms each, nine per delivery); parsed paths are immutable.
        _Patch(jsonpath_ext, "parse", None, ("path", "debug"), "speed: EventBridge target input paths"),
        _Patch(BotocoreStubber, "process_request", _process_request, ("self", "request"),
               "speed: a route found once per URL"),
        _Patch(core_responses, "method_names_from_class", _FunctionNames, ("clazz",),
               "speed: a response method found by name"),
    ]


# moto's CloudFormation imports every service's models (EC2's and API Gateway's among them):
# 1-3 s, more than the rest of the simulator's start. Its patches are applied when a simulation
# first imports it (a template deployed, a stack created through the API), or at start if it
# was imported already.
_CLOUDFORMATION = "moto.cloudformation.parsing"


def _cloudformation_patches() -> list[_Patch]:
    import moto.cloudformation.parsing as cfn_parsing

    return [
        _Patch(cfn_parsing, "resource_class_from_type", None, ("resource_type",),
               "CloudFormation AWS::Lambda::EventInvokeConfig"),
    ]


class _LoaderThen(importlib.abc.Loader):
    """A module's own loader, then `then(module)` once the module has run."""

    def __init__(self, loader: Any, then: Callable[[Any], None]):
        self.loader, self.then = loader, then

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        self.then(module)

    def __getattr__(self, name: str) -> Any:  # get_source, is_package...: the module's loader's
        return getattr(self.loader, name)


class _AfterImport(importlib.abc.MetaPathFinder):
    """On sys.meta_path until the module named `name` is first imported: the other finders find
    it, and `then(module)` runs right after it has run."""

    def __init__(self, name: str, then: Callable[[Any], None]):
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None and spec.loader is not None:
                    self.uninstall()
                    spec.loader = _LoaderThen(spec.loader, self.then)
                    return spec
        return None

    def install(self) -> None:
        sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


_cloudformation_import: _AfterImport | None = None


_WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "ext.parse": lambda original: functools.lru_cache(maxsize=256)(original),
    "Queue.add_message": _wrap_add_message,
    "SQSBackend.receive_message": _wrap_receive,
    "SQSBackend.change_message_visibility": _wrap_backend_mutation,
    "SQSBackend.purge_queue": _wrap_backend_mutation,
    "LambdaBackend.create_event_source_mapping": _wrap_esm_create,
    "LambdaBackend.update_event_source_mapping": _wrap_esm_update,
    "LambdaBackend.delete_event_source_mapping": _wrap_esm_delete,
    "Stream.put_record": _wrap_kinesis_put,
    "StreamShard.add": _wrap_ddb_stream_add,
    "LambdaFunction.__init__": _wrap_function_init,
    "LambdaFunction.get_configuration": _wrap_get_configuration,
    "LambdaFunction.update_configuration": _wrap_update_configuration,
    "parsing.resource_class_from_type": _wrap_resource_class_from_type,
    "urls.url_paths": _wrap_lambda_urls,
    "SQSResponse.receive_message": _wrap_receive_response,
}

_applied: list[_Patch] = []


def _owner_name(owner: Any) -> str:
    return getattr(owner, "__name__", str(owner)).rsplit(".", 1)[-1]


def verify() -> list[str]:
    """Problems that make the patches unsafe for the installed moto (empty list: all good).
    Every patch is checked, moto's CloudFormation's included (this imports it)."""
    return _problems(_patch_table() + _cloudformation_patches())


def _problems(patches: list[_Patch]) -> list[str]:
    import moto

    problems = []
    if moto.__version__ != EXPECTED_MOTO_VERSION:
        problems.append(f"moto {moto.__version__} is installed; the patches are for {EXPECTED_MOTO_VERSION}")
    # While a simulator runs, check what the patches replaced rather than the patches.
    originals = {f"{_owner_name(p.owner)}.{p.name}": p.original for p in _applied}
    for patch in patches:
        label = f"{_owner_name(patch.owner)}.{patch.name}"
        current = originals.get(label, inspect.getattr_static(patch.owner, patch.name, _MISSING))
        if patch.expect == "absent":
            if current is not _MISSING:
                problems.append(f"{label} now exists in moto; the patch would hide it")
        elif patch.expect == "instance":
            source = inspect.getsource(patch.owner.__init__)
            if not re.search(rf"self\.{patch.name}\s*[:=]", source) or current is not _MISSING:
                problems.append(f"{label} is no longer an attribute set in __init__")
        elif patch.expect == "urls":
            if not isinstance(current, dict) or any(url in current for url in _EXTRA_LAMBDA_URLS):
                problems.append(f"{label} is no longer a dict of routes without the simulator's")
        elif patch.expect == "property":
            if not isinstance(current, property):
                problems.append(f"{label} is no longer a property")
        else:
            if isinstance(current, (classmethod, staticmethod)):
                current = current.__func__
            if current is _MISSING or not callable(current):
                problems.append(f"{label} is missing")
                continue
            params = tuple(inspect.signature(current).parameters)
            if params != patch.expect:
                problems.append(f"{label} takes {params}, the patch expects {patch.expect}")
    return problems


def patched_attributes() -> list[str]:
    """`Owner.attribute` of every patch, for reports and tests."""
    return [f"{_owner_name(p.owner)}.{p.name}" for p in _patch_table() + _cloudformation_patches()]


def apply(service: LambdaService) -> None:
    """Install every patch and route Lambda invocations to `service` (moto's CloudFormation's
    patches when it is imported, if it is not yet)."""
    global _service, _cloudformation_import
    if _applied:
        raise SimulatorError("moto patches are already applied (another Simulator is running?)")
    _install(_patch_table())
    if _CLOUDFORMATION in sys.modules:
        _install(_cloudformation_patches())
    else:
        _cloudformation_import = _AfterImport(_CLOUDFORMATION, lambda module: _install(_cloudformation_patches()))
        _cloudformation_import.install()
    _service = service


def _install(patches: list[_Patch]) -> None:
    global _original_send_to_targets, _original_sns_publish
    problems = _problems(patches)
    if problems:
        raise MotoVersionMismatch("lambdasim cannot patch this moto safely:\n- " + "\n- ".join(problems))
    for patch in patches:
        patch.original = patch.owner.__dict__.get(patch.name, _MISSING) if isinstance(patch.owner, type) \
            else getattr(patch.owner, patch.name, _MISSING)
        new = patch.new
        if new is None:
            new = _WRAPPERS[f"{_owner_name(patch.owner)}.{patch.name}"](getattr(patch.owner, patch.name))
        if patch.name == "send_to_targets":
            _original_send_to_targets = getattr(patch.owner, patch.name)
        if patch.name == "publish" and _owner_name(patch.owner) == "Subscription":
            _original_sns_publish = getattr(patch.owner, patch.name)
        setattr(patch.owner, patch.name, new)
        _applied.append(patch)
    _route.cache_clear()  # the route tables may have changed


def remove() -> None:
    """Put moto back exactly as it was."""
    global _service, _original_send_to_targets, _original_sns_publish, _cloudformation_import
    moto_state.set_poller_listeners(None, None)
    moto_state.set_stream_listener(None)
    if _cloudformation_import is not None:
        _cloudformation_import.uninstall()
        _cloudformation_import = None
    set_eventbridge_targets(None)
    set_message_moves(None)
    while _applied:
        patch = _applied.pop()
        if patch.original is _MISSING:
            delattr(patch.owner, patch.name)
        else:
            setattr(patch.owner, patch.name, patch.original)
    _route.cache_clear()
    _service = None
    _original_send_to_targets = None
    _original_sns_publish = None
