"""`Telemetry`: the simulator's logs, metrics and metering, wired to the Lambda service.

One per `Simulator` (`sim.telemetry`); `Simulator(logs=False, metrics=False)` turns the parts
off for big runs. What each part does and which AWS pages it follows: `logs.py`, `emf.py`,
`metrics.py`, `metering.py`; where it writes: `sink.py`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import botocore.handlers

from . import emf
from . import logs as lg
from .capture import OutputCapture
from .metering import MeteringReport, meter
from .metrics import LambdaMetrics, PERIOD_US, function_dims, resource_of
from .sink import MotoSink

_active: Telemetry | None = None


class Telemetry:
    """Logs, metrics and metering of one simulation.

    Attributes you may read: `logs` and `metrics` (on/off), `log_events` (log events written),
    `emf_data` (EMF data points extracted), `invalid_emf` (EMF documents rejected),
    `metric_calls` (PutMetricData calls for AWS/Lambda).
    """

    def __init__(
        self,
        *,
        clock: Any,
        scheduler: Any,
        runtime: Any,
        service: Any,
        account_id: str,
        region: str,
        logs: bool = True,
        metrics: bool = True,
    ):
        self.logs = logs
        self.metrics = metrics
        self._clock = clock
        self._scheduler = scheduler
        self._runtime = runtime
        self._service = service
        self._sink = MotoSink(account_id, region)
        self._capture = OutputCapture(clock) if logs else None
        self._lambda_metrics = LambdaMetrics(self._sink.put_metric_data)
        self._memory: dict[str, lg.MemoryModel] = {}
        self._tails: dict[str, str] = {}
        self._throttles_seen = 0
        self._recursion_stops_seen = 0
        self._async_seen = 0
        self._async_watch: list[Any] = []
        self.log_events = 0
        self.emf_data = 0
        self.invalid_emf = 0
        self._running = False

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Hook into the runtime and the service (the simulator calls this on start)."""
        global _active
        self._sink.reset()  # moto's backends are new at every start
        if self._capture is not None:
            self._runtime.output = self._capture
            self._service.log_tail = self._tails.pop
        self._service.listeners.append(self._on_invocation)
        self._running = True
        _active = self

    def stop(self) -> None:
        """Unhook (the simulator calls this on stop; moto's data goes with moto)."""
        global _active
        self._running = False
        if _active is self:
            _active = None
        if self._on_invocation in self._service.listeners:
            self._service.listeners.remove(self._on_invocation)
        if getattr(self._runtime, "output", None) is self._capture:
            self._runtime.output = None
        self._service.log_tail = None

    # -- configuration ------------------------------------------------------------------------
    def set_max_memory_used(self, function_name: str, mb: int | Callable[[Any], int]) -> None:
        """The REPORT line's Max Memory Used for a function: a number of MB, or
        `(record) -> MB`. Without it a fixed Python baseline is used (a model, see logs.py)."""
        self._memory[function_name] = mb

    def add_iterator_age(self, function_name: str, at_us: int, age_ms: float) -> None:
        """AWS/Lambda IteratorAge of a stream mapping's invocation (monitoring-metrics-types.html:
        the age of the last record in the batch when Lambda sent it to the function)."""
        if self.metrics and self._running:
            self._lambda_metrics.add("IteratorAge", function_dims(function_name), at_us, age_ms, "Milliseconds")

    # -- the listener -------------------------------------------------------------------------
    def _on_invocation(self, request: Any, record: Any) -> None:
        config = request.config
        captured, init_status = self._capture.pop(record.request_id) if self._capture is not None else ([], None)
        # ApplicationLogLevel drops lines before they reach CloudWatch Logs, EMF documents too.
        captured = lg.application_lines(captured, config.application_log_level)
        if self.logs:
            memory_used = lg.max_memory_used_mb(config.memory_mb, self._memory.get(config.name), record)
            if config.system_log_level is None:
                events = lg.invocation_events(record, captured, init_status, config.memory_mb, memory_used)
            else:
                events = lg.json_invocation_events(
                    record, captured, init_status, config.memory_mb, memory_used, config.system_log_level,
                    config.application_log_level or "INFO", request.trace_id)
            stream = getattr(record, "log_stream", None) or self._stream_of(record)
            self._sink.put_log_events(config.log_group, stream, events)
            self.log_events += len(events)
            if getattr(request, "log_type", None) == "Tail":
                self._tails[record.request_id] = lg.tail(events)
        if self.metrics:
            for line in captured:
                if '"_aws"' in line.text:
                    self._extract_emf(line.text)
            age = (record.start_us - request.received_us) / 1000 if request.invocation_type == "Event" else None
            self._lambda_metrics.add_invocation(record, resource_of(config.name, request.invoked_arn), age)
            now = self._scheduler.now_us
            if now >= self._lambda_metrics.closed_before_us + PERIOD_US:
                self._flush_metrics(now)

    def _stream_of(self, record: Any) -> str:
        pool = self._runtime.pool
        for env in list(pool.environments(record.function_name)) + list(getattr(pool, "retired", [])):
            if env.id == record.environment_id:
                return env.log_stream_name
        return f"lambdasim/{record.environment_id}"

    def _extract_emf(self, text: str) -> None:
        try:
            data = emf.extract(text)
        except emf.InvalidEmf:
            self.invalid_emf += 1
            return
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for d in data:
            datum: dict[str, Any] = {
                "MetricName": d.name,
                "Dimensions": [{"Name": n, "Value": v} for n, v in d.dimensions],
                "Timestamp": d.timestamp,
                "StorageResolution": d.storage_resolution,
            }
            if len(d.values) == 1:
                datum["Value"] = d.values[0]
            else:
                datum["Values"] = list(d.values)
            if d.unit is not None:
                datum["Unit"] = d.unit
            by_namespace.setdefault(d.namespace, []).append(datum)
            self.emf_data += len(d.values)
        for namespace, metric_data in by_namespace.items():
            self._sink.put_metric_data(namespace, metric_data)

    # -- other sources (polled) -----------------------------------------------------------------
    def _poll_sources(self) -> None:
        throttles = getattr(self._service, "throttles", None)
        if throttles is not None:
            for t in throttles[self._throttles_seen:]:
                version = getattr(t, "version", None)
                resource = f"{t.function_name}:{version}" if version and version != "$LATEST" else None
                self._lambda_metrics.add("Throttles", function_dims(t.function_name, resource), t.at_us)
            self._throttles_seen = len(throttles)
        stops = getattr(self._service, "recursion_stops", None)
        if stops is not None:  # RecursiveInvocationsDropped (monitoring-metrics-types.html)
            for stop in stops[self._recursion_stops_seen:]:
                self._lambda_metrics.add("RecursiveInvocationsDropped", function_dims(stop.function_name), stop.at_us)
            self._recursion_stops_seen = len(stops)
        queue = getattr(self._service, "async_queue", None)
        received = getattr(queue, "received", None)
        if received is None:
            return
        for event in received[self._async_seen:]:
            name = event.request.config.name
            self._lambda_metrics.add("AsyncEventsReceived", function_dims(name), event.enqueued_us)
            self._async_watch.append(event)
        self._async_seen = len(received)
        still = []
        for event in self._async_watch:
            if getattr(event, "condition", None) is None:
                still.append(event)
                continue
            dims = function_dims(event.request.config.name)
            settled = getattr(event, "settled_us", None) or event.enqueued_us
            if getattr(event, "dropped", False):
                self._lambda_metrics.add("AsyncEventsDropped", dims, settled)
            for delivery in getattr(event, "deliveries", ()):
                if not delivery.ok:
                    metric = "DeadLetterErrors" if delivery.kind == "dead-letter" else "DestinationDeliveryFailures"
                    self._lambda_metrics.add(metric, dims, delivery.at_us)
        self._async_watch = still

    # -- writing --------------------------------------------------------------------------------
    def _flush_metrics(self, before_us: int | None) -> None:
        self._poll_sources()
        self._lambda_metrics.flush(before_us)

    def flush(self) -> None:
        """Write every pending AWS/Lambda metric now, the current minute included (done
        automatically before any CloudWatch API call). Logs and EMF are written as each
        invocation ends."""
        if self.metrics and self._running:
            self._flush_metrics(None)

    @property
    def metric_calls(self) -> int:
        """PutMetricData calls made for AWS/Lambda so far."""
        return self._lambda_metrics.calls

    # -- metering ----------------------------------------------------------------------------
    def metering(self, records: Any, configuration: Callable[[str], tuple[int, str]] | None = None) -> MeteringReport:
        """Requests, GB-seconds and cost of `records` (see metering.py)."""
        return meter(records, configuration)


def _before_cloudwatch_call(**kwargs: Any) -> None:
    """botocore `before-call.cloudwatch`: metrics still aggregating are written before any
    CloudWatch API call, so that a read sees every invocation that has ended."""
    telemetry = _active
    if telemetry is not None:
        telemetry.flush()


def _install() -> None:
    # The same mechanism as lambdasim.faults: a built-in handler reaches every botocore session
    # created afterwards (boto3's default session, sessions Powertools and handler code create).
    builtin = botocore.handlers.BUILTIN_HANDLERS
    if any(spec[1] is _before_cloudwatch_call for spec in builtin):
        return
    builtin.append(("before-call.cloudwatch", _before_cloudwatch_call))
    boto3 = sys.modules.get("boto3")
    default = getattr(boto3, "DEFAULT_SESSION", None) if boto3 is not None else None
    if default is not None:
        default._session.get_component("event_emitter").register(
            "before-call.cloudwatch", _before_cloudwatch_call, unique_id="lambdasim-telemetry:before-call")


_install()
