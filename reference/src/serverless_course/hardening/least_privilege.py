"""Least privilege by observation (lesson 05-01): the orders pipeline run with IAM enforced, with
the processor's role too narrow, too broad, and as the template writes it.

`Trial` deploys the pipeline once into a simulation with IAM enforced (`Simulator(iam=True)`)
and plays phases: each gives the processor's role an inline policy (as an operator editing the
role would: PutRolePolicy), sends orders through the API, runs until SQS's retries and redrive
are over, and reports what happened: orders stored, messages dead-lettered, the calls IAM
refused, and the grants the phase never used. The template's own policy is `template_policy()`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from lambdasim import Simulator
from lambdasim.iam import PermissionUse

from .. import pipeline
from ..pipeline import traffic

PROCESSOR_ROLE = "ProcessorFunctionRole"
PROCESSOR_POLICY = "processor"  # the inline policy's name in the template
# Long enough for a failing message's five receives, 65 s of visibility timeout apart, and its
# redrive to the DLQ (template.yaml: VisibilityTimeout 65, maxReceiveCount 5).
SETTLE_S = 6 * 65 + 30

#: A role that lets the processor do anything to the services it talks to.
BROAD_POLICY = [
    {"Effect": "Allow", "Action": ["logs:*", "sqs:*", "events:*", "dynamodb:*"], "Resource": "*"},
]


@dataclass(frozen=True)
class Phase:
    """One phase of a trial: the role it ran with and what the run did."""

    name: str
    statements: list[dict[str, Any]]
    orders: int
    poison: int  # messages on the queue that are not events (the processor dead-letters them)
    stored: int  # orders the phase stored
    dead_lettered: int  # messages the phase left in the processor's DLQs (poison and redrive)
    processor_errors: int  # failed processor invocations
    denied: list[tuple[str, str]]  # (action, resource) IAM refused, each once
    unused: list[PermissionUse]  # what the role granted that the phase never used
    used: list[PermissionUse]


class Trial:
    """One deployed pipeline with IAM enforced, played phase after phase (`phase`)."""

    def __init__(self, sim: Simulator):
        self.sim = sim
        self.stack = pipeline.deploy(sim, validate=False)
        self.processor = self.stack.function_name("ProcessorFunction")
        self.role = self.stack.physical_id(PROCESSOR_ROLE)
        self._iam = sim.client("iam")
        self._sqs = sim.client("sqs")
        self._sent = 0

    def template_policy(self) -> list[dict[str, Any]]:
        """The statements the template gives the processor's role."""
        document = self._iam.get_role_policy(RoleName=self.role, PolicyName=PROCESSOR_POLICY)["PolicyDocument"]
        return list(document["Statement"])

    def phase(self, name: str, statements: list[dict[str, Any]], *, orders: int = 10, poison: int = 1) -> Phase:
        """Run `orders` orders through the API and `poison` unreadable messages straight onto the
        queue, with the processor's role holding `statements` only."""
        self._iam.put_role_policy(RoleName=self.role, PolicyName=PROCESSOR_POLICY,
                                  PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        self.sim.iam.refresh()
        self.sim.iam.calls.clear()
        dead_letter_queues = [self.stack.outputs[o] for o in ("DeadLetterQueueUrl", "RedriveDeadLetterQueueUrl")]
        for url in dead_letter_queues:
            self._sqs.purge_queue(QueueUrl=url)
        errors_before, stored_before = self._processor_errors(), self._stored()
        for _ in range(orders):
            self._sent += 1
            body = json.dumps({"orders": [traffic.order(self.sim.random, f"o-{self._sent}")]})
            self.sim.http("POST", self.stack.outputs["ApiUrl"], body=body)
        for _ in range(poison):
            self._sqs.send_message(QueueUrl=self.stack.outputs["QueueUrl"], MessageBody="not an event")
        self.sim.run_for(SETTLE_S)
        permissions = self.sim.iam.permissions(self.processor)
        return Phase(
            name=name, statements=statements, orders=orders, poison=poison,
            stored=self._stored() - stored_before,
            dead_lettered=sum(int(self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
                for url in dead_letter_queues),
            processor_errors=self._processor_errors() - errors_before,
            denied=list(dict.fromkeys((c.action, c.resource) for c in self.sim.iam.denied(self.processor))),
            unused=[p for p in permissions if not p.used],
            used=[p for p in permissions if p.used],
        )

    def _stored(self) -> int:
        table = self.stack.outputs["OrdersTableName"]
        return int(self.sim.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"])

    def _processor_errors(self) -> int:
        return sum(1 for r in self.sim.invocations if r.function_name == self.processor and r.error_type)


def without(statements: list[dict[str, Any]], action: str, resource_contains: str) -> list[dict[str, Any]]:
    """`statements` with `action` taken out of the statements on a resource containing
    `resource_contains` (a statement left with no action goes)."""
    narrowed = []
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if resource_contains in json.dumps(statement.get("Resource")):
            actions = [a for a in actions if a != action]
        if actions:
            narrowed.append({**statement, "Action": actions})
    return narrowed


def observed_policy(phase: Phase) -> list[dict[str, Any]]:
    """The statements that grant exactly what the phase used: its actions on its resources, one
    statement per resource (what a too-broad role's report turns into)."""
    by_resource: dict[str, set[str]] = {}
    for use in phase.used:
        for action, resource, _ in use.used_by:
            # Each new execution environment writes to a log stream of its own: the run saw some.
            resource = re.sub(r":log-stream:.*$", ":log-stream:*", resource)
            by_resource.setdefault(resource, set()).add(action)
    return [{"Effect": "Allow", "Action": sorted(actions), "Resource": resource}
            for resource, actions in sorted(by_resource.items())]
