"""Load tests of the orders pipeline: a traffic shape through the real stack in `lambdasim`, and
what every stage did, second by second.

`run_load(arrivals_us, settings=..., ceilings=...)` deploys module 1's template (its parameters
from `PipelineSettings`, the account's quotas from `Ceilings`), sends one POST /orders through the
simulated API Gateway front door at each arrival instant (`serverless_course.capacity.arrivals`:
the capacity model plays the same arrays), runs the virtual clock until the pipeline is idle and
returns a `LoadRun`: per-bin series of every stage, each order's end-to-end latency, a ledger in
which every order is accounted for, and the cost per million orders.

Where each figure comes from (the simulator's own records, read after the run, except the queue's
depth, sampled through the SQS API at each bin's start):

| Series | From |
|---|---|
| `arrivals`, `api_accepted`, `api_refused` | the requests sent and the status each one got |
| `api_throttles` | `sim.api_gateway.throttles` (429 Too Many Requests) |
| `ingest_invocations`, `processor_invocations` | `sim.invocations`, by start |
| `ingest_throttles`, `processor_throttles` | `sim.throttles` (Lambda refused the invocation) |
| `ingest_concurrency`, `processor_concurrency` | the most invocations running at once in the bin |
| `put_events_throttles`, `rule_throttles` | `sim.eventbridge.throttles`: PutEvents calls refused by the TPS quota (ingest's and the processor's alike); deliveries the target invocation quota delayed |
| `queued` | events the rule delivered to the orders queue (`sim.eventbridge.deliveries`) |
| `queue_visible`, `queue_in_flight` | GetQueueAttributes ApproximateNumberOfMessages / ...NotVisible at the bin's start |
| `queue_oldest_age_s` | the age of the oldest message not yet deleted, at the bin's start, leaving out a message received three or more times, as SQS's ApproximateAgeOfOldestMessage does (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html) |
| `stored` | orders whose message the processor finished (deleted from the queue) |
| `records_failed` | records the processor reported failed (retried after the visibility timeout) |
| `dynamodb_throttles` | `sim.dynamodb.refusals` |

End-to-end latency of an accepted order is from its request (the client's POST) to the end of
the processor invocation after which the order's message was deleted, as the capacity model
measures it (`capacity.pipeline`): the order is in the table by then (its conditional write is
made in that invocation, and only a record whose write and OrderAccepted event both succeeded is
reported done). The write's own instant would say less: the simulator runs handler code at its
invocation's start instant (plus any waits), and the modelled processing time comes after it.
Orders are checked against the table at the end: the ledger's `stored` is what the table holds.

Handlers in the simulator spend almost no virtual time of their own, so each function gets the
capacity model's modelled duration (`capacity.pipeline.Durations`: illustrative figures, not
measurements of AWS): the ingest function per request, the processor per invocation plus per
record, its CPU part scaled by its memory.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from lambdasim.clock import to_micros
from lambdasim.rules.service_metrics import POISON_PILL_RECEIVES
from lambdasim.sources.sqs import take_all
from serverless_course import pipeline, prices
from serverless_course.pipeline import traffic

from ..capacity.pipeline import Durations, order_id

from .settings import Ceilings, PipelineSettings

__all__ = ["LESSON_CEILINGS", "LoadRun", "run_load"]

US = 1_000_000
ACCEPTED = 202
HEADERS = {"Content-Type": "application/json"}

# --8<-- [start:ceilings]
#: A lesson's account: AWS's us-east-1 quotas scaled down 1,000 times (10,000 API requests and
#: PutEvents calls per second, an API burst of 5,000, 18,750 target invocations per second), so
#: that a few hundred orders meet them. Concurrency is scaled down less (1,000 -> 10): the SQS
#: poller's first five concurrent batches do not scale down with it.
LESSON_CEILINGS = Ceilings(account_concurrency=10, api_rate_per_s=10.0, api_burst=5, put_events_tps=10.0,
                           target_invocations_tps=18.75)
# --8<-- [end:ceilings]


@dataclass
class LoadRun:
    """One load test. `series[name][i]` covers [i * bin_s, (i + 1) * bin_s) of virtual time from
    the first possible arrival; `orders` holds, per order sent, when it arrived, the status it
    got, when it was accepted and stored (NaN: not), all in seconds."""

    bin_s: float
    series: dict[str, np.ndarray]
    arrival_s: np.ndarray
    status: np.ndarray
    accepted_s: np.ndarray
    stored_s: np.ndarray
    ledger: dict[str, int]
    #: When each stage first refused work (a throttle series' name -> its first refusal), and
    #: "queue_visible" -> the first bin start with more than a batch of messages waiting.
    first_limited_s: dict[str, float]
    cost_usd: dict[str, float]
    settings: PipelineSettings
    ceilings: Ceilings
    elapsed_s: float

    @property
    def times_s(self) -> np.ndarray:
        """The start of each bin."""
        return np.arange(len(self.series["arrivals"])) * self.bin_s

    @property
    def latency_s(self) -> np.ndarray:
        """End-to-end latency of each order stored (request to stored), in order of arrival."""
        stored = ~np.isnan(self.stored_s)
        return self.stored_s[stored] - self.arrival_s[stored]

    def latency_percentiles(self, percentiles: tuple[float, ...] = (50, 90, 99)) -> dict[float, np.ndarray]:
        """Latency percentiles of the orders sent in each bin (NaN where none was stored)."""
        stored = ~np.isnan(self.stored_s)
        bins = (self.arrival_s[stored] // self.bin_s).astype(int)
        latency = self.latency_s
        out = {p: np.full(len(self.times_s), np.nan) for p in percentiles}
        for b in np.unique(bins):
            values = latency[bins == b]
            for p in percentiles:
                out[p][b] = np.percentile(values, p)
        return out

    @property
    def cost_per_million_orders_usd(self) -> float:
        stored = self.ledger["stored"]
        return math.nan if stored == 0 else sum(self.cost_usd.values()) / stored * 1_000_000

    def first_saturated(self) -> str | None:
        """The stage that refused or held back work first: the earliest of `first_limited_s`."""
        return min(self.first_limited_s, key=self.first_limited_s.__getitem__, default=None)


def _binned(times_s: np.ndarray, nbins: int, bin_s: float) -> np.ndarray:
    """How many of `times_s` fall in each bin (the last bin takes any later one)."""
    index = np.clip((np.asarray(times_s, dtype=float) // bin_s).astype(int), 0, nbins - 1)
    return np.bincount(index, minlength=nbins)[:nbins]


def _peak_concurrency(starts_s: np.ndarray, ends_s: np.ndarray, nbins: int, bin_s: float) -> np.ndarray:
    """The most intervals [start, end) open at once within each bin."""
    peak = np.zeros(nbins, dtype=int)
    if starts_s.size == 0:
        return peak
    times = np.concatenate([starts_s, ends_s])
    steps = np.concatenate([np.ones(starts_s.size, int), -np.ones(ends_s.size, int)])
    order = np.lexsort((steps, times))  # an end before a start at the same instant
    times, running = times[order], np.cumsum(steps[order])
    np.maximum.at(peak, np.clip((times // bin_s).astype(int), 0, nbins - 1), running)
    # A bin in which nothing starts or ends holds what was running when it began.
    before = np.searchsorted(times, np.arange(nbins) * bin_s, side="right") - 1
    carried = np.where(before >= 0, running[np.maximum(before, 0)], 0)
    return np.maximum(peak, carried)


def _oldest_age_s(sent_s: np.ndarray, gone_s: np.ndarray, at_s: np.ndarray, chunk: int = 256) -> np.ndarray:
    """At each instant, how long the oldest message present (sent, not yet gone) has waited; 0
    when there is none. Computed `chunk` instants at a time, to bound the memory it takes."""
    ages = np.zeros(at_s.size)
    for start in range(0, at_s.size, chunk):
        at = at_s[start:start + chunk, None]
        oldest = np.where((sent_s <= at) & (gone_s > at), sent_s, np.inf).min(axis=1, initial=np.inf)
        ages[start:start + chunk] = np.where(np.isfinite(oldest), at[:, 0] - oldest, 0.0)
    return ages


@dataclass
class _Messages:
    """The orders queue's messages as the poller's batches saw them (seconds from the origin)."""

    sent: dict[str, float]  # message id -> sent
    gone: dict[str, float]  # message id -> deleted, or left out of SQS's age metric
    done: dict[str, float]  # order id -> the end of the invocation after which its message was deleted
    failed: list[float]  # a record reported failed: when its invocation ended


def _messages(batches: list[Any], origin_us: int) -> _Messages:
    found = _Messages({}, {}, {}, [])
    for batch in batches:
        if batch.settlement is None:
            continue
        ended = (batch.ended_us - origin_us) / US
        succeeded = set(batch.settlement.succeeded)
        found.failed += [ended] * len(batch.settlement.failed)
        for record in batch.records:
            message = record["messageId"]
            found.sent[message] = (int(record["attributes"]["SentTimestamp"]) * 1000 - origin_us) / US
            if message in succeeded:
                found.gone[message] = ended
                found.done.setdefault(json.loads(record["body"])["detail"]["data"]["order_id"], ended)
            elif int(record["attributes"]["ApproximateReceiveCount"]) >= POISON_PILL_RECEIVES - 1:
                # Its next receive is its third: SQS's age metric leaves it out from then on.
                found.gone.setdefault(message, (batch.deadline_us - origin_us) / US)
    return found


def _dynamodb_usd(sim: Any, settings: PipelineSettings, tables: list[str], elapsed_s: float) -> float:
    """Write request units of on-demand tables; capacity-hours of the orders table (the first)
    when it is provisioned, for the run's length. The pipeline reads nothing on its way."""
    usd = 0.0
    for n, table in enumerate(tables):
        if n == 0 and settings.table_billing_mode == "PROVISIONED":
            usd += elapsed_s / 3600 * (settings.table_write_capacity_units * prices.DYNAMODB_WCU_HOUR.usd
                                       + settings.table_read_capacity_units * prices.DYNAMODB_RCU_HOUR.usd)
        else:
            usd += sim.dynamodb.consumed.get((table, "write"), 0.0) * prices.DYNAMODB_WRITE_REQUEST_UNIT.usd
    return usd


def run_load(arrivals_us: np.ndarray, *, settings: PipelineSettings = PipelineSettings(),
             ceilings: Ceilings = LESSON_CEILINGS, durations: Durations = Durations(), seed: int = 0,
             bin_s: float = 1.0, drain_s: float = 900.0) -> LoadRun:
    """Send one order at each arrival (integer microseconds from the start) through the pipeline
    and run until it is idle, or `drain_s` after the last arrival; see the module docstring."""
    settings.check_against(ceilings)
    arrival_s = np.asarray(arrivals_us, dtype=np.int64) / US
    horizon_s = (float(arrival_s.max()) if arrival_s.size else 0.0) + drain_s
    nbins = int(horizon_s // bin_s) + 1
    rng = random.Random(seed)
    order_ids = [order_id(i) for i in range(arrival_s.size)]
    bodies = [json.dumps({"orders": [traffic.order(rng, order_id)]}) for order_id in order_ids]
    status = np.zeros(arrival_s.size, dtype=int)
    accepted_s = np.full(arrival_s.size, np.nan)
    visible = np.zeros(nbins, dtype=int)
    in_flight = np.zeros(nbins, dtype=int)

    # Logs on: the handlers' log lines go to (moto's) CloudWatch Logs, not to this process's
    # stdout. A load test reads the simulator's records, not the logs or the metrics.
    with ceilings.simulator(seed, metrics=False) as sim:
        stack = pipeline.deploy(sim, parameters=settings.template_parameters(), validate=False)
        ingest, processor = stack.function_name("IngestFunction"), stack.function_name("ProcessorFunction")
        durations.set_in(sim, ingest, processor, settings.processor_memory_mb)
        sqs = sim.client("sqs")
        url, queue_url = stack.outputs["ApiUrl"], stack.outputs["QueueUrl"]
        origin_us = to_micros(sim.now)

        # --8<-- [start:send]
        def send(i: int) -> None:
            before = len(sim.invocations)
            answer = sim.http("POST", url, body=bodies[i], headers=HEADERS)
            status[i] = answer.status
            if answer.status == ACCEPTED:  # answered when the ingest invocation ended
                (run,) = [r for r in sim.invocations[before:] if r.function_name == ingest]
                accepted_s[i] = (run.start_us + run.total_us - origin_us) / US
        # --8<-- [end:send]

        def sample(b: int) -> None:
            counts = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            visible[b] = int(counts["ApproximateNumberOfMessages"])
            in_flight[b] = int(counts["ApproximateNumberOfMessagesNotVisible"])

        # --8<-- [start:play]
        for i, at in enumerate(arrival_s):  # each request at its virtual instant
            sim.schedule(float(at), send, i)
        for b in range(nbins):  # the queue's depth at each bin's start (daemon: not work to wait for)
            sim.schedule(b * bin_s, sample, b, daemon=True)
        sim.run_until_idle(max_seconds=horizon_s)
        # --8<-- [end:play]
        elapsed_s = (to_micros(sim.now) - origin_us) / US
        nbins = min(nbins, int(elapsed_s // bin_s) + 1)

        def binned(us: list[int]) -> np.ndarray:
            return _binned((np.asarray(us, dtype=np.int64) - origin_us) / US, nbins, bin_s)

        series: dict[str, np.ndarray] = {
            "arrivals": _binned(arrival_s, nbins, bin_s),
            "api_accepted": _binned(accepted_s[status == ACCEPTED], nbins, bin_s),
            "api_refused": _binned(arrival_s[status != ACCEPTED], nbins, bin_s),
            "api_throttles": binned([t.at_us for t in sim.api_gateway.throttles]),
        }
        for name, function in (("ingest", ingest), ("processor", processor)):
            runs = [r for r in sim.invocations if r.function_name == function]
            starts = np.array([(r.start_us - origin_us) / US for r in runs])
            ends = np.array([(r.start_us + r.total_us - origin_us) / US for r in runs])
            series[f"{name}_invocations"] = _binned(starts, nbins, bin_s)
            series[f"{name}_throttles"] = binned([t.at_us for t in sim.throttles if t.function_name == function])
            series[f"{name}_concurrency"] = _peak_concurrency(starts, ends, nbins, bin_s)
        refusals = sim.eventbridge.throttles
        series["put_events_throttles"] = binned([t.at_us for t in refusals if t.scope == "PutEvents"])
        series["rule_throttles"] = binned([t.at_us for t in refusals if t.scope == "invocations"])
        series["queued"] = binned([a.at_us for d in sim.eventbridge.deliveries for a in d.attempts
                                   if a.status == 200])
        series["queue_visible"], series["queue_in_flight"] = visible[:nbins], in_flight[:nbins]

        (poller,) = sim.pollers.values()
        messages = _messages(poller.batches, origin_us)
        hidden = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
            "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        left = take_all(sqs, queue_url)  # visible when the run ended, perhaps never received
        for m in left:
            messages.sent[m["MessageId"]] = (int(m["Attributes"]["SentTimestamp"]) * 1000 - origin_us) / US
        ids = list(messages.sent)
        series["queue_oldest_age_s"] = _oldest_age_s(np.array([messages.sent[m] for m in ids]),
                                                     np.array([messages.gone.get(m, np.inf) for m in ids]),
                                                     np.arange(nbins) * bin_s)
        series["stored"] = _binned(np.array(list(messages.done.values())), nbins, bin_s)
        series["records_failed"] = _binned(np.array(messages.failed), nbins, bin_s)
        series["dynamodb_throttles"] = binned([r.at_us for r in sim.dynamodb.refusals])

        in_table = {item["order_id"]["S"] for page in sim.client("dynamodb").get_paginator("scan").paginate(
            TableName=stack.outputs["OrdersTableName"], ProjectionExpression="order_id") for item in page["Items"]}
        # Valid orders end in two of the stack's DLQs: the queue's redrive and the rule's
        # undeliverable events; a load test sends no poison, which has a DLQ of its own.
        dead = {json.loads(m["Body"])["detail"]["data"]["order_id"]
                for output in ("RedriveDeadLetterQueueUrl", "RuleDeadLetterQueueUrl")
                for m in take_all(sqs, stack.outputs[output])}
        still_queued = len(left) + sum(int(n) for n in hidden.values()) + sum(
            d.state == "pending" for d in sim.eventbridge.deliveries)
        refused_at = {
            "api_throttles": [t.at_us for t in sim.api_gateway.throttles],
            "ingest_throttles": [t.at_us for t in sim.throttles if t.function_name == ingest],
            "put_events_throttles": [t.at_us for t in refusals if t.scope == "PutEvents"],
            "rule_throttles": [t.at_us for t in refusals if t.scope == "invocations"],
            "processor_throttles": [t.at_us for t in sim.throttles if t.function_name == processor],
            "dynamodb_throttles": [r.at_us for r in sim.dynamodb.refusals],
        }
        first_limited_s = {name: (min(at) - origin_us) / US for name, at in refused_at.items() if at}
        # A queue holds up to a batch while the batching window gathers it: only more is a backlog.
        waiting = np.flatnonzero(series["queue_visible"] > settings.batch_size)
        if waiting.size:
            first_limited_s["queue_visible"] = float(waiting[0] * bin_s)
        # Attempts, not calls: botocore's retries of a throttled call are calls to AWS too.
        put_events_billed = sim.faults.attempts("events", "PutEvents") - len(refused_at["put_events_throttles"])
        sqs_requests = (int(series["queued"].sum()) + poller.stats.polls + sim.faults.calls("sqs", "SendMessage")
                        + sum(1 for b in poller.batches if b.settlement and b.settlement.succeeded))
        cost_usd = {
            "Lambda": sim.metering().total_usd,
            # Every request received, throttled ones included: the pricing page bills the API
            # calls received and does not say that a 429 is free.
            "API Gateway": arrival_s.size * prices.API_GATEWAY_REST_REQUEST.usd,
            # One entry per PutEvents call here (one order per request; one OrderAccepted per
            # call), each under 64 KB: one event each; a throttled call is not counted.
            "EventBridge": put_events_billed * prices.EVENTBRIDGE_CUSTOM_EVENT.usd,
            # The rule's sends, the pollers' receives while messages were there (not the empty
            # long polls of an idle queue), one delete per batch, the processor's DLQ sends.
            "SQS": sqs_requests * prices.SQS_STANDARD_REQUEST.usd,
            "DynamoDB": _dynamodb_usd(sim, settings, [stack.outputs["OrdersTableName"],
                                                     stack.outputs["IdempotencyTableName"]], elapsed_s),
        }

    done = {order_id for order_id in messages.done if order_id in in_table}
    stored_s = np.array([messages.done[o] if o in done else np.nan for o in order_ids])
    accepted = int((status == ACCEPTED).sum())
    throttled = len(sim.api_gateway.throttles)
    ledger = {"sent": int(arrival_s.size), "accepted": accepted, "refused_by_api_gateway": throttled,
              "refused_otherwise": int(arrival_s.size) - accepted - throttled, "stored": len(done),
              "dead_lettered": len(dead), "still_queued": still_queued}
    ledger["unaccounted"] = accepted - len(done) - len(dead) - still_queued
    return LoadRun(bin_s=bin_s, series=series, arrival_s=arrival_s, status=status, accepted_s=accepted_s,
                   stored_s=stored_s, ledger=ledger, first_limited_s=first_limited_s, cost_usd=cost_usd, settings=settings, ceilings=ceilings,
                   elapsed_s=elapsed_s)
