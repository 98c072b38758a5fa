"""The Lambda service front door: the Invoke API as AWS answers it.

`_moto_patches` routes moto's Invoke handler here, so `boto3.client("lambda").invoke(...)`
behaves as on AWS (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):

- RequestResponse: runs the handler now; 200 with the result, or 200 with
  `X-Amz-Function-Error: Unhandled` and the error document.
- Event: checks and queues the event (202); it runs when the virtual clock moves.
- DryRun: checks the function and the request (204); nothing runs.
- Unknown function: 404 ResourceNotFoundException (moto's error). Oversized payload: 413
  RequestEntityTooLargeException. A payload that is not JSON: 400 InvalidRequestContentException.
- Tenant isolation (`rules/tenancy.py`): a tenant-isolated function needs `TenantId`
  (X-Amz-Tenant-Id), any other function refuses one: 400 InvalidParameterValueException. The
  tenant id goes with the request to the runtime (its own environments, `context.tenant_id`).
- No execution environment to be had (concurrency rules, `environments.EnvironmentPool.acquire`):
  `execute` raises `errors.Throttled` and records it in `throttles`; the synchronous API answers
  429 TooManyRequestsException with AWS's body (Reason, Type, message).

Time: a synchronous call made by the code driving the simulation moves the clock by the
invocation's duration (the caller waited for it, and whatever was due meanwhile runs); a call
made from a handler adds the duration to the calling invocation; a call made from a scheduled
callback runs at the callback's time and does not move the scheduler.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import moto_state
from .async_queue import AsyncEvent, AsyncInvocationQueue
from .clock import Scheduler, VirtualClock
from .environments import ThrottleRecord
from .errors import RecursionStopped, Throttled
from .functions import FunctionConfig
from .rules import concurrency as cc
from .rules import invoke as inv
from .rules import recursion
from .rules import tracing as tr
from .rules import tenancy
from .runtime import InvocationRecord, InvocationRequest, Runtime


@dataclass(frozen=True)
class ApiResponse:
    """An HTTP response of the Invoke API."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class RecursionStop:
    """An invocation loop detection stopped (`Simulator.recursion_stops`): not an invocation; it
    counts in RecursiveInvocationsDropped (rules/recursion.py)."""

    at_us: int
    function_name: str
    version: str
    invocation_type: str
    source: str
    place_in_chain: int
    request_id: str


def _lineage_of(header: str | None) -> str | None:
    parsed = tr.parse(header)
    return dict(parsed.extra).get(recursion.LINEAGE_FIELD) if parsed is not None else None


def _with_lineage(header: str, lineage: dict[str, int]) -> str:
    parsed = tr.parse(header)
    if parsed is None:
        return header
    extra = tuple((k, v) for k, v in parsed.extra if k != recursion.LINEAGE_FIELD)
    return str(tr.TraceHeader(parsed.root, parsed.parent, parsed.sampled,
                              (*extra, (recursion.LINEAGE_FIELD, recursion.format_lineage(lineage)))))


class RequestRejected(Exception):
    """The Invoke request fails before anything runs (AWS answers with an HTTP error).

    `body`, when given, is the whole JSON error body AWS sends (e.g. the 429's Reason and
    Type); otherwise the body is built from `code` and `message`.
    """

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.body = body


class LambdaService:
    """Plays the Lambda service: accepts invocations and runs them in the runtime."""

    def __init__(
        self,
        *,
        clock: VirtualClock,
        scheduler: Scheduler,
        runtime: Runtime,
        advance: Callable[[int], None],
        history: list[InvocationRecord],
        throttles: list[ThrottleRecord] | None = None,
    ):
        self.clock = clock
        self.scheduler = scheduler
        self.runtime = runtime
        self._advance = advance
        self.history = history
        # Requests refused for lack of concurrency: not invocations (Simulator.throttles).
        self.throttles: list[ThrottleRecord] = throttles if throttles is not None else []
        # Invocations loop detection stopped: not invocations either (rules/recursion.py).
        self.recursion_stops: list[RecursionStop] = []
        self.async_queue = AsyncInvocationQueue(scheduler, self.execute)
        # Called with (request, record) after every invocation that ran (telemetry: logs,
        # metrics); `log_tail(request_id, default)` gives Invoke's LogResult when logs are on.
        self.listeners: list[Callable[[InvocationRequest, InvocationRecord], None]] = []
        # Lambda's tracing decisions (telemetry.tracing.Tracing), when the simulator wires it.
        self.tracing: Any = None
        # With IAM enforced (`lambdasim.iam`): whether a function's resource policy lets a
        # service principal invoke it for a source ARN (SNS's and S3's deliveries).
        self.push_allowed: Callable[[str, str, str], bool] | None = None
        self.log_tail: Callable[[str, Any], str | None] | None = None

    # -- the API ----------------------------------------------------------------------------
    def invoke_api(
        self,
        resolve: Callable[[], tuple[FunctionConfig, str]],
        body: bytes,
        invocation_type: str,
        client_context_b64: str | None = None,
        log_type: str | None = None,
        tenant_id: str | None = None,
        trace_header: str | None = None,
    ) -> ApiResponse:
        """Answer one Invoke call. Raises `RequestRejected`.

        `log_type="Tail"` on a synchronous call adds `X-Amz-Log-Result`: the last 4 KB of the
        invocation's log, base64 (API_Invoke.html), when the simulator writes logs.

        `resolve` finds the function version and the ARN the caller used (it raises moto's
        ResourceNotFoundException). The payload is checked first, as the service's front end
        rejects an oversized request before anything else.
        """
        if invocation_type not in inv.INVOCATION_TYPES:
            raise RequestRejected(
                400,
                "InvalidParameterValueException",
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' "
                "failed to satisfy constraint: Member must satisfy enum value set: "
                "[Event, RequestResponse, DryRun]",
            )
        self.check_payload(body, invocation_type)
        client_context = _decode_client_context(client_context_b64)
        config, invoked_arn = resolve()
        problem = tenancy.tenant_id_problem(config.tenant_isolation, tenant_id)
        if problem is not None:
            raise RequestRejected(400, tenancy.INVALID_TENANT_CODE, problem)
        if invocation_type == "DryRun":
            return ApiResponse(inv.STATUS_CODE["DryRun"], {}, b"")
        # The caller's X-Amzn-Trace-Id: an asynchronous event keeps it through the queue.
        request = self.new_request(config, invoked_arn, body, invocation_type, source="api", trace_header=trace_header)
        # API_Invoke.html: "Lambda passes the ClientContext object to your function for
        # synchronous invocations only" (it is still checked above, for every type).
        request.client_context = client_context if invocation_type == "RequestResponse" else None
        request.log_type = log_type
        request.tenant_id = tenant_id
        if invocation_type == "Event":
            self.async_queue.enqueue(request)
            return ApiResponse(inv.STATUS_CODE["Event"], {}, b"")
        try:
            record = self.run_sync(request)
        except RecursionStopped:
            raise RequestRejected(recursion.EXCEPTION_STATUS, recursion.EXCEPTION_CODE,
                                  recursion.EXCEPTION_MESSAGE) from None
        except Throttled as throttled:
            # invocation-retries.html: a throttled synchronous call fails with 429 and Lambda
            # does not retry it (rules/concurrency.py has the body).
            raise RequestRejected(
                cc.THROTTLE_STATUS, cc.THROTTLE_CODE, throttled.message, cc.throttle_body(throttled.reason)
            ) from None
        headers = {"X-Amz-Executed-Version": record.version, "Content-Type": "application/json"}
        if record.function_error:
            headers["X-Amz-Function-Error"] = record.function_error
        if log_type == "Tail" and self.log_tail is not None:
            log_result = self.log_tail(record.request_id, None)
            if log_result is not None:
                headers["X-Amz-Log-Result"] = log_result
        return ApiResponse(inv.STATUS_CODE["RequestResponse"], headers, record.payload)

    @staticmethod
    def check_payload(body: bytes, invocation_type: str) -> None:
        """Size quota, then JSON syntax (API_Invoke.html errors)."""
        if len(body) > inv.request_limit_bytes(invocation_type):
            raise RequestRejected(
                inv.REQUEST_TOO_LARGE_STATUS,
                inv.REQUEST_TOO_LARGE_CODE,
                inv.request_too_large_message(invocation_type, len(body)),
            )
        if body.strip():
            try:
                json.loads(body)
            except ValueError as e:
                raise RequestRejected(
                    400, "InvalidRequestContentException", inv.invalid_request_content_message(str(e))
                ) from None

    # -- building and running invocations -----------------------------------------------------
    def new_request(
        self, config: FunctionConfig, invoked_arn: str, body: bytes, invocation_type: str, *, source: str,
        trace_header: str | None = None, trace_links: tuple[str, ...] = (),
    ) -> InvocationRequest:
        """A request accepted now (at the clock's current time), with a fresh request id, in the
        trace of `trace_header` (the caller's X-Ray header) or a new one, sampled or not as
        Lambda decides (rules/tracing.py)."""
        now = self.clock.micros
        request_id = self.runtime.new_request_id()
        trace_id = self.runtime.new_trace_id(now)
        if self.tracing is not None:
            trace_id = self.tracing.accept(config.name, config.tracing_mode, trace_id, trace_header, now)
        # The chain of requests the invocation belongs to (loop detection, rules/recursion.py).
        lineage, _ = recursion.next_lineage(_lineage_of(trace_header), config.arn, source)
        trace_id = _with_lineage(trace_id, lineage)
        return InvocationRequest(
            request_id=request_id,
            config=config,
            invoked_arn=invoked_arn,
            payload=body,
            invocation_type=invocation_type,
            received_us=now,
            trace_id=trace_id,
            source=source,
            trace_links=trace_links,
        )

    def execute(self, request: InvocationRequest) -> InvocationRecord:
        """Run an invocation at the clock's current time and record it (time does not move).

        Raises `errors.Throttled` when no execution environment can be had; the refusal is
        kept in `throttles`, not in `history` (throttles are not invocations). Raises
        `errors.RecursionStopped` when loop detection stops it, kept in `recursion_stops`.
        """
        config = request.config
        place = recursion.parse_lineage(_lineage_of(request.trace_id)).get(recursion.function_key(config.arn), 1)
        if place > recursion.MAX_CHAIN_INVOCATIONS and recursion.stops(  # the setting is read past the limit only
                place, moto_state.recursive_loop(config.account_id, config.region, config.name)):
            self.recursion_stops.append(RecursionStop(
                at_us=self.clock.micros, function_name=config.name, version=config.version,
                invocation_type=request.invocation_type, source=request.source, place_in_chain=place,
                request_id=request.request_id))
            raise RecursionStopped(config.name, place, recursion.EXCEPTION_MESSAGE)
        try:
            record = self.runtime.execute(request)
        except Throttled as throttled:
            self.throttles.append(ThrottleRecord(
                at_us=self.clock.micros, function_name=request.config.name, version=request.config.version,
                invocation_type=request.invocation_type, source=request.source, reason=throttled.reason,
                limit=getattr(throttled, "limit", "account"), request_id=request.request_id))
            raise
        self.history.append(record)
        for listener in self.listeners:
            listener(request, record)
        return record

    def run_sync(self, request: InvocationRequest) -> InvocationRecord:
        """Run a synchronous invocation; the caller waits for it (see the module docstring)."""
        record = self.execute(request)
        frame = self.runtime.current_frame
        if frame is not None:
            frame.advance(record.total_us)
        elif not self.scheduler.dispatching:
            self._advance(record.total_us)
        return record

    def enqueue_async(
        self, config: FunctionConfig, invoked_arn: str, body: bytes, *, source: str, trace_header: str | None = None
    ) -> AsyncEvent:
        """Queue an asynchronous invocation that another service made (EventBridge, SNS, S3...)."""
        request = self.new_request(config, invoked_arn, body, "Event", source=source, trace_header=trace_header)
        return self.async_queue.enqueue(request)

    def enqueue_by_arn(self, account_id: str, function_arn: str, body: bytes, *, source: str,
                       trace_header: str | None = None) -> AsyncEvent:
        """`enqueue_async` for a function named by its ARN (a destination, an SNS subscription,
        an EventBridge target). Raises moto's ResourceNotFoundException for an unknown one."""
        config, arn = moto_state.resolve_function(account_id, function_arn.split(":")[3], function_arn, None)
        return self.enqueue_async(config, arn, body, source=source, trace_header=trace_header)


def _decode_client_context(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        decoded = json.loads(base64.b64decode(value))
    except (ValueError, binascii.Error):
        raise RequestRejected(
            400, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object."
        ) from None
    return decoded if isinstance(decoded, dict) else None
