"""Measure a backlog draining through an SQS event source mapping in `lambdasim`, to set
against `queueing.predict`.

One queue, one function, one mapping (`BatchSize`, `ScalingConfig.MaximumConcurrency`): a
backlog is sent before the mapping exists, then messages arrive as a Poisson stream while the
mapping's pollers drain the queue. The function's duration is proportional to its batch
(`seconds_per_message` per record), so the consumer's capacity does not depend on how the
pollers group messages.

The function's concurrency is sampled every `step_s` with `sim.concurrency`. The queue's curves
are rebuilt afterwards from what the run recorded, rather than sampled by extra API calls: when
each message was sent (`SentTimestamp`) and first received (`ApproximateFirstReceiveTimestamp`),
and when its batch ended. The backlog is the messages sent and not yet received, what SQS
reports as `ApproximateNumberOfMessagesVisible`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from serverless_course.capacity import arrivals

from .queueing import percentile

if TYPE_CHECKING:
    from lambdasim import Simulator

__all__ = ["DrainRun", "run_drain"]

FUNCTION = "drainer"
QUEUE = "backlog"
HANDLER = "serverless_course.scaling.handlers.handler"


@dataclass
class DrainRun:
    """What a run measured; the curves are on `times_s`, one point per `step_s`."""

    seconds: float
    times_s: np.ndarray  # the instants of the curves below
    backlog: np.ndarray  # messages visible in the queue (sent, not yet received) at each instant
    in_flight: np.ndarray  # messages received and not yet deleted
    concurrency: np.ndarray  # invocations running at each instant (`sim.concurrency`)
    latencies_s: np.ndarray = field(repr=False)  # per message processed: SendMessage to the end of its batch
    sent_at_s: np.ndarray = field(repr=False)  # per message processed: when it was sent
    invocations: int
    batch_sizes: np.ndarray = field(repr=False)
    drained_at_s: float  # first instant after the start with no message visible (math.inf: never)

    def mean_concurrency(self, start_s: float, end_s: float) -> float:
        """Average concurrency over [start_s, end_s)."""
        window = (self.times_s >= start_s) & (self.times_s < end_s)
        return float(self.concurrency[window].mean())

    def latency_percentile(self, q: float, *, sent_after_s: float = 0.0) -> float:
        """The q-th percentile of the latency of the messages sent at or after `sent_after_s`."""
        return percentile(self.latencies_s[self.sent_at_s >= sent_after_s].tolist(), q)


# --8<-- [start:play]
def play(sim: Simulator, *, backlog: int, arrival_rate: float, seconds_per_message: float, max_concurrency: int,
         seconds: float, batch_size: int, poisson: bool, seed: int, step_s: float) -> tuple[list[float], list[int]]:
    """Set up the queue, the function and its mapping in a running simulator, play `seconds`, and
    return when each message was sent and the function's concurrency every `step_s`."""
    sqs, lam = sim.client("sqs"), sim.client("lambda")
    timeout_s = max(3, math.ceil(batch_size * seconds_per_message) + 1)
    url = sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": str(6 * timeout_s)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sim.create_function(FunctionName=FUNCTION, Handler=HANDLER, Timeout=timeout_s, MemorySize=512)
    # Each invocation takes seconds_per_message per record of its batch (virtual time).
    sim.set_duration(FUNCTION, lambda rng, event: seconds_per_message * 1000 * len(event["Records"]))

    sent_s: list[float] = []

    def send(count: int) -> None:
        first = len(sent_s)
        entries = [{"Id": str(i), "MessageBody": json.dumps({"n": first + i})} for i in range(count)]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        sent_s.extend([sim.elapsed] * count)

    for start in range(0, backlog, 10):  # the backlog waits before the mapping exists
        send(min(10, backlog - start))
    mapping = dict(EventSourceArn=arn, FunctionName=FUNCTION, BatchSize=batch_size,
                   ScalingConfig={"MaximumConcurrency": max_concurrency})
    if batch_size > 10:
        mapping["MaximumBatchingWindowInSeconds"] = 1  # required above 10
    lam.create_event_source_mapping(**mapping)
    pattern = (arrivals.poisson(arrival_rate, seconds, seed=seed + 1) if poisson
               else arrivals.steady(arrival_rate, seconds))
    for at_us in pattern.tolist():  # new messages, on the virtual clock
        sim.schedule(at_us / 1_000_000, send, 1)

    concurrency: list[int] = []
    for n in range(round(seconds / step_s) + 1):  # 1 ms after each instant: no ties with starts and ends
        sim.schedule(n * step_s + 0.001, lambda: concurrency.append(sim.concurrency(FUNCTION)), daemon=True)
    sim.run_for(seconds + 10 * seconds_per_message * batch_size)  # and let the last invocations end
    return sent_s, concurrency
# --8<-- [end:play]


def run_drain(*, backlog: int, arrival_rate: float, seconds_per_message: float, max_concurrency: int,
              seconds: float, batch_size: int = 1, poisson: bool = False, seed: int = 1,
              step_s: float = 0.25) -> DrainRun:
    """Play the scenario for `seconds` of virtual time and return what was measured.

    Arrivals are evenly spaced, `arrival_rate` per second, or a Poisson stream of that mean rate
    (`poisson=True`, drawn from `seed`).
    """
    from lambdasim import Simulator
    from lambdasim.rules.cold_start import NO_PLATFORM_INIT

    # No modelled cold-start time: the consumer's capacity is exactly what `predict` assumes.
    with Simulator(seed=seed, logs=False, metrics=False, init_model=NO_PLATFORM_INIT) as sim:
        sent_s, concurrency = play(sim, backlog=backlog, arrival_rate=arrival_rate,
                                   seconds_per_message=seconds_per_message, max_concurrency=max_concurrency,
                                   seconds=seconds, batch_size=batch_size, poisson=poisson, seed=seed, step_s=step_s)
        origin_ms = (sim.now.timestamp() - sim.elapsed) * 1000  # the simulation's start, epoch ms
        received: list[float] = []
        latencies: list[float] = []
        sent_at: list[float] = []
        starts: list[float] = []
        ends: list[float] = []
        sizes: list[int] = []
        for poller in sim.pollers.values():
            for batch in poller.batches:
                for record in batch.records:
                    attributes = record["attributes"]
                    received.append((int(attributes["ApproximateFirstReceiveTimestamp"]) - origin_ms) / 1000)
                if batch.invoked_us is None or batch.ended_us is None:
                    continue
                start_s, end_s = (batch.invoked_us / 1000 - origin_ms) / 1000, (batch.ended_us / 1000 - origin_ms) / 1000
                starts.append(start_s)
                ends.append(end_s)
                sizes.append(len(batch.records))
                for record in batch.records:
                    sent = (int(record["attributes"]["SentTimestamp"]) - origin_ms) / 1000
                    sent_at.append(sent)
                    latencies.append(end_s - sent)
        done = sum(sizes)

    times = np.arange(len(concurrency)) * step_s

    def count_by(instants: list[float]) -> np.ndarray:  # how many of the instants are <= each time
        return np.searchsorted(np.sort(np.array(instants)), times, side="right")

    visible = count_by(sent_s) - count_by(received)
    # Messages in flight: received and not yet settled (each batch's records end with the batch).
    settled = np.searchsorted(np.sort(np.repeat(ends, sizes)), times, side="right") if done else np.zeros_like(times)
    in_flight = count_by(received) - settled
    after_start = np.nonzero((visible == 0) & (times > 0))[0]
    drained = float(times[after_start[0]]) if len(after_start) else float("inf")
    return DrainRun(seconds=seconds, times_s=times, backlog=visible, in_flight=in_flight, concurrency=np.array(concurrency),
                    latencies_s=np.array(latencies), sent_at_s=np.array(sent_at), invocations=len(starts),
                    batch_sizes=np.array(sizes), drained_at_s=drained)
