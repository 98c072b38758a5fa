"""Metering: what the simulated invocations would cost on AWS Lambda (issue 3, item 8).

For every invocation that ran (`Simulator.invocations`; throttled requests are not billed):
one request, and its billed duration (the REPORT line's Billed Duration: the handler's duration
plus the INIT of a cold start, billed since Aug 1 2025, rounded up to 1 ms) times the memory
size in GB (MB / 1024) in GB-seconds, priced at the function's architecture. Prices and rules:
`lambdasim.rules.pricing` (us-east-1, on demand, first tier). The free tier is NOT applied.

    report = sim.metering()
    print(report)                 # a table per function and architecture, with totals
    report.total_usd, report["orders"].gb_seconds
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..rules import pricing


@dataclass(frozen=True)
class FunctionUsage:
    """One function's (and architecture's) requests, duration and cost."""

    function_name: str
    architecture: str
    requests: int
    cold_starts: int
    billed_ms: int  # sum of billed durations, INIT included
    init_ms: float  # the INIT part of it (sum of the Init Durations of cold starts)
    gb_seconds: float
    request_usd: float
    duration_usd: float

    @property
    def total_usd(self) -> float:
        return self.request_usd + self.duration_usd


@dataclass(frozen=True)
class MeteringReport:
    """Usage and cost per function and in total (`str(report)` is a readable table)."""

    functions: tuple[FunctionUsage, ...]

    @property
    def requests(self) -> int:
        return sum(f.requests for f in self.functions)

    @property
    def billed_ms(self) -> int:
        return sum(f.billed_ms for f in self.functions)

    @property
    def gb_seconds(self) -> float:
        return sum(f.gb_seconds for f in self.functions)

    @property
    def request_usd(self) -> float:
        return sum(f.request_usd for f in self.functions)

    @property
    def duration_usd(self) -> float:
        return sum(f.duration_usd for f in self.functions)

    @property
    def total_usd(self) -> float:
        return self.request_usd + self.duration_usd

    def __getitem__(self, function_name: str) -> FunctionUsage:
        """One function's usage, all architectures together."""
        rows = [f for f in self.functions if f.function_name == function_name]
        if not rows:
            raise KeyError(function_name)
        if len(rows) == 1:
            return rows[0]
        return FunctionUsage(
            function_name, "+".join(sorted({r.architecture for r in rows})),
            sum(r.requests for r in rows), sum(r.cold_starts for r in rows), sum(r.billed_ms for r in rows),
            sum(r.init_ms for r in rows), sum(r.gb_seconds for r in rows), sum(r.request_usd for r in rows),
            sum(r.duration_usd for r in rows))

    def __str__(self) -> str:
        header = (f"{'function':<24} {'arch':<7} {'requests':>10} {'cold':>6} {'billed ms':>12} "
                  f"{'GB-s':>12} {'requests $':>12} {'duration $':>12} {'total $':>12}")
        lines = [
            "Lambda usage at us-east-1 on-demand prices (first tier; free tier not applied; "
            "INIT billed since 2025-08-01)",
            header,
            "-" * len(header),
        ]
        for f in self.functions:
            lines.append(
                f"{f.function_name:<24} {f.architecture:<7} {f.requests:>10,} {f.cold_starts:>6,} "
                f"{f.billed_ms:>12,} {f.gb_seconds:>12,.4f} {f.request_usd:>12.8f} "
                f"{f.duration_usd:>12.8f} {f.total_usd:>12.8f}")
        lines.append("-" * len(header))
        lines.append(
            f"{'total':<24} {'':<7} {self.requests:>10,} {sum(f.cold_starts for f in self.functions):>6,} "
            f"{self.billed_ms:>12,} {self.gb_seconds:>12,.4f} {self.request_usd:>12.8f} "
            f"{self.duration_usd:>12.8f} {self.total_usd:>12.8f}")
        return "\n".join(lines)


def meter(
    records: Iterable[Any],
    configuration: Callable[[str], tuple[int, str]] | None = None,
) -> MeteringReport:
    """Meter invocation records. Each record's memory size and architecture are its own
    (`memory_mb`, `architecture`, as configured when it ran); `configuration(function_name)`
    -> (memory MB, architecture) fills them in for records that lack them."""
    rows: dict[tuple[str, str], list[Any]] = {}
    order: list[tuple[str, str]] = []
    for record in records:
        memory = getattr(record, "memory_mb", None)
        arch = getattr(record, "architecture", None)
        if (memory is None or arch is None) and configuration is not None:
            fallback_memory, fallback_arch = configuration(record.function_name)
            memory = memory if memory is not None else fallback_memory
            arch = arch if arch is not None else fallback_arch
        arch = arch or pricing.DEFAULT_ARCHITECTURE
        key = (record.function_name, arch)
        acc = rows.get(key)
        if acc is None:
            acc = rows[key] = [0, 0, 0, 0.0, 0.0]
            order.append(key)
        billed = record.billed_duration_ms
        acc[0] += 1
        acc[1] += 1 if record.cold_start and record.init_duration_ms is not None else 0
        acc[2] += billed
        acc[3] += record.init_duration_ms or 0.0
        acc[4] += pricing.gb_seconds(billed, memory if memory is not None else 128)
    functions = []
    for name, arch in sorted(order):
        requests, cold, billed, init, gb_s = rows[(name, arch)]
        functions.append(FunctionUsage(
            name, arch, requests, cold, billed, init, gb_s,
            pricing.request_cost(requests), pricing.duration_cost(gb_s, arch)))
    return MeteringReport(tuple(functions))
