"""The orders pipeline's SAM template: cfn-lint clean, least privilege, AWS's SQS rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode

from lambdasim.sources.sqs import MIN_MAX_RECEIVE_COUNT, minimum_visibility_timeout_s
from serverless_course.pipeline import TEMPLATE


@pytest.fixture(scope="module")
def template() -> dict:
    data, problems = decode(str(TEMPLATE))
    assert not problems
    return data


def test_cfn_lint_passes() -> None:
    lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(lint), str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_wildcard_actions(template: dict) -> None:
    """Every explicit statement names its actions; SAM's policy templates are scoped to one
    bus/table (EventBridgePutEventsPolicy, the SQS poller policy SAM adds)."""
    text = json.dumps(template)
    assert '"Action": "*"' not in text
    for resource in template["Resources"].values():
        for policy in resource.get("Properties", {}).get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement["Action"]
                for action in [actions] if isinstance(actions, str) else actions:
                    assert "*" not in action, action
                assert statement["Resource"] != "*"


def deployed(template: dict, value: object) -> object:
    """A property as a deploy without parameter overrides sets it: a `Ref` to a parameter is
    the parameter's default (load tests and lab 02 tune them, module 2)."""
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in template.get("Parameters", {}):
        return template["Parameters"][value["Ref"]]["Default"]
    return value


def test_queue_follows_aws_rules(template: dict) -> None:
    """Visibility timeout >= 6 x function timeout + batching window; maxReceiveCount >= 5
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html)."""
    resources = template["Resources"]
    timeout = template["Globals"]["Function"]["Timeout"]
    sqs_event = resources["ProcessorFunction"]["Properties"]["Events"]["Orders"]["Properties"]
    window = deployed(template, sqs_event.get("MaximumBatchingWindowInSeconds", 0))
    queue = resources["OrdersQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= minimum_visibility_timeout_s(timeout, window) == 61
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= MIN_MAX_RECEIVE_COUNT
    assert sqs_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert deployed(template, sqs_event["BatchSize"]) <= 10
    dlq = resources[queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]]["Properties"]
    assert dlq["MessageRetentionPeriod"] > 4 * 24 * 3600  # longer than the source's default


def test_each_failure_path_has_its_own_dead_letter_queue(template: dict) -> None:
    """The rule's undeliverable events, the queue's redrive and the processor's poison messages
    end in three queues; the processor may send only to its own, EventBridge only to the orders
    queue and the rule's (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)."""
    resources = template["Resources"]
    (target,) = resources["OrderPlacedRule"]["Properties"]["Targets"]
    processor = resources["ProcessorFunction"]["Properties"]
    sinks = {"rule": target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0],
             "redrive": resources["OrdersQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
             "poison": processor["Environment"]["Variables"]["DEAD_LETTER_QUEUE_URL"]["Ref"]}
    assert len(set(sinks.values())) == 3
    statements = resources["ProcessorFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    sends = [s["Resource"] for s in statements if isinstance(s, dict) and "sqs:SendMessage" in s.get("Action", [])]
    assert sends == [{"Fn::GetAtt": [sinks["poison"], "Arn"]}]
    (allowed,) = resources["OrdersQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allowed["Resource"] == [{"Fn::GetAtt": ["OrdersQueue", "Arn"]}, {"Fn::GetAtt": [sinks["rule"], "Arn"]}]


def test_rule_routes_only_order_placed(template: dict) -> None:
    pattern = template["Resources"]["OrderPlacedRule"]["Properties"]["EventPattern"]
    assert pattern == {"source": ["orders.api"], "detail-type": ["OrderPlaced"]}
