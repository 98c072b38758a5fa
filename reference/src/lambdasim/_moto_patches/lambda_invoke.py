"""Lambda invocation: every route into a function reaches the simulator's `LambdaService`.

moto runs handler code only through Docker. The Invoke and InvokeAsync API handlers, the
backend's `invoke` (used by other services: Secrets Manager, EventBridge notifications) and
`LambdaFunction.invoke` (used by S3 notifications and CloudWatch Logs subscriptions, which
invoke asynchronously on AWS) are routed to the service. `LambdaFunction.invoke` also completes
S3 notification events (userIdentity, requestParameters, responseElements, ownerIdentity,
sequencer, key encoding). `LambdaFunction._invoke_lambda` (the Docker path) raises if anything
still reaches it. Invoke's `X-Amz-Tenant-Id` header (tenant isolation mode) and `X-Amzn-Trace-Id`
(the caller's X-Ray trace) go to the service.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from .. import moto_state
from ..errors import SimulatorError, Throttled
from ..rules import tenancy
from ..service import RequestRejected
from . import _shared
from ._patching import Patch


def _response_invoke(self: Any) -> tuple[int, dict[str, str], bytes]:
    """Replaces LambdaResponse.invoke (the Invoke API)."""
    service = _shared.require_service()
    function_name = unquote(self.path.rsplit("/", 2)[-2])
    qualifier = (self.querystring.get("Qualifier") or [None])[0]
    invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    body = _shared.raw_body(self)
    try:
        answer = service.invoke_api(
            lambda: moto_state.resolve_function(self.current_account, self.region, function_name, qualifier),
            body,
            invocation_type,
            self.headers.get("X-Amz-Client-Context"),
            self.headers.get("X-Amz-Log-Type"),
            self.headers.get("X-Amz-Tenant-Id"),
            # botocore sends the caller's trace header from inside a function (its recursion
            # detection handler); an asynchronous event keeps it (rules/tracing.py).
            self.headers.get("X-Amzn-Trace-Id"),
        )
    except RequestRejected as rejected:
        raise _shared.api_error(rejected) from None
    headers = dict(answer.headers)
    headers["status"] = str(answer.status)  # moto takes the status from this header
    return answer.status, headers, answer.body


def _response_invoke_async(self: Any) -> tuple[int, dict[str, str], bytes]:
    """Replaces LambdaResponse.invoke_async (the deprecated InvokeAsync API, 256 KB)."""
    from ..rules.invoke import INVOKE_ASYNC_API_LIMIT_BYTES

    service = _shared.require_service()
    index = -3 if self.path.endswith("/") else -2
    function_name = unquote(self.path.rsplit("/", 3)[index])
    body = _shared.raw_body(self)
    try:
        if len(body) > INVOKE_ASYNC_API_LIMIT_BYTES:
            raise RequestRejected(
                413,
                "RequestEntityTooLargeException",
                f"{len(body)} byte payload is too large for the InvokeAsync operation "
                f"(limit {INVOKE_ASYNC_API_LIMIT_BYTES} bytes)",
            )
        config, arn = moto_state.resolve_function(self.current_account, self.region, function_name, None)
        # InvokeAsync has no tenant id: a tenant-isolated function refuses it (rules/tenancy.py).
        problem = tenancy.tenant_id_problem(config.tenant_isolation, None)
        if problem is not None:
            raise RequestRejected(400, tenancy.INVALID_TENANT_CODE, problem)
        service.check_payload(body, "Event")
        service.enqueue_async(config, arn, body, source="invoke-async", trace_header=self.headers.get("X-Amzn-Trace-Id"))
    except RequestRejected as rejected:
        raise _shared.api_error(rejected) from None
    return 202, {"status": "202"}, b""


def _backend_invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    """Replaces LambdaBackend.invoke: other moto services calling a function by name."""
    service = _shared.require_service()
    config, arn = moto_state.resolve_function(self.account_id, self.region_name, function_name, qualifier)
    payload = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    invocation_type = (headers or {}).get("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "Event":
        service.enqueue_async(config, arn, payload, source="moto")
        return b""
    try:
        record = service.run_sync(service.new_request(config, arn, payload, "RequestResponse", source="moto"))
    except Throttled as throttled:
        from ..rules import concurrency as cc

        raise _shared.api_error(RequestRejected(cc.THROTTLE_STATUS, cc.THROTTLE_CODE, throttled.message,
                                         cc.throttle_body(throttled.reason))) from None
    if record.function_error and response_headers is not None:
        response_headers["x-amz-function-error"] = record.function_error
    return record.payload


def _function_invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
    """Replaces LambdaFunction.invoke: S3 and Logs pushes, asynchronous on AWS. (SNS comes
    through `_sns_publish`.)"""
    service = _shared.require_service()
    config = moto_state.function_config(self)
    payload = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    source, trace_header = "moto", None
    try:
        event = json.loads(payload)
    except ValueError:
        event = None
    if isinstance(event, dict) and event.get("Records") and event["Records"][0].get("eventSource") == "aws:s3":
        bucket_arn = f"arn:aws:s3:::{event['Records'][0]['s3']['bucket']['name']}"
        if _shared.push_refused("s3.amazonaws.com", config.arn, bucket_arn):
            return b""  # AWS refuses such a configuration (API_PutBucketNotificationConfiguration.html)
        payload, source = json.dumps(_aws_s3_event(event, config.account_id)).encode("utf-8"), "s3"
        # xray-services-s3.html: S3 sends the writer's trace header to a Lambda subscriber
        # (loop detection's chain with it: rules/recursion.py).
        trace_header = _shared.trace_header
    service.enqueue_async(config, config.arn, payload, source=source, trace_header=trace_header)
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
        obj.setdefault("sequencer", f"{int(moto_state.now_ms() * 1000):016X}")
        if "glacierEventData" in record:
            out["glacierEventData"] = record["glacierEventData"]
        records.append(out)
    return {"Records": records}


def _docker_invoke(self: Any, event: str | None = None) -> tuple[str, bool, str]:
    """Replaces LambdaFunction._invoke_lambda, moto's Docker path, which must never run."""
    raise SimulatorError(
        f"moto tried to run {self.function_name} through Docker; a route into Lambda is not "
        "covered by lambdasim._moto_patches"
    )


def _events_invoke_lambda(account_id: str, fn_arn: str, event: Any) -> None:
    """Replaces moto.events.notifications._invoke_lambda (EventBridge notification targets)."""
    _shared.deliver_to_lambda(account_id, fn_arn, json.dumps(event).encode("utf-8"), "events")


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    import moto.events.notifications as events_notifications
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.responses import LambdaResponse
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.utilities.aws_headers import amz_crc32

    backend_invoke = ("self", "function_name", "qualifier", "body", "headers", "response_headers")
    return [
        Patch(LambdaResponse, "invoke", amz_crc32(_response_invoke), ("self",), "Invoke API"),
        Patch(LambdaResponse, "invoke_async", amz_crc32(_response_invoke_async), ("self",), "InvokeAsync API"),
        Patch(LambdaBackend, "invoke", _backend_invoke, backend_invoke, "service-to-Lambda calls"),
        Patch(LambdaSimpleBackend, "invoke", _backend_invoke, backend_invoke, "same, use_docker=False"),
        Patch(LambdaFunction, "invoke", _function_invoke,
              ("self", "body", "request_headers", "response_headers"), "SNS/S3/Logs pushes"),
        Patch(LambdaFunction, "_invoke_lambda", _docker_invoke, ("self", "event"), "Docker path"),
        Patch(events_notifications, "_invoke_lambda", _events_invoke_lambda,
              ("account_id", "fn_arn", "event"), "EventBridge notifications"),
    ]
