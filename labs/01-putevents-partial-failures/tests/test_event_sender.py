"""Graded tests of lab 01: the ingest function's PutEvents sending path.

Each test deploys the orders pipeline (the module's SAM template) into the course's Lambda
simulator with your `event_sender.py` in the ingest function's code folder, sends it API
Gateway requests, and checks outcomes: what reached the event bus (the rule's SQS queue; the
processor is switched off so nothing is consumed), the HTTP responses, and the PutEvents calls
made. EventBridge failures are injected with `lambdasim.faults.FaultInjector`: partial failures
(`FailedEntryCount`, as AWS reports them) and throttled calls. Nothing reads your source.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from labgrader import require_work
from lambdasim import Simulator
from lambdasim.faults import FaultInjector, PartialFailure, Throttle
from serverless_course import pipeline
from serverless_course.pipeline import apigw, traffic


@dataclass
class Bench:
    sim: Any
    stack: Any
    faults: FaultInjector
    calls: list[tuple[float, list[str]]] = field(default_factory=list)  # (virtual s, order ids)
    requests: int = 0

    def post(self, orders: list[dict[str, Any]] | str) -> tuple[int, dict[str, Any]]:
        self.requests += 1
        body = orders if isinstance(orders, str) else {"orders": orders}
        event = apigw.proxy_event(body, request_id=f"req-{self.requests}",
                                  correlation_id=f"corr-{self.requests}")
        out = self.sim.client("lambda").invoke(
            FunctionName=self.stack.function_name("IngestFunction"), Payload=json.dumps(event))
        payload = json.loads(out["Payload"].read())
        assert "statusCode" in payload, (
            f"the ingest function failed instead of answering: {payload.get('errorType')}: "
            f"{payload.get('errorMessage')}")
        return payload["statusCode"], json.loads(payload["body"])

    def on_the_bus(self) -> Counter[str]:
        """Order ids of the OrderPlaced events that reached the bus (and its rule's queue)."""
        sqs, url, found = self.sim.client("sqs"), self.stack.outputs["QueueUrl"], Counter()
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for m in batch:
                found[json.loads(m["Body"])["detail"]["data"]["order_id"]] += 1
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        return found


def order_ids_of(params: dict[str, Any]) -> list[str]:
    return [json.loads(e["Detail"])["data"]["order_id"] for e in params["Entries"]]


@pytest.fixture
def bench(submission: Any) -> Any:
    files = {"event_sender.py": submission.path / "event_sender.py"}
    if not files["event_sender.py"].is_file():
        pytest.fail("event_sender.py is missing from the submission", pytrace=False)
    # Imported once in the function's own code folder: a clear message if it cannot be.
    submission.load("event_sender", code_dir=pipeline.code_folder(files))
    with Simulator(seed=11, logs=False, metrics=False) as sim:
        stack = pipeline.deploy(sim, validate=False, replace={"IngestFunction": files},
                                isolation=submission.isolation)
        lam = sim.client("lambda")
        for uuid in stack.event_source_mappings.values():  # keep the events on the queue
            lam.update_event_source_mapping(UUID=uuid, Enabled=False)
        with FaultInjector(seed=5, clock=lambda: sim.elapsed) as faults:
            b = Bench(sim, stack, faults)
            # Records every PutEvents call as sent (never faults): first, so it sees them all.
            faults.add("events", "PutEvents", PartialFailure(),
                       when=lambda p: b.calls.append((sim.elapsed, order_ids_of(p))) and False)
            yield b


def orders(prefix: str, n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [traffic.order(rng, f"o-{prefix}-{i:03d}") for i in range(n)]


def ids(batch: list[dict[str, Any]]) -> list[str]:
    return [o["order_id"] for o in batch]


# ---------------------------------------------------------------------------------------------


@pytest.mark.points(1)
def test_one_order_reaches_the_bus(bench: Bench) -> None:
    """A request with one valid order: 202, and its OrderPlaced event is on the bus once."""
    batch = orders("one", 1)
    status, body = bench.post(batch)
    assert status == 202, body
    assert bench.on_the_bus() == Counter(ids(batch))


@pytest.mark.points(1)
def test_invalid_requests_are_rejected_with_reasons(bench: Bench) -> None:
    """Invalid requests get 400 with the failing fields, and nothing goes on the bus (after a
    valid request whose orders did reach it: a sender that sends nothing earns nothing)."""
    good = orders("good", 3)
    status, body = bench.post(good)
    require_work(sum(bench.on_the_bus().values()), len(good), "valid orders of a first request on the bus")
    bench.calls.clear()
    bad = orders("bad", 2)
    bad[1]["items"][0]["quantity"] = 0
    status, body = bench.post(bad)
    assert status == 400
    assert [e["field"] for e in body["errors"]] == ["orders.1.items.0.quantity"]
    status, body = bench.post('{"orders": [')
    assert status == 400 and body["errors"][0]["field"] == "body"
    assert not bench.on_the_bus() and not bench.calls


@pytest.mark.points(1)
@pytest.mark.parametrize("n", [10, 11, 25, 100])
def test_the_minimum_number_of_put_events_calls(bench: Bench, n: int) -> None:
    """With nothing failing, n orders take ceil(n / 10) PutEvents calls of at most 10 entries
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html), and each
    order reaches the bus once."""
    batch = orders(f"min{n}", n)
    status, body = bench.post(batch)
    assert status == 202, body
    sizes = [len(c[1]) for c in bench.calls]
    assert len(sizes) == math.ceil(n / 10), (
        f"{n} orders took {len(sizes)} PutEvents calls of {sizes} entries; the minimum is "
        f"{math.ceil(n / 10)}")
    assert max(sizes) <= 10
    assert bench.on_the_bus() == Counter(ids(batch))


@pytest.mark.points(2)
def test_partial_failures_are_retried_until_every_order_is_on_the_bus(bench: Bench) -> None:
    """EventBridge fails about a third of the entries of the first three calls
    (FailedEntryCount > 0, HTTP 200): every order still reaches the bus exactly once, and the
    client gets 202."""
    bench.faults.add("events", "PutEvents", PartialFailure(rate=0.35), on_calls=[1, 2, 3])
    batch = orders("partial", 30, seed=2)
    status, body = bench.post(batch)
    failed = len(bench.faults.failed_entries("events", "PutEvents"))
    assert failed > 0
    bus = bench.on_the_bus()
    missing = sorted(set(ids(batch)) - set(bus))
    assert not missing, f"{failed} entries failed and were never retried: {missing[:5]}..."
    twice = sorted(o for o, k in bus.items() if k > 1)
    assert not twice, f"orders on the bus more than once: {twice}"
    assert status == 202, body


@pytest.mark.points(1)
def test_only_failed_entries_are_retried_after_a_wait(bench: Bench) -> None:
    """Two entries of the first call fail: the next call carries exactly those two, and it is
    made after a backoff wait (virtual time passes), not immediately."""
    bench.faults.add("events", "PutEvents", PartialFailure(indices=[2, 7]), on_calls=[1])
    batch = orders("retry", 10, seed=3)
    status, body = bench.post(batch)
    assert len(bench.calls) >= 2, "the failed entries were never retried"
    (t1, first), (t2, second) = bench.calls[0], bench.calls[1]
    assert second == [first[2], first[7]], (
        f"the retry carried {second}; only the failed entries {[first[2], first[7]]} belong in it")
    assert t2 > t1, "retry after a backoff wait (time.sleep), not at once"
    assert status == 202 and bench.on_the_bus() == Counter(ids(batch))


@pytest.mark.points(2)
def test_an_entry_that_always_fails_is_reported_not_dropped(bench: Bench) -> None:
    """One order's entry fails on every attempt: the retries stop (bounded), the other orders
    reach the bus once, and the response is 503 naming the order that was not sent."""
    batch = orders("stuck", 15, seed=4)
    stuck = batch[12]["order_id"]
    bench.faults.add("events", "PutEvents",
                     PartialFailure(match=lambda e: stuck in e["Detail"]))
    status, body = bench.post(batch)
    assert len(bench.calls) <= 2 + 10, f"{len(bench.calls)} PutEvents calls: bound the retries"
    assert bench.on_the_bus() == Counter(o for o in ids(batch) if o != stuck)
    assert status == 503, f"expected 503 naming {stuck}; got {status}: {body}"
    assert [n["order_id"] for n in body["not_sent"]] == [stuck]
    assert body["not_sent"][0]["error_code"] == "InternalFailure"


@pytest.mark.points(1)
def test_a_throttled_call_is_retried(bench: Bench) -> None:
    """The first PutEvents call is throttled on every HTTP attempt (botocore retries, then
    raises ThrottlingException): its entries are retried like failed entries, and every order
    reaches the bus once."""
    bench.faults.add("events", "PutEvents", Throttle(), on_calls=[1])
    batch = orders("throttle", 12, seed=5)
    status, body = bench.post(batch)
    assert bench.on_the_bus() == Counter(ids(batch))
    assert status == 202, body


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [101, 202, 303])
def test_random_scenario(bench: Bench, seed: int) -> None:
    """Seeded random traffic and failure rates: every order is on the bus exactly once or
    reported in a 503's not_sent (never both, never neither), and a request whose calls had no
    failure used the minimum number of calls."""
    rng = random.Random(seed)
    rate = rng.choice([0.1, 0.3, 0.5])
    bench.faults.add("events", "PutEvents", PartialFailure(rate=rate),
                     when=lambda p: rng.random() < 0.5)
    sent: Counter[str] = Counter()
    reported: set[str] = set()
    all_ids: list[str] = []
    for r in range(rng.randint(3, 6)):
        batch = orders(f"s{seed}r{r}", rng.randint(1, 40), seed=seed + r)
        all_ids += ids(batch)
        before_calls, before_faults = len(bench.calls), len(bench.faults.injected)
        status, body = bench.post(batch)
        if status == 503:
            reported |= {n["order_id"] for n in body["not_sent"]}
        else:
            assert status == 202, body
        if len(bench.faults.injected) == before_faults:
            assert len(bench.calls) - before_calls == math.ceil(len(batch) / 10)
    sent = bench.on_the_bus()
    scenario = f"seed {seed}, failure rate {rate}"
    assert not [o for o, k in sent.items() if k > 1], f"{scenario}: orders sent twice"
    assert set(sent) | reported == set(all_ids), f"{scenario}: orders lost silently"
    assert not set(sent) & reported, f"{scenario}: reported as not sent but on the bus"
