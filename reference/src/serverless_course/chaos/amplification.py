"""Retry amplification: what poison messages cost a processor, measured and by the formula.

``measure(report)`` reads a chaos run (``run_chaos`` with a ``ChaosMix`` of poison only) back
from the poller's batches: invocations, records handed to the handler (a redelivered record
counts each time), valid messages that ended in the DLQ, and the virtual time until the queue
was empty. ``whole_batch_expectation`` is the arithmetic for a processor that fails its whole
batch on one poison message, when the batches keep their members through the retries (a burst
sent at once to an idle queue: a failed batch's messages become visible again together):

* a batch of ``B`` messages holds at least one poison message with probability
  ``q = 1 - (1 - p) ** B`` (``p`` the poison share); such a batch fails on each of its
  ``maxReceiveCount`` (``R``) receives, then SQS moves all of it to the DLQ;
* so each message is handed to the handler ``1 + q * (R - 1)`` times on average, and a valid
  message ends in the DLQ when one of its ``B - 1`` batch-mates is poison:
  ``1 - (1 - p) ** (B - 1)``.

Without a partial batch response a function error fails the whole batch; with
``ReportBatchItemFailures`` only the reported records are retried
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html); SQS moves a
message to the DLQ once its receive count passes ``maxReceiveCount``
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from serverless_course.chaos.harness import ChaosMix, ChaosReport, make_messages

SIMULATION_START = datetime(2026, 1, 1, tzinfo=timezone.utc)  # lambdasim's default start


@dataclass(frozen=True)
class Amplification:
    """What a chaos run cost, per message sent."""

    messages: int  #: distinct messages sent
    poison: int  #: of which poison
    invocations: int  #: invocations of the processor
    deliveries: int  #: records handed to the processor (each redelivery counts)
    valid_dead_lettered: int  #: valid messages that ended in the DLQ
    drain_s: float  #: virtual seconds until no message was left to process

    @property
    def deliveries_per_message(self) -> float:
        return self.deliveries / self.messages

    @property
    def invocations_per_message(self) -> float:
        return self.invocations / self.messages

    @property
    def valid_dead_lettered_share(self) -> float:
        """Share of the valid messages that ended in the DLQ."""
        return self.valid_dead_lettered / (self.messages - self.poison)


@dataclass(frozen=True)
class Expectation:
    """The expected cost per message of a whole-batch-failure processor (see the module doc)."""

    poisoned_batch_share: float  #: q = 1 - (1 - p) ** B
    deliveries_per_message: float  #: 1 + q * (R - 1)
    invocations_per_message: float  #: (1 + q * (R - 1)) / B
    valid_dead_lettered_share: float  #: 1 - (1 - p) ** (B - 1)


def measure(report: ChaosReport, faults: ChaosMix) -> Amplification:
    """Read a ``run_chaos`` report back (``faults`` is the mix the run was given: the harness
    draws the same messages from the same seed and mix, which says which ones were valid)."""
    sent = make_messages(report.sent, report.seed, faults, SIMULATION_START)
    valid_ids = {m.order_id for m in sent if not m.poison}
    invoked = [batch for batch in report.poller.batches if batch.invocation is not None]
    return Amplification(
        messages=report.sent,
        poison=len(sent) - len(valid_ids),
        invocations=report.invocations,
        deliveries=sum(len(batch.records) for batch in invoked),
        valid_dead_lettered=sum(1 for entry in report.unexplained_dlq if entry in valid_ids),
        drain_s=report.virtual_s,
    )


def whole_batch_expectation(poison_share: float, batch_size: int = 10,
                            max_receive_count: int = 5) -> Expectation:
    """The arithmetic of the module doc for poison share ``p``, batch size ``B`` and
    ``maxReceiveCount`` ``R`` (the pipeline's values: 10 and 5)."""
    clean = 1.0 - poison_share
    poisoned = 1.0 - clean ** batch_size
    deliveries = 1.0 + poisoned * (max_receive_count - 1)
    return Expectation(
        poisoned_batch_share=poisoned,
        deliveries_per_message=deliveries,
        invocations_per_message=deliveries / batch_size,
        valid_dead_lettered_share=1.0 - clean ** (batch_size - 1),
    )
