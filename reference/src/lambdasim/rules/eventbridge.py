"""Rules of EventBridge rule targets: retry policy, target DLQ, which failures are retried, metrics.

Pure functions and constants. Sources:

- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html : a target
  has a RetryPolicy, MaximumRetryAttempts 0-185 and MaximumEventAgeInSeconds 60-86,400, by
  default 185 attempts and 24 hours, "with an exponential back off and jitter"; throttling and
  5xx errors are retried; errors such as a deleted resource or missing permissions are not.
  https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html : "for errors that
  result from missing permissions to a target, or if a target resource that no longer exists, no
  retry attempts will happen"; the event goes straight to the DLQ. A customer managed KMS key that
  is disabled or missing is such a non-retriable error too
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-encryption-event-bus-dlq.html).
  When the retries or the age run out the event is dropped, or sent to the target's dead-letter
  queue (an SQS queue, eb-rule-dlq.html) if it has one.
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html : the dead-lettered
  message is the event, with message attributes RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE,
  EXHAUSTED_RETRY_CONDITION (when a limit ran out) and RETRY_ATTEMPTS. ERROR_CODE is one of
  EventBridge's own codes; the page lists examples (THROTTLING, NO_RESOURCE, NO_PERMISSIONS,
  ERROR_FROM_TARGET, INTERNAL_ERROR, TIMEOUT, ...), without saying which failure gives which.
- Delivery is at least once (eb-what-is / the EventBridge FAQ): a target may get an event twice.
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-bus-to-bus.html : another event
  bus can be a rule's target; its rules then match the event; EventBridge "can't route events
  received from a sender event bus to a third event bus".
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html : the AWS/Events
  metrics of a rule's targets. Invocations counts target invocations that succeeded or failed
  permanently (not the attempts retried before); FailedInvocations those that failed permanently;
  InvocationAttempts every attempt; DeadLetterInvocations the times a target was not invoked,
  including invocations that would run the same rule again (an endless loop);
  InvocationsFailedToBeSentToDlq the events the dead-letter queue could not take;
  InvocationsSentToDlq, the ones it took, is named on eb-rule-dlq.html.

What EventBridge sees of a Lambda target (the model; see lambdasim/eventbridge.py): EventBridge
invokes the function asynchronously, so its delivery succeeds as soon as Lambda's Invoke API
accepts the event into the function's asynchronous queue (202). A function error, a timeout or a
lack of concurrency happen later, inside Lambda, and are handled by Lambda's own async retries,
event age and the function's destinations / DLQ (invocation-async-error-handling.html), never by
the target's RetryPolicy. EventBridge retries only when the Invoke call itself fails with a
throttle (429) or a 5xx; a missing function (404) or an oversized event (413) is not retried.

Every target type's delivery failure is described by the target service's error (HTTP status and
error code); `failure_status` reads the code where the status alone does not say what happened
(SQS answers a missing queue with 400 AWS.SimpleQueueService.NonExistentQueue, Kinesis with 400
ResourceNotFoundException): a missing resource counts as 404, missing permissions or a KMS key
problem as 403, a throttle as 429, so `retriable` and `dead_letter_error_code` treat every target
type the same way.

Modelling choices: the backoff doubles from 1 s to at most 300 s, each delay drawn uniformly in
[delay/2, delay] from a seeded generator (AWS documents "exponential back off and jitter", no
numbers); the event's age is checked when a retry is due; ERROR_CODE maps the Invoke API's
refusal onto the page's codes by their names (429 THROTTLING, 404 NO_RESOURCE, 403
NO_PERMISSIONS, anything else ERROR_FROM_TARGET) and ERROR_MESSAGE is the Lambda API's error
code and message.
"""

from __future__ import annotations

import json
import re
from random import Random
from typing import Any, Final

from jsonpath_ng.ext import parse as parse_json_path

from .throughput import RateLimit

DEFAULT_MAXIMUM_RETRY_ATTEMPTS: Final = 185
DEFAULT_MAXIMUM_EVENT_AGE_S: Final = 86_400
MAXIMUM_RETRY_ATTEMPTS_RANGE: Final = (0, 185)
MAXIMUM_EVENT_AGE_RANGE_S: Final = (60, 86_400)
BACKOFF_FIRST_S: Final = 1.0
BACKOFF_MAX_S: Final = 300.0
MAXIMUM_RETRY_ATTEMPTS: Final = "MaximumRetryAttempts"
MAXIMUM_EVENT_AGE: Final = "MaximumEventAgeInSeconds"


def value_at(event: dict[str, Any], path: str) -> Any:
    """The value at a target's JSON path in the event (InputPath, InputPathsMap, Kinesis's
    PartitionKeyPath: dot notation, array indices, wildcards; the first match), None if absent
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html)."""
    matches = parse_json_path(path).find(event)
    return matches[0].value if matches else None


# A variable's name, or (EventBridge Pipes' templates) a JSON path in place of one.
_PLACEHOLDER: Final = re.compile(r"<(\$[^<>\s]*|[A-Za-z0-9_.\-]+)>")


def transform_input(template: str, paths_map: dict[str, str], event: dict[str, Any], *,
                    rule_arn: str, rule_name: str, ingestion_time: str) -> str:
    """A target's input from its InputTransformer
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html and
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html).

    Each `<name>` of the template is replaced by the value InputPathsMap's JSON path reads from
    the event, or by a predefined variable: `aws.events.rule-arn`, `aws.events.rule-name`,
    `aws.events.event.ingestion-time` (when EventBridge received the event, ISO 8601),
    `aws.events.event` (the event without `detail`) and `aws.events.event.json` (the whole
    event). In a JSON object template a variable outside quotes is placed as JSON (a string
    gets its quotes) and one inside quotes as its text; in any other template every variable
    is placed as its text. Modelling choice (AWS documents none): a path that reads nothing
    gives null outside quotes and nothing inside them.
    """
    values = {name: value_at(event, path) for name, path in paths_map.items()}
    values |= {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": ingestion_time,
        "aws.events.event": {key: value for key, value in event.items() if key != "detail"},
        "aws.events.event.json": event,
    }
    return fill_template(template, values)


def template_variables(template: str) -> list[str]:
    """The names (or JSON paths) of the template's `<...>` variables."""
    return [placeholder.group(1) for placeholder in _PLACEHOLDER.finditer(template)]


def fill_template(template: str, values: dict[str, Any]) -> str:
    """Replace each `<name>` of the template that `values` has (see `transform_input`: as JSON
    outside quotes in a JSON object template, as text otherwise); others are left as written."""
    json_template = template.lstrip().startswith("{")
    pieces: list[str] = []
    position, in_string = 0, False
    for placeholder in _PLACEHOLDER.finditer(template):
        before = template[position:placeholder.start()]
        in_string = _in_string_after(before, in_string)
        name = placeholder.group(1)
        if name in values:
            as_text = in_string or not json_template
            pieces.append(before + (_text(values[name]) if as_text else json.dumps(values[name])))
        else:
            pieces.append(before + placeholder.group(0))
        position = placeholder.end()
    return "".join(pieces) + template[position:]


def _in_string_after(text: str, in_string: bool) -> bool:
    """Whether a JSON string literal is open after `text`, given whether one was before it."""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            in_string = not in_string
    return in_string


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def retry_policy(target: dict[str, Any]) -> tuple[int, int]:
    """(MaximumRetryAttempts, MaximumEventAgeInSeconds) of a target, with AWS's defaults."""
    policy = target.get("RetryPolicy") or {}
    attempts = policy.get("MaximumRetryAttempts")
    age = policy.get("MaximumEventAgeInSeconds")
    return (DEFAULT_MAXIMUM_RETRY_ATTEMPTS if attempts is None else int(attempts),
            DEFAULT_MAXIMUM_EVENT_AGE_S if age is None else int(age))


def retriable(status: int) -> bool:
    """Throttles and server errors are retried; other failures (404, 403, 413 ...) are not."""
    return status == 429 or status >= 500


MISSING_RESOURCE_MARKERS: Final = ("NotFound", "NonExistent", "DoesNotExist")
NO_PERMISSION_MARKERS: Final = ("AccessDenied", "AuthorizationError", "NotAuthorized", "KMS")
THROTTLE_MARKERS: Final = ("Throttl", "ProvisionedThroughputExceeded", "TooManyRequests", "RequestLimitExceeded")


def failure_status(code: str, status: int) -> int:
    """The status a target's failure counts as: 404 for a missing resource, 403 for missing
    permissions or a KMS key problem, 429 for a throttle, else the service's own status."""
    if any(marker in code for marker in MISSING_RESOURCE_MARKERS):
        return 404
    if any(marker in code for marker in NO_PERMISSION_MARKERS):
        return 403
    if any(marker in code for marker in THROTTLE_MARKERS):
        return 429
    return status


def backoff_s(retry: int, rng: Random | None = None) -> float:
    """Delay before the `retry`-th retry (1-based): 1, 2, 4 ... 300 s, jittered when `rng` is given."""
    delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (retry - 1))
    return delay if rng is None else rng.uniform(delay / 2, delay)


DEAD_LETTER_ERROR_CODES: Final = {429: "THROTTLING", 404: "NO_RESOURCE", 403: "NO_PERMISSIONS"}


def dead_letter_error_code(status: int) -> str:
    """EventBridge's ERROR_CODE for a target whose delivery failed with `status`."""
    return DEAD_LETTER_ERROR_CODES.get(status, "ERROR_FROM_TARGET")


def dead_letter_attributes(*, rule_arn: str, target_arn: str, error_code: str, error_message: str,
                           exhausted: str | None, retry_attempts: int) -> dict[str, dict[str, str]]:
    """The SQS message attributes of a dead-lettered event (eb-rule-dlq.html)."""
    attributes = {
        "RULE_ARN": rule_arn,
        "TARGET_ARN": target_arn,
        "ERROR_CODE": error_code,
        "ERROR_MESSAGE": error_message[:1024],
    }
    if exhausted:
        attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
    attributes["RETRY_ATTEMPTS"] = str(retry_attempts)
    return {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}


# What each final state of one event for one target adds to the rule's AWS/Events metrics
# (eb-monitoring.html); every attempt also adds one InvocationAttempts.
METRICS_OF_STATE: Final = {
    "delivered": ("Invocations",),
    "recorded": ("Invocations",),
    "dead-lettered": ("Invocations", "FailedInvocations", "InvocationsSentToDlq"),
    "dead-letter-failed": ("Invocations", "FailedInvocations", "InvocationsFailedToBeSentToDlq"),
    "dropped": ("Invocations", "FailedInvocations"),
    "not-routed": ("DeadLetterInvocations",),
}


# -- Throughput quotas (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html) --
# "PutEvents throttle limit in transactions per second", per account and Region (adjustable):
# the values of the Regions the simulator's copy of the page shows; in another Region the
# simulator enforces none unless one is set (`sim.eventbridge.put_events_limit`).
PUT_EVENTS_TPS: Final = {"us-east-1": 10_000, "us-east-2": 2_400}
# "Invocations throttle limit in transactions per second": "An invocation is an event matching a
# rule and being sent on to the rule's targets. After the limit is reached, invocations are
# throttled; that is, they still happen but they are delayed."
INVOCATIONS_TPS: Final = {
    "us-east-1": 18_750, "us-east-2": 4_500, "us-west-1": 2_250, "us-west-2": 18_750, "af-south-1": 750,
    "ap-northeast-1": 2_250, "ap-northeast-3": 750, "ap-southeast-1": 2_250, "ap-southeast-2": 2_250,
    "ap-southeast-3": 750, "eu-central-1": 4_500, "eu-south-1": 750, "eu-west-1": 18_750, "eu-west-2": 2_250}
INVOCATIONS_TPS_OTHER_REGIONS: Final = 1_100
# A throttled request: HTTP 400 ThrottlingException, "The request was denied due to request
# throttling" (https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html);
# the message is the one AWS's JSON APIs send with it (the page gives none).
THROTTLING_CODE: Final = "ThrottlingException"
THROTTLING_MESSAGE: Final = "Rate exceeded"
# eb-monitoring.html: "ThrottledRules: The number of triggered rules that are being throttled."
THROTTLED_RULES: Final = "ThrottledRules"


def put_events_limit(region: str) -> RateLimit | None:
    """The PutEvents quota of `region` as a bucket holding one second of it (the page names no
    burst); None where the simulator does not know the Region's value."""
    tps = PUT_EVENTS_TPS.get(region)
    return None if tps is None else RateLimit.per_second(tps)


def invocations_limit(region: str) -> RateLimit:
    """The target invocation quota of `region`, as a bucket holding one second of it."""
    return RateLimit.per_second(INVOCATIONS_TPS.get(region, INVOCATIONS_TPS_OTHER_REGIONS))
