"""SQS dead-letter queue redrive: message move tasks, run on the virtual clock.

On AWS, `StartMessageMoveTask` starts an asynchronous task inside SQS that moves the messages
of a dead-letter queue back to the queues they came from (or to a chosen queue) at a bounded
rate; `ListMessageMoveTasks` shows its progress and `CancelMessageMoveTask` stops it. moto has
none of the three: `_moto_patches` routes them here, so learners call the real boto3 API and the
same code runs against AWS.

A task snapshots the DLQ's visible messages when it starts (ApproximateNumberOfMessagesToMove)
and moves them oldest first at its rate: message k moves k/rate seconds after the start. Each
move sends the message to its destination as a new message (new id, sent now, never received:
"all redriven messages are considered new messages") with its body and message attributes
unchanged, then deletes it from the DLQ; a message enqueued there wakes the destination's
pollers like any other. The rules and every modelling choice are in `rules/sqs_redrive.py`;
these are the simulator's own ones:

- a snapshot message that is gone (deleted) or in flight (someone received it) when its turn
  comes is skipped, not counted as moved; messages that reach the DLQ after the start are not
  moved by this task;
- a cancel takes effect at once: the task is CANCELLING until its next step, then CANCELLED,
  moving nothing more;
- the 36-hour task limit and the 100 active tasks per account are not enforced.

Every task stays in `sim.message_moves.tasks` with each move it made (`MessageMove`), for
lessons and tests.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from . import moto_state
from .clock import MICROS_PER_SECOND, seconds_to_micros
from .rules import sqs_redrive as rules

if TYPE_CHECKING:
    from .simulator import Simulator

__all__ = ["MessageMove", "MessageMoveTask", "MessageMoveTasks", "MoveRejected"]


class MoveRejected(Exception):
    """A message move task request AWS would refuse (`error`: code, HTTP status, message)."""

    def __init__(self, error: rules.ApiError):
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class MessageMove:
    """One message a task moved: when, its id in the DLQ, its new id, and where it went."""

    at_us: int
    message_id: str
    new_message_id: str
    destination_arn: str


@dataclass
class MessageMoveTask:
    """A message move task, as ListMessageMoveTasks shows it, plus the moves it made."""

    task_id: str
    handle: str
    source_arn: str
    destination_arn: str | None  # None: each message goes back to the queue it came from
    requested_rate: int | None  # None: system optimised
    started_us: int
    to_move: int
    status: str = rules.RUNNING
    moved: int = 0
    failure_reason: str | None = None
    ended_us: int | None = None
    moves: list[MessageMove] = field(default_factory=list)
    _snapshot: list[Any] = field(default_factory=list, repr=False)
    _next: int = 0  # index of the next snapshot message

    @property
    def rate(self) -> int:
        """Messages per second this task moves."""
        return rules.effective_rate(self.requested_rate)

    @property
    def active(self) -> bool:
        return self.status in rules.ACTIVE_STATUSES

    def list_entry(self) -> dict[str, Any]:
        """The task as a ListMessageMoveTasks result entry."""
        entry: dict[str, Any] = {}
        if self.status == rules.RUNNING:
            entry["TaskHandle"] = self.handle
        entry["Status"] = self.status
        entry["SourceArn"] = self.source_arn
        if self.destination_arn is not None:
            entry["DestinationArn"] = self.destination_arn
        if self.requested_rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = self.requested_rate
        entry["ApproximateNumberOfMessagesMoved"] = self.moved
        entry["ApproximateNumberOfMessagesToMove"] = self.to_move
        if self.failure_reason is not None:
            entry["FailureReason"] = self.failure_reason
        entry["StartedTimestamp"] = self.started_us // 1000
        return entry


class MessageMoveTasks:
    """Every message move task of the simulation (`sim.message_moves`)."""

    def __init__(self, sim: Simulator, rng: Random):
        self._sim = sim
        self._rng = rng
        self.tasks: list[MessageMoveTask] = []  # in the order they started

    # -- the API ----------------------------------------------------------------------------------
    def start(self, source_arn: str | None, destination_arn: str | None, rate: int | None) -> str:
        """StartMessageMoveTask: validate, snapshot the DLQ, schedule the first move. The handle."""
        source = moto_state.queue_by_arn(source_arn)
        if source is None:
            raise MoveRejected(rules.source_missing())
        if not moto_state.is_dead_letter_queue(source):
            raise MoveRejected(rules.not_a_dead_letter_queue())
        if destination_arn is not None:
            destination = moto_state.queue_by_arn(destination_arn)
            if destination is None:
                raise MoveRejected(rules.destination_missing())
            problem = rules.queue_type_problem(bool(source.fifo_queue), bool(destination.fifo_queue))
            if problem:
                raise MoveRejected(problem)
        problem = rules.rate_problem(rate)
        if problem:
            raise MoveRejected(problem)
        if any(t.active and t.source_arn == source.queue_arn for t in self.tasks):
            raise MoveRejected(rules.task_already_running())
        snapshot = moto_state.movable_messages(source)
        task_id = f"{self._rng.getrandbits(128):032x}"
        task = MessageMoveTask(
            task_id=task_id,
            handle=_encode_handle(task_id, source.queue_arn),
            source_arn=source.queue_arn,
            destination_arn=destination_arn,
            requested_rate=rate,
            started_us=self._sim._clock.micros,
            to_move=len(snapshot),
            _snapshot=snapshot,
        )
        self.tasks.append(task)
        self._sim._scheduler.call_at(task.started_us, self._step, task)
        return task.handle

    def list(self, source_arn: str | None, max_results: int | None) -> list[dict[str, Any]]:
        """ListMessageMoveTasks: the most recent tasks of a source queue, newest first."""
        source = moto_state.queue_by_arn(source_arn)
        if source is None:
            raise MoveRejected(rules.source_missing())
        problem = rules.max_results_problem(max_results)
        if problem:
            raise MoveRejected(problem)
        wanted = rules.LIST_DEFAULT_RESULTS if max_results is None else max_results
        mine = [t for t in reversed(self.tasks) if t.source_arn == source.queue_arn]
        return [t.list_entry() for t in mine[:wanted]]

    def cancel(self, handle: str | None) -> int:
        """CancelMessageMoveTask: stop a RUNNING task. How many messages it had moved."""
        task_id, source_arn = _decode_handle(handle)
        if moto_state.queue_by_arn(source_arn) is None:
            raise MoveRejected(rules.source_missing())
        task = next((t for t in self.tasks if t.task_id == task_id and t.source_arn == source_arn), None)
        if task is None:
            raise MoveRejected(rules.task_missing())
        problem = rules.cancel_problem(task.status)
        if problem:
            raise MoveRejected(problem)
        task.status = rules.CANCELLING
        return task.moved

    # -- moving -----------------------------------------------------------------------------------
    def _step(self, task: MessageMoveTask) -> None:
        now = self._sim._clock.micros
        if task.status == rules.CANCELLING:
            self._end(task, rules.CANCELLED, now)
            return
        source = moto_state.queue_by_arn(task.source_arn)
        if source is None:
            self._end(task, rules.FAILED, now, rules.QUEUE_GONE_REASON)
            return
        due = min(rules.messages_due((now - task.started_us) / MICROS_PER_SECOND, task.rate), task.to_move)
        while task._next < due:
            message = task._snapshot[task._next]
            destination_arn = task.destination_arn or moto_state.dead_letter_source(source, message)
            if destination_arn is None:
                self._end(task, rules.FAILED, now, rules.UNKNOWN_SOURCE_REASON)
                return
            destination = moto_state.queue_by_arn(destination_arn)
            if destination is None:
                self._end(task, rules.FAILED, now, rules.QUEUE_GONE_REASON)
                return
            task._next += 1
            new_id = moto_state.move_message(source, message, destination)
            if new_id is not None:
                task.moved += 1
                task.moves.append(MessageMove(now, str(message.id), new_id, destination_arn))
        if task._next >= task.to_move:
            self._end(task, rules.COMPLETED, now)
            return
        self._sim._scheduler.call_at(now + seconds_to_micros(rules.tick_s(task.rate)), self._step, task)

    def _end(self, task: MessageMoveTask, status: str, now: int, reason: str | None = None) -> None:
        task.status = status
        task.failure_reason = reason
        task.ended_us = now
        task._snapshot = []


def _encode_handle(task_id: str, source_arn: str) -> str:
    # Modelled on nothing AWS documents: an opaque token that names the task and its queue.
    return base64.urlsafe_b64encode(json.dumps({"taskId": task_id, "sourceArn": source_arn}).encode()).decode()


def _decode_handle(handle: str | None) -> tuple[str, str]:
    try:
        fields = json.loads(base64.urlsafe_b64decode((handle or "").encode()))
        return str(fields["taskId"]), str(fields["sourceArn"])
    except (ValueError, KeyError, TypeError):
        raise MoveRejected(rules.invalid_task_handle()) from None
