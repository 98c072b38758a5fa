"""Lambda's X-Ray tracing, played with OpenTelemetry spans on the virtual clock.

What Lambda records for a traced invocation (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html,
"Visualize Lambda function invocations using AWS X-Ray"): a segment of the Lambda service
(origin `AWS::Lambda`: the request from its arrival, an asynchronous event's time in Lambda's
queue included) and one of the function (origin `AWS::Lambda::Function`) with the subsegments
`Initialization` (a cold start's INIT), `Invocation` (the handler) and `Overhead` (after the
handler's response, before the runtime asks for the next event). Here each is an OpenTelemetry
span (the model ADOT's Lambda layer exports, https://aws-otel.github.io/docs/getting-started/lambda),
with the virtual clock's start and end times; `Overhead` lasts 0 ms (the simulator has no work
after the response: no extensions). The handler sees `_X_AMZN_TRACE_ID` with the function span as
Parent, and runs with that span's context made current, as ADOT's layer does (it extracts it
with the AWS X-Ray Lambda propagator): spans the handler starts with the OpenTelemetry API are
children of the function span, and their times are virtual too (the SDK reads `time.time_ns`,
which the simulation's clock drives).

Which invocations are traced (`rules/tracing.py`): the function's TracingConfig (Active samples
with X-Ray's default rule, 1 a second + 5 %, per function, seeded; PassThrough follows an
upstream Sampled=1) and the trace header the request came with (Invoke's X-Amzn-Trace-Id, an SQS
record's AWSTraceHeader, EventBridge's). An unsampled invocation gets `Sampled=0` and no spans.

OpenTelemetry is imported only when the first sampled span is made. The process has one global
TracerProvider (OpenTelemetry allows one): the first simulation that traces sets it, if nothing
else has, and every simulation's spans go through it to that simulation's in-memory exporter
(`Tracing.spans`, `Tracing.traces()`), ids drawn from the simulation's seed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from random import Random
from typing import Any

from ..rules import tracing as tr

_ORIGIN = "aws.xray.origin"  # the segment's origin, as an attribute of its span


@dataclass
class _Attempt:
    """The ids of one traced invocation, drawn before its handler runs."""

    header: tr.TraceHeader  # as the request came (Parent: the caller's span, if any)
    service_span: int
    function_span: int
    links: tuple[tr.TraceHeader, ...]


class Tracing:
    """The traced invocations of one simulation and their spans (`sim.tracing`)."""

    def __init__(self, seed: int):
        self._rng = Random(f"{seed}/tracing")
        self._reservoirs: dict[str, tuple[int, int]] = {}  # sampler -> (second, requests sampled in it)
        self._attempts: dict[str, _Attempt] = {}  # request id -> the attempt whose handler runs now
        self._seen: set[str] = set()  # request ids with a service span already (retries start anew)
        self._exporter: Any = None
        self.sampled = 0  # requests the default rule sampled
        self.not_sampled = 0  # ... and the ones it did not

    # -- decisions -------------------------------------------------------------------------------
    def sample(self, sampler: str, at_us: int) -> bool:
        """X-Ray's default rule for one request of `sampler` (a function, an API stage)."""
        second = at_us // 1_000_000
        last, taken = self._reservoirs.get(sampler, (second, 0))
        if last != second:
            taken = 0
        decision = tr.reservoir_sampled(taken, self._rng.random())
        self._reservoirs[sampler] = (second, taken + (1 if decision and taken < tr.RESERVOIR_PER_SECOND else 0))
        if decision:
            self.sampled += 1
        else:
            self.not_sampled += 1
        return decision

    def accept(self, function: str, mode: str, new_header: str, upstream: str | None, at_us: int) -> str:
        """The trace header of an invocation request Lambda accepts at `at_us`: the upstream
        header's trace (else the new one), with Lambda's sampling decision."""
        came = tr.parse(upstream)
        fresh = tr.parse(new_header)
        assert fresh is not None
        decision = tr.lambda_decision(mode, came.sampled if came is not None else None)
        if decision is None:
            decision = self.sample(f"lambda:{function}", at_us)
        if came is not None:
            return str(came.with_parent(came.parent or "", decision))
        # A new trace: a sampled one starts at Lambda's own span (no parent).
        return str(fresh.with_parent("" if decision else fresh.parent or "", decision))

    def begin(self, request_id: str, header: str, links: tuple[str, ...] = ()) -> str:
        """The `_X_AMZN_TRACE_ID` of one attempt of an invocation: a sampled one gets its span
        ids now, and the function span as Parent."""
        parsed = tr.parse(header)
        if parsed is None or parsed.sampled is not True:
            return header
        service, function = self._rng.getrandbits(64), self._rng.getrandbits(64)
        linked = tuple(h for h in (tr.parse(x) for x in links) if h is not None and h.root != parsed.root)
        self._attempts[request_id] = _Attempt(parsed, service, function, linked)
        return str(parsed.with_parent(tr.span_id_hex(function), True))

    # -- the handler's context -----------------------------------------------------------------------
    @contextmanager
    def handler_context(self, request_id: str, header: str) -> Iterator[None]:
        """Make the function span current while the handler runs; an untraced invocation's
        context is its unsampled header, so the handler's spans are not recorded either (once
        OpenTelemetry is loaded: before, no handler made a span)."""
        attempt = self._attempts.get(request_id)
        parsed = tr.parse(header)
        if attempt is None and (parsed is None or "opentelemetry.trace" not in sys.modules):
            yield
            return
        from opentelemetry import context, trace

        self._otel()
        if attempt is not None:
            ids, flags = (attempt.header.otel_trace_id, attempt.function_span), trace.TraceFlags.SAMPLED
        else:
            assert parsed is not None
            ids, flags = (parsed.otel_trace_id, int(parsed.parent or "1", 16)), trace.TraceFlags.DEFAULT
        parent = trace.NonRecordingSpan(trace.SpanContext(*ids, is_remote=True, trace_flags=trace.TraceFlags(flags)))
        token = context.attach(trace.set_span_in_context(parent))
        try:
            yield
        finally:
            context.detach(token)

    # -- Lambda's spans --------------------------------------------------------------------------------
    def on_invocation(self, request: Any, record: Any) -> None:
        """The service's listener: Lambda's spans of a traced invocation that ended."""
        attempt = self._attempts.pop(record.request_id, None)
        if attempt is None:
            return
        from opentelemetry import trace

        tracer = self._otel()
        first = record.request_id not in self._seen
        self._seen.add(record.request_id)
        start = request.received_us if first else record.start_us
        init_us = round((record.init_duration_ms or 0.0) * 1000)
        end = record.start_us + record.total_us
        attributes = {"faas.invocation_id": record.request_id, "faas.name": record.function_name,
                      "faas.version": record.version, "faas.coldstart": record.cold_start,
                      "faas.invocation_type": record.invocation_type, "faas.trigger_source": record.source,
                      "cloud.resource_id": request.invoked_arn}
        error = record.error_type if record.function_error else None
        parent = None
        if attempt.header.parent:
            parent = trace.set_span_in_context(trace.NonRecordingSpan(trace.SpanContext(
                attempt.header.otel_trace_id, int(attempt.header.parent, 16), is_remote=True,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))))
        links = [trace.Link(trace.SpanContext(h.otel_trace_id, int(h.parent or "0", 16) or 1, is_remote=True,
                                              trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED)))
                 for h in attempt.links]
        _IDS.plan(attempt.service_span, None if parent is not None else attempt.header.otel_trace_id)
        service = tracer.start_span(record.function_name, context=parent, kind=trace.SpanKind.SERVER,
                                    attributes={**attributes, _ORIGIN: "AWS::Lambda"}, links=links,
                                    start_time=_ns(start))
        _IDS.plan(attempt.function_span)
        function = tracer.start_span(record.function_name, context=trace.set_span_in_context(service),
                                     attributes={**attributes, _ORIGIN: "AWS::Lambda::Function"},
                                     start_time=_ns(record.start_us))
        inside = trace.set_span_in_context(function)
        phases = [("Invocation", record.start_us + init_us, end), ("Overhead", end, end)]
        if record.cold_start and init_us:
            phases.insert(0, ("Initialization", record.start_us, record.start_us + init_us))
        for name, begin, finish in phases:
            phase = tracer.start_span(name, context=inside, start_time=_ns(begin))
            if error and name == "Invocation":
                phase.set_status(trace.Status(trace.StatusCode.ERROR, error))
            phase.end(end_time=_ns(finish))
        for span in (function, service):
            if error:
                span.set_status(trace.Status(trace.StatusCode.ERROR, error))
            span.end(end_time=_ns(end))

    # -- spans of other services (API Gateway's stage) ---------------------------------------------------
    def start_span(self, name: str, origin: str, upstream: str | None, at_us: int, sampler: str,
                   attributes: dict[str, Any]) -> tuple[Any, str]:
        """A service's segment that may start a trace (API Gateway's stage): sampled by the
        default rule unless the request's header decided; (span or None, header to send on)."""
        came = tr.parse(upstream)
        sampled = came.sampled if came is not None and came.sampled is not None else self.sample(sampler, at_us)
        root = came.root if came is not None else tr.new_root(at_us // 1_000_000, self._rng.getrandbits(96))
        span_id = self._rng.getrandbits(64)
        header = tr.TraceHeader(root, tr.span_id_hex(span_id), sampled)
        if not sampled:
            return None, str(header)
        from opentelemetry import trace

        tracer = self._otel()
        parent = None
        if came is not None and came.parent:
            parent = trace.set_span_in_context(trace.NonRecordingSpan(trace.SpanContext(
                came.otel_trace_id, int(came.parent, 16), is_remote=True,
                trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))))
        _IDS.plan(span_id, None if parent is not None else header.otel_trace_id)
        span = tracer.start_span(name, context=parent, kind=trace.SpanKind.SERVER,
                                 attributes={**attributes, _ORIGIN: origin}, start_time=_ns(at_us))
        return span, str(header)

    @staticmethod
    def end_span(span: Any, at_us: int, error: str | None = None) -> None:
        """End a span `start_span` made."""
        if span is None:
            return
        if error:
            from opentelemetry import trace

            span.set_status(trace.Status(trace.StatusCode.ERROR, error))
        span.end(end_time=_ns(at_us))

    # -- reading -----------------------------------------------------------------------------------------
    @property
    def spans(self) -> list[Any]:
        """Every finished span (OpenTelemetry `ReadableSpan`s), in the order they ended."""
        return list(self._exporter.get_finished_spans()) if self._exporter is not None else []

    def traces(self) -> dict[str, list[Any]]:
        """The finished spans by trace, keyed by X-Ray trace id (`1-<8 hex>-<24 hex>`), each
        trace's spans by start time (ties: parents first)."""
        grouped: dict[str, list[Any]] = {}
        for span in self.spans:
            grouped.setdefault(xray_trace_id(span.context.trace_id), []).append(span)
        for spans in grouped.values():
            depth: dict[int, int] = {}
            by_id = {s.context.span_id: s for s in spans}

            def level(span: Any) -> int:
                if span.context.span_id not in depth:
                    parent = by_id.get(span.parent.span_id) if span.parent is not None else None
                    depth[span.context.span_id] = 0 if parent is None else level(parent) + 1
                return depth[span.context.span_id]

            spans.sort(key=lambda s: (s.start_time, level(s)))
        return grouped

    def _otel(self) -> Any:
        """The tracer (OpenTelemetry loaded and this simulation's exporter routed on first use)."""
        global _PROVIDER
        if self._exporter is None:
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

            self._exporter = InMemorySpanExporter()
        if _PROVIDER is None:
            _PROVIDER = _make_provider()
        _IDS.exporter = self._exporter
        _IDS.rng = self._rng
        return _PROVIDER.get_tracer("lambdasim")

    def stop(self) -> None:
        """Stop routing spans here (the simulation stops)."""
        if _IDS.exporter is self._exporter:
            _IDS.exporter = None


def xray_trace_id(otel_trace_id: int) -> str:
    """An OpenTelemetry trace id as X-Ray writes it."""
    text = f"{otel_trace_id:032x}"
    return f"1-{text[:8]}-{text[8:]}"


def _ns(us: int) -> int:
    return us * 1000


class _Plan:
    """Span and trace ids: the next one planned (Lambda's own spans, whose ids the handler's
    header already carries), else drawn from the running simulation's seeded generator."""

    def __init__(self) -> None:
        self.rng: Random = Random(0)
        self.trace_id: int | None = None
        self.span_id: int | None = None
        self.exporter: Any = None  # the running simulation's

    def plan(self, span_id: int, trace_id: int | None = None) -> None:
        """The next span's id, and its trace's when it starts a trace (no parent)."""
        self.span_id, self.trace_id = span_id, trace_id


_IDS = _Plan()
_PROVIDER: Any = None


def _make_provider() -> Any:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.id_generator import IdGenerator

    class PlannedIds(IdGenerator):
        def generate_span_id(self) -> int:
            if _IDS.span_id is not None:
                span, _IDS.span_id = _IDS.span_id, None
                return span
            return _IDS.rng.getrandbits(64) or 1

        def generate_trace_id(self) -> int:
            if _IDS.trace_id is not None:
                trace_id, _IDS.trace_id = _IDS.trace_id, None
                return trace_id
            return _IDS.rng.getrandbits(128) or 1

        def is_trace_id_random(self) -> bool:
            return False  # an X-Ray trace id starts with its time (W3C's random flag stays off)

    class Route(SpanProcessor):
        """Hands each finished span to the running simulation's exporter."""

        def on_end(self, span: ReadableSpan) -> None:
            if _IDS.exporter is not None:
                _IDS.exporter.export((span,))

    provider = TracerProvider(id_generator=PlannedIds(), resource=Resource.create({"service.name": "lambdasim"}))
    provider.add_span_processor(Route())
    if type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider":
        trace.set_tracer_provider(provider)
    return provider
