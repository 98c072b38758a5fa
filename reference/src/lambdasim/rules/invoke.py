"""Rules of the Lambda Invoke API.

Source: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html (request/response syntax,
status codes, errors) and https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
(payload quotas). The async limit rose from 256 KB to 1 MB on Oct 24 2025:
https://aws.amazon.com/about-aws/whats-new/2025/10/aws-lambda-payload-size-256-kb-1-mb-invocations/
"""

from __future__ import annotations

from typing import Final, Literal

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
INVOCATION_TYPES: Final = ("RequestResponse", "Event", "DryRun")

# API_Invoke.html, "StatusCode": 200 for RequestResponse, 202 for Event, 204 for DryRun.
STATUS_CODE: Final[dict[str, int]] = {"RequestResponse": 200, "Event": 202, "DryRun": 204}

# Invocation payload quotas (gettingstarted-limits.html; API_Invoke.html). "6 MB" is 6 MiB on
# the wire: AWS's own error message names 6291456 bytes.
SYNC_REQUEST_LIMIT_BYTES: Final = 6 * 1024 * 1024
# Asynchronous invocations: 1 MB since Oct 24 2025 (256 KB before).
ASYNC_REQUEST_LIMIT_BYTES: Final = 1024 * 1024
ASYNC_REQUEST_LIMIT_BYTES_BEFORE_2025_10_24: Final = 256 * 1024
# The deprecated InvokeAsync API keeps 256 KB:
# https://docs.aws.amazon.com/lambda/latest/api/API_InvokeAsync.html
INVOKE_ASYNC_API_LIMIT_BYTES: Final = 256 * 1024
# Synchronous response quota, 6 MB. The figure below is the one AWS prints in its
# Function.ResponseSizeTooLarge message (it is not 6291456; AWS's message says 6291556).
SYNC_RESPONSE_LIMIT_BYTES: Final = 6291556

# The HTTP status and error code AWS sends for an oversized request. botocore's model names the
# shape RequestTooLargeException, but the service answers with this code on the wire (observed
# in SDK tracebacks and raw responses: "X-Amzn-Errortype: RequestEntityTooLargeException").
REQUEST_TOO_LARGE_STATUS: Final = 413
REQUEST_TOO_LARGE_CODE: Final = "RequestEntityTooLargeException"


def request_limit_bytes(invocation_type: str) -> int:
    """The request payload quota for an invocation type (Event: async quota; else sync)."""
    return ASYNC_REQUEST_LIMIT_BYTES if invocation_type == "Event" else SYNC_REQUEST_LIMIT_BYTES


def request_too_large_message(invocation_type: str, size: int) -> str:
    """AWS's message for an oversized Invoke request.

    Sync (observed): "Request must be smaller than 6291456 bytes for the InvokeFunction
    operation". Async (observed with the old 262144 quota): "<n> byte payload is too large for
    the Event invocation type (limit <quota> bytes)".
    """
    if invocation_type == "Event":
        return (
            f"{size} byte payload is too large for the Event invocation type "
            f"(limit {ASYNC_REQUEST_LIMIT_BYTES} bytes)"
        )
    return f"Request must be smaller than {SYNC_REQUEST_LIMIT_BYTES} bytes for the InvokeFunction operation"


def invalid_request_content_message(detail: str) -> str:
    """InvalidRequestContentException (HTTP 400): the payload is not JSON (API_Invoke.html)."""
    return f"Could not parse request body into json: Could not parse payload into json: {detail}"


def billed_duration_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the nearest 1 ms (since Dec 2020).

    https://aws.amazon.com/blogs/aws/new-for-aws-lambda-1ms-billing-granularity-adds-cost-savings/
    The billing rules live in `rules.pricing` (with the INIT of a cold start, billed since
    Aug 1 2025: `pricing.billed_duration_ms(duration_ms, init_duration_ms)`).
    """
    from .pricing import billed_duration_ms as billed

    return billed(duration_ms)
