"""Proof: 1,000 requests through the whole pipeline on the simulator.

5 % invalid, 5 % duplicated (a client resending the same body), 3 oversize: every valid order
is in the table exactly once, every invalid request is rejected with its reason, the DLQ holds
nothing, and the API calls made are set against the minimum.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
from pipeline_run import Run, minimum_put_events

# One worker runs them all, first: each worker that ran one would play the 1,000 requests again (27 s).
pytestmark = [pytest.mark.xdist_group("pipeline-thousand"), pytest.mark.long_running]


def bodies(run: Run) -> list[dict]:
    return [json.loads(r["body"]) for r in run.responses]


def test_every_valid_order_is_in_the_table_exactly_once(thousand: Run) -> None:
    expected = {o for r in thousand.requests if r.kind == "valid" for o in r.order_ids}
    assert len(expected) == 897
    assert set(thousand.table) == expected  # keys are unique: once each
    for request in thousand.requests:
        if request.kind == "valid":
            orders = json.loads(request.body)["orders"]
            for order in orders:
                item = thousand.table[order["order_id"]]
                assert item["customer_id"] == order["customer_id"]
                assert item["correlation_id"] == request.correlation_id
                total = sum(float(i["unit_price"]) * i["quantity"] for i in order["items"])
                assert math.isclose(float(item["total"]), total, abs_tol=0.005)


def test_valid_and_duplicate_requests_are_accepted_with_their_event_ids(thousand: Run) -> None:
    for request, response, body in zip(thousand.requests, thousand.responses, bodies(thousand)):
        if request.kind in ("valid", "duplicate"):
            assert response["statusCode"] == 202, body
            assert [a["order_id"] for a in body["accepted"]] == request.order_ids
            assert response["headers"]["X-Correlation-Id"] == request.correlation_id


def test_every_invalid_request_is_rejected_with_its_reason(thousand: Run) -> None:
    invalid = [(r, resp, b) for r, resp, b in zip(thousand.requests, thousand.responses, bodies(thousand))
               if r.kind == "invalid"]
    assert len(invalid) == 50
    for request, response, body in invalid:
        assert response["statusCode"] == 400, body
        fields = [e["field"] for e in body["errors"]]
        assert any(f == request.reason or f.startswith(request.reason) for f in fields), (request.reason, fields)
    oversize = [resp for r, resp in zip(thousand.requests, thousand.responses) if r.kind == "oversize"]
    assert [r["statusCode"] for r in oversize] == [413, 413, 413]


def test_nothing_is_dead_lettered_or_left_behind(thousand: Run) -> None:
    assert thousand.dlq == []
    assert thousand.extra["queue_left"] == []


def test_one_accepted_event_per_order(thousand: Run) -> None:
    accepted = Counter(e["detail"]["data"]["order_id"] for e in thousand.accepted)
    assert set(accepted) == set(thousand.table)
    assert set(accepted.values()) == {1}


def test_api_calls_against_the_minimum(thousand: Run) -> None:
    """PutEvents from ingest: exactly ceil(orders/10) per request when nothing fails. The
    figures are printed for the module's notes (pytest -s)."""
    ingest_calls = [p for p in thousand.put_events if p["Entries"][0]["Source"] == "orders.api"]
    processor_calls = [p for p in thousand.put_events if p["Entries"][0]["Source"] == "orders.processor"]
    assert all(len(p["Entries"]) <= 10 for p in thousand.put_events)
    assert len(ingest_calls) == minimum_put_events(thousand)
    orders = len(thousand.table)
    c = thousand.calls
    # The processor puts each order's OrderAccepted inside its idempotent unit: one PutEvents
    # call per stored order (one entry each), none for a duplicate delivery.
    processor_invocations = sum(n for name, n in thousand.extra["invocations"].items()
                                if "Processor" in name)
    assert all(len(p["Entries"]) == 1 for p in processor_calls)
    assert len(processor_calls) == orders
    assert c[("sqs", "DeleteMessageBatch")] <= processor_invocations
    valid_requests = sum(r.kind == "valid" for r in thousand.requests)
    print(f"\nvalid requests {valid_requests}, orders {orders}, "
          f"ingest PutEvents {len(ingest_calls)} (minimum {minimum_put_events(thousand)}), "
          f"processor PutEvents {len(processor_calls)} (one per order; batched minimum "
          f"{math.ceil(orders / 10)}), "
          f"calls {sorted((f'{s}:{o}', n) for (s, o), n in c.items())}, "
          f"invocations {dict(thousand.extra['invocations'])}, wall {thousand.wall_s:.1f} s")


def test_each_function_role_names_its_actions_and_resources(thousand: Run) -> None:
    """The template writes each function's role instead of SAM's generated one with AWS managed
    policies (whose actions apply to every resource): every action named, every resource an ARN
    of the stack's, but X-Ray's, whose actions have no resource type
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html) and
    which is granted only when tracing is Active (services-xray.html). Module 5 runs the stack with
    IAM enforced (tests/hardening/test_least_privilege.py)."""
    roles = {lid: r for lid, r in thousand.stack.template["Resources"].items()
             if r["Type"] == "AWS::IAM::Role"}
    assert set(roles) == {"IngestFunctionRole", "ProcessorFunctionRole"}
    actions = {}
    for lid, role in roles.items():
        assert "ManagedPolicyArns" not in role["Properties"]
        found = []
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if "Fn::If" in statement:
                    condition, xray, otherwise = statement["Fn::If"]
                    assert (condition, otherwise) == ("TracingActive", {"Ref": "AWS::NoValue"})
                    assert xray["Resource"] == "*"
                    assert sorted(xray["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
                    continue
                assert statement["Resource"] != "*", (lid, statement)
                action = statement["Action"]
                found += [action] if isinstance(action, str) else action
        assert not [a for a in found if "*" in a], (lid, found)
        actions[lid] = sorted(set(found))
    logs = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    assert actions["IngestFunctionRole"] == ["events:PutEvents", *logs]
    assert actions["ProcessorFunctionRole"] == [
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "events:PutEvents", *logs, "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
        "sqs:SendMessage"]
