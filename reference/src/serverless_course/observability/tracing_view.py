"""A trace as X-Ray's console draws it, from the simulator's OpenTelemetry spans
(`sim.tracing.traces()`): the waterfall of one trace, and the service map of many.

A span made for an X-Ray segment carries its origin (`aws.xray.origin`: `AWS::ApiGateway::Stage`,
`AWS::Lambda`, `AWS::Lambda::Function`); the spans without one are subsegments (`Initialization`,
`Invocation`, `Overhead`, or the handler's own spans) and belong to the nearest segment above them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

ORIGIN = "aws.xray.origin"
# Short names for the origins, in the order a request meets them.
ORIGIN_LABELS = {"AWS::ApiGateway::Stage": "API stage", "AWS::Lambda": "Lambda",
                 "AWS::Lambda::Function": "function"}
SEGMENT_COLOURS = {"AWS::ApiGateway::Stage": "tab:purple", "AWS::Lambda": "tab:blue",
                   "AWS::Lambda::Function": "tab:orange"}  # subsegments: green


@dataclass(frozen=True)
class Bar:
    """One span of a waterfall: a row, its label, start and length in ms from the trace's start."""

    row: int
    label: str
    start_ms: float
    length_ms: float
    depth: int
    error: bool


def _label(span: Any) -> str:
    origin = span.attributes.get(ORIGIN)
    name = span.name
    if origin in ("AWS::Lambda", "AWS::Lambda::Function"):
        name = name.split("-")[1]  # orders-IngestFunction-ABC123 -> IngestFunction
    elif origin == "AWS::ApiGateway::Stage":
        name = name.split("/")[-1]  # <api id>/Prod -> Prod
    return f"{name} ({ORIGIN_LABELS[origin]})" if origin else name


def waterfall_bars(spans: Sequence[Any]) -> list[Bar]:
    """The rows of one trace's waterfall: spans by start time (as `sim.tracing.traces()` orders
    them), with their depth under the root."""
    by_id = {span.context.span_id: span for span in spans}
    origin_ns = min(span.start_time for span in spans)
    depths: dict[int, int] = {}

    def depth(span: Any) -> int:
        if span.context.span_id not in depths:
            parent = by_id.get(span.parent.span_id) if span.parent is not None else None
            depths[span.context.span_id] = 0 if parent is None else depth(parent) + 1
        return depths[span.context.span_id]

    return [Bar(row, _label(span), (span.start_time - origin_ns) / 1e6, (span.end_time - span.start_time) / 1e6,
                depth(span), not span.status.is_ok)
            for row, span in enumerate(spans)]


def draw_waterfall(ax: Any, spans: Sequence[Any], title: str) -> None:
    """Draw one trace's waterfall on a matplotlib `ax`: a bar per span, errors in red."""
    bars = waterfall_bars(spans)
    for bar, span in zip(bars, spans):
        colour = "tab:red" if bar.error else SEGMENT_COLOURS.get(span.attributes.get(ORIGIN), "tab:green")
        ax.barh(bar.row, max(bar.length_ms, 0.5), left=bar.start_ms, color=colour, height=0.6)
        ax.text(bar.start_ms + bar.length_ms, bar.row, f" {bar.length_ms:,.0f} ms", va="center", fontsize=8)
    ax.set_yticks([bar.row for bar in bars], ["· " * bar.depth + bar.label for bar in bars], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("ms since the trace started")
    ax.set_title(title)
    ax.margins(x=0.15)


def _segment_of(span: Any, by_id: dict[int, Any]) -> Any | None:
    """The span itself if it is a segment, else its nearest ancestor that is one."""
    while span is not None and ORIGIN not in span.attributes:
        span = by_id.get(span.parent.span_id) if span.parent is not None else None
    return span


def service_edges(traces: Iterable[Sequence[Any]]) -> Counter[tuple[str, str]]:
    """Calls between services over many traces: (caller, callee) -> how many times, where a
    segment's caller is the segment its parent span belongs to (X-Ray's service map, in data)."""
    edges: Counter[tuple[str, str]] = Counter()
    for spans in traces:
        by_id = {span.context.span_id: span for span in spans}
        for span in spans:
            if ORIGIN not in span.attributes or span.parent is None:
                continue
            caller = _segment_of(by_id.get(span.parent.span_id), by_id)
            if caller is not None:
                edges[(_label(caller), _label(span))] += 1
    return edges


def draw_service_map(ax: Any, edges: Counter[tuple[str, str]], title: str) -> None:
    """Draw the service map on `ax`: services left to right in the order requests reach them,
    an arrow per edge labelled with its count of calls."""
    order: list[str] = []
    callees = {callee for _, callee in edges}
    frontier = [caller for caller, _ in edges if caller not in callees]
    while frontier:  # breadth-first from the entry points: each service one column
        node = frontier.pop(0)
        if node not in order:
            order.append(node)
            frontier.extend(callee for caller, callee in edges if caller == node)
    boxes = {node: ax.text(i, 0, node.replace(" (", "\n("), ha="center", va="center", fontsize=9,
                           bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "tab:blue"})
             for i, node in enumerate(order)}
    for (caller, callee), count in edges.items():
        # From the caller's box edge to the callee's: the boxes' own extents, whatever their text.
        ax.annotate("", xy=(0, 0.5), xycoords=boxes[callee], xytext=(1, 0.5), textcoords=boxes[caller],
                    arrowprops={"arrowstyle": "->", "color": "tab:gray"})
        middle = (order.index(caller) + order.index(callee)) / 2
        ax.text(middle, 0.12, f"{count}", ha="center", fontsize=9, color="tab:gray")
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_ylim(-0.5, 0.5)
    ax.axis("off")
    ax.set_title(title)
