"""Conformance: what a failed deploy says, and what a deleted stack leaves running (issue 15,
gap 9).

fixtures/sam/deploy_errors has a queue whose name SQS refuses; fixtures/sam/deleted_stack a
function fed by a queue through a mapping with a batching window.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from lambdasim.rules import async_invoke as ai
from lambdasim.sam import StackCreateError, deploy

SAM = Path(__file__).parent / "fixtures" / "sam"


def test_a_resource_that_fails_is_named_with_its_reason(sim) -> None:
    """A resource that fails to create fails the stack with its logical id and status reason,
    as describe_stack_events shows its CREATE_FAILED event, and the stack rolls back
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html);
    moto's error no longer hides which resource failed."""
    with pytest.raises(StackCreateError) as failed:
        deploy(sim, SAM / "deploy_errors", stack_name="queues", validate=False)
    assert failed.value.failures == {"BadQueue": "(AWS::SQS::Queue) InvalidParameterValue: Can only include "
                                                 "alphanumeric characters, hyphens, or underscores. 1 to 80 in length"}
    assert "- BadQueue: (AWS::SQS::Queue) InvalidParameterValue" in str(failed.value)
    assert failed.value.rolled_back
    assert boto3.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_deleted_stacks_queued_events_never_run(sim) -> None:
    """After delete_stack nothing of the stack runs: an asynchronous event queued for its
    function is discarded (a deleted function cannot be invoked,
    https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunction.html), and a message
    waiting in its mapping's batching window is never delivered (the mapping is deleted with the
    stack, https://docs.aws.amazon.com/lambda/latest/api/API_DeleteEventSourceMapping.html)."""
    stack = deploy(sim, SAM / "deleted_stack", stack_name="jobs", validate=False)
    boto3.client("lambda").invoke(FunctionName=stack.function_name("Worker"), InvocationType="Event", Payload=b"{}")
    boto3.client("sqs").send_message(QueueUrl=stack.physical_id("Jobs"), MessageBody="job")
    boto3.client("cloudformation").delete_stack(StackName="jobs")
    sim.run_for(120)
    assert sim.invocations == []
    [event] = sim.async_queue.completed
    assert (event.condition, event.attempts, event.deliveries) == (ai.FUNCTION_DELETED, [], [])
