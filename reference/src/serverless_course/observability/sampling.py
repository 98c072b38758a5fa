"""What X-Ray's default sampling rule keeps of a rare failure, and what the logs keep.

X-Ray's default rule records the first request each second (the reservoir) and 5 % of the others
(https://docs.aws.amazon.com/xray/latest/devguide/xray-console-sampling.html); Lambda applies it
to a function with active tracing (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html).
The simulator's `sim.tracing` makes these decisions (`lambdasim.rules.tracing`), seeded; this
module asks it about a steady load with a rare failure mode, and sets a pipeline run's traces
beside its ERROR log lines:

- `sample_steady_load`: `requests` evenly spaced at `rate_per_s`, each failing with probability
  `1 / failure_every`, each decided by the simulator's sampler: how many were traced, how many
  failed, how many failures were traced. No pipeline runs: the rule alone, at production rates.
- `send_steady`, `put_malformed_order`: a steady load on the real pipeline with a rare failure:
  an OrderPlaced event that breaks the contract, put on the bus by another producer; the
  processor dead-letters it and logs an ERROR line.
- `errors_against_traces`: the processor's ERROR lines (a Logs Insights query, every one of
  them) against the traces the sample recorded, joined by the trace id each line carries.

Powertools Logger's log sampling is not trace sampling: `POWERTOOLS_LOGGER_SAMPLE_RATE` switches
a share of invocations to DEBUG; lines at or above the configured level (ERROR included) are
written in every invocation (https://docs.powertools.aws.dev/lambda/python/latest/core/logger/#sampling-debug-logs).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from lambdasim.rules import tracing as xray_rule
from serverless_course.pipeline import orders_contract as contract
from serverless_course.pipeline import traffic

from .logs_view import run_query

US = 1_000_000


class Sampler(Protocol):
    """The simulator's tracing (`sim.tracing`): the default rule's decision for one request."""

    def sample(self, sampler: str, at_us: int) -> bool: ...


@dataclass(frozen=True)
class SampleTally:
    """What happened, and what the traces kept of it."""

    requests: int
    traced: int
    failures: int
    failures_traced: int

    @property
    def traced_share(self) -> float:
        return self.traced / self.requests if self.requests else math.nan

    @property
    def failures_missed(self) -> int:
        return self.failures - self.failures_traced


def expected_traced_share(rate_per_s: float) -> float:
    """The share of a steady load the default rule traces: one request a second from the
    reservoir, 5 % of the rest. Every request when there is at most one a second."""
    if rate_per_s <= xray_rule.RESERVOIR_PER_SECOND:
        return 1.0
    rest = rate_per_s - xray_rule.RESERVOIR_PER_SECOND
    return (xray_rule.RESERVOIR_PER_SECOND + xray_rule.FIXED_RATE * rest) / rate_per_s


def chance_to_trace_any(failures: int, traced_share: float) -> float:
    """The probability that at least one of `failures` independent requests is traced."""
    return 1.0 - (1.0 - traced_share) ** failures


# --8<-- [start:steady-load]
def sample_steady_load(tracing: Sampler, *, rate_per_s: float, requests: int, failure_every: int,
                       seed: int = 0, sampler: str = "lambda:orders-IngestFunction") -> SampleTally:
    """`requests` evenly spaced at `rate_per_s`, each failing with probability 1/`failure_every`
    (seeded), each sampled by `tracing` as the one function `sampler` at the front door."""
    failing = random.Random(seed)
    traced = failures = failures_traced = 0
    for i in range(requests):
        decision = tracing.sample(sampler, round(i / rate_per_s * US))
        failed = failing.random() < 1 / failure_every
        traced += decision
        failures += failed
        failures_traced += decision and failed
    return SampleTally(requests, traced, failures, failures_traced)
# --8<-- [end:steady-load]


# --8<-- [start:malformed]
def put_malformed_order(sim: Any, stack: Any, n: int) -> None:
    """Another producer's bug: an OrderPlaced event whose detail breaks the contract (no order
    data), put on the orders bus. The rule routes it to the queue like any order; the processor
    cannot accept it, sends it to the dead-letter queue and logs an ERROR line."""
    sim.client("events").put_events(Entries=[{
        "EventBusName": stack.outputs["EventBusName"], "Source": contract.SOURCE_API,
        "DetailType": contract.ORDER_PLACED,
        "Detail": json.dumps({"metadata": {"event_id": f"malformed-{n}"}, "data": {}})}])
# --8<-- [end:malformed]


def send_steady(sim: Any, stack: Any, count: int, *, every_s: float, malformed: Iterable[int] = (),
                seed: int = 1) -> None:
    """`count` events `every_s` apart on the virtual clock: a valid one-order POST /orders (its
    own X-Correlation-Id), or at the positions in `malformed` a malformed OrderPlaced from another
    producer; then run until the pipeline is idle."""
    bad = set(malformed)
    requests = traffic.generate(count, seed=seed, invalid=0, duplicates=0)

    def send(i: int) -> None:
        if i in bad:
            put_malformed_order(sim, stack, i)
            return
        sim.http("POST", stack.outputs["ApiUrl"], body=requests[i].body, headers={
            "Content-Type": "application/json", "X-Correlation-Id": requests[i].correlation_id})

    for i in range(count):
        sim.schedule(i * every_s, send, i)
    sim.run_until_idle()


# --8<-- [start:errors-query]
# Every ERROR line of the processor. Powertools Logger writes the invocation's X-Ray trace id on
# each line (xray_trace_id, from _X_AMZN_TRACE_ID), sampled or not: the join key to a trace.
ERRORS = """\
filter level = "ERROR"
| fields @timestamp, message, message_id, xray_trace_id
| sort @timestamp asc"""
# --8<-- [end:errors-query]


@dataclass(frozen=True)
class ErrorsAgainstTraces:
    """The processor's ERROR lines, and the trace ids the sample recorded."""

    error_lines: list[dict[str, str]]
    recorded_traces: set[str]

    @property
    def errors(self) -> int:
        return len(self.error_lines)

    @property
    def errors_traced(self) -> int:
        return sum(line.get("xray_trace_id") in self.recorded_traces for line in self.error_lines)


def errors_against_traces(sim: Any, stack: Any) -> ErrorsAgainstTraces:
    """The processor's ERROR lines over the whole run (a Logs Insights query), and the X-Ray
    trace ids of the traces recorded (`sim.tracing.traces()`)."""
    group = f"/aws/lambda/{stack.function_name('ProcessorFunction')}"
    started = sim.now - timedelta(seconds=sim.elapsed)
    lines = run_query(sim.client("logs"), ERRORS, [group], started, sim.now)
    return ErrorsAgainstTraces(lines, set(sim.tracing.traces()))
