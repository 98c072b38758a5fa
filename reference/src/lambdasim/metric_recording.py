"""A simulation's CloudWatch metric data recorded as alarms read it, and put into another
simulation at the same instants.

Alarms only read metrics: an alarm set deployed beside a system changes nothing the system
does. So one run of a system can be judged by many alarm sets, each in a simulation of its own
that holds the alarms and the run's metrics, and none of its work:

- `sim.record_metrics(every_s)` reads, at each instant the alarm evaluator (`lambdasim.alarms`)
  would (every `every_s` seconds on the clock's grid: 60, or 10 while an alarm has a period
  under a minute), what an evaluation there would read: the pending AWS/Lambda metrics are
  flushed, as before an evaluation, and every datum moto's CloudWatch received since the last
  instant is kept with that instant;
- `sim.replay_metrics(recording)` writes each instant's data into moto's CloudWatch at that
  instant, before an alarm evaluation of the same instant, so each alarm sees what it would
  have seen beside the recorded run, evaluation for evaluation (`tests/lambdasim/test_metric_recording.py`).

A recording read at one grain serves an evaluator ticking at the same grain or a coarser
multiple of it (`MetricRecording.serves`): a 10 s recording serves 60 s alarms, not the other
way round. Lab 04's grader records each incident once per processor and evaluates every
learner's alarm set against it (`serverless_course.observability.incidents`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import moto_state
from .clock import seconds_to_micros
from .telemetry.sink import MotoSink


@dataclass
class MetricRecording:
    """What `every_s`-second alarm evaluations of a run read: `instants`, (virtual time in
    microseconds, account, Region, the data that appeared since the instant before; at the
    first, all moto held), in time order. Filled while the recorded simulation runs; picklable."""

    every_s: int
    start: datetime  # when the recording began: a simulation replaying it starts there
    instants: list[tuple[int, str, str, tuple[moto_state.MetricPoint, ...]]] = field(default_factory=list)

    def serves(self, evaluation_interval_s: int) -> bool:
        """Whether an evaluator ticking every `evaluation_interval_s` seconds reads only at
        instants this recording read at."""
        return evaluation_interval_s % self.every_s == 0


class MetricRecorder:
    """Fills a `MetricRecording` on the virtual clock (`Simulator.record_metrics`)."""

    def __init__(self, recording: MetricRecording, *, scheduler: Any, clock_us: Callable[[], int],
                 flush: Callable[[], None]):
        self.recording = recording
        self._scheduler, self._clock_us, self._flush = scheduler, clock_us, flush
        self._positions: dict[tuple[str, str], int] = defaultdict(int)
        self._tick: Any = None

    def start(self) -> None:
        # Like the evaluator's ticks, these are scheduled after the simulation's minute
        # publications (service metrics) began, so at a shared instant they run after them.
        interval = seconds_to_micros(self.recording.every_s)
        self._tick = self._scheduler.call_at((self._clock_us() // interval + 1) * interval, self._read, daemon=True)

    def stop(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None

    def _read(self) -> None:
        self._flush()
        at_us = self._clock_us()
        for account_id, region in moto_state.metric_regions():
            points, self._positions[(account_id, region)] = moto_state.metric_points(
                account_id, region, self._positions[(account_id, region)])
            if points:
                self.recording.instants.append((at_us, account_id, region, tuple(points)))
        self._tick = self._scheduler.call_at(at_us + seconds_to_micros(self.recording.every_s), self._read,
                                             daemon=True)


def schedule_replay(recording: MetricRecording, scheduler: Any) -> None:
    """Schedule the writes of `recording`'s data at its instants (`Simulator.replay_metrics`)."""
    sinks: dict[tuple[str, str], MotoSink] = {}

    def write(account_id: str, region: str, points: tuple[moto_state.MetricPoint, ...]) -> None:
        sink = sinks.get((account_id, region))
        if sink is None:
            sink = sinks[(account_id, region)] = MotoSink(account_id, region)
        by_namespace: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for point in points:
            by_namespace[point.namespace].append(point.as_datum())
        for namespace, data in by_namespace.items():
            sink.put_metric_data(namespace, data)

    for at_us, account_id, region, points in recording.instants:
        scheduler.call_at(at_us, write, account_id, region, points, daemon=True)


__all__ = ["MetricRecorder", "MetricRecording", "schedule_replay"]
