"""AWS/Lambda metrics in moto's CloudWatch, aggregated per minute, at virtual timestamps.

https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html :

- Invocations (Count, Sum): times the function code ran, successful or not; throttled requests
  are not invocations. Errors (Count): invocations that ended in a function error (exceptions,
  timeouts, runtime errors); published, 0 included, for every minute with invocations.
  Duration (Milliseconds): the handler's time, INIT excluded (it is in the REPORT line).
- Throttles (Count): requests refused for lack of concurrency; not in Invocations or Errors.
- ConcurrentExecutions (Count, use Maximum): the most invocations running at once in the
  minute, INIT included, per function and for the account (no dimension).
- Asynchronous invocations: AsyncEventsReceived, AsyncEventAge (Milliseconds: queueing to the
  start of each attempt), AsyncEventsDropped, DeadLetterErrors, DestinationDeliveryFailures.

Dimensions: `FunctionName`, and `FunctionName` + `Resource` ("name:qualifier") for an
invocation made with a version or alias qualifier (ConcurrentExecutions: FunctionName only).
Every datum is one minute's, at the start of the minute: the counts as `StatisticValues`
(SampleCount, Sum, Minimum, Maximum); the timings (`TIMING_METRICS`: Duration, AsyncEventAge,
IteratorAge) as `Values` and `Counts`, each distinct value once with the times it occurred, up
to 150 a datum (API_PutMetricData.html), so that percentiles (p99 Duration) can be computed
from them as from raw values; a run makes a few PutMetricData calls per function and minute
whatever the traffic. A minute is written once the simulation has passed it, and everything
still open is written before any CloudWatch API call reads (`Telemetry.flush`): a minute read
while open gets a second datum later, which CloudWatch's statistics add up (Sum, SampleCount,
Minimum, Maximum all stay exact; for ConcurrentExecutions only Maximum is meaningful).

Data sources: each invocation record as it ends (the service's listener), and, polled when the
metrics are written, whatever throttle and async records the simulator keeps
(`LambdaService.throttles`, `AsyncInvocationQueue.received`) when those exist.

Note on moto 5.2.5: GetMetricStatistics matches dimensions as a subset (CloudWatch matches the
exact set), so a FunctionName-only query there also adds up the FunctionName + Resource series
of qualified invocations; GetMetricData matches the exact set.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

from ..clock import from_micros

NAMESPACE: Final = "AWS/Lambda"
PERIOD_US: Final = 60_000_000
MAX_DATA_PER_CALL: Final = 1000  # PutMetricData MetricData limit
MAX_VALUES_PER_DATUM: Final = 150  # distinct Values in one MetricDatum (API_PutMetricData.html)
TIMING_METRICS: Final = frozenset({"Duration", "AsyncEventAge", "IteratorAge"})  # kept as values, for percentiles

Dims = tuple[tuple[str, str], ...]


@dataclass
class _Stat:
    unit: str
    keep_values: bool = False
    count: float = 0.0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")
    values: array = field(default_factory=lambda: array("d"))  # a timing metric's values: 8 bytes each

    def add(self, value: float) -> None:
        self.count += 1.0
        self.total += value
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value
        if self.keep_values:
            self.values.append(value)


def function_dims(function_name: str, resource: str | None = None) -> list[Dims]:
    """The dimension sets Lambda publishes an invocation's metrics under."""
    dims: list[Dims] = [(("FunctionName", function_name),)]
    if resource:
        dims.append((("FunctionName", function_name), ("Resource", resource)))
    return dims


def resource_of(function_name: str, invoked_arn: str | None) -> str | None:
    """`name:qualifier` when the invocation named a version or alias, else None."""
    if not invoked_arn:
        return None
    parts = invoked_arn.split(":")
    if len(parts) >= 8 and parts[7]:
        return f"{function_name}:{parts[7]}"
    return None


class LambdaMetrics:
    """Per-minute aggregation of the AWS/Lambda metrics and their publication."""

    def __init__(self, put: Any):
        self._put = put  # put(namespace, metric_data)
        self._stats: dict[tuple[int, str, Dims], _Stat] = {}
        self._intervals: dict[tuple[int, Dims], list[tuple[int, int]]] = defaultdict(list)
        self._concurrency_published: dict[tuple[int, Dims], int] = {}
        self.closed_before_us = 0  # minutes ending at or before this are written and gone
        self.data_points = 0  # metric data written (datums)
        self.calls = 0  # PutMetricData calls made

    # -- input ------------------------------------------------------------------------------
    def add(self, metric: str, dims: list[Dims], at_us: int, value: float = 1.0, unit: str = "Count") -> None:
        """Add one value of a metric, under each dimension set, to its minute."""
        minute = at_us // PERIOD_US
        for d in dims:
            key = (minute, metric, d)
            stat = self._stats.get(key)
            if stat is None:
                stat = self._stats[key] = _Stat(unit, metric in TIMING_METRICS)
            stat.add(value)

    def add_invocation(self, record: Any, resource: str | None = None, async_age_ms: float | None = None) -> None:
        """An invocation that ran (an `InvocationRecord`)."""
        dims = function_dims(record.function_name, resource)
        at = record.start_us
        self.add("Invocations", dims, at)
        self.add("Errors", dims, at, 1.0 if record.function_error else 0.0)
        self.add("Duration", dims, at, record.duration_ms, "Milliseconds")
        if async_age_ms is not None:
            self.add("AsyncEventAge", dims, at, async_age_ms, "Milliseconds")
        end = at + max(1, record.total_us)
        for key in (dims[0], ()):
            for minute in range(at // PERIOD_US, (end - 1) // PERIOD_US + 1):
                self._intervals[(minute, key)].append((at, end))

    # -- output -----------------------------------------------------------------------------
    def flush(self, before_us: int | None = None) -> None:
        """Write the minutes that end at or before `before_us` (None: every minute, the open
        ones too, as partial data) and forget the closed ones."""
        limit = None if before_us is None else before_us // PERIOD_US  # minutes < limit are closed
        data: list[dict[str, Any]] = []
        for key in list(self._stats):
            minute, metric, dims = key
            if limit is not None and minute >= limit:
                continue
            stat = self._stats.pop(key)
            if stat.keep_values:
                counts = sorted(Counter(stat.values).items())
                for i in range(0, len(counts), MAX_VALUES_PER_DATUM):
                    chunk = counts[i:i + MAX_VALUES_PER_DATUM]
                    data.append(self._datum(metric, dims, minute, stat.unit, {
                        "Values": [v for v, _ in chunk], "Counts": [float(c) for _, c in chunk]}))
                continue
            data.append(self._datum(metric, dims, minute, stat.unit, {"StatisticValues": {
                "SampleCount": stat.count, "Sum": stat.total, "Minimum": stat.low, "Maximum": stat.high}}))
        for key in list(self._intervals):
            minute, dims = key
            closed = limit is not None and minute < limit
            if limit is not None and not closed:
                continue
            peak = _peak(self._intervals[key], minute * PERIOD_US, (minute + 1) * PERIOD_US)
            if peak > self._concurrency_published.get(key, 0):
                data.append(self._datum("ConcurrentExecutions", dims, minute, "Count", {"StatisticValues": {
                    "SampleCount": 1.0, "Sum": float(peak), "Minimum": float(peak), "Maximum": float(peak)}}))
                self._concurrency_published[key] = peak
            if closed:
                del self._intervals[key]
                self._concurrency_published.pop(key, None)
        if limit is not None:
            self.closed_before_us = max(self.closed_before_us, limit * PERIOD_US)
        self._write(data)

    def _datum(self, metric: str, dims: Dims, minute: int, unit: str, values: dict[str, Any]) -> dict[str, Any]:
        """A MetricDatum of one minute; `values` holds its StatisticValues, or its Values and Counts."""
        return {
            "MetricName": metric,
            "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
            "Timestamp": from_micros(minute * PERIOD_US),
            "Unit": unit,
            **values,
        }

    def _write(self, data: list[dict[str, Any]]) -> None:
        data.sort(key=lambda d: (d["Timestamp"], d["MetricName"], str(d["Dimensions"])))
        for i in range(0, len(data), MAX_DATA_PER_CALL):
            chunk = data[i:i + MAX_DATA_PER_CALL]
            self._put(NAMESPACE, chunk)
            self.calls += 1
            self.data_points += len(chunk)

    @property
    def pending(self) -> bool:
        """True if some minute is not written, or not completely."""
        return bool(self._stats or self._intervals)


def _peak(intervals: list[tuple[int, int]], lo: int, hi: int) -> int:
    """The most intervals [start, end) overlapping at one instant within [lo, hi)."""
    points: list[tuple[int, int]] = []
    for start, end in intervals:
        s, e = max(start, lo), min(end, hi)
        if s < e:
            points.append((s, 1))
            points.append((e, -1))
    points.sort()  # at the same instant an end (-1) sorts before a start: back-to-back is not overlap
    running = peak = 0
    for _, delta in points:
        running += delta
        if running > peak:
            peak = running
    return peak
