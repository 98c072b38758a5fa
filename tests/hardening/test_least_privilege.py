"""Least privilege proven by running (module 5, lesson 05-01): the orders pipeline with IAM
enforced passes with the template's roles, a role without one permission sends the orders to the
DLQ with the refusal recorded, and a too-broad role's report turns into a policy that grants
exactly what the run used. One trial (module scope) plays its phases in order."""

from __future__ import annotations

import pytest

from lambdasim import Simulator
from serverless_course.hardening import least_privilege as lp

pytestmark = pytest.mark.xdist_group("hardening-least-privilege")

ORDERS = 4


@pytest.fixture(scope="module")
def phases() -> dict[str, lp.Phase]:
    with Simulator(seed=11, iam=True) as sim:
        trial = lp.Trial(sim)
        template = trial.template_policy()
        played = {"template": trial.phase("template", template, orders=ORDERS)}
        played["narrow"] = trial.phase("narrow", lp.without(template, "dynamodb:PutItem", "OrdersTable"),
                                       orders=ORDERS)
        played["broad"] = trial.phase("broad", lp.BROAD_POLICY, orders=ORDERS)
        played["observed"] = trial.phase("observed", lp.observed_policy(played["broad"]), orders=ORDERS)
        return played


def test_the_templates_role_runs_the_pipeline_with_nothing_refused(phases):
    """Every call the processor makes is allowed by the role the template writes
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html); a poison
    message is dead-lettered by the processor itself (sqs:SendMessage on the DLQ)."""
    template = phases["template"]
    assert (template.denied, template.stored, template.dead_lettered, template.processor_errors) == ([], ORDERS, 1, 0)
    # What the run never needed: reading and deleting an idempotency record (a retry's and a
    # failure's path): the template keeps them for those paths.
    assert {(u.action, u.resource.rsplit("/", 1)[-1].split("-")[1]) for u in template.unused} == {
        ("dynamodb:GetItem", "IdempotencyTable"), ("dynamodb:DeleteItem", "IdempotencyTable")}


def test_a_missing_permission_is_refused_and_the_orders_end_in_the_dlq(phases):
    """Without dynamodb:PutItem on the orders table the write is refused
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html:
    implicit deny); the processor reports the records as failures, SQS receives them again and
    redrives them to the DLQ after maxReceiveCount (5) receives
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html)."""
    narrow = phases["narrow"]
    [(action, resource)] = narrow.denied
    assert action == "dynamodb:PutItem" and "OrdersTable" in resource
    assert (narrow.stored, narrow.dead_lettered) == (0, ORDERS + 1)
    assert narrow.processor_errors > 0  # a batch whose every record failed fails the invocation


def test_a_broad_roles_report_becomes_a_policy_of_what_was_used(phases):
    """A role allowing every action of four services on every resource works, and the report of
    the calls made under it names the few actions and resources used; a policy of exactly those
    runs the next orders with nothing refused and nothing unused."""
    broad, observed = phases["broad"], phases["observed"]
    assert (broad.denied, broad.stored, broad.unused) == ([], ORDERS, [])
    used = {action for use in broad.used for action, _, _ in use.used_by}
    assert used >= {"dynamodb:PutItem", "events:PutEvents", "sqs:ReceiveMessage", "sqs:SendMessage"}
    assert "dynamodb:DeleteTable" not in used
    assert all(statement["Resource"] != "*" for statement in lp.observed_policy(broad))
    assert (observed.denied, observed.stored, observed.unused) == ([], ORDERS, [])
