"""The event contract and the PutEvents sender, without the simulator."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel
from pydantic import ValidationError

from serverless_course.pipeline import apigw, traffic
from serverless_course.pipeline import event_sender, orders_contract as contract


def test_powertools_parses_our_api_gateway_events() -> None:
    event = apigw.proxy_event({"orders": []}, request_id="r-1", correlation_id="c-1")
    parsed = parse(event=event, model=APIGatewayProxyEventModel)
    assert parsed.requestContext.requestId == "r-1"
    assert parsed.headers["X-Correlation-Id"] == "c-1"
    assert parsed.httpMethod == "POST" and parsed.resource == "/orders"


def test_a_valid_request_parses() -> None:
    body = json.dumps({"orders": [traffic.order(random.Random(1), "o-1")]})
    request = contract.OrdersRequest.model_validate_json(body)
    assert request.orders[0].order_id == "o-1"


@pytest.mark.parametrize("what,where", traffic.BREAKAGES)
def test_invalid_requests_name_the_field(what: str, where: str) -> None:
    rng = random.Random(3)
    while True:  # draw until this breakage comes up
        body, reason = traffic.invalid_body(rng, "o-1")
        if reason == where:
            break
    with pytest.raises(ValidationError) as exc:
        contract.OrdersRequest.model_validate_json(body)
    fields = [e["field"] for e in contract.field_errors(exc.value)]
    assert any(f.startswith(where) for f in fields), fields


def test_duplicate_order_ids_in_one_request_are_rejected() -> None:
    o = traffic.order(random.Random(1), "o-1")
    with pytest.raises(ValidationError):
        contract.OrdersRequest.model_validate({"orders": [o, o]})


def test_event_id_is_stable_per_order() -> None:
    assert contract.event_id_for("o-1") == contract.event_id_for("o-1")
    assert contract.event_id_for("o-1") != contract.event_id_for("o-2")


def test_detail_round_trip() -> None:
    o = traffic.order(random.Random(2), "o-9")
    detail = {"metadata": {"event_id": contract.event_id_for("o-9"), "correlation_id": "c",
                           "schema_version": "1.0", "occurred_at": "2026-01-01T00:00:00+00:00"},
              "data": o}
    placed = contract.OrderPlacedDetail.model_validate(detail)
    assert placed.data.order_id == "o-9"
    with pytest.raises(ValidationError):
        contract.OrderPlacedDetail.model_validate({**detail, "metadata": {**detail["metadata"],
                                                                           "schema_version": "2"}})


class FakeEvents:
    """put_events that fails the entries `fail(call_number, entry)` says, as AWS reports them."""

    def __init__(self, fail: Any) -> None:
        self.fail = fail
        self.calls: list[list[dict]] = []
        self.delivered: list[str] = []

    def put_events(self, Entries: list[dict]) -> dict:
        assert len(Entries) <= 10
        self.calls.append(Entries)
        results, failed = [], 0
        for entry in Entries:
            if self.fail(len(self.calls), entry):
                failed += 1
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                self.delivered.append(entry["Detail"])
                results.append({"EventId": f"e-{len(self.delivered)}"})
        return {"FailedEntryCount": failed, "Entries": results}


def entries(n: int) -> list[dict]:
    return [{"Source": "s", "DetailType": "d", "Detail": str(i)} for i in range(n)]


def test_sender_uses_the_minimum_number_of_calls() -> None:
    client = FakeEvents(lambda call, entry: False)
    report = event_sender.send_events(client, entries(37), sleep=lambda s: None)
    assert report == {"sent": 37, "failed": [], "put_events_calls": 4}
    assert client.delivered == [str(i) for i in range(37)]


def test_sender_retries_only_failed_entries_with_backoff() -> None:
    sleeps: list[float] = []
    client = FakeEvents(lambda call, entry: call == 1 and int(entry["Detail"]) % 3 == 0)
    report = event_sender.send_events(client, entries(10), sleep=sleeps.append,
                                      rng=random.Random(1))
    assert report["failed"] == [] and report["sent"] == 10
    assert [e["Detail"] for e in client.calls[1]] == ["0", "3", "6", "9"]
    assert sorted(client.delivered) == sorted(str(i) for i in range(10))
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.05


def test_sender_gives_up_after_max_attempts_and_reports() -> None:
    client = FakeEvents(lambda call, entry: entry["Detail"] == "4")
    report = event_sender.send_events(client, entries(12), max_attempts=3, sleep=lambda s: None)
    assert report["sent"] == 11
    assert report["failed"] == [{"index": 4, "error_code": "InternalFailure", "error_message": "try again"}]
    assert report["put_events_calls"] == 2 + 1 + 1
