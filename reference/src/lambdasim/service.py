"""The Lambda service front door: the Invoke API as AWS answers it.

`_moto_patches` routes moto's Invoke handler here, so `boto3.client("lambda").invoke(...)`
behaves as on AWS (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):

- RequestResponse: runs the handler now; 200 with the result, or 200 with
  `X-Amz-Function-Error: Unhandled` and the error document.
- Event: checks and queues the event (202); it runs when the virtual clock moves.
- DryRun: checks the function and the request (204); nothing runs.
- Unknown function: 404 ResourceNotFoundException (moto's error). Oversized payload: 413
  RequestEntityTooLargeException. A payload that is not JSON: 400 InvalidRequestContentException.

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

from .async_queue import AsyncEvent, AsyncInvocationQueue
from .clock import Scheduler, VirtualClock
from .functions import FunctionConfig
from .rules import invoke as inv
from .runtime import InvocationRecord, InvocationRequest, Runtime


@dataclass(frozen=True)
class ApiResponse:
    """An HTTP response of the Invoke API."""

    status: int
    headers: dict[str, str]
    body: bytes


class RequestRejected(Exception):
    """The Invoke request fails before anything runs (AWS answers with an HTTP error)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


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
    ):
        self.clock = clock
        self.scheduler = scheduler
        self.runtime = runtime
        self._advance = advance
        self.history = history
        self.async_queue = AsyncInvocationQueue(scheduler, self.execute)

    # -- the API ----------------------------------------------------------------------------
    def invoke_api(
        self,
        resolve: Callable[[], tuple[FunctionConfig, str]],
        body: bytes,
        invocation_type: str,
        client_context_b64: str | None = None,
    ) -> ApiResponse:
        """Answer one Invoke call. Raises `RequestRejected`.

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
        if invocation_type == "DryRun":
            return ApiResponse(inv.STATUS_CODE["DryRun"], {}, b"")
        request = self.new_request(config, invoked_arn, body, invocation_type, source="api")
        request.client_context = client_context
        if invocation_type == "Event":
            self.async_queue.enqueue(request)
            return ApiResponse(inv.STATUS_CODE["Event"], {}, b"")
        record = self.run_sync(request)
        headers = {"X-Amz-Executed-Version": record.version, "Content-Type": "application/json"}
        if record.function_error:
            headers["X-Amz-Function-Error"] = record.function_error
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
        self, config: FunctionConfig, invoked_arn: str, body: bytes, invocation_type: str, *, source: str
    ) -> InvocationRequest:
        """A request accepted now (at the clock's current time), with a fresh request id."""
        now = self.clock.micros
        return InvocationRequest(
            request_id=self.runtime.new_request_id(),
            config=config,
            invoked_arn=invoked_arn,
            payload=body,
            invocation_type=invocation_type,
            received_us=now,
            trace_id=self.runtime.new_trace_id(now),
            source=source,
        )

    def execute(self, request: InvocationRequest) -> InvocationRecord:
        """Run an invocation at the clock's current time and record it (time does not move)."""
        record = self.runtime.execute(request)
        self.history.append(record)
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
        self, config: FunctionConfig, invoked_arn: str, body: bytes, *, source: str
    ) -> AsyncEvent:
        """Queue an asynchronous invocation that another service made (EventBridge, SNS, S3...)."""
        request = self.new_request(config, invoked_arn, body, "Event", source=source)
        return self.async_queue.enqueue(request)


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
