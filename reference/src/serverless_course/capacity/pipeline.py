"""The orders pipeline of module 1, played by the capacity model at scales moto cannot serve.

`run_pipeline(settings, ceilings, arrivals, seed=...)` plays what `serverless_course.pipeline`'s
template deploys, one order per POST /orders request, with the simulator's own rules and players'
code (nothing here decides what AWS does):

- **API Gateway** (`rules.apigateway_throttling`, `rules.throughput.TokenBucket`): a request takes
  a token from the stage's method throttle, if one is set, and from the account's bucket
  (`Ceilings.api_rate_per_s`, `api_burst`); without one it is answered 429 and no bucket loses a
  token, as `lambdasim.apigateway.FrontDoor._throttle` does.
- **The ingest function**, invoked synchronously from the account's pool (`CapacityModel`, which
  calls `rules.concurrency` and `rules.cold_start`); a throttle is the client's 500
  (https://repost.aws/knowledge-center/api-gateway-internal-server-error). Its handler puts the
  order's event with `event_sender.send_events`: up to 5 tries with full jitter, each a boto3
  PutEvents call that botocore's standard retry mode tries up to 3 times on a ThrottlingException
  (a random x 1 s, x 2 s back-off). Every PutEvents call takes a token of the account's quota
  (`Ceilings.put_events_tps`, `rules.eventbridge.put_events_limit`'s one-second bucket). Events
  not sent: 503; a handler whose sleeps pass its 10 s timeout: 502. The jitter is drawn from a
  generator seeded as the simulator seeds Python's `random` module for a run, in the order the
  simulator's handlers draw it.
- **EventBridge's target invocations** (`Ceilings.target_invocations_tps`): a matched event takes
  a token, or is delayed by `rules.eventbridge.backoff_s` (jittered with a generator seeded as
  the simulator's EventBridge player's) and tried again, as `lambdasim.eventbridge` does; then the
  rule's SQS target receives it.
- **SQS and the processor's mapping** (`CapacityModel`: `rules.sqs_scaling`, the batching window
  and its effective visibility timeout as `lambdasim.pollers.sqs` plays them, and
  `sources.sqs.settle_batch` for ReportBatchItemFailures): BatchSize, MaximumBatchingWindowInSeconds
  and MaximumConcurrency from `PipelineSettings`; the queue's 65 s visibility timeout and
  maxReceiveCount 5 from the template.
- **The processor**, with the settings' reserved concurrency and memory. Per record, as its
  handler calls AWS: the idempotency record (PutItem), the order (a conditional PutItem), the
  OrderAccepted event (PutEvents, the same quota as the ingest's) and the idempotency record's
  completion (UpdateItem). Each DynamoDB write is admitted or refused by
  `lambdasim.dynamodb_capacity.DynamoDBCapacity`, the simulator's own DynamoDB player (a pure
  object: the clock is passed in), against the orders table's billing mode and write capacity
  (with burst) or on-demand ceiling, and each partition's; botocore retries a refusal up to 4
  tries. A record whose write or event fails after its retries is reported in
  batchItemFailures, so SQS shows it again after the visibility timeout, and after 5 receives it
  goes to the dead-letter queue. A retried record whose order was already stored by an earlier
  attempt goes on to its event (a conditional-check failure, still charged one write).
- **Latency** per order the API accepted (answered 202), from its request to the end of the
  processor invocation that stored it and reported it processed; p50 and p99 over those orders
  (`series["p99_latency_s"]`: of the orders requested in each minute). From the request, not from
  the 202: the processor can finish an order before the ingest function's own duration ends
  (its event is put first), so a latency from the 202 can be negative.
- **Cost** per million orders processed: API Gateway requests, both functions (arm64, their
  memory, billed duration with INIT), PutEvents events, SQS requests, and DynamoDB writes (on
  demand) or the provisioned write and read capacity for the run's length (`serverless_course.prices`).

Not played: more than one order per request, invalid requests, the SDK's retry quota (500
tokens a client; a client that exhausts it stops retrying), botocore's connection errors, the
idempotency layer's INPROGRESS records left by a timed-out invocation (the retry comes after the
65 s visibility timeout, when they have expired), the ingest's failure to write after a 502,
the orders table's reads (the processor makes none), the DLQ's own consumers, and the 6 MB batch
payload limit. A throttled idempotency-record completion fails the record (Powertools would
raise as well; its retry then finds the order stored).

`tests/capacity/test_pipeline_agreement.py` runs the real pipeline in `lambdasim.Simulator`
with the same settings and arrivals and checks the same counts and close latencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

import numpy as np

from lambdasim.dynamodb_capacity import Charge, DynamoDBCapacity, DynamoDBLimits, TableThroughput
from lambdasim.rules import apigateway_throttling
from lambdasim.rules import dynamodb as ddb
from lambdasim.rules import eventbridge as eb_rules
from lambdasim.rules.cold_start import InitDurationModel, cpu_slowdown
from lambdasim.rules.throughput import RateLimit, TokenBucket

from .. import prices
from ..scaling.settings import Ceilings, PipelineSettings
from .model import US, CapacityModel, Function, Handled

__all__ = ["ApiStageThrottle", "Durations", "PipelineResult", "SloBreach", "Slo", "order_id", "run_pipeline"]

INGEST, PROCESSOR, QUEUE = "ingest", "processor", "orders"
# From the pipeline's template.yaml.
FUNCTION_TIMEOUT_S = 10
INGEST_MEMORY_MB = 256
ARCHITECTURE = "arm64"
QUEUE_VISIBILITY_TIMEOUT_S = 65
MAX_RECEIVE_COUNT = 5

# The handlers' SDK calls, as the pinned botocore makes them: its default retry mode is
# "standard" (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html: 3
# attempts, exponential backoff with jitter, at most 20 s), DynamoDB's calls get 4 attempts
# (botocore/retries/standard.py), and a throttle waits random() x min(1 s x 2^(try - 1), 20 s).
SDK_ATTEMPTS = 3
DYNAMODB_SDK_ATTEMPTS = 4
SDK_THROTTLE_BASE_S = 1.0
SDK_MAX_BACKOFF_S = 20.0
# event_sender.send_events's defaults: 5 tries, full jitter from 50 ms doubling to 1 s.
SEND_ATTEMPTS = 5
SEND_BASE_DELAY_S = 0.05
SEND_MAX_DELAY_S = 1.0

# The items the processor writes, in DynamoDB JSON, to size their write units as DynamoDB does
# (rules.dynamodb.item_size): an order and its idempotency record are under 1 KB, one unit each.
_ORDER_ITEM = {"order_id": {"S": "o-0000000"}, "customer_id": {"S": "c-0001"}, "currency": {"S": "EUR"},
               "total": {"N": "123.45"}, "items": {"N": "3"}, "event_id": {"S": "0" * 36},
               "correlation_id": {"S": "0" * 36}}
_IDEMPOTENCY_ITEM = {"id": {"S": "orders-ProcessorFunction-XXXXXXXXXXXX.processor.app.accept_order#" + "0" * 32},
                     "expiration": {"N": "1767312000"}, "in_progress_expiration": {"N": "1767225610000"},
                     "status": {"S": "COMPLETED"}, "data": {"S": '{"order_id": "o-0000000", "status": "stored"}'}}
ORDER_WRITE_UNITS = ddb.write_units(ddb.item_size(_ORDER_ITEM))
IDEMPOTENCY_WRITE_UNITS = ddb.write_units(ddb.item_size(_IDEMPOTENCY_ITEM))


def order_id(n: int) -> str:
    """The order id of the n-th request (the contract's pattern `o-...`)."""
    return f"o-{n:07d}"


# --8<-- [start:durations]
@dataclass(frozen=True)
class Durations:
    """Base durations of the two handlers (what `sim.set_duration` gives the simulator), without
    the time their SDK retries sleep. The processor's CPU part scales with memory as Lambda's CPU
    share does: one vCPU at 1,769 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html;
    `rules.cold_start.cpu_slowdown`); its calls to DynamoDB and EventBridge do not."""

    ingest_ms: float = 40.0
    processor_fixed_ms: float = 20.0
    processor_io_ms_per_record: float = 12.0
    processor_cpu_ms_per_record: float = 3.0  # at one full vCPU

    def processor_ms(self, records: int, memory_mb: int) -> float:
        return self.processor_fixed_ms + records * (
            self.processor_io_ms_per_record + self.processor_cpu_ms_per_record * cpu_slowdown(memory_mb))

    def set_in(self, sim: Any, ingest: str, processor: str, processor_memory_mb: int) -> None:
        """Give a `lambdasim.Simulator`'s two handlers these durations, as the model plays them."""
        sim.set_duration(ingest, self.ingest_ms)
        sim.set_duration(processor, lambda _rng, event: self.processor_ms(len(event["Records"]), processor_memory_mb))
# --8<-- [end:durations]


@dataclass(frozen=True)
class ApiStageThrottle:
    """The Prod stage's throttle for every method (MethodSettings `*/*`)."""

    rate_per_s: float
    burst: int


@dataclass(frozen=True)
class Slo:
    """What lab 02 asks of a run: a p99 latency, no order lost, a cost ceiling."""

    p99_latency_s: float = 10.0
    max_lost: int = 0
    max_cost_per_million_usd: float | None = None


@dataclass(frozen=True)
class SloBreach:
    """Where a run failed its SLO: the stage (api, ingest, put-events, eventbridge, queue,
    processor, dynamodb, dlq, cost), the minute, what was measured and the limit."""

    stage: str
    minute: int | None
    metric: str
    value: float
    limit: float

    def __str__(self) -> str:
        at = "" if self.minute is None else f" in minute {self.minute}"
        return f"{self.stage}{at}: {self.metric} {self.value:g} (limit {self.limit:g})"


# Per-minute series of a run, by stage, in pipeline order (what `PipelineResult.series` holds).
SERIES = ("requests", "api_throttled", "ingest_throttled", "ingest_invocations", "ingest_errors", "put_events_calls",
          "put_events_throttled", "not_sent", "target_throttled", "queue_depth", "queue_age_s", "processor_invocations",
          "processor_throttled", "processor_concurrency", "dynamodb_throttled", "records_failed", "processed",
          "dead_lettered", "p99_latency_s")
# Which series says a stage refused work in a minute (SloBreach.stage), in pipeline order.
_STAGE_REFUSALS = (("api", "api_throttled"), ("ingest", "ingest_throttled"), ("put-events", "put_events_throttled"),
                   ("eventbridge", "target_throttled"), ("processor", "processor_throttled"),
                   ("dynamodb", "dynamodb_throttled"))


@dataclass
class PipelineResult:
    """What a run did: counts per stage, the SLO numbers, cost, and per-minute series."""

    orders: int
    responses: dict[int, int]  # HTTP status -> requests
    api_throttles: dict[str, int]  # "method" (stage throttle) / "account" -> 429s
    ingest_invocations: int
    ingest_throttles: int
    put_events_calls: int
    put_events_throttles: int
    target_throttles: int
    processor_invocations: int
    processor_throttles: int
    processor_batches: int
    dynamodb_throttles: dict[str, int]  # table -> refused writes (every try)
    processed: int  # orders stored and their events sent
    dead_lettered: int  # in the redrive DLQ (SQS's redrive) or the rule's DLQ (its target after 24 h)
    latencies_s: np.ndarray  # per order accepted (202) and processed: its request -> processed
    cost_usd: dict[str, float]
    end_s: float
    series: dict[str, np.ndarray]  # per minute, keys in SERIES
    model_events: int  # events the model processed (its own work, for benchmarks)

    @property
    def lost(self) -> int:
        """Orders never processed: refused at the front door, dead-lettered or still queued."""
        return self.orders - self.processed

    @property
    def p50_s(self) -> float:
        return float(np.percentile(self.latencies_s, 50)) if self.latencies_s.size else float("nan")

    @property
    def p99_s(self) -> float:
        return float(np.percentile(self.latencies_s, 99)) if self.latencies_s.size else float("nan")

    @property
    def total_cost_usd(self) -> float:
        return sum(self.cost_usd.values())

    @property
    def cost_per_million_usd(self) -> float:
        return self.total_cost_usd / self.processed * 1_000_000 if self.processed else float("inf")

    def counts(self) -> dict[str, int]:
        """The counts the agreement test compares with the simulator."""
        return {
            "api_429_method": self.api_throttles.get("method", 0),
            "api_429_account": self.api_throttles.get("account", 0),
            "status_202": self.responses.get(202, 0),
            "status_500": self.responses.get(500, 0),
            "status_502": self.responses.get(502, 0),
            "status_503": self.responses.get(503, 0),
            "ingest_invocations": self.ingest_invocations,
            "ingest_throttles": self.ingest_throttles,
            "put_events_throttles": self.put_events_throttles,
            "target_throttles": self.target_throttles,
            "processor_invocations": self.processor_invocations,
            "processor_throttles": self.processor_throttles,
            "orders_table_throttles": self.dynamodb_throttles.get("orders", 0),
            "processed": self.processed,
            "dead_lettered": self.dead_lettered,
        }

    def breaches(self, slo: Slo) -> list[SloBreach]:
        """Every way the run failed `slo`, each with the stage and minute it points at: the
        minutes whose processed orders' p99 passed the limit (the stage: the first in the
        pipeline that refused work that minute, else the queue when its oldest message was older
        than the limit, else the processor's own time), lost orders (the first minute and stage
        that refused or dead-lettered one), and the cost."""
        out: list[SloBreach] = []
        p99 = self.series["p99_latency_s"]
        for minute in np.flatnonzero(p99 > slo.p99_latency_s):
            out.append(SloBreach(self._stage_of(int(minute), slo), int(minute), "p99 latency s",
                                 float(p99[minute]), slo.p99_latency_s))
        if self.lost > slo.max_lost:
            stage, minute = self._first_loss()
            out.append(SloBreach(stage, minute, "orders lost", self.lost, slo.max_lost))
        if slo.max_cost_per_million_usd is not None and self.cost_per_million_usd > slo.max_cost_per_million_usd:
            out.append(SloBreach("cost", None, "USD per million orders", self.cost_per_million_usd,
                                 slo.max_cost_per_million_usd))
        return out

    def _stage_of(self, minute: int, slo: Slo) -> str:
        for stage, key in _STAGE_REFUSALS:
            if self.series[key][minute] > 0:
                return stage
        return "queue" if self.series["queue_age_s"][minute] > slo.p99_latency_s else "processor"

    def _first_loss(self) -> tuple[str, int | None]:
        candidates = []
        for stage, key in (("api", "api_throttled"), ("ingest", "ingest_throttled"), ("ingest", "ingest_errors"),
                           ("put-events", "not_sent"), ("dlq", "dead_lettered")):
            minutes = np.flatnonzero(self.series[key])
            if minutes.size:
                candidates.append((int(minutes[0]), stage))
        if not candidates:
            return "queue", None  # still in the queue when the run ended
        minute, stage = min(candidates)
        return stage, minute


@dataclass
class _Counters:
    responses: dict[int, int] = field(default_factory=dict)
    api_throttles: dict[str, int] = field(default_factory=dict)
    put_events_calls: int = 0
    put_events_throttles: int = 0
    put_events_entries: int = 0  # events EventBridge accepted (billed)
    target_throttles: int = 0
    eventbridge_dead_lettered: int = 0  # events the rule's target gave up on (its DLQ)
    dynamodb_throttles: dict[str, int] = field(default_factory=dict)
    dynamodb_write_units: dict[str, float] = field(default_factory=dict)


class _Pipeline:
    """The pipeline's services around a `CapacityModel` (see the module docstring)."""

    def __init__(self, settings: PipelineSettings, ceilings: Ceilings, arrivals: np.ndarray, *, seed: int,
                 durations: Durations, api_stage: ApiStageThrottle | None, dynamodb_limits: DynamoDBLimits | None,
                 init_model: InitDurationModel | None, package_bytes: int, idle_lifetime: tuple[float, float] | None,
                 bin_s: float) -> None:
        settings.check_against(ceilings)
        self.settings, self.durations = settings, durations
        self.arrivals = np.asarray(arrivals, dtype=np.int64)
        self.model = model = CapacityModel(seed, account_concurrency=ceilings.account_concurrency,
                                           idle_lifetime=idle_lifetime, init_model=init_model, bin_s=bin_s)
        # The same generators the simulator draws from: Python's `random` module, seeded for a
        # run (botocore's and event_sender's jitter), and its EventBridge player's.
        self.jitter = Random(f"{seed}/global")
        self.eventbridge_rng = Random(f"{seed}/eventbridge")
        self.now = 0  # the clock the DynamoDB player reads: the handler's own time
        self.dynamodb = DynamoDBCapacity(lambda: self.now, dynamodb_limits)
        provisioned = settings.table_billing_mode == "PROVISIONED"
        self.orders_table = TableThroughput("orders", on_demand=not provisioned,
                                            read_units_per_s=float(settings.table_read_capacity_units or 0),
                                            write_units_per_s=float(settings.table_write_capacity_units or 0))
        self.idempotency_table = TableThroughput("idempotency", on_demand=True)
        self.api_buckets = [("method", TokenBucket(RateLimit(api_stage.rate_per_s, api_stage.burst)))] \
            if api_stage is not None else []
        self.api_buckets.append(("account", TokenBucket(RateLimit(ceilings.api_rate_per_s, ceilings.api_burst))))
        self.put_events = TokenBucket(RateLimit.per_second(ceilings.put_events_tps))
        self.target_invocations = TokenBucket(RateLimit.per_second(ceilings.target_invocations_tps))
        self.counters = _Counters()
        self.completed = bytearray(len(self.arrivals))
        self.processed_at = np.full(len(self.arrivals), -1, dtype=np.int64)
        self.accepted = bytearray(len(self.arrivals))  # answered 202
        model.add_function(Function(INGEST, memory_mb=INGEST_MEMORY_MB, architecture=ARCHITECTURE,
                                    package_bytes=package_bytes, timeout_s=FUNCTION_TIMEOUT_S, work=self._ingest))
        model.add_function(Function(PROCESSOR, memory_mb=settings.processor_memory_mb, architecture=ARCHITECTURE,
                                    package_bytes=package_bytes, timeout_s=FUNCTION_TIMEOUT_S,
                                    reserved=settings.processor_reserved_concurrency, work=self._process))
        model.add_queue(QUEUE, visibility_timeout_s=QUEUE_VISIBILITY_TIMEOUT_S, max_receive_count=MAX_RECEIVE_COUNT)
        model.add_mapping(QUEUE, PROCESSOR, batch_size=settings.batch_size,
                          maximum_concurrency=settings.maximum_concurrency, report_batch_item_failures=True,
                          batching_window_s=settings.batching_window_s)
        model.settled = self._settled
        self.series_bin_us = round(bin_s * US)
        self.s_requests = model.timeline.list("requests")
        self.s_api = model.timeline.list("api_throttled")
        self.s_put_throttled = model.timeline.list("put_events_throttled")
        self.s_put_calls = model.timeline.list("put_events_calls")
        self.s_not_sent = model.timeline.list("not_sent")
        self.s_target = model.timeline.list("target_throttled")
        self.s_eb_dlq = model.timeline.list("eventbridge_dead_lettered")
        self.s_ddb = model.timeline.list("dynamodb_throttled")
        self.s_failed = model.timeline.list("records_failed")
        self.s_ingest_errors = model.timeline.list("ingest_errors")
        self.status = 0  # the ingest handler's answer to the request being served
        self.arrived_at = 0  # when that request arrived: the model's current time

    # -- the front door ------------------------------------------------------------------------
    def request(self, t: int, n: int) -> None:
        """POST /orders with order n at `t`: API Gateway's throttles, then the ingest function."""
        _bump(self.s_requests, t // self.series_bin_us)
        for scope, bucket in self.api_buckets:
            if bucket.available(t) < 1:
                self.counters.api_throttles[scope] = self.counters.api_throttles.get(scope, 0) + 1
                _bump(self.s_api, t // self.series_bin_us)
                self._respond(apigateway_throttling.THROTTLED_STATUS)
                return
        for _, bucket in self.api_buckets:
            bucket.try_take(t)
        self.arrived_at = t
        ran = self.model.invoke_now(INGEST, t, n)
        if ran is None:
            self._respond(500)  # Lambda throttled the integration
            _bump(self.s_ingest_errors, t // self.series_bin_us)
        elif ran[1]:
            self._respond(502)  # the handler timed out
            _bump(self.s_ingest_errors, t // self.series_bin_us)
        else:
            self._respond(self.status)
            self.accepted[n] = self.status == 202

    def _respond(self, status: int) -> None:
        self.counters.responses[status] = self.counters.responses.get(status, 0) + 1

    # -- the ingest handler --------------------------------------------------------------------
    def _ingest(self, start: int, deadline: int, ids: list[int]) -> Handled:
        n = ids[0]
        base_us = round(self.durations.ingest_ms * 1000)
        clock, sent = self._send_events(start, deadline)
        if clock is None:
            return Handled(deadline - start, base_us, timed_out=True)
        if sent:
            self._event_put(n, clock, self.arrived_at, True)
            self.status = 202
        else:
            self.status = 503
            _bump(self.s_not_sent, clock // self.series_bin_us)
        return Handled(clock - start, base_us)

    def _send_events(self, clock: int, deadline: int) -> tuple[int | None, bool]:
        """`event_sender.send_events` with one entry: (the handler's clock after, sent); None:
        the handler passed its deadline in a sleep."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            if attempt > 1:
                wait = min(SEND_MAX_DELAY_S, SEND_BASE_DELAY_S * 2 ** (attempt - 2)) * self.jitter.random()
                after = _sleep(clock, wait, deadline)
                if after is None:
                    return None, False
                clock = after
            after, answered = self._sdk_call(clock, deadline, self._admit_put_events, SDK_ATTEMPTS)
            if after is None:
                return None, False
            clock = after
            if answered:
                return clock, True
        return clock, False

    def _admit_put_events(self, t: int) -> bool:
        self.counters.put_events_calls += 1
        _bump(self.s_put_calls, t // self.series_bin_us)
        if self.put_events.try_take(t):
            self.counters.put_events_entries += 1
            return True
        self.counters.put_events_throttles += 1
        _bump(self.s_put_throttled, t // self.series_bin_us)
        return False

    # --8<-- [start:sdk_call]
    def _sdk_call(self, clock: int, deadline: int, admit: Callable[[int], bool],
                  attempts: int) -> tuple[int | None, bool]:
        """One boto3 call with botocore's standard retries of throttles: (clock after, answered);
        None: the handler passed its deadline in a back-off sleep."""
        for attempt in range(1, attempts + 1):
            if admit(clock):
                return clock, True
            if attempt == attempts:
                return clock, False
            wait = self.jitter.random() * min(SDK_THROTTLE_BASE_S * 2 ** (attempt - 1), SDK_MAX_BACKOFF_S)
            after = _sleep(clock, wait, deadline)
            if after is None:
                return None, False
            clock = after
        raise AssertionError("unreachable")
    # --8<-- [end:sdk_call]

    # -- EventBridge: the rule's target ---------------------------------------------------------
    def _event_put(self, n: int, at: int, now: int, in_handler: bool, throttles: int = 0,
                   received: int | None = None) -> None:
        """The rule matched order n's event at `received`: one target invocation (as
        `lambdasim.eventbridge.EventBridgeTargets._attempt`), or a delayed try; past the target's
        MaximumEventAgeInSeconds (24 h, the template sets no RetryPolicy) the event goes to the
        target's dead-letter queue."""
        received = at if received is None else received
        if throttles and at - received > eb_rules.DEFAULT_MAXIMUM_EVENT_AGE_S * US:
            self.counters.eventbridge_dead_lettered += 1
            _bump(self.s_eb_dlq, at // self.series_bin_us)
            return
        if self.target_invocations.try_take(at):
            # From the ingest handler the message is sent at the handler's own time; a delayed
            # try runs in a scheduled call, at the model's time.
            self.model.send_now(QUEUE, now, n, visible_from=at if in_handler else None)
            return
        throttles += 1
        self.counters.target_throttles += 1
        _bump(self.s_target, at // self.series_bin_us)
        retry_at = at + round(eb_rules.backoff_s(throttles, self.eventbridge_rng) * US)
        self.model.call_at(retry_at, self._event_put_again, n, throttles, received)

    def _event_put_again(self, t: int, n: int, throttles: int, received: int) -> None:
        self._event_put(n, t, t, False, throttles, received)

    # -- the processor handler -----------------------------------------------------------------
    def _process(self, start: int, deadline: int, ids: list[int]) -> Handled:
        base_us = round(self.durations.processor_ms(len(ids), self.settings.processor_memory_mb) * 1000)
        clock = start
        failed = []
        for position, n in enumerate(ids):
            after, ok = self._accept_order(n, clock, deadline)
            if after is None:
                return Handled(deadline - start, base_us, timed_out=True)
            clock = after
            if not ok:
                failed.append(position)
        if failed:
            _bump(self.s_failed, start // self.series_bin_us, len(failed))
        return Handled(clock - start, base_us, failed=frozenset(failed))

    # --8<-- [start:accept_order]
    def _accept_order(self, n: int, clock: int, deadline: int) -> tuple[int | None, bool]:
        """processor/app.py's record_handler and accept_order for order n: (clock after, ok)."""
        key = {"S": order_id(n)}
        idempotency_key = {"S": f"idempotency-{n}"}
        clock, ok = self._write(self.idempotency_table, idempotency_key, IDEMPOTENCY_WRITE_UNITS, clock, deadline)
        if clock is None or not ok:
            return clock, False
        if self.completed[n]:
            return clock, True  # the saved result: the order was processed by an earlier attempt
        clock, ok = self._write(self.orders_table, key, ORDER_WRITE_UNITS, clock, deadline)
        if clock is None:
            return None, False
        if not ok:
            return self._forget(idempotency_key, clock, deadline)
        # Stored now, or by an earlier attempt whose event failed: then the conditional put fails
        # (a write unit all the same) and the handler goes on to send the event.
        clock, sent = self._send_events(clock, deadline)
        if clock is None:
            return None, False
        if not sent:
            return self._forget(idempotency_key, clock, deadline)
        clock, ok = self._write(self.idempotency_table, idempotency_key, IDEMPOTENCY_WRITE_UNITS, clock, deadline)
        if clock is None or not ok:
            return clock, False
        self.completed[n] = 1
        return clock, True
    # --8<-- [end:accept_order]

    def _forget(self, idempotency_key: dict, clock: int, deadline: int) -> tuple[int | None, bool]:
        """The idempotency layer deletes its record when the function raised; the record fails."""
        clock, _ = self._write(self.idempotency_table, idempotency_key, IDEMPOTENCY_WRITE_UNITS, clock, deadline)
        return clock, False

    # --8<-- [start:write]
    def _write(self, table: TableThroughput, key: dict, units: float, clock: int,
               deadline: int) -> tuple[int | None, bool]:
        """One DynamoDB write of the handler, the simulator's DynamoDB player deciding each try."""
        def admit(t: int) -> bool:
            self.now = t
            refusal = self.dynamodb.admit(table, "PutItem", "write", [Charge(units, key)])
            if refusal is None:
                self.counters.dynamodb_write_units[table.name] = (
                    self.counters.dynamodb_write_units.get(table.name, 0.0) + units)
                return True
            self.counters.dynamodb_throttles[table.name] = self.counters.dynamodb_throttles.get(table.name, 0) + 1
            _bump(self.s_ddb, t // self.series_bin_us)
            return False

        return self._sdk_call(clock, deadline, admit, DYNAMODB_SDK_ATTEMPTS)
    # --8<-- [end:write]

    def _settled(self, t: int, ids: list[int]) -> None:
        for n in ids:
            if self.processed_at[n] < 0 and self.completed[n]:
                self.processed_at[n] = t

    # -- the run ---------------------------------------------------------------------------------
    def run(self, until_s: float | None) -> PipelineResult:
        self.model.add_arrivals(self.arrivals, self.request)
        result = self.model.run(until_s)
        functions, queue, timeline = result.functions, result.queues[QUEUE], result.timeline
        done = self.processed_at >= 0
        timed = done & np.frombuffer(self.accepted, dtype=np.uint8).astype(bool)
        latencies = (self.processed_at[timed] - self.arrivals[timed]) / US
        bins = max(1, int(result.end_us // self.series_bin_us) + 1)
        built = {
            "requests": timeline.array("requests", bins),
            "api_throttled": timeline.array("api_throttled", bins),
            "ingest_throttled": timeline.array(f"throttles:{INGEST}", bins),
            "ingest_invocations": timeline.array(f"invocations:{INGEST}", bins),
            "ingest_errors": timeline.array("ingest_errors", bins),
            "put_events_calls": timeline.array("put_events_calls", bins),
            "put_events_throttled": timeline.array("put_events_throttled", bins),
            "not_sent": timeline.array("not_sent", bins),
            "target_throttled": timeline.array("target_throttled", bins),
            "queue_depth": timeline.array(f"depth:{QUEUE}", bins),
            "queue_age_s": timeline.array(f"wait:{QUEUE}", bins),
            "processor_invocations": timeline.array(f"invocations:{PROCESSOR}", bins),
            "processor_throttled": timeline.array(f"throttles:{PROCESSOR}", bins),
            "processor_concurrency": timeline.array(f"concurrency:{PROCESSOR}", bins),
            "dynamodb_throttled": timeline.array("dynamodb_throttled", bins),
            "records_failed": timeline.array("records_failed", bins),
            "processed": np.bincount(self.processed_at[done] // self.series_bin_us, minlength=bins)[:bins].astype(float),
            "dead_lettered": timeline.array(f"dlq:{QUEUE}", bins) + timeline.array("eventbridge_dead_lettered", bins),
            "p99_latency_s": _p99_by_bin(self.arrivals[timed] // self.series_bin_us, latencies, bins),
        }
        series = {key: built[key] for key in SERIES}
        c = self.counters
        hours = result.end_us / US / 3600
        provisioned = not self.orders_table.on_demand
        dynamodb_usd = sum(units * prices.DYNAMODB_WRITE_REQUEST_UNIT.usd
                           for table, units in c.dynamodb_write_units.items() if table != "orders" or not provisioned)
        if provisioned:
            dynamodb_usd += hours * (self.orders_table.write_units_per_s * prices.DYNAMODB_WCU_HOUR.usd
                                     + self.orders_table.read_units_per_s * prices.DYNAMODB_RCU_HOUR.usd)
        api_billed = len(self.arrivals) - sum(c.api_throttles.values())
        cost = {
            "api_gateway": api_billed * prices.API_GATEWAY_REST_REQUEST.usd,
            "lambda": functions[INGEST].cost_usd + functions[PROCESSOR].cost_usd,
            "eventbridge": c.put_events_entries * prices.EVENTBRIDGE_CUSTOM_EVENT.usd,
            "sqs": queue.cost_usd,
            "dynamodb": dynamodb_usd,
        }
        return PipelineResult(
            orders=len(self.arrivals), responses=dict(c.responses), api_throttles=dict(c.api_throttles),
            ingest_invocations=functions[INGEST].invocations, ingest_throttles=functions[INGEST].throttles,
            put_events_calls=c.put_events_calls, put_events_throttles=c.put_events_throttles,
            target_throttles=c.target_throttles, processor_invocations=functions[PROCESSOR].invocations,
            processor_throttles=functions[PROCESSOR].throttles, processor_batches=queue.batches,
            dynamodb_throttles=dict(c.dynamodb_throttles), processed=int(done.sum()),
            dead_lettered=queue.dead_lettered + c.eventbridge_dead_lettered, latencies_s=latencies, cost_usd=cost, end_s=result.end_us / US,
            series=series, model_events=result.processed_events)


def run_pipeline(settings: PipelineSettings, ceilings: Ceilings, arrivals: np.ndarray, *, seed: int = 0,
                 durations: Durations = Durations(), api_stage: ApiStageThrottle | None = None,
                 dynamodb_limits: DynamoDBLimits | None = None, init_model: InitDurationModel | None = None,
                 package_bytes: int | None = None, idle_lifetime: tuple[float, float] | None = (300.0, 900.0),
                 until_s: float | None = None, bin_s: float = 60.0) -> PipelineResult:
    """Play the orders pipeline with `settings` against `ceilings`: one POST /orders request (one
    order) at each of `arrivals` (sorted integer microseconds, e.g. from `capacity.arrivals`).

    `seed` draws what the simulator draws with the same seed (SDK and EventBridge jitter, idle
    lifetimes); `durations` the handlers' base durations; `api_stage` a stage throttle;
    `dynamodb_limits` DynamoDB's ceilings (AWS's by default; scaled down for a lesson or a test);
    `init_model` and `package_bytes` the cold-start model (default: the simulator's, with its
    placeholder package's size); `until_s` stops the run early; `bin_s` is the series' bin
    (a minute).
    """
    if package_bytes is None:
        from lambdasim import placeholder_zip

        package_bytes = len(placeholder_zip())
    return _Pipeline(settings, ceilings, arrivals, seed=seed, durations=durations, api_stage=api_stage,
                     dynamodb_limits=dynamodb_limits, init_model=init_model, package_bytes=package_bytes,
                     idle_lifetime=idle_lifetime, bin_s=bin_s).run(until_s)


def _sleep(clock: int, seconds: float, deadline: int) -> int | None:
    """`time.sleep` in a handler (`lambdasim.runtime.InvocationFrame.sleep`): the clock after it,
    or None when it reaches the deadline (the handler is stopped there)."""
    after = clock + round(seconds * US)
    return None if after >= deadline else after


def _bump(series: list[float], b: int, n: float = 1) -> None:
    if b >= len(series):
        series.extend([0.0] * (b + 1 - len(series)))
    series[b] += n


def _p99_by_bin(bins_of: np.ndarray, values: np.ndarray, bins: int) -> np.ndarray:
    """The 99th percentile of `values` per bin (0 where a bin has none)."""
    out = np.zeros(bins)
    if values.size == 0:
        return out
    order = np.argsort(bins_of, kind="stable")
    keys, starts = np.unique(bins_of[order], return_index=True)
    for key, part in zip(keys, np.split(values[order], starts[1:])):
        if key < bins:
            out[key] = np.percentile(part, 99)
    return out
