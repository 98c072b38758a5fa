"""AWS X-Ray's trace header and sampling rules, as pure functions.

The trace header (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader):
`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`. Root is the
trace id: version 1, the request's start as 8 hex digits of epoch seconds, 96 random bits as 24
hex digits. Parent is the id of the segment or subsegment the request came from (16 hex
digits). Sampled is 1, 0, or `?` (no decision: the next service decides). Other fields (Lambda's
`Lineage` for recursion detection) are kept as they came. The same text travels as the
`X-Amzn-Trace-Id` HTTP header, `_X_AMZN_TRACE_ID` in a Lambda function's environment and SQS's
`AWSTraceHeader` message system attribute. An OpenTelemetry trace id is the Root's two hex parts
joined (`5759e988bd862e3fe1be46a994272793`), a span id the 16 hex digits of Parent
(the AWS X-Ray propagator, opentelemetry-propagator-aws-xray, reads it the same way; the
simulator parses it here so that headers travel without OpenTelemetry loaded).

Sampling (https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html): X-Ray's
default rule records the first request each second (the reservoir, 1 per second) and 5 % of the
other requests (the fixed rate). Lambda applies it to a function with active tracing
(https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html: "1 request per second and 5
percent of additional requests", not configurable per function), and the function's tracing
mode decides what an upstream decision does
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-tracingconfig.html):
Active respects the header it receives and samples when there is none; PassThrough traces only
a request whose header says Sampled=1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

RESERVOIR_PER_SECOND: Final = 1  # xray-console-sampling.html: the default rule's reservoir
FIXED_RATE: Final = 0.05  # ... and its fixed rate, for the requests past the reservoir
ACTIVE: Final = "Active"
PASS_THROUGH: Final = "PassThrough"
HEADER: Final = "X-Amzn-Trace-Id"  # the HTTP header; `_X_AMZN_TRACE_ID` in Lambda's environment
SQS_ATTRIBUTE: Final = "AWSTraceHeader"  # SQS's message system attribute


@dataclass(frozen=True)
class TraceHeader:
    """One X-Ray trace header: `sampled` is True, False or None (no decision, `Sampled=?` or absent)."""

    root: str
    parent: str | None = None
    sampled: bool | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        parts = [f"Root={self.root}"]
        if self.parent:
            parts.append(f"Parent={self.parent}")
        parts.append("Sampled=" + {True: "1", False: "0", None: "?"}[self.sampled])
        parts.extend(f"{k}={v}" for k, v in self.extra)
        return ";".join(parts)

    @property
    def otel_trace_id(self) -> int:
        """The trace id as OpenTelemetry's 128-bit integer."""
        return int(self.root[2:].replace("-", ""), 16)

    def with_parent(self, parent: str, sampled: bool | None) -> TraceHeader:
        """The same trace, continued from `parent` with a sampling decision."""
        return TraceHeader(self.root, parent, sampled, self.extra)


def parse(header: str | None) -> TraceHeader | None:
    """A trace header's fields; None for an absent header or one without a valid Root."""
    if not header:
        return None
    fields: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key in ("Root", "Parent", "Sampled"):
            fields[key] = value
        elif key:
            extra.append((key, value))
    root = fields.get("Root", "")
    if not valid_root(root):
        return None
    parent = fields.get("Parent")
    if parent is not None and not _hex(parent, 16):
        parent = None
    sampled = {"1": True, "0": False}.get(fields.get("Sampled", "?"))
    return TraceHeader(root, parent, sampled, tuple(extra))


def valid_root(root: str) -> bool:
    """`1-<8 hex>-<24 hex>`."""
    parts = root.split("-")
    return len(parts) == 3 and parts[0] == "1" and _hex(parts[1], 8) and _hex(parts[2], 24)


def new_root(epoch_seconds: int, random_96_bits: int) -> str:
    """A new trace id for a request that starts at `epoch_seconds`."""
    return f"1-{epoch_seconds:08x}-{random_96_bits:024x}"


def span_id_hex(span_id: int) -> str:
    """A segment or span id as the header writes it (16 hex digits)."""
    return f"{span_id:016x}"


def reservoir_sampled(taken_this_second: int, draw: float) -> bool:
    """The default rule's decision for one request: within the second's reservoir, or past it
    at the fixed rate (`draw` uniform in [0, 1))."""
    return taken_this_second < RESERVOIR_PER_SECOND or draw < FIXED_RATE


def lambda_decision(mode: str, upstream: bool | None) -> bool | None:
    """Whether Lambda traces an invocation, from the function's tracing mode and the upstream
    header's decision: True or False, or None when Lambda must sample it itself (Active, no
    decision upstream)."""
    if mode == ACTIVE:
        return upstream
    return upstream is True


def _hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in "0123456789abcdefABCDEF" for c in text)
