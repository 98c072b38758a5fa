"""Every change the simulator makes to moto, in one module, applied on start and removed on stop.

moto is pinned to exactly 5.2.5 (requirements.txt); `verify()` checks the version and that each
patched attribute still exists with the parameters these patches expect, and `apply()` refuses
to run otherwise. tests/lambdasim/test_moto_patches.py calls it, so an upgrade of moto fails
loudly there instead of subtly in a lesson.

What is patched and why (details in /work/shared/moto-notes.md):

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
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .errors import MotoVersionMismatch, SimulatorError, SimulatorNotRunning
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


def _lambda_backend(account_id: str, region: str) -> Any:
    # The backend moto's own API handlers use (the Docker one, or the "simple" one when the
    # mock was started with use_docker=False).
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region)


def function_config(fn: Any) -> FunctionConfig:
    """A `FunctionConfig` snapshot of a moto `LambdaFunction` (one version)."""
    from moto.awslambda.utils import make_function_arn

    return FunctionConfig(
        name=fn.function_name,
        arn=make_function_arn(fn.region, fn.account_id, fn.function_name),
        version=str(fn.version),
        runtime=fn.run_time,
        handler=fn.handler,
        memory_mb=int(fn.memory_size),
        timeout_s=int(fn.timeout),
        environment=dict(fn.environment_vars or {}),
        log_group=fn.logs_group_name,
        architectures=tuple(fn.architectures),
        package_type=fn.package_type or "Zip",
        code_sha256=fn.code_sha_256,
        code_size=int(fn.code_size or 0),
        last_modified=str(fn.last_modified),
        region=fn.region,
        account_id=fn.account_id,
    )


def _qualifier_in(name_or_arn: str) -> str | None:
    # "fn:alias", "123456789012:function:fn:alias", "arn:aws:lambda:r:a:function:fn:alias"
    tail = name_or_arn.split(":function:")[-1] if ":function:" in name_or_arn else name_or_arn
    return tail.split(":", 1)[1] if ":" in tail else None


def resolve_function(
    account_id: str, region: str, name_or_arn: str, qualifier: str | None
) -> tuple[FunctionConfig, str]:
    """The function version an Invoke call names, and the ARN the caller used.

    Raises moto's ResourceNotFoundException (HTTP 404) for an unknown function, version or
    alias. The second value is `context.invoked_function_arn`: qualified if the caller gave a
    version or alias (https://docs.aws.amazon.com/lambda/latest/dg/python-context.html).
    """
    fn = _lambda_backend(account_id, region).get_function(name_or_arn, qualifier)
    config = function_config(fn)
    used = _qualifier_in(name_or_arn) or qualifier
    return config, f"{config.arn}:{used}" if used else config.arn


def _require_service() -> LambdaService:
    if _service is None:
        raise SimulatorNotRunning("a Lambda function was invoked while no Simulator is running")
    return _service


def _api_error(rejected: RequestRejected) -> Exception:
    from moto.core.exceptions import JsonRESTError

    err = JsonRESTError(rejected.code, rejected.message)
    err.code = rejected.status
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
            lambda: resolve_function(self.current_account, self.region, function_name, qualifier),
            body,
            invocation_type,
            self.headers.get("X-Amz-Client-Context"),
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
        config, arn = resolve_function(self.current_account, self.region, function_name, None)
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
    config, arn = resolve_function(self.account_id, self.region_name, function_name, qualifier)
    payload = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    invocation_type = (headers or {}).get("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "Event":
        service.enqueue_async(config, arn, payload, source="moto")
        return b""
    record = service.run_sync(service.new_request(config, arn, payload, "RequestResponse", source="moto"))
    if record.function_error and response_headers is not None:
        response_headers["x-amz-function-error"] = record.function_error
    return record.payload


def _function_invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
    """Replaces LambdaFunction.invoke: SNS, S3 and Logs pushes, asynchronous on AWS."""
    service = _require_service()
    config = function_config(self)
    payload = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    service.enqueue_async(config, config.arn, payload, source="moto")
    return b""


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
    service = _require_service()
    region = function_arn.split(":")[3]
    config, arn = resolve_function(account_id, region, function_arn, None)
    service.enqueue_async(config, arn, payload, source=source)


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
        payload = _target_input(target, original_event, transform_input)
        _deliver_to_lambda(self.account_id, target["Arn"], payload, "eventbridge")
    return None


def _aws_event(event: dict[str, Any]) -> dict[str, Any]:
    # The event as EventBridge delivers it, fields in the order of AWS's samples
    # (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
    when = event.get("time")
    if isinstance(when, (int, float)):
        when = datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": event.get("version", "0"),
        "id": event.get("id"),
        "detail-type": event.get("detail-type"),
        "source": event.get("source"),
        "account": event.get("account"),
        "time": when,
        "region": event.get("region"),
        "resources": event.get("resources", []),
        "detail": event.get("detail", {}),
    }


def _target_input(target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> bytes:
    aws_event = _aws_event(event)
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


def _now_ms() -> float:
    from moto.core.utils import unix_time_millis

    return unix_time_millis()


_INF = float("inf")


def _counts(queue: Any) -> tuple[int, int, int]:
    """(visible and not delayed, delayed, not visible), exactly as moto's properties define them.

    The counts are a function of the messages' `visible_at`/`delayed_until` and of the time.
    A cache computed at time t0 stays exact for any time in [t0, valid_until), where
    valid_until is the first moment any message changes class; appending a message updates it
    in place (`_added`); every other change to the queue drops it (`_invalidate`).
    """
    now = _now_ms()
    cache = queue.__dict__.get("_lambdasim_counts")
    if cache is not None and cache[0] <= now < cache[1]:
        return cache[2], cache[3], cache[4]
    visible = delayed = not_visible = 0
    valid_until = _INF
    for m in queue._messages:
        vis_at, delayed_until = m.visible_at, m.delayed_until
        is_delayed = now < delayed_until
        is_visible = now > vis_at
        if is_delayed:
            delayed += 1
            valid_until = min(valid_until, delayed_until)
        if not is_visible:
            not_visible += 1
            valid_until = min(valid_until, vis_at)
        if is_visible and not is_delayed:
            visible += 1
    queue.__dict__["_lambdasim_counts"] = [now, valid_until, visible, delayed, not_visible]
    return visible, delayed, not_visible


def _invalidate(queue: Any) -> None:
    if queue is not None:
        queue.__dict__.pop("_lambdasim_counts", None)


def _approx_visible(self: Any) -> int:
    return _counts(self)[0]


def _approx_delayed(self: Any) -> int:
    return _counts(self)[1]


def _approx_not_visible(self: Any) -> int:
    return _counts(self)[2]


def _visible_messages(self: Any) -> list[Any]:
    """Replaces Queue.messages: the same filter, reading the clock once per scan."""
    now = _now_ms()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _wrap_add_message(original: Callable[..., None]) -> Callable[..., None]:
    def add_message(self: Any, message: Any) -> None:
        original(self, message)
        cache = self.__dict__.get("_lambdasim_counts")
        if cache is None:
            return
        if not (self._messages and self._messages[-1] is message):
            return  # a FIFO duplicate that was dropped: nothing changed
        now = _now_ms()
        if not cache[0] <= now < cache[1]:
            _invalidate(self)
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
            _invalidate(self)
            return
    raise ReceiptHandleIsInvalid()


def _wrap_backend_mutation(original: Callable[..., Any]) -> Callable[..., Any]:
    # change_message_visibility, purge_queue: the first argument after self is the queue name.
    def mutation(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.queues.get(queue_name)
        try:
            return original(self, queue_name, *args, **kwargs)
        finally:
            _invalidate(queue)

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
        _invalidate(queue)
        try:
            result = original(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        finally:
            _invalidate(queue)
            _invalidate(dlq)
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
    import moto.events.notifications as events_notifications
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.responses import LambdaResponse
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.dynamodb.models.table import Table
    from moto.events.models import EventBus, Rule
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue, SQSBackend
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
        _Patch(Rule, "send_to_targets", _send_to_targets,
               ("self", "original_event", "transform_input"), "EventBridge Lambda targets"),
        _Patch(EventBus, "physical_resource_id", property(_event_bus_physical_id), "absent",
               "CloudFormation Ref of an event bus"),
        _Patch(Queue, "approximate_number_of_messages", property(_approx_visible), "property", "SQS counters"),
        _Patch(Queue, "approximate_number_of_messages_delayed", property(_approx_delayed), "property",
               "SQS counters"),
        _Patch(Queue, "approximate_number_of_messages_not_visible", property(_approx_not_visible),
               "property", "SQS counters"),
        _Patch(Queue, "messages", property(_visible_messages), "property", "SQS scan"),
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
    ]


_WRAPPERS: dict[str, Callable[[Any], Any]] = {
    "Queue.add_message": _wrap_add_message,
    "SQSBackend.receive_message": _wrap_receive,
    "SQSBackend.change_message_visibility": _wrap_backend_mutation,
    "SQSBackend.purge_queue": _wrap_backend_mutation,
}

_applied: list[_Patch] = []


def _owner_name(owner: Any) -> str:
    return getattr(owner, "__name__", str(owner)).rsplit(".", 1)[-1]


def verify() -> list[str]:
    """Problems that make the patches unsafe for the installed moto (empty list: all good)."""
    import moto

    problems = []
    if moto.__version__ != EXPECTED_MOTO_VERSION:
        problems.append(f"moto {moto.__version__} is installed; the patches are for {EXPECTED_MOTO_VERSION}")
    # While a simulator runs, check what the patches replaced rather than the patches.
    originals = {f"{_owner_name(p.owner)}.{p.name}": p.original for p in _applied}
    for patch in _patch_table():
        label = f"{_owner_name(patch.owner)}.{patch.name}"
        current = originals.get(label, inspect.getattr_static(patch.owner, patch.name, _MISSING))
        if patch.expect == "absent":
            if current is not _MISSING:
                problems.append(f"{label} now exists in moto; the patch would hide it")
        elif patch.expect == "instance":
            source = inspect.getsource(patch.owner.__init__)
            if not re.search(rf"self\.{patch.name}\s*[:=]", source) or current is not _MISSING:
                problems.append(f"{label} is no longer an attribute set in __init__")
        elif patch.expect == "property":
            if not isinstance(current, property):
                problems.append(f"{label} is no longer a property")
        else:
            if current is _MISSING or not callable(current):
                problems.append(f"{label} is missing")
                continue
            params = tuple(inspect.signature(current).parameters)
            if params != patch.expect:
                problems.append(f"{label} takes {params}, the patch expects {patch.expect}")
    return problems


def patched_attributes() -> list[str]:
    """`Owner.attribute` of every patch, for reports and tests."""
    return [f"{_owner_name(p.owner)}.{p.name}" for p in _patch_table()]


def apply(service: LambdaService) -> None:
    """Install every patch and route Lambda invocations to `service`."""
    global _service, _original_send_to_targets
    if _applied:
        raise SimulatorError("moto patches are already applied (another Simulator is running?)")
    problems = verify()
    if problems:
        raise MotoVersionMismatch("lambdasim cannot patch this moto safely:\n- " + "\n- ".join(problems))
    for patch in _patch_table():
        patch.original = patch.owner.__dict__.get(patch.name, _MISSING) if isinstance(patch.owner, type) \
            else getattr(patch.owner, patch.name, _MISSING)
        new = patch.new
        if new is None:
            new = _WRAPPERS[f"{_owner_name(patch.owner)}.{patch.name}"](getattr(patch.owner, patch.name))
        if patch.name == "send_to_targets":
            _original_send_to_targets = getattr(patch.owner, patch.name)
        setattr(patch.owner, patch.name, new)
        _applied.append(patch)
    _service = service


def remove() -> None:
    """Put moto back exactly as it was."""
    global _service, _original_send_to_targets
    while _applied:
        patch = _applied.pop()
        if patch.original is _MISSING:
            delattr(patch.owner, patch.name)
        else:
            setattr(patch.owner, patch.name, patch.original)
    _service = None
    _original_send_to_targets = None
