"""The orders pipeline deployed for observing: X-Ray tracing and Lambda's log format as template
parameters, modelled handler durations, and seeded orders sent through its API one at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from serverless_course import pipeline
from serverless_course.capacity.pipeline import Durations
from serverless_course.pipeline import traffic

FUNCTIONS = ("IngestFunction", "ProcessorFunction")


@dataclass(frozen=True)
class SentOrder:
    """One POST /orders request: what the client chose and what API Gateway answered."""

    correlation_id: str
    order_id: str
    status: int
    sent_at_s: float  #: seconds since the simulation started


# --8<-- [start:deploy]
def deploy_observed(sim: Any, *, tracing: str = "Active", log_format: str = "JSON",
                    processor_memory_mb: int = 256, durations: Durations = Durations()) -> Any:
    """Deploy the orders pipeline into `sim` with `Tracing` (Active or PassThrough) and
    `LogFormat` (JSON or Text) set for both functions (the template's Globals), the processor's
    memory, and the handlers' modelled durations; return the stack."""
    stack = pipeline.deploy(sim, validate=False, parameters={
        "Tracing": tracing, "LogFormat": log_format, "ProcessorMemorySize": str(processor_memory_mb)})
    durations.set_in(sim, stack.function_name("IngestFunction"), stack.function_name("ProcessorFunction"),
                     processor_memory_mb)
    return stack
# --8<-- [end:deploy]


def send_orders(sim: Any, stack: Any, count: int, *, every_s: float, seed: int = 1) -> list[SentOrder]:
    """POST `count` valid one-order requests, `every_s` virtual seconds apart, each with its own
    `X-Correlation-Id`, then run the simulation until the pipeline is idle."""
    sent = []
    for request in traffic.generate(count, seed=seed, invalid=0, duplicates=0):
        sent_at_s = sim.elapsed
        answer = sim.http("POST", stack.outputs["ApiUrl"], body=request.body, headers={
            "Content-Type": "application/json", "X-Correlation-Id": request.correlation_id})
        sent.append(SentOrder(request.correlation_id, request.order_ids[0], answer.status, sent_at_s))
        sim.run_for(every_s)
    sim.run_until_idle()
    return sent


def log_groups(stack: Any) -> list[str]:
    """The two functions' log groups (Lambda's default names: /aws/lambda/<function>)."""
    return [f"/aws/lambda/{stack.function_name(name)}" for name in FUNCTIONS]
