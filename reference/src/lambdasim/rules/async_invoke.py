"""Rules of asynchronous invocation: retries, event age, destinations and the dead-letter queue.

Pure functions and constants (no moto, no clock), so a capacity model can replay the same
schedule without the simulator. Sources:

- https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html : function
  errors (errors the code raises, runtime errors, timeouts) are retried twice by default,
  "waiting at least one minute" before the first retry and two minutes before the second;
  throttles (429) and system errors (500-series) return the event to the queue, retried for up
  to 6 hours with an interval that "increases exponentially from 1 second after the first
  attempt to a maximum of 5 minutes". An event that expires or fails all attempts is discarded.
- https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html and
  https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html :
  MaximumRetryAttempts 0-2, MaximumEventAgeInSeconds 60-21600; configured on a function
  ($LATEST), a version or an alias.
- https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html : the
  invocation record (version "1.0", timestamp, requestContext, requestPayload, responseContext,
  responsePayload); how each destination type receives it; S3 (on failure only) object names
  `aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`; the
  dead-letter queue gets the event as-is with the attributes RequestID (String), ErrorCode
  (Number, the HTTP status code) and ErrorMessage (String, the first 1 KB); reserved
  concurrency 0 sends new events to the DLQ / on-failure destination without retries.
- https://docs.aws.amazon.com/lambda/latest/api/API_OnFailure.html ,
  https://docs.aws.amazon.com/lambda/latest/api/API_OnSuccess.html : destination types.

Modelling choices (AWS documents a lower bound or nothing):

- The function-error retry delays are exactly 60 s and 120 s, counted from the end of the
  failed attempt ("at least one minute" on AWS, so real retries come a little later).
- The throttle backoff doubles from 1 s (1, 2, 4, ... 256, then 300 s); `jitter` draws each
  delay uniformly from [delay/2, delay] with a seeded generator, to break up herds of events
  throttled at the same instant. AWS's "increases the retry interval ... if the queue contains
  many entries" is not modelled.
- An event is checked for age when the queue would hand it to the function (first attempt or
  retry): older than MaximumEventAgeInSeconds, it is discarded then with EventAgeExceeded.
- `approximateInvokeCount` counts every attempt Lambda made to run the event, throttled ones
  included (so a record is never sent with 0).
- When the function never ran (throttled until the event expired, or reserved concurrency 0)
  AWS documents no responseContext: the simulator sends statusCode 429 and the throttle as
  `{"errorMessage", "errorType": "TooManyRequestsException"}`; the DLQ's ErrorCode is 429.
- EventBridge destination `source`: the current retain-records page says `aws.lambda`; the
  page until 2023, the CDK docs and the events AWS delivers (captured in public code and
  blog posts, with rules matching `"source": ["lambda"]`) say `lambda`, which is used here
  (`EVENTBRIDGE_SOURCE`). `resources` is [event bus ARN, qualified function ARN], as in
  captured events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from random import Random
from typing import Any, Final, Literal

# -- configuration (API_PutFunctionEventInvokeConfig.html) -------------------------------------
DEFAULT_MAXIMUM_RETRY_ATTEMPTS: Final = 2
MAXIMUM_RETRY_ATTEMPTS_RANGE: Final = (0, 2)
DEFAULT_MAXIMUM_EVENT_AGE_S: Final = 21_600  # 6 hours
MAXIMUM_EVENT_AGE_RANGE_S: Final = (60, 21_600)

# -- retry schedule (invocation-async-error-handling.html) -------------------------------------
FUNCTION_ERROR_RETRY_DELAYS_S: Final = (60, 120)
THROTTLE_BACKOFF_FIRST_S: Final = 1
THROTTLE_BACKOFF_MAX_S: Final = 300

# -- invocation record (invocation-async-retain-records.html) ----------------------------------
RECORD_VERSION: Final = "1.0"
Condition = Literal["Success", "RetriesExhausted", "EventAgeExceeded"]
SUCCESS: Final = "Success"
RETRIES_EXHAUSTED: Final = "RetriesExhausted"
EVENT_AGE_EXCEEDED: Final = "EventAgeExceeded"
# Not one of AWS's record conditions (no record is sent): the simulator's name for an event
# whose function was deleted before it ran (API_DeleteFunction.html: the function is gone).
FUNCTION_DELETED: Final = "FunctionDeleted"
EVENTBRIDGE_SOURCE: Final = "lambda"
EVENTBRIDGE_DETAIL_TYPE: Final[dict[bool, str]] = {
    True: "Lambda Function Invocation Result - Success",
    False: "Lambda Function Invocation Result - Failure",
}
S3_KEY_PREFIX: Final = "aws/lambda/async"

# -- dead-letter queue -------------------------------------------------------------------------
DLQ_ERROR_MESSAGE_LIMIT_BYTES: Final = 1024
THROTTLE_STATUS: Final = 429
THROTTLE_ERROR_TYPE: Final = "TooManyRequestsException"

# Destination types by the service in the ARN (API_OnSuccess.html / API_OnFailure.html).
DESTINATION_SERVICES: Final = ("sqs", "sns", "lambda", "events", "s3")
ON_FAILURE_ONLY_SERVICES: Final = ("s3",)
DEAD_LETTER_SERVICES: Final = ("sqs", "sns")


@dataclass(frozen=True)
class AsyncSettings:
    """What governs one event: the event invoke config of the qualifier it was invoked with,
    and the function's dead-letter queue (a function-level setting: versions use $LATEST's)."""

    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_s: int = DEFAULT_MAXIMUM_EVENT_AGE_S
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter_target: str | None = None

    @classmethod
    def from_api(
        cls, event_invoke_config: dict[str, Any] | None, dead_letter_config: dict[str, Any] | None = None
    ) -> AsyncSettings:
        """From GetFunctionEventInvokeConfig's answer (None: not configured) and the function's
        `DeadLetterConfig`. Settings left out of the config take their defaults."""
        eic = event_invoke_config or {}
        destinations = eic.get("DestinationConfig") or {}
        retries = eic.get("MaximumRetryAttempts")
        age = eic.get("MaximumEventAgeInSeconds")
        return cls(
            maximum_retry_attempts=DEFAULT_MAXIMUM_RETRY_ATTEMPTS if retries is None else int(retries),
            maximum_event_age_s=DEFAULT_MAXIMUM_EVENT_AGE_S if age is None else int(age),
            on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
            on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
            dead_letter_target=(dead_letter_config or {}).get("TargetArn") or None,
        )


# -- the schedule ------------------------------------------------------------------------------


def function_error_retry_delay_s(retry: int) -> int:
    """Delay before retry number `retry` (1 or 2) after a function error, in seconds."""
    if not 1 <= retry <= len(FUNCTION_ERROR_RETRY_DELAYS_S):
        raise ValueError(f"asynchronous invocation retries a function error at most twice, not {retry}")
    return FUNCTION_ERROR_RETRY_DELAYS_S[retry - 1]


def throttle_retry_delay_s(throttles: int, rng: Random | None = None) -> float:
    """Delay before the next try after the `throttles`-th throttle (1-based): 1, 2, 4, ... up
    to 300 s. With `rng`, drawn uniformly from [delay/2, delay] (modelled jitter)."""
    if throttles < 1:
        raise ValueError("throttles counts from 1")
    delay = min(THROTTLE_BACKOFF_MAX_S, THROTTLE_BACKOFF_FIRST_S * 2 ** min(throttles - 1, 30))
    return delay if rng is None else rng.uniform(delay / 2, delay)


def event_expired(age_s: float, maximum_event_age_s: int) -> bool:
    """True if an event of this age is discarded instead of run (older than the maximum age)."""
    return age_s > maximum_event_age_s


def retries_left(settings: AsyncSettings, function_errors: int) -> bool:
    """True if the event is retried after its `function_errors`-th function error."""
    return function_errors <= settings.maximum_retry_attempts


def reserved_concurrency_zero_discards(reason: str, reserved_concurrency: int | None) -> bool:
    """invocation-async-retain-records.html: with reserved concurrency 0 an asynchronous event
    goes to the DLQ / on-failure destination at once, without retries."""
    return reserved_concurrency == 0 and reason.startswith("Reserved")


# -- the invocation record and what each destination receives -----------------------------------


def qualified_function_arn(invoked_arn: str, unqualified_arn: str) -> str:
    """`requestContext.functionArn`: the ARN the event was invoked with, qualified ($LATEST
    when the caller gave no qualifier), as in AWS's example records."""
    if invoked_arn != unqualified_arn and invoked_arn.startswith(unqualified_arn + ":"):
        return invoked_arn
    return f"{unqualified_arn}:$LATEST"


def timestamp(at: datetime) -> str:
    """The record's `timestamp`: ISO 8601 UTC with milliseconds, e.g. 2019-11-14T18:16:05.568Z."""
    at = at.astimezone(timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def invocation_record(
    *,
    at: datetime,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    request_payload: Any,
    status_code: int,
    executed_version: str | None,
    function_error: str | None,
    response_payload: Any,
) -> dict[str, Any]:
    """The invocation record, keys in AWS's order (invocation-async-retain-records.html)."""
    response_context: dict[str, Any] = {"statusCode": status_code}
    if executed_version is not None:
        response_context["executedVersion"] = executed_version
    if function_error is not None:
        response_context["functionError"] = function_error
    return {
        "version": RECORD_VERSION,
        "timestamp": timestamp(at),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": request_payload,
        "responseContext": response_context,
        "responsePayload": response_payload,
    }


def throttle_response(message: str) -> dict[str, str]:
    """responsePayload of a record whose event never ran (modelled; see the module docstring)."""
    return {"errorMessage": message, "errorType": THROTTLE_ERROR_TYPE}


def record_json(record: dict[str, Any]) -> str:
    """The record as the destination receives it: compact JSON."""
    return json.dumps(record, separators=(",", ":"))


def eventbridge_entry(record: dict[str, Any], bus_arn: str) -> dict[str, Any]:
    """The PutEvents entry Lambda sends to an event bus destination: the record is the
    `detail`, source `lambda`, detail-type by outcome, resources [bus, function]."""
    succeeded = record["requestContext"]["condition"] == SUCCESS
    return {
        "Source": EVENTBRIDGE_SOURCE,
        "DetailType": EVENTBRIDGE_DETAIL_TYPE[succeeded],
        "Detail": record_json(record),
        "Resources": [bus_arn, record["requestContext"]["functionArn"]],
        "EventBusName": bus_arn,
    }


def s3_object_key(function_name: str, at: datetime, random_uuid: str) -> str:
    """`aws/lambda/async/<function-name>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`."""
    at = at.astimezone(timezone.utc)
    return f"{S3_KEY_PREFIX}/{function_name}/{at:%Y/%m/%d}/{at:%Y-%m-%dT%H.%M.%S}-{random_uuid}"


def dead_letter_attributes(request_id: str, error_code: int, error_message: str) -> dict[str, dict[str, str]]:
    """The message attributes of a dead-letter message, in SQS/SNS MessageAttributes form."""
    message = error_message.encode("utf-8")[:DLQ_ERROR_MESSAGE_LIMIT_BYTES].decode("utf-8", "ignore")
    return {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": str(error_code)},
        "ErrorMessage": {"DataType": "String", "StringValue": message},
    }


def destination_service(arn: str) -> str:
    """The service of a destination ARN ("sqs", "sns", "lambda", "events", "s3"), or ""."""
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""


def destination_problem(arn: str, *, on_failure: bool) -> str | None:
    """Why AWS would refuse this destination in PutFunctionEventInvokeConfig, or None."""
    service = destination_service(arn)
    if service not in DESTINATION_SERVICES:
        return f"The destination ARN {arn} is invalid."
    if service in ON_FAILURE_ONLY_SERVICES and not on_failure:
        return "S3 destinations are not supported for OnSuccess. Use another destination type."
    return None
