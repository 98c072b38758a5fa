"""Amazon SQS FIFO queues' throughput quotas: what a queue (and, in high throughput mode, a
message group's partition) accepts per second and per API action, and the error a refused
request gets.

Pure: no moto, no boto3, no clock of its own. The simulator's `sqs_fifo_throughput.SqsFifoThroughput`
enforces these rules on moto's FIFO queues with `rules.throughput.TokenBucket`; standard queues
have no such quota ("a very high, nearly unlimited number of API calls per second").

Sources:

- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html :
  "Each partition in a FIFO queue is limited to 300 transactions per second, per API action
  (SendMessage, ReceiveMessage, and DeleteMessage). This limit applies specifically to non-high
  throughput mode"; with batching, "up to 3,000 messages per second, per API action ... The
  3,000 messages per second represent 300 API calls, each with a batch of 10 messages". High
  throughput mode, per API action, non-batched calls: "US East (N. Virginia), US West (Oregon),
  and Europe (Ireland): Up to 70,000 transactions per second (TPS)"; US East (Ohio) and Europe
  (Frankfurt) 19,000; Asia Pacific (Mumbai, Singapore, Sydney, Tokyo) 9,000; Europe (London) and
  South America (São Paulo) 4,500; "All other AWS Regions: Default throughput of 2,400 TPS";
  batched calls carry up to 10 messages each (700,000 ... 24,000 messages per second).
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/troubleshooting-fifo-throttling-issues.html :
  "By default, FIFO queues support 300 transactions per second, per API action for SendMessage,
  ReceiveMessage, and DeleteMessage. Requests over 300 TPS get the ThrottlingException error";
  SendMessageBatch and DeleteMessageBatch raise it to 3,000 messages per second per API action.
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html :
  a FIFO queue's data is in partitions; a message's group ID, hashed, picks its partition; "Each
  partition supports up to 3,000 messages per second with batching, or up to 300 messages per
  second for send, receive, and delete operations"; partitions are added as the request rate
  approaches what the existing ones support, "until the queue reaches the regional quota"; in a
  batch, "messages that are routed to the same partition are grouped and processed in a single
  transaction", each group counting against its partition's quota.
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
  (and API_CreateQueue.html): high throughput is DeduplicationScope `messageGroup` with
  FifoThroughputLimit `perMessageGroupId`; "If you set these attributes to anything other than
  the values shown for enabling high throughput, normal throughput is in effect".
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
  (and API_ReceiveMessage.html, API_DeleteMessage.html, the batch actions): "RequestThrottled:
  The request was denied due to request throttling. Exceeds the permitted request rate for the
  queue or for the recipient of the request ... HTTP Status Code: 400".

Modelled where AWS is silent or its pages disagree (listed in the manual's fidelity table):

- the refusal is RequestThrottled, HTTP 400 (the API reference of every action), not the
  troubleshooting page's ThrottlingException;
- each quota is a token bucket holding one second of its rate (no burst is documented), so 300
  calls at one virtual instant pass and the 301st is refused;
- a batch call is one transaction of its action (SendMessageBatch counts with SendMessage,
  DeleteMessageBatch with DeleteMessage), as the pages' "300 API calls, each with a batch of 10";
- in high throughput mode the queue takes the Region's rate per action, and each message group
  of a SendMessage(Batch) also takes one transaction from its partition's 300 a second, a
  partition of its own (the partition count and the hash are not published, and AWS adds
  partitions as traffic grows): so a hot message group is refused while the queue is far under
  its quota; which partitions a receive or a delete touches is not said, so they count per
  queue only;
- ChangeMessageVisibility is not counted (the quota page names SendMessage, ReceiveMessage and
  DeleteMessage).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from .throughput import RateLimit

TRANSACTIONS_PER_S: Final = 300  # quotas-messages.html: per API action, non-high throughput
PARTITION_TRANSACTIONS_PER_S: Final = 300  # high-throughput-fifo.html: per partition
MAX_MESSAGES_PER_BATCH: Final = 10  # quotas-messages.html: "a maximum of 10 messages"

# quotas-messages.html, high throughput mode, per API action (non-batched calls).
HIGH_THROUGHPUT_TPS: Final = {
    "us-east-1": 70_000, "us-west-2": 70_000, "eu-west-1": 70_000,
    "us-east-2": 19_000, "eu-central-1": 19_000,
    "ap-south-1": 9_000, "ap-southeast-1": 9_000, "ap-southeast-2": 9_000, "ap-northeast-1": 9_000,
    "eu-west-2": 4_500, "sa-east-1": 4_500,
}
HIGH_THROUGHPUT_TPS_OTHER_REGIONS: Final = 2_400

# The quota each counted API action takes from (a batch counts with its single-message action).
QUOTA_ACTIONS: Final = {
    "SendMessage": "SendMessage", "SendMessageBatch": "SendMessage",
    "ReceiveMessage": "ReceiveMessage",
    "DeleteMessage": "DeleteMessage", "DeleteMessageBatch": "DeleteMessage",
}

THROTTLED_CODE: Final = "RequestThrottled"
THROTTLED_STATUS: Final = 400
THROTTLED_MESSAGE: Final = "The request was denied due to request throttling."


@dataclass(frozen=True)
class SqsFifoLimits:
    """The FIFO quotas the simulator enforces, AWS's defaults unless changed; `enforce=False`
    turns them off (moto's own behaviour: no queue ever refuses)."""

    transactions_per_s: float = TRANSACTIONS_PER_S  # per queue and API action, normal throughput
    high_throughput_tps: float | None = None  # per queue and API action; None: the Region's value
    partition_transactions_per_s: float = PARTITION_TRANSACTIONS_PER_S  # per message group (high throughput)
    enforce: bool = True

    def __post_init__(self) -> None:
        for name in ("transactions_per_s", "high_throughput_tps", "partition_transactions_per_s"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be above 0, got {value}")


def is_high_throughput(deduplication_scope: str | None, fifo_throughput_limit: str | None) -> bool:
    """Both attributes set for high throughput (API_SetQueueAttributes.html); anything else is
    normal throughput."""
    return deduplication_scope == "messageGroup" and fifo_throughput_limit == "perMessageGroupId"


def high_throughput_tps(region: str) -> int:
    """The Region's high throughput quota per API action (quotas-messages.html)."""
    return HIGH_THROUGHPUT_TPS.get(region, HIGH_THROUGHPUT_TPS_OTHER_REGIONS)


def queue_limit(limits: SqsFifoLimits, region: str, high_throughput: bool) -> RateLimit:
    """A queue's quota for one API action, as a bucket holding one second of it."""
    if not high_throughput:
        return RateLimit.per_second(limits.transactions_per_s)
    tps = limits.high_throughput_tps if limits.high_throughput_tps is not None else high_throughput_tps(region)
    return RateLimit.per_second(tps)


def partition_limit(limits: SqsFifoLimits) -> RateLimit:
    """A message group's partition quota for one API action (high throughput mode)."""
    return RateLimit.per_second(limits.partition_transactions_per_s)


def message_groups(group_ids: Iterable[str | None]) -> list[str]:
    """The distinct message groups of a send, in order: each is one transaction of its
    partition (a batch's messages of one group are processed together)."""
    return list(dict.fromkeys(g for g in group_ids if g is not None))
