"""Lambda's recursive loop detection, as pure functions.

https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html ("Use Lambda recursive
loop detection to prevent infinite loops"): Lambda tracks the chain of requests an event starts
through the X-Ray trace header (`Lineage`), which supported AWS SDKs update when a function sends
an event on; active tracing is not needed. "If your function is invoked approximately 16 times in
the same chain of requests, then Lambda automatically stops the next function invocation in that
request chain and notifies you"; the RecursiveInvocationsDropped metric counts invocations stopped
because the function "has been invoked more than approximately 16 times in a single chain of
requests" (both on the page): the simulator stops the 17th. Loops are detected between Lambda functions (synchronous or
asynchronous Invoke), Amazon SQS, Amazon S3 and Amazon SNS; a loop through another service (for
instance DynamoDB or EventBridge) is not. A function's RecursiveLoop setting is `Terminate` by
default; `Allow` lets it run in a loop
(https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionRecursionConfig.html). A stopped
synchronous invocation fails with RecursiveInvocationException, HTTP 400
(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html); the event of a stopped
invocation goes to the function's on-failure destination or dead-letter queue, if configured; an
SQS event source mapping gets RecursiveInvocationException, so the message's receive count grows
and it is retried (and stopped again) until the queue's redrive policy moves it to its DLQ (the
page again); each stop counts in the RecursiveInvocationsDropped metric, not emitted for a
function set to Allow (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).

Modelled where AWS is silent: the encoding of `Lineage` (AWS does not document it; here one
`<8 hex digits of the function's ARN>:<invocations so far>` entry per function, joined by `|`);
"approximately 16" read as exactly 16; the asynchronous invocation record's condition for a stopped event
(`RecursiveInvocationException`). The chain travels in the trace header as AWS passes it on:
Invoke's X-Amzn-Trace-Id, SQS's AWSTraceHeader, SNS's deliveries to Lambda and SQS subscribers
(https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sns.html) and S3's event
notifications to Lambda, SQS and SNS
(https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html), so Lambda/SNS,
Lambda/S3 and loops through a queue they feed are stopped alike.
"""

from __future__ import annotations

import hashlib
from typing import Final

MAX_CHAIN_INVOCATIONS: Final = 16
TERMINATE: Final = "Terminate"
ALLOW: Final = "Allow"
RECURSIVE_LOOP_VALUES: Final = (ALLOW, TERMINATE)
DEFAULT_RECURSIVE_LOOP: Final = TERMINATE
LINEAGE_FIELD: Final = "Lineage"

#: The simulator's invocation sources that carry the chain (Invoke, SQS, SNS, S3).
CHAIN_SOURCES: Final = frozenset({"api", "invoke-async", "sqs", "sns", "s3"})

EXCEPTION_CODE: Final = "RecursiveInvocationException"
EXCEPTION_STATUS: Final = 400
EXCEPTION_MESSAGE: Final = ("Lambda has detected your function being invoked in a recursive loop with other "
                            "AWS resources and stopped your function's invocation.")
STOPPED_CONDITION: Final = "RecursiveInvocationException"  # modelled: the async record's condition


def function_key(function_arn: str) -> str:
    """A function's entry in the lineage: 8 hex digits of its unqualified ARN."""
    return hashlib.sha256(":".join(function_arn.split(":")[:7]).encode()).hexdigest()[:8]


def parse_lineage(value: str | None) -> dict[str, int]:
    """`key:count|key:count` -> {key: count}; anything unreadable counts as no lineage."""
    found: dict[str, int] = {}
    for entry in (value or "").split("|"):
        key, _, count = entry.partition(":")
        if key and count.isdigit():
            found[key] = int(count)
    return found


def format_lineage(lineage: dict[str, int]) -> str:
    return "|".join(f"{key}:{count}" for key, count in lineage.items())


def next_lineage(upstream: str | None, function_arn: str, source: str) -> tuple[dict[str, int], int]:
    """The lineage an invocation carries and its place in the chain (1 for the first). A source
    outside loop detection's services starts a new chain."""
    lineage = parse_lineage(upstream) if source in CHAIN_SOURCES else {}
    key = function_key(function_arn)
    lineage[key] = lineage.get(key, 0) + 1
    return lineage, lineage[key]


def stops(place_in_chain: int, recursive_loop: str) -> bool:
    """Whether Lambda stops an invocation at this place of its chain."""
    return recursive_loop != ALLOW and place_in_chain > MAX_CHAIN_INVOCATIONS
