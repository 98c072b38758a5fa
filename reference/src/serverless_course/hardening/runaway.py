"""A runaway loop: a function that writes to the queue it reads (lesson 05-03).

Lambda's recursive loop detection stops the chain at its 17th invocation
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html; the simulator's model:
`lambdasim.rules.recursion`). With detection allowed (`RecursiveLoop: Allow`), the same loop runs
until someone notices: `runaway_loop` measures its pace on the virtual clock and prices a day of
it with the course's prices (`serverless_course.prices`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverless_course import prices

CODE = Path(__file__).resolve().parent / "loop_code"
FUNCTION = "orders-forwarder"
QUEUE = "orders-to-forward"
DEAD_LETTER_QUEUE = "orders-to-forward-dlq"
MAX_RECEIVE_COUNT = 3
MEMORY_MB = 128
SQS_REQUESTS_PER_HOP = 3  # SendMessage by the function; ReceiveMessage and DeleteMessage by the poller (one-message batches)
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class LoopRun:
    """What one message started: the function's invocations, the stops, where the message ended."""

    recursive_loop: str  #: Terminate (the default) or Allow
    invocations: int
    stops: int  #: invocations loop detection stopped (sim.recursion_stops)
    in_dead_letter_queue: int
    seconds: float  #: virtual seconds the run lasted
    seconds_per_hop: float  #: from one invocation of the chain to the next


@dataclass(frozen=True)
class DailyCost:
    """A day of an unstopped loop at the pace measured: requests and what they cost."""

    invocations: float
    sqs_requests: float
    lambda_usd: float
    sqs_usd: float

    @property
    def total_usd(self) -> float:
        return self.lambda_usd + self.sqs_usd


def deploy_loop(sim: Any, *, duration_ms: float = 40.0) -> str:
    """The loop: a queue with a DLQ, and a function reading it (one-message batches) that sends
    what it reads back to it. Returns the queue's URL."""
    sqs = sim.client("sqs")
    dlq = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "60", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sim.create_function(FunctionName=FUNCTION, Handler="requeue.lambda_handler", code_dir=CODE, MemorySize=MEMORY_MB,
                        Timeout=10, Environment={"Variables": {"NEXT_QUEUE_URL": url}})
    sim.set_duration(FUNCTION, duration_ms)
    sim.client("lambda").create_event_source_mapping(FunctionName=FUNCTION, EventSourceArn=arn, BatchSize=1)
    return url


def run_loop(sim: Any, queue_url: str, *, recursive_loop: str = "Terminate", seconds: float = 300.0) -> LoopRun:
    """Set the function's RecursiveLoop, send one order and run the clock for `seconds`."""
    sim.client("lambda").put_function_recursion_config(FunctionName=FUNCTION, RecursiveLoop=recursive_loop)
    first = len(sim.invocations)
    stops_before = len(sim.recursion_stops)
    start = sim.elapsed
    sqs = sim.client("sqs")
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"order_id": "o-1", "hops": 0}))
    sim.run_for(seconds)
    runs = [r for r in sim.invocations[first:] if r.function_name == FUNCTION]
    dlq = sqs.get_queue_url(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
    dead = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])
    pace = (runs[-1].start_us - runs[0].start_us) / 1e6 / (len(runs) - 1) if len(runs) > 1 else float("nan")
    return LoopRun(recursive_loop, len(runs), len(sim.recursion_stops) - stops_before, dead, sim.elapsed - start, pace)


# --8<-- [start:cost]
def daily_cost(seconds_per_hop: float, billed_ms_per_invocation: float, *, memory_mb: int = MEMORY_MB,
               architecture: str = "x86_64") -> DailyCost:
    """A day of one unstopped chain: an invocation and three SQS requests every hop."""
    invocations = SECONDS_PER_DAY / seconds_per_hop
    gb_second = prices.LAMBDA_GB_SECOND_ARM64 if architecture == "arm64" else prices.LAMBDA_GB_SECOND_X86
    gb_seconds = invocations * billed_ms_per_invocation / 1000 * memory_mb / 1024
    sqs_requests = invocations * SQS_REQUESTS_PER_HOP
    return DailyCost(invocations, sqs_requests,
                     invocations * prices.LAMBDA_REQUEST.usd + gb_seconds * gb_second.usd,
                     sqs_requests * prices.SQS_STANDARD_REQUEST.usd)
# --8<-- [end:cost]
