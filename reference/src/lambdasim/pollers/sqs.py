"""Lambda's pollers for one Amazon SQS event source mapping, played on the virtual clock.

One `SqsPoller` per mapping (`lambdasim.pollers.PollerManager` creates and reconfigures them
from `ListEventSourceMappings`). What it does, and the AWS page each step follows:

- **Receive** (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html): ReceiveMessage with
  up to 10 messages per call, every system and message attribute, the queue's own visibility
  timeout; the messages stay in flight while the batch is gathered and processed. With a
  batching window whose length plus the function's timeout passes the queue's visibility
  timeout, the messages are received with the effective visibility timeout instead (window +
  function timeout + 30 s), so they cannot reappear while the window gathers them.
- **Batch** (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html): up to
  BatchSize records; with MaximumBatchingWindowInSeconds the batch is invoked when the window
  (counted from the batch's first message) expires, the batch is full, or the event would pass
  the 6 MB synchronous payload limit (the message that does not fit opens the next batch). FIFO
  queues have no batching window.
- **Filter** (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html):
  records that match no filter are deleted from the queue and never reach the function
  (`lambdasim.sources.sqs.record_matches`).
- **Invoke**: synchronously, through `LambdaService.execute`, at the poller's instant, with the
  event `lambdasim.sources.sqs` builds (AWS's exact shape).
- **Settle** at the invocation's end (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
  `lambdasim.sources.sqs.settle_batch` decides; succeeded messages are deleted with
  DeleteMessageBatch (10 per call); failed ones stay in flight and reappear when their visibility
  timeout ends; SQS (moto) counts receives and moves a message to the dead-letter queue after
  maxReceiveCount.
- **Scale** (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html):
  `lambdasim.rules.sqs_scaling.PollerScaling` sets how many batches run at once: 5 at first, up
  to 300 more per minute while messages remain, at most 1,250 or MaximumConcurrency; back-off on
  errors (not with ReportBatchItemFailures) and throttles.
- **Throttles** (`lambdasim.errors.Throttled` from `LambdaService.execute`): the batch is kept in
  flight and retried with back-off while its messages are within their visibility timeout; after
  that the poller lets go and SQS makes the messages visible again.
- **FIFO quotas** (`lambdasim.sqs_fifo_throughput`): the poller's ReceiveMessage and
  DeleteMessageBatch calls count against a FIFO queue's per-action quota like any consumer's
  (quotas-messages.html). A refused receive is made again 1 s later (`stats.sqs_errors`); a
  refused delete is not made again: the batch's messages stay in flight and come back when their
  visibility timeout ends, to be processed again (`stats.delete_failures`).
- **Long polling**: a message entering the queue wakes the poller; when nothing is visible the
  poller sleeps until the next hidden or delayed message becomes visible
  (`moto_state.queue_next_change_ms`). No call is scheduled while the queue is empty, so an
  idle mapping costs nothing and `Simulator.run_until_idle` stops.

Not modelled: provisioned mode (ProvisionedPollerConfig), the low-traffic optimisation to 2
concurrent batches, MetricsConfig metrics (`PollerStats` has the counts), the cost of idle long
polls (`PollerStats.polls` counts only the ReceiveMessage calls the simulation makes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .. import moto_state
from ..clock import MICROS_PER_SECOND, ScheduledCall, from_micros, seconds_to_micros
from ..errors import RecursionStopped, Throttled
from ..rules import invoke as inv
from ..rules.sqs_scaling import PollerScaling, throttle_retry_delay_s
from ..sources import sqs as source

if TYPE_CHECKING:
    from ..functions import FunctionConfig
    from ..runtime import InvocationRecord
    from ..simulator import Simulator

# A poll whose SQS call failed (other than a missing queue) is tried again after this long.
SQS_ERROR_RETRY_US = 1_000_000
_EVENT_HEAD = '{"Records": ['
_EVENT_TAIL = "]}"
_SEPARATOR = ", "  # json.dumps's, so the payload is byte for byte json.dumps(build_event(...))


@dataclass
class PollerStats:
    """What one mapping's poller did (counts of messages unless named otherwise)."""

    polls: int = 0  # ReceiveMessage calls made
    received: int = 0  # messages received (a redelivered message counts each time)
    filtered: int = 0  # matched no filter: deleted, never sent to the function
    batches: int = 0  # batches handed to the function
    invocations: int = 0  # invocations that ran (throttled attempts are not invocations)
    failed_invocations: int = 0  # function error or timeout: the whole batch failed
    throttled: int = 0  # invoke attempts the Lambda service refused (Throttled)
    recursion_stopped: int = 0  # batches loop detection stopped (RecursionStopped)
    deleted: int = 0  # processed successfully and deleted
    retried: int = 0  # failed: left in flight, to reappear after the visibility timeout
    released: int = 0  # given back after throttle retries ran out of visibility timeout
    delete_failures: int = 0  # DeleteMessageBatch entries SQS refused
    sqs_errors: int = 0  # SQS calls that failed (e.g. an injected fault, a deleted queue)
    peak_concurrency: int = 0  # most batches in invocation at the same time


@dataclass(eq=False)
class Batch:
    """One batch of the mapping, from its first message to its settlement."""

    number: int
    opened_us: int
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)
    parts: list[str] = field(default_factory=list, repr=False)  # each record as JSON
    size: int = len(_EVENT_HEAD) + len(_EVENT_TAIL)  # bytes of the event so far
    deadline_us: int = 0  # when the first of its messages becomes visible again
    state: str = "gathering"  # gathering, invoking, throttled, settled, released
    invoked_us: int | None = None
    ended_us: int | None = None
    throttles: int = 0
    invocation: InvocationRecord | None = field(default=None, repr=False)
    settlement: source.BatchSettlement | None = None
    report_batch_item_failures: bool = False

    @property
    def message_ids(self) -> list[str]:
        return [r["messageId"] for r in self.records]

    @property
    def opened(self) -> datetime:
        return from_micros(self.opened_us)

    @property
    def invoked(self) -> datetime | None:
        return None if self.invoked_us is None else from_micros(self.invoked_us)

    @property
    def ended(self) -> datetime | None:
        return None if self.ended_us is None else from_micros(self.ended_us)

    @property
    def request_id(self) -> str | None:
        return None if self.invocation is None else self.invocation.request_id

    def event(self) -> dict[str, Any]:
        """The event the function received."""
        return {"Records": self.records}

    def payload(self) -> bytes:
        return (_EVENT_HEAD + _SEPARATOR.join(self.parts) + _EVENT_TAIL).encode("utf-8")


class SqsPoller:
    """The pollers of one SQS event source mapping (see the module docstring)."""

    def __init__(self, sim: Simulator, uuid: str):
        self._sim = sim
        self._scheduler = sim._scheduler
        self._sqs = sim.client("sqs")
        self.uuid = uuid
        self.mapping_arn = ""
        self.function_arn = ""
        self.queue_arn = ""
        self.state = "Creating"  # then the mapping's State; "Deleted" after DeleteEventSourceMapping
        self.problem: str | None = None  # why the poller stopped, like AWS's LastProcessingResult
        self.batch_size = 10
        self.window_us = 0
        self.report_batch_item_failures = False
        self.fifo = False
        self.visibility_timeout_s = 30
        self.filters: tuple[source.RecordFilter, ...] = ()
        self.scaling = PollerScaling()
        self.stats = PollerStats()
        self.batches: list[Batch] = []  # every batch, in the order they were opened
        self._queue_url: str | None = None
        self._region = sim.region
        self._active: list[Batch] = []  # gathering, invoking or waiting to retry a throttle
        self._gathering: Batch | None = None
        self._carry: list[tuple[dict[str, Any], str, int]] = []  # (record, JSON, hidden until)
        self._backlog = False
        self._poll_call: ScheduledCall | None = None
        self._window_call: ScheduledCall | None = None

    # -- configuration --------------------------------------------------------------------------
    @property
    def polling(self) -> bool:
        """True while the mapping is enabled and nothing stopped it."""
        return self.state == "Enabled" and self.problem is None

    @property
    def concurrency(self) -> int:
        """Batches being processed now (gathering, in invocation or waiting to retry)."""
        return len(self._active)

    def configure(self, config: dict[str, Any]) -> None:
        """Apply the mapping as ListEventSourceMappings returns it."""
        self.mapping_arn = config.get("EventSourceMappingArn", "")
        self.function_arn = config["FunctionArn"]
        self.queue_arn = config["EventSourceArn"]
        self.state = config.get("State", "Enabled")
        self.problem = None
        self.batch_size = int(config.get("BatchSize") or 10)
        self.report_batch_item_failures = "ReportBatchItemFailures" in (config.get("FunctionResponseTypes") or [])
        maximum = (config.get("ScalingConfig") or {}).get("MaximumConcurrency")
        try:
            self.filters = source.compile_filters(config.get("FilterCriteria"))
            self.scaling.reconfigure(maximum_concurrency=maximum,
                                     report_batch_item_failures=self.report_batch_item_failures)
            self._read_queue()
        except (ValueError, LookupError, ClientError) as problem:
            self.problem = f"PROBLEM: {problem}"
        window = int(config.get("MaximumBatchingWindowInSeconds") or 0)
        self.window_us = 0 if self.fifo else window * MICROS_PER_SECOND  # FIFO: no window
        if self.polling:
            self._request_poll()
        elif self._poll_call is not None:
            self._poll_call.cancel()
            self._poll_call = None

    def delete(self) -> None:
        """The mapping was deleted: no more polling. Batches in invocation still settle."""
        self.state = "Deleted"
        if self._poll_call is not None:
            self._poll_call.cancel()
            self._poll_call = None

    def _read_queue(self) -> None:
        parts = self.queue_arn.split(":")
        if len(parts) != 6:
            raise ValueError(f"not a queue ARN: {self.queue_arn}")
        self._region, account, name = parts[3], parts[4], parts[5]
        try:
            url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["FifoQueue", "VisibilityTimeout"])["Attributes"]
        except self._sqs.exceptions.QueueDoesNotExist:
            raise LookupError(f"queue {self.queue_arn} does not exist") from None
        self._queue_url = url
        self.fifo = attributes.get("FifoQueue") == "true"
        self.visibility_timeout_s = int(attributes.get("VisibilityTimeout", 30))

    # -- waking up --------------------------------------------------------------------------------
    def message_added(self, at_us: int) -> None:
        """A message entered the queue (SendMessage, a redrive, another service) and is visible
        from `at_us` (a message sent by handler code is sent at the invocation's own time)."""
        if self.polling:
            self._request_poll(at_us)

    def _request_poll(self, at_us: int | None = None) -> None:
        now = self._scheduler.now_us
        at = now if at_us is None else max(now, at_us)
        call = self._poll_call
        if call is not None and not call.cancelled:
            if call.at_us <= at:
                return
            call.cancel()
        self._poll_call = self._scheduler.call_at(at, self._poll)

    # -- polling ----------------------------------------------------------------------------------
    def _poll(self) -> None:
        self._poll_call = None
        if not self.polling:
            return
        try:
            self._fill()
        except ClientError as error:
            self._sqs_failed(error)

    def _sqs_failed(self, error: ClientError) -> None:
        """An SQS call failed: a missing queue stops the poller; anything else is retried later."""
        code = error.response.get("Error", {}).get("Code", "")
        self.stats.sqs_errors += 1
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            self.problem = f"PROBLEM: queue {self.queue_arn} does not exist"
            return
        self._request_poll(self._scheduler.now_us + SQS_ERROR_RETRY_US)

    def _fill(self) -> None:
        now = self._scheduler.now_us
        drained = False
        while True:
            if self._gathering is not None:
                drained = self._top_up(self._gathering, now)
                if self._gathering is not None:
                    break  # still gathering: the window or the next message closes it
            while len(self._active) < self.scaling.target and self.polling:
                started, drained = self._open_batch(now)
                if not started:
                    break
                if self._gathering is not None:
                    break
            before = self.scaling.target
            self.scaling.next_target(now, backlog=int(self._backlog))
            if self.scaling.target <= before or not self.polling:
                break
        if not self.polling:
            return
        if self._backlog and len(self._active) >= self.scaling.target:
            grow_at = self.scaling.next_increase_us(now)
            if grow_at is not None:
                self._request_poll(grow_at)  # scale up while messages remain
        elif drained and len(self._active) < self.scaling.target:
            self._sleep_until_next_message()

    def _sleep_until_next_message(self) -> None:
        account, name = self.queue_arn.split(":")[4:6]
        change = moto_state.queue_next_change_ms(account, self._region, name)
        if change is not None:
            at = _after_ms(change)
            if at > self._scheduler.now_us:
                self._request_poll(at)
        # Nothing hidden or delayed: sleep until a message arrives (message_added) or a running
        # batch settles.

    def _hidden_for_s(self) -> int:
        """How long received messages stay hidden: the queue's visibility timeout, or the
        effective one a batching window brings (with-sqs.html)."""
        if not self.window_us:
            return self.visibility_timeout_s
        try:
            function_timeout_s = self._function().timeout_s
        except Exception:  # moto's ResourceNotFoundException: the invocation finds out, stops the poller
            return self.visibility_timeout_s
        return source.effective_visibility_timeout_s(
            self.visibility_timeout_s, self.window_us // MICROS_PER_SECOND, function_timeout_s)

    def _function(self) -> FunctionConfig:
        account, region = self.function_arn.split(":")[4], self.function_arn.split(":")[3]
        return moto_state.resolve_function(account, region, self.function_arn, None)[0]

    def _receive(self, wanted: int, now: int) -> tuple[list[tuple[dict[str, Any], str, int]], bool]:
        """Up to `wanted` filtered records (carried-over first); True if the queue looked drained."""
        taken: list[tuple[dict[str, Any], str, int]] = []
        if self._carry:
            taken, self._carry = self._carry[:wanted], self._carry[wanted:]
            if len(taken) == wanted:
                return taken, False
        assert self._queue_url is not None
        hidden_for_s = self._hidden_for_s()
        messages, calls = source.receive_batch(
            self._sqs, self._queue_url, wanted - len(taken),
            visibility_timeout_s=None if hidden_for_s == self.visibility_timeout_s else hidden_for_s)
        self.stats.polls += calls
        self.stats.received += len(messages)
        drained = len(messages) < wanted - len(taken)
        records = [source.build_record(m, queue_arn=self.queue_arn, region=self._region) for m in messages]
        if self.filters:
            kept = [r for r in records if source.record_matches(r, self.filters)]
            if len(kept) < len(records):
                dropped = {r["messageId"] for r in records} - {r["messageId"] for r in kept}
                self.stats.filtered += len(dropped)
                self._delete(records, dropped)
            records = kept
        taken.extend((r, json.dumps(r), now + hidden_for_s * MICROS_PER_SECOND) for r in records)
        return taken, drained

    def _open_batch(self, now: int) -> tuple[bool, bool]:
        """Start a batch if the queue has messages: (started, queue drained)."""
        wanted = self.batch_size
        while True:
            taken, drained = self._receive(wanted, now)
            if taken or drained:
                break
            # Everything received was filtered out: read on.
        if not taken:
            self._backlog = False
            return False, True
        batch = Batch(number=len(self.batches) + 1, opened_us=now)
        self.batches.append(batch)
        self._active.append(batch)
        full = self._add(batch, taken)
        self._backlog = not drained
        if full or self.window_us == 0:
            self._invoke(batch)
        else:
            self._gathering = batch
            self._window_call = self._scheduler.call_at(now + self.window_us, self._window_expired, batch)
        return True, drained

    def _top_up(self, batch: Batch, now: int) -> bool:
        taken, drained = self._receive(self.batch_size - len(batch.records), now)
        full = self._add(batch, taken)
        if full:
            self._close_window(batch)
        return drained

    def _add(self, batch: Batch, taken: list[tuple[dict[str, Any], str, int]]) -> bool:
        """Add records; True if the batch is full (BatchSize or the 6 MB payload limit)."""
        limit = inv.SYNC_REQUEST_LIMIT_BYTES
        for index, (record, text, hidden_until_us) in enumerate(taken):
            extra = len(text) + (len(_SEPARATOR) if batch.records else 0)
            if batch.records and batch.size + extra > limit:
                self._carry = taken[index:] + self._carry  # they open the next batch
                return True
            batch.deadline_us = min(batch.deadline_us, hidden_until_us) if batch.records else hidden_until_us
            batch.records.append(record)
            batch.parts.append(text)
            batch.size += extra
        return len(batch.records) >= self.batch_size

    def _window_expired(self, batch: Batch) -> None:
        if batch is not self._gathering:
            return
        self._window_call = None
        if self._queue_url is not None and self.polling:
            try:
                self._top_up(batch, self._scheduler.now_us)
            except ClientError as error:
                self._sqs_failed(error)
        if batch is self._gathering:
            self._close_window(batch)
        self._request_poll()

    def _close_window(self, batch: Batch) -> None:
        self._gathering = None
        if self._window_call is not None:
            self._window_call.cancel()
            self._window_call = None
        self._invoke(batch)

    # -- invoking and settling --------------------------------------------------------------------
    def _deliver(self, batch: Batch) -> InvocationRecord:
        """Invoke the function with the batch, synchronously, at this instant. LookupError: the
        function is gone. (A pipe's poller delivers to its enrichment and target instead:
        `pollers.pipes`.)"""
        service = self._sim._service
        try:
            config, invoked_arn = moto_state.resolve_function(
                self.function_arn.split(":")[4], self.function_arn.split(":")[3], self.function_arn, None)
        except Exception:  # moto's ResourceNotFoundException
            raise LookupError("Function not found") from None
        # The batch continues the trace of its first record with an AWSTraceHeader; the other
        # records' traces are linked to it (rules/tracing.py).
        traced = tuple(h for r in batch.records if (h := r.get("attributes", {}).get("AWSTraceHeader")))
        request = service.new_request(config, invoked_arn, batch.payload(), "RequestResponse", source="sqs",
                                      trace_header=traced[0] if traced else None, trace_links=traced[1:])
        return service.execute(request)

    def _invoke(self, batch: Batch) -> None:
        now = self._scheduler.now_us
        if batch.state == "gathering":
            self.stats.batches += 1
        batch.report_batch_item_failures = self.report_batch_item_failures
        try:
            record = self._deliver(batch)
        except LookupError as missing:
            self.problem = f"PROBLEM: {missing}"
            self._release(batch)
            return
        except Throttled:
            self._throttled(batch, now)
            return
        except RecursionStopped:
            # Loop detection stopped the batch's invocation: the messages reappear after their
            # visibility timeout, and the redrive policy takes them to the DLQ (rules/recursion.py).
            self.stats.recursion_stopped += 1
            self._release(batch)
            return
        batch.state = "invoking"
        batch.invoked_us = now if batch.invoked_us is None else batch.invoked_us
        batch.invocation = record
        self.stats.invocations += 1
        in_flight = sum(1 for b in self._active if b.state == "invoking" and b.invocation is not None
                        and b.invocation.start_us <= now < b.invocation.start_us + b.invocation.total_us)
        self.stats.peak_concurrency = max(self.stats.peak_concurrency, in_flight)
        end_us = record.start_us + record.total_us
        self._scheduler.call_at(end_us, self._settle, batch, record)

    def _throttled(self, batch: Batch, now: int) -> None:
        batch.throttles += 1
        self.stats.throttled += 1
        self.scaling.next_target(now, backlog=int(self._backlog), throttles=1)
        retry_at = now + seconds_to_micros(throttle_retry_delay_s(batch.throttles))
        if retry_at < batch.deadline_us:
            batch.state = "throttled"
            self._scheduler.call_at(retry_at, self._invoke, batch)
        else:
            # The messages' visibility timeout is about to end: let go; SQS shows them again.
            self._release(batch)

    def _release(self, batch: Batch) -> None:
        batch.state = "released"
        batch.ended_us = self._scheduler.now_us
        self.stats.released += len(batch.records)
        if batch in self._active:
            self._active.remove(batch)
        if self.polling:
            self._request_poll()

    def _settle(self, batch: Batch, record: InvocationRecord) -> None:
        now = self._scheduler.now_us
        if record.function_error is None:
            outcome: source.Outcome = source.Returned(record.payload)
        else:
            outcome = source.FunctionError(_error_text(record))
        settlement = source.settle_batch(batch.records, outcome,
                                         report_batch_item_failures=batch.report_batch_item_failures,
                                         fifo=self.fifo)
        deleted = len(settlement.succeeded)
        if settlement.succeeded:
            try:
                self._delete(batch.records, settlement.succeeded)
            except ClientError as error:  # e.g. a FIFO queue's DeleteMessage quota: they come back
                self.stats.delete_failures += deleted
                deleted = 0
                self._sqs_failed(error)
        batch.settlement = settlement
        batch.state = "settled"
        batch.ended_us = now
        self.stats.deleted += deleted
        self.stats.retried += len(settlement.failed)
        failed_invocation = record.function_error is not None
        self.stats.failed_invocations += int(failed_invocation)
        if batch in self._active:
            self._active.remove(batch)
        self.scaling.next_target(now, backlog=int(self._backlog), errors=int(failed_invocation))
        if self.polling:
            self._request_poll()

    def _delete(self, records: list[dict[str, Any]], message_ids: Any) -> None:
        assert self._queue_url is not None
        failed = source.delete_messages(self._sqs, self._queue_url, records, message_ids)
        self.stats.delete_failures += len(failed)

    def __repr__(self) -> str:
        return (f"SqsPoller(uuid={self.uuid!r}, state={self.state!r}, queue={self.queue_arn!r}, "
                f"concurrency={self.concurrency}, target={self.scaling.target})")


def _after_ms(ms: float) -> int:
    """The first virtual microsecond at which SQS counts a time given in ms as passed.

    moto compares float epoch milliseconds, whose resolution near 2026 is about 0.24 us: one
    microsecond later can still compare equal (the message reads as hidden and the poller would
    never wake again), two cannot.
    """
    return int(ms * 1000) + 2 if ms > 0 else 0


def _error_text(record: InvocationRecord) -> str:
    try:
        document = json.loads(record.payload)
        message = str(document.get("errorMessage", ""))
        kind = document.get("errorType") or record.error_type or "Error"
    except (ValueError, AttributeError):
        message, kind = "", record.error_type or "Error"
    first_line = next(iter(message.splitlines()), "")
    return f"{kind}: {first_line}"
