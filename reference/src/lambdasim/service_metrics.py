"""The AWS/SQS, AWS/Events, AWS/DynamoDB and AWS/Kinesis metrics, published into moto's
CloudWatch once a virtual minute (moto produces none; the rules and their pages:
`rules.service_metrics`).

One daemon call at every minute boundary of the virtual clock writes the minute that just ended,
each namespace in one PutMetricData of its own, straight into moto's backend (`telemetry.sink`):

- SQS, per queue (`QueueName`) while the queue is active: the minute's counts of the actions the
  adapter counts on the queue (`moto_state.count_sqs_activity`: NumberOfMessagesSent, Received,
  Deleted, NumberOfEmptyReceives; zero included), and the queue's state at the minute's end
  (ApproximateNumberOfMessagesVisible; NotVisible and Delayed when there are any;
  ApproximateAgeOfOldestMessage without the poison pills of a standard queue, counted from the
  move for a dead-lettered message);
- EventBridge, from `sim.eventbridge.deliveries`: MatchedEvents, TriggeredRules, InvocationAttempts
  and ThrottledRules as they happen, Invocations, FailedInvocations, DeadLetterInvocations,
  InvocationsSentToDlq and InvocationsFailedToBeSentToDlq in the minute a delivery ends;
- DynamoDB, from `sim.dynamodb`: Consumed{Read,Write}CapacityUnits (Sum: the units; SampleCount:
  the requests; Minimum and Maximum: the minute's mean per request, as per-request values are not
  kept), {Read,Write}ThrottleEvents and the reason's metric per refusal, ThrottledRequests per
  refused request (not for batch requests);
- Kinesis, from `sim.kinesis.throttles`: WriteProvisionedThroughputExceeded (records refused) and
  ReadProvisionedThroughputExceeded (GetRecords calls refused) per stream (`StreamName`). moto
  itself writes IncomingRecords and IncomingBytes at every PutRecord(s), at the virtual time
  (one datum per call), so they are not written again here.

Counters are read as running totals, so the per-call cost is a dict increment and nothing is
written for a minute in which a service did nothing (an unused service costs nothing; an active
SQS queue writes its gauges every minute, as AWS does). `Simulator(service_metrics=False)` turns
the publication off. A minute's data appears when the minute is over: a read in the middle of a
minute sees the minutes before it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from . import moto_state
from .clock import ScheduledCall, from_micros
from .rules import eventbridge as eb_rules
from .rules import service_metrics as rules
from .telemetry.sink import MotoSink

if TYPE_CHECKING:
    from .simulator import Simulator

_MINUTE_US = rules.PERIOD_S * 1_000_000
_FINAL_STATES = frozenset(eb_rules.METRICS_OF_STATE)


class ServiceMetrics:
    """Publishes the service metrics of one simulation (`sim.service_metrics`): `enabled`,
    `minutes` (minutes written), `data_points` (datums written)."""

    def __init__(self, sim: Simulator, enabled: bool = True):
        self._sim = sim
        self.enabled = enabled
        self.minutes = 0
        self.data_points = 0
        self._sink = MotoSink(sim.account_id, sim.region)
        self._tick: ScheduledCall | None = None
        # Running totals already published, so each minute writes its difference.
        self._sqs_seen: dict[str, dict[str, int]] = {}
        self._sqs_last_activity_s: dict[str, float] = {}
        self._deliveries_seen = 0
        self._open_deliveries: list[list[Any]] = []  # [delivery, attempts counted, throttles counted]
        self._dynamodb_seen: dict[tuple[str, str], tuple[float, int]] = {}
        self._refusals_seen = 0
        self._kinesis_throttles_seen = 0

    def start(self) -> None:
        """Schedule the first minute boundary (the simulator calls this on start)."""
        self._sink.reset()
        if self.enabled:
            now = self._sim._scheduler.now_us
            self._schedule((now // _MINUTE_US + 1) * _MINUTE_US)

    def stop(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _schedule(self, at_us: int) -> None:
        self._tick = self._sim._scheduler.call_at(at_us, self._publish_minute, daemon=True)

    def _publish_minute(self) -> None:
        end_us = self._sim._scheduler.now_us
        self._schedule(end_us + _MINUTE_US)
        minute = from_micros(end_us - _MINUTE_US)
        written = 0
        for namespace, data in ((rules.SQS, self._sqs(end_us)), (rules.EVENTS, self._events()),
                                (rules.DYNAMODB, self._dynamodb()), (rules.KINESIS, self._kinesis())):
            if not data:
                continue
            self._sink.put_metric_data(namespace, [_datum(namespace, name, dims, minute, value)
                                                   for name, dims, value in data])
            written += len(data)
        if written:
            self.minutes += 1
            self.data_points += written

    # -- SQS --------------------------------------------------------------------------------------
    def _sqs(self, now_us: int) -> list[tuple[str, rules.Dims, Any]]:
        data: list[tuple[str, rules.Dims, Any]] = []
        now_s = now_us / 1e6
        for queue in moto_state.sqs_queues(self._sim.account_id, self._sim.region):
            activity = moto_state.sqs_activity(queue)
            seen = self._sqs_seen.setdefault(queue.queue_arn, {})
            counts = {name: activity.get(name, 0) - seen.get(name, 0) for name in rules.SQS_COUNTERS}
            if any(counts.values()):
                # the actions happened within the minute: from its start, at the latest
                self._sqs_last_activity_s[queue.queue_arn] = now_s - rules.PERIOD_S
                seen.update(activity)
            visible, delayed, not_visible = moto_state.queue_counts(queue)
            held = moto_state.queue_messages_for_age(queue)
            last = self._sqs_last_activity_s.get(queue.queue_arn, float(queue.created_timestamp))
            if not rules.queue_active(holds_messages=bool(held), last_activity_s=last, now_s=now_s):
                continue
            dims = rules.queue_dimensions(queue.name)
            data.extend((name, dims, count) for name, count in counts.items())
            data.append((rules.SQS_VISIBLE, dims, visible))
            if not_visible:
                data.append((rules.SQS_NOT_VISIBLE, dims, not_visible))
            if delayed:
                data.append((rules.SQS_DELAYED, dims, delayed))
            age = rules.age_of_oldest_message_s(held, now_us / 1000, fifo=bool(queue.fifo_queue))
            if age is not None:
                data.append((rules.SQS_AGE_OF_OLDEST, dims, age))
        return data

    # -- EventBridge ------------------------------------------------------------------------------
    def _events(self) -> list[tuple[str, rules.Dims, Any]]:
        deliveries = self._sim.eventbridge.deliveries
        counts: dict[tuple[str, rules.Dims], int] = defaultdict(int)
        matched: set[str] = set()
        triggered: set[tuple[str, str]] = set()
        for d in deliveries[self._deliveries_seen:]:
            matched.add(d.event_id)
            if (d.event_id, d.rule_arn) not in triggered:
                triggered.add((d.event_id, d.rule_arn))
                counts[(rules.TRIGGERED_RULES, rules.rule_dimensions(d.rule_arn))] += 1
            self._open_deliveries.append([d, 0, 0])
        self._deliveries_seen = len(deliveries)
        if matched:
            counts[(rules.MATCHED_EVENTS, ())] += len(matched)
        still_open = []
        for entry in self._open_deliveries:
            d, attempts_counted, throttles_counted = entry
            dims = rules.rule_dimensions(d.rule_arn)
            if len(d.attempts) > attempts_counted:
                counts[(rules.INVOCATION_ATTEMPTS, dims)] += len(d.attempts) - attempts_counted
            if d.throttles > throttles_counted:
                counts[(rules.THROTTLED_RULES, dims)] += d.throttles - throttles_counted
            entry[1], entry[2] = len(d.attempts), d.throttles
            if d.state in _FINAL_STATES:
                for metric in eb_rules.METRICS_OF_STATE[d.state]:
                    counts[(metric, dims)] += 1
            else:
                still_open.append(entry)
        self._open_deliveries = still_open
        for (metric, dims), n in list(counts.items()):
            if metric in rules.EVENTS_ACCOUNT_WIDE and dims:
                counts[(metric, ())] += n
        return [(metric, dims, _events_of(n)) for (metric, dims), n in sorted(counts.items())]

    # -- DynamoDB ---------------------------------------------------------------------------------
    def _dynamodb(self) -> list[tuple[str, rules.Dims, Any]]:
        capacity = self._sim.dynamodb
        data: list[tuple[str, rules.Dims, Any]] = []
        for key, units in list(capacity.consumed.items()):
            requests = capacity.requests.get(key, 0)
            seen_units, seen_requests = self._dynamodb_seen.get(key, (0.0, 0))
            new_units, new_requests = units - seen_units, requests - seen_requests
            if new_requests <= 0 and new_units <= 0:
                continue
            self._dynamodb_seen[key] = (units, requests)
            resource, kind = key
            table, _, index = resource.partition("/index/")
            samples = max(1, new_requests)
            mean = new_units / samples
            data.append((rules.CONSUMED[kind], rules.table_dimensions(table, index or None),
                         {"SampleCount": float(samples), "Sum": new_units, "Minimum": mean, "Maximum": mean}))
        counts: dict[tuple[str, rules.Dims], int] = defaultdict(int)
        for refusal in capacity.refusals[self._refusals_seen:]:
            dims = rules.table_dimensions(refusal.table, refusal.index)
            for metric in rules.throttle_event_metrics(refusal.kind, refusal.reason):
                counts[(metric, dims)] += 1
            if refusal.operation not in rules.BATCH_OPERATIONS:
                counts[(rules.THROTTLED_REQUESTS, (("Operation", refusal.operation), ("TableName", refusal.table)))] += 1
        self._refusals_seen = len(capacity.refusals)
        data.extend((metric, dims, _events_of(n)) for (metric, dims), n in sorted(counts.items()))
        return data

    # -- Kinesis ----------------------------------------------------------------------------------
    def _kinesis(self) -> list[tuple[str, rules.Dims, Any]]:
        throughput = self._sim.kinesis
        counts: dict[tuple[str, rules.Dims], int] = defaultdict(int)
        for throttle in throughput.throttles[self._kinesis_throttles_seen:]:
            metric = rules.READ_THROTTLED if throttle.operation == "GetRecords" else rules.WRITE_THROTTLED
            counts[(metric, rules.stream_dimensions(throttle.stream_name))] += 1
        self._kinesis_throttles_seen = len(throughput.throttles)
        return [(metric, dims, n) for (metric, dims), n in sorted(counts.items())]


def _events_of(n: int) -> dict[str, float]:
    """A count of events, one sample each (Sum = SampleCount, as AWS/Events and the DynamoDB
    throttle metrics count)."""
    return {"SampleCount": float(n), "Sum": float(n), "Minimum": 1.0, "Maximum": 1.0}


def _datum(namespace: str, name: str, dims: rules.Dims, minute: Any, value: Any) -> dict[str, Any]:
    datum: dict[str, Any] = {
        "MetricName": name,
        "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
        "Timestamp": minute,
        "Unit": rules.unit(namespace, name),
    }
    if isinstance(value, dict):
        datum["StatisticValues"] = value
    else:
        datum["Value"] = float(value)
    return datum
