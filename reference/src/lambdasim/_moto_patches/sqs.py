"""SQS: cost with queue depth, long polling on virtual time, FIFO redelivery order, and
dead-letter queue redrive.

Every SendMessage computed all queue attributes, and with them three full scans of the queue
that read the clock once or twice per message; every received message did it three more times
for the retention check; every delete scanned the queue twice and rebuilt it. The counters are
now cached (exact: see `moto_state.queue_counts`), the retention check reads the one attribute
it needs, a scan reads the clock once, and a delete stops at the message it deletes.

Under a frozen clock moto's long-polling wait never ends: a receive is answered at once, and a
handler that long-polls an empty queue spends the wait on its own virtual clock, as on AWS. A
message entering a queue wakes that queue's pollers (`moto_state.message_added`); a message that
handler code sends (at its invocation's own time, ahead of the scheduler) is invisible until
that time. moto forgets timed-out in-flight messages one at a time during its scan, so after a
failed batch times out it could deliver a group's later message before its earlier ones: the
receive forgets every timed-out message of a FIFO queue first.

moto 5.2.5 has no StartMessageMoveTask, ListMessageMoveTasks nor CancelMessageMoveTask
(NotImplementedError): SQSResponse gets them, answered by the simulator's
`redrive.MessageMoveTasks`, which moves messages on the virtual clock. moto moves a message to
the DLQ without recording where it came from: the receive now records its source queue
(ReceiveMessage answers it as DeadLetterQueueSourceArn, and a redrive without DestinationArn
sends the message back there), and a message moved to a FIFO DLQ takes its message ID as
deduplication ID, as AWS documents. Every message added, received and deleted, and every empty
receive, is counted on its queue (`moto_state.count_sqs_activity`) for the AWS/SQS metrics
(`service_metrics`), and a dead-lettered message's move time is kept for the DLQ's
ApproximateAgeOfOldestMessage.

moto takes every call on a FIFO queue however fast: SendMessage(Batch), ReceiveMessage and
DeleteMessage(Batch) on a FIFO queue first ask the simulator's
`sqs_fifo_throughput.SqsFifoThroughput` (set by `set_sqs_fifo_throughput`; None while no
simulation runs), and a refused call raises RequestThrottled (HTTP 400) before moto runs it
(`rules.sqs_fifo`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import moto_state
from ..errors import SimulatorNotRunning
from ..rules import sqs_fifo
from . import _shared
from ._patching import Patch

if TYPE_CHECKING:
    from ..sqs_fifo_throughput import SqsFifoThroughput


def _approx_visible(self: Any) -> int:
    return moto_state.queue_counts(self)[0]


def _approx_delayed(self: Any) -> int:
    return moto_state.queue_counts(self)[1]


def _approx_not_visible(self: Any) -> int:
    return moto_state.queue_counts(self)[2]


_receiving_from: Any = None  # the queue a ReceiveMessage reads, while moto runs it


def _wrap_add_message(original: Callable[..., None]) -> Callable[..., None]:
    def add_message(self: Any, message: Any) -> None:
        dead_lettered = _receiving_from is not None and self is _receiving_from.dead_letter_queue
        if _shared.trace_header and not dead_lettered:
            # xray-services-sqs.html: the sender's X-Amzn-Trace-Id becomes the AWSTraceHeader
            # system attribute, unless the call set that attribute itself (it takes precedence).
            message.system_attributes.setdefault("AWSTraceHeader", {"StringValue": _shared.trace_header,
                                                                     "DataType": "String"})
        if dead_lettered and self.fifo_queue:
            # sqs-configure-dead-letter-queue-redrive.html: moved to a FIFO DLQ, a message's
            # deduplication ID becomes its message ID.
            message.deduplication_id = message.id
        original(self, message)
        appended = bool(self._messages) and self._messages[-1] is message
        if dead_lettered and appended:
            self.__dict__.setdefault(moto_state.DLQ_SOURCES_ATTR, {})[message.id] = _receiving_from.queue_arn
            # ApproximateAgeOfOldestMessage counts a dead-lettered message from its move.
            self.__dict__.setdefault(moto_state.DLQ_MOVED_ATTR, {})[message.id] = (
                moto_state.now_ms(), message.approximate_receive_count)
        elif appended:
            moto_state.count_sqs_activity(self, "NumberOfMessagesSent")
        if appended and _shared.service is not None and _shared.service.runtime.current_frame is not None:
            # Sent by handler code at its invocation's own time, which runs ahead of the rest of
            # the simulation: nobody may receive it before that time.
            message.delayed_until = max(message.delayed_until, moto_state.now_ms())
        if appended:
            moto_state.message_added(self.queue_arn, message.delayed_until)
        cache = self.__dict__.get("_lambdasim_counts")
        if cache is None:
            return
        if not (self._messages and self._messages[-1] is message):
            return  # a FIFO duplicate that was dropped: nothing changed
        now = moto_state.now_ms()
        if not cache[0] <= now < cache[1]:
            moto_state.forget_queue_counts(self)
            return
        # The new message's class is the same for every time in the cache's window, except
        # where its own transitions fall inside it: shorten the window to them.
        t0 = cache[0]
        if now < message.delayed_until:
            cache[3] += 1
        if not now > message.visible_at:
            cache[4] += 1
        if now > message.visible_at and not now < message.delayed_until:
            cache[2] += 1
        if message.delayed_until > t0:
            cache[1] = min(cache[1], message.delayed_until)
        if message.visible_at >= t0:
            cache[1] = min(cache[1], message.visible_at)

    add_message.__wrapped__ = original  # type: ignore[attr-defined]
    return add_message


def _delete_message(self: Any, receipt_handle: str) -> None:
    """Replaces Queue.delete_message: the same rule, stopping at the message that matches.

    moto scans the whole queue twice and rebuilds it for every delete. Receipt handles are
    unique (185 random letters each), so at most one message has the handle: the scan can stop
    there, and the oldest messages, the ones consumers delete, sit at the front.
    """
    from moto.sqs.exceptions import ReceiptHandleIsInvalid

    if receipt_handle in self.deleted_messages:
        # already deleted: AWS accepts the repeat, and counts it in NumberOfMessagesDeleted
        moto_state.count_sqs_activity(self, "NumberOfMessagesDeleted")
        return
    messages = self._messages
    for index, message in enumerate(messages):
        if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            del messages[index]
            moto_state.forget_queue_counts(self)
            moto_state.count_sqs_activity(self, "NumberOfMessagesDeleted")
            return
    raise ReceiptHandleIsInvalid()


def _wrap_backend_mutation(original: Callable[..., Any]) -> Callable[..., Any]:
    # change_message_visibility, purge_queue: the first argument after self is the queue name.
    def mutation(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.queues.get(queue_name)
        try:
            return original(self, queue_name, *args, **kwargs)
        finally:
            moto_state.forget_queue_counts(queue)

    mutation.__wrapped__ = original  # type: ignore[attr-defined]
    return mutation


def _wrap_receive(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        queue = self.queues.get(queue_name)
        dlq = getattr(queue, "dead_letter_queue", None)
        moto_state.forget_queue_counts(queue)
        if queue is not None and queue.fifo_queue and queue.pending_messages:
            # moto forgets a timed-out in-flight message only when its scan reaches it, so when
            # several messages of a group time out together a later one is delivered while the
            # earlier ones still count as in flight: the group's order breaks. Forget them all
            # first (FIFO-queues-understanding-logic.html: a group's messages come in order).
            for message in [m for m in queue.pending_messages if m.visible]:
                queue.pending_messages.discard(message)
        global _receiving_from
        _receiving_from = queue  # moto dead-letters messages inside the receive (add_message)
        try:
            result = original(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        finally:
            _receiving_from = None
            moto_state.forget_queue_counts(queue)
            moto_state.forget_queue_counts(dlq)
        if queue is not None:
            moto_state.count_sqs_activity(queue, "NumberOfMessagesReceived" if result else "NumberOfEmptyReceives",
                                          len(result) if result else 1)
        if not result and wait_seconds_timeout and _shared.service is not None:
            frame = _shared.service.runtime.current_frame
            if frame is not None:
                frame.sleep(int(wait_seconds_timeout))
        return result

    receive_message.__wrapped__ = original  # type: ignore[attr-defined]
    return receive_message


def _retention_ok(self: Any, queue_name: str, message: Any) -> bool:
    """Replaces SQSBackend.is_message_valid_based_on_retention_period (same rule, O(1))."""
    from moto.core.utils import unix_time

    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return bool(retain_until > unix_time())


_message_moves: Any = None


def set_message_moves(tasks: Any) -> None:
    """The simulator's `redrive.MessageMoveTasks` (None: the move task API is unavailable)."""
    global _message_moves
    _message_moves = tasks


def _require_message_moves() -> Any:
    if _message_moves is None:
        raise SimulatorNotRunning("an SQS message move task was called while no Simulator is running")
    return _message_moves


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _move_task_call(call: Callable[[Any], Any]) -> Any:
    # A request the simulator refuses becomes the SQS error AWS answers. moto serialises an
    # SQSException with the status of botocore's error shape, which has none for
    # ResourceNotFoundException (400); AWS answers it with 404.
    from moto.core.exceptions import JsonRESTError
    from moto.sqs.exceptions import SQSException

    from ..redrive import MoveRejected

    try:
        return call(_require_message_moves())
    except MoveRejected as rejected:
        code, status, message = rejected.error
        if status == 400:
            raise SQSException(code, message) from None
        error = JsonRESTError(code, message)
        error.code = status
        raise error from None


def _response_start_message_move_task(self: Any) -> Any:
    """StartMessageMoveTask (API_StartMessageMoveTask.html), run by `redrive.MessageMoveTasks`."""
    from moto.core.responses import ActionResult

    handle = _move_task_call(lambda moves: moves.start(
        self._get_param("SourceArn"), self._get_param("DestinationArn"),
        _optional_int(self._get_param("MaxNumberOfMessagesPerSecond"))))
    return ActionResult({"TaskHandle": handle})


def _response_list_message_move_tasks(self: Any) -> Any:
    """ListMessageMoveTasks (API_ListMessageMoveTasks.html)."""
    from moto.core.responses import ActionResult

    results = _move_task_call(lambda moves: moves.list(
        self._get_param("SourceArn"), _optional_int(self._get_param("MaxResults"))))
    return ActionResult({"Results": results})


def _response_cancel_message_move_task(self: Any) -> Any:
    """CancelMessageMoveTask (API_CancelMessageMoveTask.html)."""
    from moto.core.responses import ActionResult

    moved = _move_task_call(lambda moves: moves.cancel(self._get_param("TaskHandle")))
    return ActionResult({"ApproximateNumberOfMessagesMoved": moved})


_fifo_throughput: SqsFifoThroughput | None = None


def set_sqs_fifo_throughput(throughput: SqsFifoThroughput | None) -> None:
    """The simulator's FIFO quotas (None: moto's behaviour, every call accepted)."""
    global _fifo_throughput
    _fifo_throughput = throughput


def _admit_fifo(response: Any, operation: str) -> None:
    """Raise RequestThrottled when the call's FIFO queue is over its quota (a standard queue,
    or one moto cannot find and answers itself, is never refused here)."""
    from moto.sqs.exceptions import SQSException

    assert _fifo_throughput is not None
    try:
        queue = response.sqs_backend.get_queue(response._get_queue_name())
    except Exception:
        return
    if not queue.fifo_queue:
        return
    groups: list[str | None] = []
    if operation == "SendMessage":
        groups = [response._get_param("MessageGroupId")]
    elif operation == "SendMessageBatch":
        groups = [entry.get("MessageGroupId") for entry in response._get_param("Entries", [])]
    refusal = _fifo_throughput.admit(
        operation=operation, queue_arn=queue.queue_arn,
        high_throughput=sqs_fifo.is_high_throughput(queue.deduplication_scope, queue.fifo_throughput_limit),
        message_groups=sqs_fifo.message_groups(groups))
    if refusal is not None:
        raise SQSException(sqs_fifo.THROTTLED_CODE, sqs_fifo.THROTTLED_MESSAGE)


def _wrap_fifo_quota(operation: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    def wrap(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def action(self: Any) -> Any:
            if _fifo_throughput is not None:
                _admit_fifo(self, operation)
            return original(self)

        action.__wrapped__ = original  # type: ignore[attr-defined]
        return action

    return wrap


def _wrap_receive_response(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # moto answers a fixed list of message system attributes, without DeadLetterQueueSourceArn
    # (API_ReceiveMessage.html lists it).
    def receive_message(self: Any) -> Any:
        answer = original(self)
        requested = set(self._get_param("AttributeNames", []) + self._get_param("MessageSystemAttributeNames", []))
        if not requested & {"All", "DeadLetterQueueSourceArn"}:
            return answer
        sources = self.sqs_backend.get_queue(self._get_queue_name()).__dict__.get(moto_state.DLQ_SOURCES_ATTR, {})
        for message in (answer.result or {}).get("Messages", []):
            source_arn = sources.get(message["MessageId"])
            if source_arn:
                message.setdefault("Attributes", {})["DeadLetterQueueSourceArn"] = source_arn
        return answer

    receive_message.__wrapped__ = original  # type: ignore[attr-defined]
    return receive_message


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.sqs.models import Queue, SQSBackend
    from moto.sqs.responses import SQSResponse

    return [
        Patch(Queue, "approximate_number_of_messages", property(_approx_visible), "property", "SQS counters"),
        Patch(Queue, "approximate_number_of_messages_delayed", property(_approx_delayed), "property",
              "SQS counters"),
        Patch(Queue, "approximate_number_of_messages_not_visible", property(_approx_not_visible),
              "property", "SQS counters"),
        Patch(Queue, "messages", property(moto_state.visible_messages), "property", "SQS scan"),
        Patch(Queue, "add_message", None, ("self", "message"), "SQS counters (append)", wrap=_wrap_add_message),
        Patch(Queue, "delete_message", _delete_message, ("self", "receipt_handle"), "SQS delete"),
        Patch(SQSBackend, "receive_message", None,
              ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout",
                "message_attribute_names"), "SQS counters, long polling", wrap=_wrap_receive),
        Patch(SQSBackend, "change_message_visibility", None,
              ("self", "queue_name", "receipt_handle", "visibility_timeout"), "SQS counters",
              wrap=_wrap_backend_mutation),
        Patch(SQSBackend, "purge_queue", None, ("self", "queue_name"), "SQS counters", wrap=_wrap_backend_mutation),
        Patch(SQSBackend, "is_message_valid_based_on_retention_period", _retention_ok,
              ("self", "queue_name", "message"), "SQS retention check"),
        Patch(SQSResponse, "start_message_move_task", _response_start_message_move_task, "absent",
              "SQS DLQ redrive"),
        Patch(SQSResponse, "list_message_move_tasks", _response_list_message_move_tasks, "absent",
              "SQS DLQ redrive"),
        Patch(SQSResponse, "cancel_message_move_task", _response_cancel_message_move_task, "absent",
              "SQS DLQ redrive"),
        Patch(SQSResponse, "receive_message", None, ("self",), "DeadLetterQueueSourceArn, FIFO quotas",
              wrap=lambda original: _wrap_fifo_quota("ReceiveMessage")(_wrap_receive_response(original))),
        *(Patch(SQSResponse, method, None, ("self",), "FIFO quotas", wrap=_wrap_fifo_quota(operation))
          for method, operation in (("send_message", "SendMessage"), ("send_message_batch", "SendMessageBatch"),
                                    ("delete_message", "DeleteMessage"),
                                    ("delete_message_batch", "DeleteMessageBatch"))),
    ]
