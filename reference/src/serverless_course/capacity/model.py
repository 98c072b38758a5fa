"""A discrete-event capacity model of Lambda, SQS and EventBridge, for scales moto cannot serve.

`lambdasim` runs real handlers on moto and a virtual clock: right for hundreds or thousands of
events. A question such as "what does a 1,000,000-event spike do to the account over an hour?"
needs a model that only counts. This is that model: the same virtual-clock notion (integer
microseconds, a heap of scheduled calls, ties in scheduling order) and **the same rules**,
called from `lambdasim.rules`, never written twice:

- account pool, reserved concurrency, throttles: `rules.concurrency.ConcurrencyLimits`
- scaling rate (1,000 new environments per function per 10 s): `rules.concurrency.ScalingRate`
- cold starts (INIT duration): `rules.cold_start.InitDurationModel`, `platform_init_us`;
  idle lifetime of a warm environment: `rules.cold_start.IdleLifetime`
- asynchronous invocation (retries 60 s / 120 s, throttle backoff 1 s ... 300 s, event age,
  reserved concurrency 0): `rules.async_invoke`
- SQS poller scaling (5 batches, +300 per minute, 1,250 or MaximumConcurrency, back-off) and
  throttled-batch retries: `rules.sqs_scaling`
- the batching window's effective visibility timeout: `lambdasim.sources.sqs.effective_visibility_timeout_s`
- partial batch responses: `lambdasim.sources.sqs.settle_batch`
- prices and billing (INIT billed since Aug 1 2025, 1 ms rounding): `rules.pricing` (through
  `serverless_course.prices` for SQS and EventBridge)

What it plays, as the simulator does: synchronous invocations (a throttle is the caller's 429);
asynchronous invocations through Lambda's internal queue; EventBridge rules whose Lambda
targets are asynchronous invocations (that is how EventBridge invokes Lambda, and how the
simulator plays it) or whose SQS targets receive a message; SQS queues with a visibility timeout
and a redrive policy (moto's semantics: a message received maxReceiveCount times goes to the
dead-letter queue at its next receive); SQS event source mappings with BatchSize,
MaximumBatchingWindowInSeconds (one batch gathers at a time, invoked when full or when its window
ends, its messages hidden for the effective visibility timeout, as the simulator's poller plays
it), MaximumConcurrency and ReportBatchItemFailures; functions whose handler calls other services
(a `work` hook decides their duration, failed records and timeouts: a timed-out invocation is
billed its timeout and its environment retired), and scenario players of their own on the same
clock (`call_at`, `add_arrivals`, `invoke_now`, `send_now`): `capacity.pipeline` plays the orders
pipeline of module 1 this way (API Gateway, EventBridge's quotas, DynamoDB's capacity).

Not modelled (yet): FIFO queues, the 6 MB batch payload limit, a function's timeout without a
`work` hook (a duration is what it is), the 10 s INIT limit, the periodic recycling of
environments, duplicate deliveries, SnapStart. EventBridge's own target retry policy (185
attempts / 24 h, `lambdasim.rules.eventbridge`) applies only when the Invoke call itself fails
(429 / 5xx from the API); Lambda accepts every asynchronous event here, as in the simulator, so
a Lambda target's throttles are handled by Lambda's async queue (as on AWS) and that policy
never fires in the model.

`tests/capacity/test_agreement.py` runs small scenarios through both `lambdasim.Simulator`
(real handlers, moto) and this model, and checks the same counts of invocations, throttles,
cold starts and dead-lettered events; `tests/capacity/test_pipeline_agreement.py` does the same
for the orders pipeline.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from random import Random
from typing import Any

import numpy as np

from lambdasim.rules import async_invoke as ai
from lambdasim.rules import pricing
from lambdasim.rules.cold_start import IdleLifetime, InitDurationModel, platform_init_us
from lambdasim.rules.concurrency import DEFAULT_ACCOUNT_CONCURRENCY, ConcurrencyLimits, ScalingRate
from lambdasim.rules.sqs_scaling import PollerScaling, throttle_retry_delay_s
from lambdasim.sources import sqs as sqs_source

from .. import prices

US = 1_000_000

# Event kinds on the heap (arrivals are read from their sorted arrays, not pushed).
_ASYNC, _ASYNC_END, _POLL, _SQS_INVOKE, _SQS_END, _WINDOW, _CALL = range(7)

Fails = Callable[[int, int], bool]  # (event id, attempt / receive number, 1-based) -> fails?


@dataclass(frozen=True)
class Handled:
    """What a handler did, as a function's `work` hook computes it (the simulator's runtime
    measures the same: `lambdasim.runtime`)."""

    elapsed_us: int  # virtual time the handler spent (its SDK retries' sleeps)
    base_us: int  # the base duration (what `sim.set_duration` gives the simulator)
    timed_out: bool = False  # stopped in a sleep that passed the deadline
    failed: frozenset[int] = frozenset()  # positions of the records it reported failed (SQS)


# (handler start, deadline, event ids of the invocation: one, or an SQS batch's) -> what it did.
Work = Callable[[int, int, list[int]], Handled]


@dataclass
class Function:
    """One Lambda function as the model sees it.

    `duration_ms`: a number, or `(rng, event_id) -> ms` drawn from the model's seeded generator.
    `fails(event_id, attempt)`: True if the invocation (or the record, in an SQS batch) fails;
    None: never fails. For an SQS batch without ReportBatchItemFailures one failing record fails
    the whole batch, as a handler that raises does.
    """

    name: str
    duration_ms: float | Callable[[Random, int], float] = 100.0
    memory_mb: int = 128
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    package_bytes: int = 0
    code_init_ms: float = 0.0
    reserved: int | None = None
    provisioned: int = 0
    fails: Fails | None = None
    timeout_s: float = 900.0
    # What the handler does, when its duration and failures depend on the services it calls
    # (`serverless_course.capacity.pipeline`); it then replaces `duration_ms` and `fails`. A
    # handler past its timeout fails, is billed the timeout, and its environment is retired.
    work: Work | None = None


@dataclass
class FunctionStats:
    """Counts and cost of one function over the run."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    throttles_by_limit: dict[str, int] = field(default_factory=dict)
    cold_starts: int = 0
    provisioned_invocations: int = 0
    billed_ms: int = 0
    init_ms: float = 0.0
    peak_concurrency: int = 0
    last_end_us: int = 0  # when the last invocation ended
    # asynchronous events (direct async invokes and EventBridge Lambda targets)
    async_received: int = 0
    async_succeeded: int = 0
    async_dropped: int = 0  # retries exhausted or too old: AsyncEventsDropped -> DLQ
    async_dropped_age: int = 0
    async_retries: int = 0  # function-error retries
    duplicates: int = 0  # events that ran more than once (a retry after a failed attempt)
    memory_mb: int = 128
    architecture: str = "x86_64"

    @property
    def gb_seconds(self) -> float:
        return pricing.gb_seconds(self.billed_ms, self.memory_mb)

    @property
    def cost_usd(self) -> float:
        return pricing.request_cost(self.invocations) + pricing.duration_cost(self.gb_seconds, self.architecture)


@dataclass
class QueueStats:
    """Counts of one SQS queue over the run."""

    sent: int = 0
    received: int = 0  # a redelivered message counts each time
    deleted: int = 0
    dead_lettered: int = 0
    max_depth: int = 0
    requests: int = 0  # billed SQS requests: sends, ReceiveMessage and DeleteMessageBatch calls
    batches: int = 0
    throttled_batches: int = 0
    released: int = 0
    peak_batches: int = 0

    @property
    def cost_usd(self) -> float:
        return self.requests * prices.SQS_STANDARD_REQUEST.usd


@dataclass
class Timeline:
    """Per-bin series (a bin is `bin_s` seconds): sums of counts, or maxima for levels.

    Keys, per function F: `invocations:F`, `cold_starts:F`, `throttles:F`, `dropped:F` (sums);
    `concurrency:F` (peak busy environments), `wait:F` (oldest age of an asynchronous event
    when it started, seconds: AsyncEventAge). Per queue Q: `depth:Q` (peak messages in the
    queue, visible or in flight), `dlq:Q` (sum), `wait:Q` (age of the oldest message received,
    seconds: what ApproximateAgeOfOldestMessage shows).
    """

    bin_s: float
    series: dict[str, list[float]] = field(default_factory=dict)

    def list(self, key: str) -> list[float]:
        """The (growing) list behind a series."""
        return self.series.setdefault(key, [])

    def _slot(self, key: str, b: int) -> list[float]:
        s = self.series.get(key)
        if s is None:
            s = self.series[key] = []
        if b >= len(s):
            s.extend([0.0] * (b + 1 - len(s)))
        return s

    def add(self, key: str, t_us: int, n: float = 1) -> None:
        b = int(t_us // (self.bin_s * US))
        self._slot(key, b)[b] += n

    def peak(self, key: str, t_us: int, v: float) -> None:
        b = int(t_us // (self.bin_s * US))
        s = self._slot(key, b)
        if v > s[b]:
            s[b] = v

    def array(self, key: str, bins: int | None = None) -> np.ndarray:
        """The series as an array of `bins` values (zeros where nothing happened)."""
        s = self.series.get(key, [])
        n = max(len(s), bins or 0)
        out = np.zeros(n)
        out[: len(s)] = s
        return out

    def times(self, bins: int) -> np.ndarray:
        """The start of each bin, seconds."""
        return np.arange(bins) * self.bin_s


@dataclass
class Result:
    """What a run did: counts per function and queue, costs, and the timeline."""

    functions: dict[str, FunctionStats]
    queues: dict[str, QueueStats]
    eventbridge_events: int
    end_us: int  # when the last event happened or the last invocation ended
    timeline: Timeline
    processed_events: int

    @property
    def eventbridge_cost_usd(self) -> float:
        return self.eventbridge_events * prices.EVENTBRIDGE_CUSTOM_EVENT.usd

    @property
    def cost_usd(self) -> float:
        return (sum(f.cost_usd for f in self.functions.values())
                + sum(q.cost_usd for q in self.queues.values()) + self.eventbridge_cost_usd)

    def counts(self) -> dict[str, dict[str, int]]:
        """The counts the agreement test compares with the simulator."""
        out: dict[str, dict[str, int]] = {}
        for name, f in self.functions.items():
            out[name] = {"invocations": f.invocations, "errors": f.errors, "throttles": f.throttles,
                         "cold_starts": f.cold_starts, "async_dropped": f.async_dropped}
        for name, q in self.queues.items():
            out[name] = {"deleted": q.deleted, "dead_lettered": q.dead_lettered}
        return out


class _Fn:
    __slots__ = ("spec", "stats", "busy", "idle", "prov_busy", "prov_idle", "duration_us", "init_us", "timeout_us",
                 "billed_warm", "billed_cold", "busy_counts", "s_inv", "s_cold", "s_conc", "s_thr", "s_drop", "s_wait")

    def __init__(self, spec: Function, init_model: InitDurationModel) -> None:
        self.spec = spec
        self.stats = FunctionStats(memory_mb=spec.memory_mb, architecture=spec.architecture)
        self.busy: list[tuple[int, int | None]] = []  # heap of (end_us, idle lifetime_us)
        self.idle: deque[tuple[int, int | None]] = deque()  # (last_used_us, lifetime_us), MRU last
        self.prov_busy: list[int] = []
        self.prov_idle = spec.provisioned
        self.busy_counts: dict[str, int] = {}  # what the concurrency rule is given (reserved functions)
        self.duration_us = None if callable(spec.duration_ms) else round(spec.duration_ms * 1000)
        self.timeout_us = round(spec.timeout_s * US)
        self.init_us = platform_init_us(
            init_model, runtime=spec.runtime, memory_mb=spec.memory_mb,
            package_bytes=spec.package_bytes, package_type="Zip", vpc=False,
        ) + round(spec.code_init_ms * 1000)
        if self.duration_us is not None:  # billing of a constant duration, computed once
            self.billed_warm = pricing.billed_duration_ms(self.duration_us / 1000)
            self.billed_cold = pricing.billed_duration_ms(self.duration_us / 1000, self.init_us / 1000)

    def attach(self, timeline: Timeline) -> None:
        name = self.spec.name
        self.s_inv = timeline.list(f"invocations:{name}")
        self.s_cold = timeline.list(f"cold_starts:{name}")
        self.s_conc = timeline.list(f"concurrency:{name}")
        self.s_thr = timeline.list(f"throttles:{name}")
        self.s_drop = timeline.list(f"dropped:{name}")
        self.s_wait = timeline.list(f"wait:{name}")

    def release(self, t: int) -> None:
        busy = self.busy
        while busy and busy[0][0] <= t:
            self.idle.append(heapq.heappop(busy))
        pb = self.prov_busy
        while pb and pb[0] <= t:
            heapq.heappop(pb)
            self.prov_idle += 1


class _Queue:
    def __init__(self, name: str, visibility_timeout_s: int, max_receive_count: int | None) -> None:
        self.name = name
        self.vt_us = visibility_timeout_s * US
        self.max_receive = max_receive_count
        self.stats = QueueStats()
        self.event_ids: list[int] = []
        self.sent_at: list[int] = []
        self.receives: list[int] = []
        self.deleted = bytearray()
        self.visible: list[int] = []  # heap of message sequence numbers (moto: oldest sent first)
        self.hidden: list[tuple[int, int]] = []  # heap of (visible_at_us, seq)
        self.depth = 0
        self.mapping: _Mapping | None = None

    def next_change(self) -> int | None:
        hidden = self.hidden
        while hidden and self.deleted[hidden[0][1]]:
            heapq.heappop(hidden)
        return hidden[0][0] if hidden else None


@dataclass(eq=False)
class _Batch:
    seqs: list[int]
    deadline_us: int
    throttles: int = 0


class _Mapping:
    def __init__(self, queue: _Queue, fn: _Fn, batch_size: int, maximum_concurrency: int | None,
                 report_batch_item_failures: bool, batching_window_s: int = 0) -> None:
        self.queue = queue
        self.fn = fn
        self.batch_size = batch_size
        self.rbif = report_batch_item_failures
        self.window_us = batching_window_s * US
        # How long received messages stay hidden: the queue's visibility timeout, or the
        # effective one a batching window brings (with-sqs.html), as the simulator's poller.
        self.hidden_us = sqs_source.effective_visibility_timeout_s(
            queue.vt_us // US, batching_window_s, math.ceil(fn.spec.timeout_s)) * US
        self.gathering: _Batch | None = None  # the batch a window is filling (one at a time)
        self.scaling = PollerScaling(maximum_concurrency=maximum_concurrency,
                                     report_batch_item_failures=report_batch_item_failures)
        self.active = 0
        self.backlog = False
        self.poll_at: int | None = None  # the pending poll (as the poller's _poll_call)
        self.poll_gen = 0


class CapacityModel:
    """Build a scenario (functions, queues, mappings, traffic), then `run()` it.

    The constructor takes the simulator's account-level settings with the same defaults as
    `lambdasim.Simulator`, so one scenario can run through both.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        account_concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY,
        scaling_rate: tuple[int, float] | None = (1000, 10.0),
        idle_lifetime: float | tuple[float, float] | None = (300.0, 900.0),
        init_model: InitDurationModel | None = None,
        bin_s: float = 1.0,
    ) -> None:
        self.seed = seed
        self.rng = Random(seed)
        self.limits = ConcurrencyLimits(account_concurrency)
        self.scaling = ScalingRate(*scaling_rate) if scaling_rate is not None else None
        self.idle_lifetime = IdleLifetime(idle_lifetime)
        self.init_model = init_model or InitDurationModel()
        self.timeline = Timeline(bin_s)
        self._fns: dict[str, _Fn] = {}
        self._queues: dict[str, _Queue] = {}
        self._sources: list[tuple[np.ndarray, int, Any]] = []
        self._heap: list[tuple[int, int, int, Any]] = []
        self._seq = 0
        self._eb_events = 0
        self._processed = 0
        # Told the event ids of the SQS messages a batch settled as succeeded, and when.
        self.settled: Callable[[int, list[int]], None] | None = None

    # -- building a scenario ----------------------------------------------------------------
    def add_function(self, spec: Function) -> Function:
        reserved = {n: f.spec.reserved for n, f in self._fns.items() if f.spec.reserved is not None}
        if spec.reserved is not None:
            from lambdasim.rules.concurrency import reserved_concurrency_error

            problem = reserved_concurrency_error(self.limits.account_limit, reserved, spec.name, spec.reserved)
            if problem:
                raise ValueError(problem)
        self._fns[spec.name] = _Fn(spec, self.init_model)
        return spec

    def add_queue(self, name: str, *, visibility_timeout_s: int = 30, max_receive_count: int | None = None) -> None:
        """A standard queue; `max_receive_count` set: a redrive policy to a dead-letter queue."""
        self._queues[name] = _Queue(name, visibility_timeout_s, max_receive_count)

    def add_mapping(self, queue: str, function: str, *, batch_size: int = 10,
                    maximum_concurrency: int | None = None, report_batch_item_failures: bool = False,
                    batching_window_s: int = 0) -> None:
        """An SQS event source mapping: BatchSize up to 10, or up to 10,000 with a batching window
        of at least 1 s (API_CreateEventSourceMapping.html). The 6 MB payload limit is not played."""
        if not 1 <= batch_size <= (10 if batching_window_s == 0 else 10_000):
            raise ValueError("BatchSize is 1 to 10 without a batching window, up to 10,000 with one")
        q = self._queues[queue]
        q.mapping = _Mapping(q, self._fns[function], batch_size, maximum_concurrency, report_batch_item_failures,
                             batching_window_s)

    def invoke_sync(self, function: str, arrivals: np.ndarray) -> None:
        """Synchronous invocations (RequestResponse) at these times; a throttle is a 429 to the caller."""
        self._add_source(arrivals, ("sync", self._fns[function]))

    def invoke_async(self, function: str, arrivals: np.ndarray, *, maximum_retry_attempts: int = 2,
                     maximum_event_age_s: int = ai.DEFAULT_MAXIMUM_EVENT_AGE_S) -> None:
        """Asynchronous invocations (Event) at these times, with an event invoke config."""
        settings = ai.AsyncSettings(maximum_retry_attempts=maximum_retry_attempts,
                                    maximum_event_age_s=maximum_event_age_s)
        self._add_source(arrivals, ("async", self._fns[function], settings))

    def eventbridge(self, arrivals: np.ndarray, *, function: str | None = None, queue: str | None = None,
                    maximum_retry_attempts: int = 2,
                    maximum_event_age_s: int = ai.DEFAULT_MAXIMUM_EVENT_AGE_S) -> None:
        """Custom events put on a bus at these times, one rule with a Lambda or an SQS target.

        A Lambda target is invoked asynchronously (Lambda's event invoke config applies);
        an SQS target receives the event as a message.
        """
        if (function is None) == (queue is None):
            raise ValueError("one target: function= or queue=")
        if function is not None:
            settings = ai.AsyncSettings(maximum_retry_attempts=maximum_retry_attempts,
                                        maximum_event_age_s=maximum_event_age_s)
            self._add_source(arrivals, ("eb-async", self._fns[function], settings))
        else:
            self._add_source(arrivals, ("eb-sqs", self._queues[queue]))

    def send(self, queue: str, arrivals: np.ndarray) -> None:
        """Messages sent to a queue at these times."""
        self._add_source(arrivals, ("sqs", self._queues[queue]))

    def add_arrivals(self, arrivals: np.ndarray, callback: Callable[[int, int], None]) -> None:
        """Arrivals a scenario's own player takes: `callback(time, index)` for each."""
        self._add_source(arrivals, ("call", callback))

    def invoke_now(self, function: str, t: int, event_id: int) -> tuple[int, bool] | None:
        """A synchronous invocation at `t`, the current time (from a scenario's player): (end
        time, failed), or None when throttled."""
        ran = self._invoke(self._fns[function], t, event_id, 1)
        return None if ran is None else (ran[0], ran[1])

    def send_now(self, queue: str, t: int, event_id: int, *, visible_from: int | None = None) -> None:
        """A message sent to a queue at `t`, the current time (from a scenario's player); by a
        handler whose own time `visible_from` is ahead of `t`, it is received from then on."""
        self._send(self._queues[queue], t, event_id, visible_from)

    def _add_source(self, arrivals: np.ndarray, what: tuple[Any, ...]) -> None:
        self._sources.append((np.asarray(arrivals, dtype=np.int64), 0, what))

    # -- the loop -----------------------------------------------------------------------------
    def _push(self, t: int, kind: int, data: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, data))

    def call_at(self, at_us: int, callback: Callable[..., None], *args: Any) -> None:
        """Run `callback(at_us, *args)` at `at_us` (for a scenario's own players, as
        `sim.schedule` serves the simulator's)."""
        self._push(at_us, _CALL, (callback, args))

    def run(self, until_s: float | None = None) -> Result:
        """Run until nothing is left to do (or until `until_s`), and return the result."""
        limit = None if until_s is None else round(until_s * US)
        fns = self._fns
        # Static for the run: what the concurrency rule reads besides the busy counts.
        self._reserved = {n: f.spec.reserved for n, f in fns.items() if f.spec.reserved is not None}
        self._provisioned = {n: f.spec.provisioned for n, f in fns.items() if f.spec.provisioned}
        self._unreserved = [(n, f) for n, f in fns.items() if f.spec.reserved is None]
        self._check = self.limits.check
        self._bin_us = round(self.timeline.bin_s * US)
        for f in fns.values():
            f.attach(self.timeline)
        for q in self._queues.values():
            q.s_depth = self.timeline.list(f"depth:{q.name}")
            q.s_dlq = self.timeline.list(f"dlq:{q.name}")
            q.s_wait = self.timeline.list(f"wait:{q.name}")
        heap = self._heap
        pop = heapq.heappop
        sources = self._sources
        # Arrivals are read from their sorted arrays in step with the heap (not pushed on it):
        # `nxt` is the earliest next arrival over all sources. At equal times an arrival goes
        # first, as in the simulator, where the driving code's sends were scheduled first.
        cursors = [0] * len(sources)
        arrays = [a.tolist() for a, _, _ in sources]
        pending = [(arr[0], k) for k, arr in enumerate(arrays) if arr]
        heapq.heapify(pending)
        t = 0
        while heap or pending:
            if pending and (not heap or pending[0][0] <= heap[0][0]):
                at, k = pending[0]
                if limit is not None and at > limit:
                    break
                i = cursors[k]
                cursors[k] = i + 1
                arr = arrays[k]
                if i + 1 < len(arr):
                    heapq.heapreplace(pending, (arr[i + 1], k))
                else:
                    heapq.heappop(pending)
                t = at
                self._processed += 1
                self._arrive(t, i, sources[k][2])
                continue
            if limit is not None and heap[0][0] > limit:
                break
            at, _, kind, data = pop(heap)
            if kind == _POLL and data[1] != data[0].poll_gen:
                continue  # superseded by an earlier poll: nothing happens then
            t = at
            self._processed += 1
            if kind == _ASYNC:
                self._async_dispatch(t, data)
            elif kind == _ASYNC_END:
                self._async_end(t, data)
            elif kind == _POLL:
                mapping = data[0]
                mapping.poll_at = None
                self._fill(mapping, t)
            elif kind == _SQS_INVOKE:
                self._sqs_invoke(t, data[0], data[1])
            elif kind == _SQS_END:
                self._sqs_end(t, *data)
            elif kind == _WINDOW:
                self._window_expired(t, *data)
            else:
                data[0](t, *data[1])
        stats = {name: f.stats for name, f in self._fns.items()}
        end = max([t] + [f.last_end_us for f in stats.values()])  # the last event, or invocation's end
        if limit is not None:
            end = min(end, limit)  # stopped there
        return Result(stats, {n: q.stats for n, q in self._queues.items()}, self._eb_events, end,
                      self.timeline, self._processed)

    def _arrive(self, t: int, i: int, what: tuple[Any, ...]) -> None:
        kind = what[0]
        if kind == "call":
            what[1](t, i)
        elif kind == "sync":
            fn = what[1]
            self._invoke(fn, t, i, 1)
        elif kind in ("async", "eb-async"):
            if kind == "eb-async":
                self._eb_events += 1
            fn = what[1]
            fn.stats.async_received += 1
            # [event id, enqueued, attempts, throttles in a row, function, settings]
            self._async_dispatch(t, [i, t, 0, 0, fn, what[2]])
        else:
            if kind == "eb-sqs":
                self._eb_events += 1
            self._send(what[1], t, i)

    # -- environments: the one place an invocation gets one (as EnvironmentPool.acquire) ------
    def _acquire(self, fn: _Fn, t: int) -> tuple[int, int | None]:
        """(how, idle lifetime): how is 0 throttled, 1 warm, 2 cold, 3 provisioned."""
        spec = fn.spec
        busy = fn.busy
        if (busy and busy[0][0] <= t) or fn.prov_busy:
            fn.release(t)
        if fn.prov_idle > 0:
            fn.prov_idle -= 1
            return 3, None
        if spec.reserved is not None:
            counts = fn.busy_counts  # one mapping per function, updated in place
            counts[spec.name] = len(busy)
        else:
            counts = {}
            for name, other in self._unreserved:
                other_busy = other.busy
                if other is not fn and ((other_busy and other_busy[0][0] <= t) or other.prov_busy):
                    other.release(t)
                if other_busy:
                    counts[name] = len(other_busy)
        throttle = self._check(spec.name, busy=counts, reserved=self._reserved, provisioned=self._provisioned)
        if throttle is not None:
            self._throttled(fn, t, throttle.limit)
            return 0, None
        idle = fn.idle
        while idle:
            last_used, lifetime = idle.pop()
            if not IdleLifetime.reclaimed(last_used, lifetime, t):
                return 1, lifetime
        if self.scaling is not None and not self.scaling.try_take(spec.name, t):
            self._throttled(fn, t, "scaling-rate")
            return 0, None
        return 2, self.idle_lifetime.draw_us(self.rng)

    def _throttled(self, fn: _Fn, t: int, limit: str) -> None:
        st = fn.stats
        st.throttles += 1
        st.throttles_by_limit[limit] = st.throttles_by_limit.get(limit, 0) + 1
        _bump(fn.s_thr, t // self._bin_us, 1)

    def _invoke(self, fn: _Fn, t: int, event_id: int, attempt: int, *, fails: bool | None = None,
                batch: list[int] | None = None) -> tuple[int, bool, frozenset[int]] | None:
        """Run one invocation at `t`: (end time, failed, positions of the records the handler
        reported failed), or None if throttled. `fails` overrides the function's own predicate
        (an SQS batch decides from its records); `batch`: the event ids of an SQS batch."""
        how, lifetime = self._acquire(fn, t)
        if how == 0:
            return None
        spec = fn.spec
        st = fn.stats
        init_us = fn.init_us if how == 2 else 0
        failed_records: frozenset[int] = frozenset()
        if spec.work is not None:
            start = t + init_us
            handled = spec.work(start, start + fn.timeout_us, [event_id] if batch is None else batch)
            duration_us = handled.elapsed_us + handled.base_us
            if handled.timed_out or duration_us > fn.timeout_us:
                duration_us, fails, lifetime = fn.timeout_us, True, 0  # a timed-out environment is retired
            else:
                fails, failed_records = False, handled.failed
        else:
            duration_us = fn.duration_us if fn.duration_us is not None else round(
                spec.duration_ms(self.rng, event_id) * 1000)  # type: ignore[operator]
        end = t + init_us + duration_us
        if how == 3:
            heapq.heappush(fn.prov_busy, end)
            st.provisioned_invocations += 1
        else:
            heapq.heappush(fn.busy, (end, lifetime))
        st.invocations += 1
        if end > st.last_end_us:
            st.last_end_us = end
        b = t // self._bin_us
        s_inv = fn.s_inv
        if b >= len(s_inv):
            s_inv.extend([0] * (b + 1 - len(s_inv)))
        s_inv[b] += 1
        if fn.duration_us is not None and spec.work is None:
            st.billed_ms += fn.billed_cold if how == 2 else fn.billed_warm
        else:
            st.billed_ms += pricing.billed_duration_ms(duration_us / 1000, init_us / 1000 if init_us else None)
        if how == 2:
            st.cold_starts += 1
            st.init_ms += init_us / 1000
            _bump(fn.s_cold, b, 1)
        if fails is None:
            fails = spec.fails is not None and spec.fails(event_id, attempt)
        if fails:
            st.errors += 1
        conc = len(fn.busy) + len(fn.prov_busy)
        if conc > st.peak_concurrency:
            st.peak_concurrency = conc
        s_conc = fn.s_conc
        if b >= len(s_conc):
            s_conc.extend([0] * (b + 1 - len(s_conc)))
        if conc > s_conc[b]:
            s_conc[b] = conc
        return end, fails, failed_records

    # -- asynchronous invocation (as lambdasim.async_queue) -------------------------------------
    def _async_dispatch(self, t: int, ev: list[Any]) -> None:
        event_id, enqueued, attempts, in_a_row, fn, settings = ev
        if ai.event_expired((t - enqueued) / US, settings.maximum_event_age_s):
            fn.stats.async_dropped_age += 1
            self._async_drop(fn, t)
            return
        ran = self._invoke(fn, t, event_id, attempts + 1)
        if ran is None:
            ev[3] = in_a_row + 1
            if ai.reserved_concurrency_zero_discards("Reserved", fn.spec.reserved):
                self._async_drop(fn, t)
                return
            delay = ai.throttle_retry_delay_s(ev[3])
            self._push(t + round(delay * US), _ASYNC, ev)
            return
        ev[3] = 0
        ev[2] = attempts + 1
        _peak(fn.s_wait, t // self._bin_us, (t - enqueued) / US)  # AsyncEventAge, seconds
        if attempts == 1:
            fn.stats.duplicates += 1  # the event runs a second time: its side effects may repeat
        end, failed, _ = ran
        if failed:
            self._push(end, _ASYNC_END, (ev, False))
        else:
            # Success settles the event; nothing is scheduled for its end (no destinations are
            # modelled), so it is counted when it starts.
            fn.stats.async_succeeded += 1

    def _async_end(self, t: int, data: tuple[list[Any], bool]) -> None:
        ev, ok = data
        fn, settings = ev[4], ev[5]
        if ok:
            fn.stats.async_succeeded += 1
        elif ai.retries_left(settings, ev[2]):
            fn.stats.async_retries += 1
            self._push(t + ai.function_error_retry_delay_s(ev[2]) * US, _ASYNC, ev)
        else:
            self._async_drop(fn, t)

    def _async_drop(self, fn: _Fn, t: int) -> None:
        fn.stats.async_dropped += 1
        _bump(fn.s_drop, t // self._bin_us, 1)

    # -- SQS (as moto's queue and lambdasim.pollers.sqs) ----------------------------------------
    def _send(self, q: _Queue, t: int, event_id: int, visible_from: int | None = None) -> None:
        seq = len(q.event_ids)
        q.event_ids.append(event_id)
        q.sent_at.append(t)
        q.receives.append(0)
        q.deleted.append(0)
        poll_at = t
        if visible_from is None:
            heapq.heappush(q.visible, seq)
        else:
            # Sent by handler code at its own time, ahead of the model's: in the queue's order now,
            # received from `visible_from` on (hidden entries show when their time is < now), and
            # the poller woken when the simulator's wakes it (`pollers._after_ms` of moto's
            # milliseconds: 1 or 2 us later).
            heapq.heappush(q.hidden, (visible_from - 1, seq))
            poll_at = _after_moto_ms(visible_from)
        q.stats.sent += 1
        q.stats.requests += 1
        q.depth += 1
        if q.depth > q.stats.max_depth:
            q.stats.max_depth = q.depth
        self._depth(q, t)
        m = q.mapping
        if m is not None:
            # The poller wakes on a new message (as SqsPoller.message_added). When it already
            # has messages it cannot take (backlog, every batch slot busy) and its next scale-up
            # poll is booked (or it is at its cap), that poll would change nothing: skip it.
            if m.backlog and m.active >= m.scaling.target and (
                    m.poll_at is not None or m.scaling.next_increase_us(t) is None):
                return
            self._request_poll(m, t, poll_at)

    def _depth(self, q: _Queue, t: int) -> None:
        b = t // self._bin_us
        series = q.s_depth
        if b >= len(series):
            series.extend([0] * (b + 1 - len(series)))
        if q.depth > series[b]:
            series[b] = q.depth

    def _request_poll(self, m: _Mapping, now: int, at: int | None = None) -> None:
        at = now if at is None else max(now, at)
        if m.poll_at is not None and m.poll_at <= at:
            return
        m.poll_gen += 1
        m.poll_at = at
        self._push(at, _POLL, (m, m.poll_gen))

    def _receive(self, q: _Queue, wanted: int, t: int, hidden_us: int) -> list[int]:
        hidden, visible, deleted = q.hidden, q.visible, q.deleted
        while hidden and hidden[0][0] < t:
            _, seq = heapq.heappop(hidden)
            if not deleted[seq]:
                heapq.heappush(visible, seq)
        out: list[int] = []
        while visible and len(out) < wanted:
            seq = heapq.heappop(visible)
            if q.max_receive is not None and q.receives[seq] >= q.max_receive:
                deleted[seq] = 1
                q.depth -= 1
                q.stats.dead_lettered += 1
                _bump(q.s_dlq, t // self._bin_us, 1)
                continue
            q.receives[seq] += 1
            heapq.heappush(hidden, (t + hidden_us, seq))
            out.append(seq)
        q.stats.received += len(out)
        if out:  # the oldest message of the batch: ApproximateAgeOfOldestMessage, seconds
            _peak(q.s_wait, t // self._bin_us, (t - q.sent_at[out[0]]) / US)
        q.stats.requests += max(1, math.ceil(len(out) / 10))
        return out

    # The poller's steps, as lambdasim.pollers.sqs.SqsPoller takes them (_fill, _open_batch,
    # _top_up, _window_expired, _close_window, _invoke, _throttled, _settle).
    def _fill(self, m: _Mapping, t: int) -> None:
        q = m.queue
        drained = False
        while True:
            if m.gathering is not None:
                drained = self._top_up(m, m.gathering, t)
                if m.gathering is not None:
                    break  # still gathering: the window or the next message closes it
            while m.active < m.scaling.target:
                started, drained = self._open_batch(m, t)
                if not started or m.gathering is not None:
                    break
            before = m.scaling.target
            m.scaling.next_target(t, backlog=int(m.backlog))
            if m.scaling.target <= before:
                break
        if m.backlog and m.active >= m.scaling.target:
            grow = m.scaling.next_increase_us(t)
            if grow is not None:
                self._request_poll(m, t, grow)
        elif drained and m.active < m.scaling.target:
            change = q.next_change()
            if change is not None and change + 2 > t:
                self._request_poll(m, t, change + 2)

    def _open_batch(self, m: _Mapping, t: int) -> tuple[bool, bool]:
        """Start a batch if the queue has messages: (started, queue drained)."""
        q = m.queue
        seqs = self._receive(q, m.batch_size, t, m.hidden_us)
        if not seqs:
            m.backlog = False
            return False, True
        drained = len(seqs) < m.batch_size
        m.active += 1
        m.backlog = not drained
        q.stats.batches += 1
        if m.active > q.stats.peak_batches:
            q.stats.peak_batches = m.active
        batch = _Batch(seqs, t + m.hidden_us)
        if not drained or m.window_us == 0:
            self._sqs_invoke(t, m, batch)
        else:
            m.gathering = batch
            self._push(t + m.window_us, _WINDOW, (m, batch))
        return True, drained

    def _top_up(self, m: _Mapping, batch: _Batch, t: int) -> bool:
        wanted = m.batch_size - len(batch.seqs)
        seqs = self._receive(m.queue, wanted, t, m.hidden_us)
        batch.seqs.extend(seqs)
        if len(batch.seqs) >= m.batch_size:
            self._close_window(m, batch, t)
        return len(seqs) < wanted

    def _window_expired(self, t: int, m: _Mapping, batch: _Batch) -> None:
        if batch is not m.gathering:
            return  # closed earlier (full)
        self._top_up(m, batch, t)
        if batch is m.gathering:
            self._close_window(m, batch, t)
        self._request_poll(m, t)

    def _close_window(self, m: _Mapping, batch: _Batch, t: int) -> None:
        m.gathering = None
        self._sqs_invoke(t, m, batch)

    def _sqs_invoke(self, t: int, m: _Mapping, batch: _Batch) -> None:
        q, fn = m.queue, m.fn
        failed: list[int] = []
        if fn.spec.work is not None:
            ran = self._invoke(fn, t, q.event_ids[batch.seqs[0]], 1, batch=[q.event_ids[s] for s in batch.seqs])
        else:
            fails_of = fn.spec.fails
            if fails_of is not None:
                failed = [s for s in batch.seqs if fails_of(q.event_ids[s], q.receives[s])]
            ran = self._invoke(fn, t, q.event_ids[batch.seqs[0]], 1, fails=bool(failed) and not m.rbif)
        if ran is None:
            batch.throttles += 1
            q.stats.throttled_batches += 1
            m.scaling.next_target(t, backlog=int(m.backlog), throttles=1)
            retry_at = t + round(throttle_retry_delay_s(batch.throttles) * US)
            if retry_at < batch.deadline_us:
                self._push(retry_at, _SQS_INVOKE, (m, batch))
            else:
                q.stats.released += len(batch.seqs)
                m.active -= 1
                self._request_poll(m, t)
            return
        end, error, reported = ran
        if fn.spec.work is not None:
            failed = list(batch.seqs) if error else [batch.seqs[i] for i in sorted(reported)]
        self._push(end, _SQS_END, (m, batch, failed, error))

    def _sqs_end(self, t: int, m: _Mapping, batch: _Batch, failed: list[int], error: bool) -> None:
        q = m.queue
        if error:
            outcome: sqs_source.Outcome = sqs_source.FunctionError("batch failed")
        elif failed:
            outcome = sqs_source.Returned(_partial_response(q, failed))
        else:
            outcome = sqs_source.Returned(b"null")
        records = [{"messageId": str(s)} for s in batch.seqs]
        settlement = sqs_source.settle_batch(records, outcome, report_batch_item_failures=m.rbif, fifo=False)
        succeeded = [int(mid) for mid in settlement.succeeded]
        for s in succeeded:
            if not q.deleted[s]:
                q.deleted[s] = 1
                q.depth -= 1
        q.stats.deleted += len(succeeded)
        if succeeded:
            q.stats.requests += math.ceil(len(succeeded) / 10)
            if self.settled is not None:
                self.settled(t, [q.event_ids[s] for s in succeeded])
        self._depth(q, t)
        m.active -= 1
        m.scaling.next_target(t, backlog=int(m.backlog), errors=int(error))
        self._request_poll(m, t)


# The simulator's clock starts at 2026-01-01T00:00:00Z (lambdasim.simulator.DEFAULT_START).
_SIMULATOR_START_US = 1_767_225_600 * US


def _after_moto_ms(t: int) -> int:
    """When the simulator's poller wakes for a message visible from `t`: moto's epoch
    milliseconds of `t` (`unix_time_millis`: the timedelta's float seconds x 1000) through
    `lambdasim.pollers._after_ms`, back in the model's microseconds."""
    ms = ((_SIMULATOR_START_US + t) / US) * 1000.0
    return int(ms * 1000) + 2 - _SIMULATOR_START_US


def _bump(series: list[float], b: int, n: float) -> None:
    if b >= len(series):
        series.extend([0] * (b + 1 - len(series)))
    series[b] += n


def _peak(series: list[float], b: int, v: float) -> None:
    if b >= len(series):
        series.extend([0] * (b + 1 - len(series)))
    if v > series[b]:
        series[b] = v


def _partial_response(q: _Queue, failed: Iterable[int]) -> bytes:
    import json

    return json.dumps({"batchItemFailures": [{"itemIdentifier": str(s)} for s in failed]}).encode()
