"""The metrics AWS services publish to CloudWatch that moto never produces: AWS/SQS, AWS/Events,
AWS/DynamoDB and AWS/Kinesis. Pure definitions and rules; `lambdasim.service_metrics` publishes
them on the virtual clock.

Sources, one per namespace (each metric below names its page):

- SQS, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html :
  namespace AWS/SQS, one dimension, QueueName. ApproximateNumberOfMessagesVisible (Count,
  "reported if the queue is active"), ApproximateNumberOfMessagesNotVisible (in flight: "reported
  if in-flight messages exist"), ApproximateNumberOfMessagesDelayed ("reported if delayed
  messages exist"), ApproximateAgeOfOldestMessage (Seconds, "reported if the queue contains at
  least one active message"), NumberOfMessagesSent, NumberOfMessagesReceived ("the number of
  messages returned by calls to the ReceiveMessage action"), NumberOfMessagesDeleted (every
  successful deletion with a valid receipt handle, "including duplicate deletions"),
  NumberOfEmptyReceives (ReceiveMessage calls that returned no message). "For some metrics, the
  result is approximate": the simulator's values are exact, and show no lag (see below).
  ApproximateAgeOfOldestMessage: "For standard queues, if a message is received three or more
  times and not deleted, SQS moves it to the back of the queue. The metric then reflects the age
  of the next message that hasn't exceeded the receive threshold ... Poison-pill messages ... are
  excluded from this metric until successfully processed"; "FIFO queues don't reorder messages";
  a message moved to a dead-letter queue: "the age resets ... the DLQ's metric reflects the time
  the message was moved".
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/monitoring-using-cloudwatch.html :
  metrics are "collected and pushed to CloudWatch at one-minute intervals"; a queue is active
  "for up to six hours" after it held messages or any action accessed it, and an inactive queue
  publishes nothing; metrics of a queue woken from inactivity can be delayed up to 15 minutes.
- EventBridge, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html :
  "EventBridge sends metrics to Amazon CloudWatch every minute"; namespace AWS/Events, unit
  Count, "Sum and SampleCount tend to be the most useful statistics"; "Metrics that specify only
  the RuleName dimension refer to the default event bus. Metrics that specify both the
  EventBusName and RuleName dimensions refer to a custom event bus." Invocations (dimensions
  None and RuleName; sent only when not zero), FailedInvocations (RuleName; only when not zero),
  DeadLetterInvocations, InvocationAttempts (None, RuleName), InvocationsSentToDlq,
  InvocationsFailedToBeSentToDlq, TriggeredRules ("rules that have run and matched with any
  event", RuleName), MatchedEvents ("events that matched with any rule", no dimension),
  ThrottledRules ("triggered rules that are being throttled", RuleName). Metrics are delivered
  "on a best-effort basis".
- DynamoDB, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html :
  ConsumedReadCapacityUnits / ConsumedWriteCapacityUnits (Count; dimensions TableName and
  TableName + GlobalSecondaryIndexName; aggregated "at one-minute intervals"; Sum is "the most
  useful statistic", SampleCount "the number of requests to DynamoDB that consumed" capacity,
  Minimum / Maximum the least and most "consumed by any individual request"); ReadThrottleEvents
  / WriteThrottleEvents (one per throttled event: a write to a table with indexes is one event
  per table and index; TableName alone "returns the WriteThrottleEvents for the table, but not
  for any global secondary indexes"); ThrottledRequests (dimensions TableName, Operation: one per
  request with any event throttled; a BatchWriteItem counts only "unless all of the individual
  PutItem or DeleteItem events are throttled"). The throttle metrics by reason,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TroubleshootingThrottling-cloudwatch.html :
  Read/WriteProvisionedThroughputThrottleEvents, Read/WriteKeyRangeThroughputThrottleEvents,
  Read/WriteAccountLimitThrottleEvents (one per reason DynamoDB's ThrottlingReasons name).
- Kinesis, https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html :
  stream-level ("basic") metrics every minute under StreamName: WriteProvisionedThroughputExceeded
  ("records rejected due to throttling"), ReadProvisionedThroughputExceeded ("GetRecords calls
  throttled"); IncomingRecords and IncomingBytes, which moto writes itself. Shard-level metrics
  are published only with enhanced monitoring.

Modelling choices (AWS documents no value): a minute's datum carries the minute's start as its
timestamp; a gauge (queue depth, age) is sampled once, at the end of its minute; counters are the
minute's exact counts. How SQS and Kinesis sample inside a minute is not documented: their
counters are one sample a minute (SampleCount 1). EventBridge and DynamoDB throttle counts are
one sample per event (SampleCount = Sum), as "Sum and SampleCount" being the useful statistics
implies. The approximate metrics' lag and the 15-minute delay of a woken queue are not modelled:
a minute's data is in CloudWatch as soon as the minute is over.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

PERIOD_S: Final = 60  # every namespace here publishes at one-minute intervals

SQS_METRICS_PAGE: Final = ("https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
                           "sqs-available-cloudwatch-metrics.html")
SQS_MONITORING_PAGE: Final = ("https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/"
                              "monitoring-using-cloudwatch.html")
EVENTS_METRICS_PAGE: Final = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html"
DYNAMODB_METRICS_PAGE: Final = ("https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                                "metrics-dimensions.html")
DYNAMODB_THROTTLING_PAGE: Final = ("https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
                                   "TroubleshootingThrottling-cloudwatch.html")
KINESIS_METRICS_PAGE: Final = "https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html"

SQS: Final = "AWS/SQS"
EVENTS: Final = "AWS/Events"
DYNAMODB: Final = "AWS/DynamoDB"
KINESIS: Final = "AWS/Kinesis"

Dims = tuple[tuple[str, str], ...]

# -- SQS ------------------------------------------------------------------------------------------
SQS_VISIBLE: Final = "ApproximateNumberOfMessagesVisible"
SQS_NOT_VISIBLE: Final = "ApproximateNumberOfMessagesNotVisible"
SQS_DELAYED: Final = "ApproximateNumberOfMessagesDelayed"
SQS_AGE_OF_OLDEST: Final = "ApproximateAgeOfOldestMessage"
# The actions the adapter counts on each queue, published as the minute's count.
SQS_COUNTERS: Final = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted",
                       "NumberOfEmptyReceives")
SQS_ACTIVE_FOR_S: Final = 6 * 3600
POISON_PILL_RECEIVES: Final = 3  # "received three or more times and not deleted" (standard queues)


def queue_dimensions(queue_name: str) -> Dims:
    return (("QueueName", queue_name),)


def queue_active(*, holds_messages: bool, last_activity_s: float | None, now_s: float) -> bool:
    """Whether CloudWatch counts a queue as active: it holds messages, or an action reached it
    within the last six hours (monitoring-using-cloudwatch.html)."""
    return holds_messages or (last_activity_s is not None and now_s - last_activity_s <= SQS_ACTIVE_FOR_S)


def age_of_oldest_message_s(messages: Iterable[tuple[float, int]], now_ms: float, *, fifo: bool) -> int | None:
    """ApproximateAgeOfOldestMessage, whole seconds, of a queue holding `messages`, each (ms it
    entered the queue, times it was received since): on a standard queue a message received
    three or more times is left out (a poison pill); None when no message counts (AWS then
    reports nothing)."""
    oldest = min((entered for entered, receives in messages if fifo or receives < POISON_PILL_RECEIVES),
                 default=None)
    return None if oldest is None else max(0, int((now_ms - oldest) // 1000))


# -- EventBridge ----------------------------------------------------------------------------------
EVENTS_ACCOUNT_WIDE: Final = frozenset({"Invocations", "InvocationAttempts", "MatchedEvents"})  # dimension "None"
MATCHED_EVENTS: Final = "MatchedEvents"
TRIGGERED_RULES: Final = "TriggeredRules"
INVOCATION_ATTEMPTS: Final = "InvocationAttempts"
THROTTLED_RULES: Final = "ThrottledRules"


def rule_dimensions(rule_arn: str) -> Dims:
    """RuleName for a rule of the default bus; EventBusName and RuleName for a custom bus's
    (`arn:aws:events:<region>:<account>:rule/[<bus>/]<name>`)."""
    path = rule_arn.split(":rule/", 1)[-1]
    bus, _, name = path.rpartition("/")
    if not bus or bus == "default":
        return (("RuleName", name),)
    return (("EventBusName", bus), ("RuleName", name))


# -- DynamoDB -------------------------------------------------------------------------------------
CONSUMED: Final = {"read": "ConsumedReadCapacityUnits", "write": "ConsumedWriteCapacityUnits"}
THROTTLE_EVENTS: Final = {"read": "ReadThrottleEvents", "write": "WriteThrottleEvents"}
THROTTLED_REQUESTS: Final = "ThrottledRequests"
# A batch request is throttled only when every item is; its refusals are per item, so the
# simulator does not know that here: ThrottledRequests is not published for these.
BATCH_OPERATIONS: Final = frozenset({"BatchWriteItem", "BatchGetItem"})
# ThrottlingReason's LimitType (API_ThrottlingReason.html) -> the metric's middle part.
_REASON_METRIC: Final = {
    "ProvisionedThroughputExceeded": "ProvisionedThroughputThrottleEvents",
    "KeyRangeThroughputExceeded": "KeyRangeThroughputThrottleEvents",
    "AccountLimitExceeded": "AccountLimitThrottleEvents",
}


def table_dimensions(table: str, index: str | None = None) -> Dims:
    return (("TableName", table),) if index is None else (("TableName", table), ("GlobalSecondaryIndexName", index))


def throttle_event_metrics(kind: str, reason: str) -> tuple[str, ...]:
    """The metrics one throttled event adds to: Read/WriteThrottleEvents and the one of its
    reason (`reason` is DynamoDB's ThrottlingReason, e.g. TableWriteKeyRangeThroughputExceeded)."""
    prefix = "Read" if kind == "read" else "Write"
    by_reason = next((f"{prefix}{metric}" for limit, metric in _REASON_METRIC.items() if reason.endswith(limit)), None)
    return (THROTTLE_EVENTS[kind],) if by_reason is None else (THROTTLE_EVENTS[kind], by_reason)


# -- Kinesis --------------------------------------------------------------------------------------
WRITE_THROTTLED: Final = "WriteProvisionedThroughputExceeded"
READ_THROTTLED: Final = "ReadProvisionedThroughputExceeded"


def stream_dimensions(stream_name: str) -> Dims:
    return (("StreamName", stream_name),)


# The unit of every metric published, by (namespace, name): CloudWatch stores it with the data.
UNITS: Final = {
    **{(SQS, name): "Count" for name in (SQS_VISIBLE, SQS_NOT_VISIBLE, SQS_DELAYED, *SQS_COUNTERS)},
    (SQS, SQS_AGE_OF_OLDEST): "Seconds",
}


def unit(namespace: str, metric: str) -> str:
    return UNITS.get((namespace, metric), "Count")
