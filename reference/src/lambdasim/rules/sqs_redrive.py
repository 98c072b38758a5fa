"""Amazon SQS dead-letter queue redrive: the message move task API (StartMessageMoveTask).

Pure rules: no moto, no clock, no simulator. `lambdasim.redrive` runs the tasks on the virtual
clock with them.

Sources (SQS API Reference and Developer Guide, newest stored copies; the APIs launched on
Jun 7 2023, https://aws.amazon.com/blogs/aws/a-new-set-of-apis-for-amazon-sqs-dead-letter-queue-redrive/):

- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html :
  the source must be a queue configured as the dead-letter queue of other SQS queues; without
  DestinationArn "the messages will be redriven back to their respective original source
  queues"; MaxNumberOfMessagesPerSecond is at most 500, and left blank "the system will
  optimize the rate based on the queue message backlog size"; "only one active message
  movement task is supported per queue at any given time".
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasks.html :
  the most recent tasks, up to 10 (MaxResults, default 1); statuses RUNNING, COMPLETED,
  CANCELLING, CANCELLED, FAILED; TaskHandle only for RUNNING tasks; DestinationArn and
  MaxNumberOfMessagesPerSecond only if the request gave them; ApproximateNumberOfMessagesToMove
  "obtained at the time of starting"; FailureReason only for FAILED; StartedTimestamp.
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CancelMessageMoveTask.html :
  only a RUNNING task can be cancelled; messages already moved stay moved.
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html :
  any other queue can be the destination "if both queues are the same type" (a FIFO DLQ needs a
  FIFO destination); messages are redriven "in the order they are received, starting with the
  oldest message"; "the redrive task resets the retention period. All redriven messages are
  considered new messages with a new messageID and enqueueTime"; no filtering or modifying of
  messages; a task runs at most 36 hours; at most 100 active redrive tasks per account; when a
  message moves from a FIFO queue to a FIFO DLQ its deduplication ID is replaced with its
  message ID. The console's "System optimized" velocity redrives "at the maximum number of
  messages per second".
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html :
  `DeadLetterQueueSourceArn` is a message system attribute a receive can ask for.

The error codes and messages below are the ones AWS answered when LocalStack recorded its
snapshot tests against AWS (Jan 2024; github.com/localstack/localstack,
tests/aws/services/sqs/test_sqs_move_task.snapshot.json): AWS's API pages list only the codes.

What AWS does not document, and this module therefore *models* (each a named constant):
the system-optimised rate (`SYSTEM_OPTIMISED_RATE`: the 500 maximum, the console's wording);
the error for a rate out of range, a MaxResults out of range, a FIFO/standard mismatch and a
cancel of a task that is not RUNNING (InvalidParameterValue); what a default-destination task
does with a message whose source is unknown (sent to the DLQ directly, not moved there by a
redrive policy): it stops FAILED with `UNKNOWN_SOURCE_REASON`; the task handle's format.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

# API_StartMessageMoveTask.html
MAX_MESSAGES_PER_SECOND: Final = 500
MIN_MESSAGES_PER_SECOND: Final = 1
# Modelled: "the system will optimize the rate"; the console says "at the maximum number of
# messages per second".
SYSTEM_OPTIMISED_RATE: Final = MAX_MESSAGES_PER_SECOND

# API_ListMessageMoveTasks.html
LIST_DEFAULT_RESULTS: Final = 1
LIST_MAX_RESULTS: Final = 10

RUNNING: Final = "RUNNING"
COMPLETED: Final = "COMPLETED"
CANCELLING: Final = "CANCELLING"
CANCELLED: Final = "CANCELLED"
FAILED: Final = "FAILED"
STATUSES: Final = (RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED)
ACTIVE_STATUSES: Final = (RUNNING, CANCELLING)

# sqs-configure-dead-letter-queue-redrive.html (not enforced by the simulator yet)
MAX_TASK_DURATION_S: Final = 36 * 3600
MAX_ACTIVE_TASKS_PER_ACCOUNT: Final = 100

# The message system attribute that names the queue a message was dead-lettered from.
SOURCE_ATTRIBUTE: Final = "DeadLetterQueueSourceArn"

# Failure reason AWS reported for a destination deleted while the task ran (LocalStack's
# recording, test_move_task_delete_destination_queue_while_running); also used for a source
# queue deleted while its task runs (modelled).
QUEUE_GONE_REASON: Final = "AWS.SimpleQueueService.NonExistentQueue"
# Modelled: AWS documents nothing for a message without a known source queue.
UNKNOWN_SOURCE_REASON: Final = "lambdasim: a message has no DeadLetterQueueSourceArn to redrive it to"


class ApiError(NamedTuple):
    """An error answer: the code, the HTTP status and the message."""

    code: str
    status: int
    message: str


def source_missing() -> ApiError:
    return ApiError("ResourceNotFoundException", 404,
                    "The resource that you specified for the SourceArn parameter doesn't exist.")


def destination_missing() -> ApiError:
    return ApiError("ResourceNotFoundException", 404,
                    "The resource that you specified for the DestinationArn parameter doesn't exist.")


def not_a_dead_letter_queue() -> ApiError:
    return ApiError("InvalidParameterValue", 400, "Source queue must be configured as a Dead Letter Queue.")


def task_already_running() -> ApiError:
    return ApiError("InvalidParameterValue", 400,
                    "There is already a task running. Only one active task is allowed for a source queue arn "
                    "at a given time.")


def invalid_task_handle() -> ApiError:
    return ApiError("InvalidParameterValue", 400, "Value for parameter TaskHandle is invalid.")


def task_missing() -> ApiError:
    return ApiError("ResourceNotFoundException", 404, "Task does not exist.")


def rate_problem(rate: int | None) -> ApiError | None:
    """MaxNumberOfMessagesPerSecond: absent (system optimised) or 1 to 500."""
    if rate is None or MIN_MESSAGES_PER_SECOND <= rate <= MAX_MESSAGES_PER_SECOND:
        return None
    return ApiError("InvalidParameterValue", 400,
                    f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: it must be "
                    f"between {MIN_MESSAGES_PER_SECOND} and {MAX_MESSAGES_PER_SECOND}.")


def max_results_problem(max_results: int | None) -> ApiError | None:
    """MaxResults of ListMessageMoveTasks: absent (1) or 1 to 10."""
    if max_results is None or 1 <= max_results <= LIST_MAX_RESULTS:
        return None
    return ApiError("InvalidParameterValue", 400,
                    f"Value {max_results} for parameter MaxResults is invalid. Reason: it must be between 1 "
                    f"and {LIST_MAX_RESULTS}.")


def queue_type_problem(source_fifo: bool, destination_fifo: bool) -> ApiError | None:
    """A redrive moves between queues of the same type (FIFO to FIFO, standard to standard)."""
    if source_fifo == destination_fifo:
        return None
    return ApiError("InvalidParameterValue", 400,
                    "The destination queue must be the same type (standard or FIFO) as the source queue.")


def cancel_problem(status: str) -> ApiError | None:
    """Only a RUNNING task can be cancelled."""
    if status == RUNNING:
        return None
    return ApiError("InvalidParameterValue", 400, f"Only a RUNNING task can be cancelled; this one is {status}.")


def effective_rate(requested: int | None) -> int:
    """Messages per second a task moves: the requested rate, or the system-optimised one."""
    return SYSTEM_OPTIMISED_RATE if requested is None else requested


def messages_due(elapsed_s: float, rate: int) -> int:
    """How many messages a task at `rate` has moved `elapsed_s` seconds after its start.

    A fixed rate spreads the moves evenly: the first at once, then one every 1/rate s, so 1,000
    messages at 100 per second take 9.99 s.
    """
    return math.floor(elapsed_s * rate + 1e-9) + 1


def tick_s(rate: int) -> float:
    """How often the simulator wakes a task: every message at low rates, every 0.1 s above 10/s
    (the messages due in between move together, at their own rate overall)."""
    return max(1.0 / rate, 0.1)
