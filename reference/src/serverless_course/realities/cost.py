"""What an SQS batch size costs, and how much work one poison message adds, as a function of it.

Two small models with their assumptions spelled out, so that a reader can replace each one with
a measurement of their own.

`cost_per_million_messages`: the consumer side of an SQS -> Lambda pipeline on a busy queue.

- Every batch is full (a busy queue), so one million messages make 1,000,000 / B invocations.
- The event source mapping's pollers make SQS requests billed to you ("While your event source
  mapping is active, Lambda makes requests to the queue to get items", with-sqs.html): one
  ReceiveMessage and one DeleteMessageBatch per 10 messages, since both take at most 10
  (sqs-batch-api.html), and one of each for a batch smaller than 10. A batch larger than 10 is
  filled from full 10-message receives. Empty receives of an idle queue and the producer's sends
  are left out: neither depends on the batch size.
- A request is billed once per started 64 KB of payload (SQS pricing and features pages): a ReceiveMessage
  carries the message bodies; a DeleteMessageBatch carries only receipt handles.
- The duration of an invocation is a fixed overhead plus a time per message, billed in 1 ms
  steps, times the memory size. Both times are assumptions: measure yours (the Duration in each
  REPORT log line) and pass them in. Cold starts (INIT, billed since Aug 1 2025) are left out.

`retry_amplification`: extra work caused by poison messages (one in N fails on every attempt)
on a busy queue, with and without partial batch responses.

- The source queue moves a message to its dead-letter queue after `max_receive_count`
  receives, so each poison message is delivered R = max_receive_count times.
- A batch holds at most one poison message (B <= N), and a message that returns to the queue
  joins a batch of otherwise new messages: to first order, its batch mates succeed.
- All-or-nothing: the handler stops at the poison message, having processed on average
  (B - 1) / 2 messages before it (poison at a uniformly random position); all B messages of the
  batch return to the queue, so each of the R deliveries wastes B - 1 deliveries of valid
  messages, and the ones processed before the poison are processed again later: duplicates.
- Partial batch responses: the handler processes every record and reports only the poison one;
  only it returns to the queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lambdasim.sources.sqs import MAX_MESSAGES_PER_CALL
from serverless_course.prices import (
    LAMBDA_GB_SECOND_X86,
    LAMBDA_REQUEST,
    SQS_BILLED_CHUNK_BYTES,
    SQS_STANDARD_REQUEST,
)

MESSAGES = 1_000_000  # every figure is per million messages sent to the queue
# Lambda's default memory size:
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
LAMBDA_DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True)
class Workload:
    """The function and its messages. Both times are illustrative assumptions, not AWS figures."""

    memory_mb: int = LAMBDA_DEFAULT_MEMORY_MB
    invocation_overhead_ms: float = 20.0  # work done once per invocation, whatever the batch size
    per_message_ms: float = 5.0  # work done for each message
    message_bytes: int = 1_024


@dataclass(frozen=True)
class BatchCost:
    """Cost of consuming one million messages at one batch size."""

    batch_size: int
    invocations: float
    sqs_requests: float
    gb_seconds: float
    lambda_requests_usd: float
    lambda_duration_usd: float
    sqs_usd: float

    @property
    def total_usd(self) -> float:
        return self.lambda_requests_usd + self.lambda_duration_usd + self.sqs_usd


def cost_per_million_messages(batch_size: int, workload: Workload = Workload()) -> BatchCost:
    """Consumer-side cost of a million messages read and processed in batches of `batch_size`."""
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    invocations = MESSAGES / batch_size

    messages_per_receive = min(batch_size, MAX_MESSAGES_PER_CALL)
    receives_per_batch = batch_size / messages_per_receive
    billed_per_receive = math.ceil(
        messages_per_receive * workload.message_bytes / SQS_BILLED_CHUNK_BYTES
    )
    # Each receive is followed by one DeleteMessageBatch: receipt handles only, far below 64 KB.
    billed_per_batch = receives_per_batch * (billed_per_receive + 1)
    sqs_requests = invocations * billed_per_batch

    billed_ms = math.ceil(workload.invocation_overhead_ms + batch_size * workload.per_message_ms)
    gb_seconds = invocations * (workload.memory_mb / 1024) * (billed_ms / 1000)

    return BatchCost(
        batch_size=batch_size,
        invocations=invocations,
        sqs_requests=sqs_requests,
        gb_seconds=gb_seconds,
        lambda_requests_usd=invocations * LAMBDA_REQUEST.usd,
        lambda_duration_usd=gb_seconds * LAMBDA_GB_SECOND_X86.usd,
        sqs_usd=sqs_requests * SQS_STANDARD_REQUEST.usd,
    )


@dataclass(frozen=True)
class RetryAmplification:
    """Work done per million messages sent, when one message in `poison_one_in` always fails."""

    batch_size: int
    partial_batch_responses: bool
    deliveries: float  # messages handed to the function, counting every retry
    processings: float  # records the handler worked on (a failed attempt counts)
    duplicate_processings: float  # extra times valid messages were processed: duplicate effects
    invocations: float

    @property
    def processings_per_message(self) -> float:
        return self.processings / MESSAGES


def retry_amplification(
    batch_size: int,
    *,
    poison_one_in: int,
    max_receive_count: int = 5,
    partial_batch_responses: bool,
) -> RetryAmplification:
    """Expected work per million messages under the assumptions in this module's docstring."""
    if not 1 <= batch_size <= poison_one_in:
        raise ValueError("the model needs 1 <= batch_size <= poison_one_in (one poison per batch)")
    if max_receive_count < 1:
        raise ValueError("max_receive_count must be at least 1")
    poison = MESSAGES / poison_one_in
    valid = MESSAGES - poison
    attempts = max_receive_count  # deliveries of each poison message
    if partial_batch_responses:
        deliveries = MESSAGES + poison * (attempts - 1)
        processings = valid + poison * attempts
        duplicates = 0.0
    else:
        processed_before_poison = (batch_size - 1) / 2
        deliveries = MESSAGES + poison * (attempts * batch_size - 1)
        processings = valid + poison * attempts * (processed_before_poison + 1)
        duplicates = poison * attempts * processed_before_poison
    return RetryAmplification(
        batch_size=batch_size,
        partial_batch_responses=partial_batch_responses,
        deliveries=deliveries,
        processings=processings,
        duplicate_processings=duplicates,
        invocations=deliveries / batch_size,
    )
