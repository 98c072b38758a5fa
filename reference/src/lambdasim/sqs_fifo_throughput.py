"""Amazon SQS FIFO queues' throughput quotas, enforced on moto's queues on the virtual clock.

moto accepts every call however fast. The adapter (`_moto_patches.sqs`) asks this player about
each SendMessage(Batch), ReceiveMessage and DeleteMessage(Batch) call on a FIFO queue before moto
runs it; a refused call gets AWS's RequestThrottled (HTTP 400) and changes nothing (the rules and
their pages: `rules.sqs_fifo`):

- normal throughput: 300 transactions per second per queue and API action, a batch call one
  transaction (so 3,000 messages a second in batches of 10);
- high throughput (DeduplicationScope messageGroup + FifoThroughputLimit perMessageGroupId):
  the Region's quota per queue and API action (70,000 in us-east-1), and a send also takes one
  transaction per message group from that group's partition (300 a second).

Every caller's calls count: the driving code's, handler code's, EventBridge's SQS targets' and
the Lambda SQS pollers' (their ReceiveMessage and DeleteMessageBatch calls). `limits`
(`rules.sqs_fifo.SqsFifoLimits`, assignable; `enforce=False` turns the quotas off) sets them,
and every refused call is kept in `throttles` (`rules.throughput.RateThrottle`: service "sqs",
scope the quota's action, resource the queue's ARN, with ` MessageGroupId=<group>` for a
partition's quota), so a lesson can count them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .rules import sqs_fifo as rules
from .rules.throughput import RateLimit, RateThrottle, TokenBucket


@dataclass
class SqsFifoThroughput:
    """The quotas of every FIFO queue in the simulation, their buckets and their refusals."""

    now_us: Callable[[], int]
    limits: rules.SqsFifoLimits = field(default_factory=rules.SqsFifoLimits)
    throttles: list[RateThrottle] = field(default_factory=list)
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, repr=False)

    def admit(self, *, operation: str, queue_arn: str, high_throughput: bool,
              message_groups: Sequence[str] = ()) -> RateThrottle | None:
        """Take one transaction for `operation` on the queue (and, sending in high throughput
        mode, one from each message group's partition), all or nothing; the refusal (recorded)
        or None when admitted."""
        action = rules.QUOTA_ACTIONS.get(operation)
        if action is None or not self.limits.enforce:
            return None
        now = self.now_us()
        region = queue_arn.split(":")[3]
        wanted = [(queue_arn, self._bucket(f"{queue_arn} {action}",
                                           rules.queue_limit(self.limits, region, high_throughput)))]
        if high_throughput and action == "SendMessage":
            partition = rules.partition_limit(self.limits)
            wanted += [(f"{queue_arn} MessageGroupId={group}",
                        self._bucket(f"{queue_arn} {action} {group}", partition)) for group in message_groups]
        for resource, bucket in wanted:
            if bucket.available(now) < 1:
                refusal = RateThrottle(now, "sqs", action, resource, bucket.limit)
                self.throttles.append(refusal)
                return refusal
        for _, bucket in wanted:
            bucket.try_take(now)
        return None

    def _bucket(self, key: str, limit: RateLimit) -> TokenBucket:
        """The bucket of one quota (a new, full one when its limit changed)."""
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            bucket = self._buckets[key] = TokenBucket(limit)
        return bucket
