"""Module 8's CDC stack (serverless_course.cdc): the template, the item schemas and the read
model's recomputation, and a small chaos proof: a seeded workload with transient errors,
batches delivered twice, poison records and TTL deletions, after which every projection equals
its recomputation from the table and each readable change reached the bus once. The issue's
proof at scale (20 seeds x 1,000 writes) is reference/benchmarks/cdc_chaos.py; that the audit
catches wrong consumers (double counting, REMOVE ignored, whole batches failed) is proven by
lab 08's selfcheck (tests/test_labs_selfcheck.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lambdasim import Simulator
from serverless_course import cdc
from serverless_course.cdc import orders
from serverless_course.cdc.harness import CdcReport, Faults, run_cdc
from serverless_course.cdc.workload import Mix, make_workload
from stack_checks import assert_logs_into_declared_groups, function_name

pytestmark = pytest.mark.xdist_group("cdc")


def test_cfn_lint_passes() -> None:
    lint = sys.executable.replace("python", "cfn-lint")
    result = subprocess.run([lint, str(cdc.TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_schemas_read_and_an_unreadable_item_is_refused() -> None:
    common = {"order_id": {"S": "o-1"}, "customer_id": {"S": "c-1"}, "status": {"S": "PLACED"},
              "created_at": {"S": "2026-01-01T00:00:00+00:00"}, "version": {"N": "3"}}
    one = orders.read_order({**common, "total_cents": {"N": "1250"}})
    two = orders.read_order({**common, "schema": {"N": "2"},
                             "total": {"M": {"cents": {"N": "1250"}, "currency": {"S": "EUR"}}}})
    assert one == two == orders.Order("o-1", "c-1", "PLACED", 1250, "2026-01-01T00:00:00+00:00", 3)
    with pytest.raises(orders.UnreadableOrder):
        orders.read_order({**common, "total_cents": {"S": "12,50"}})


def test_sequence_keys_sort_as_the_numbers_do() -> None:
    """Sequence numbers are 21 to 40 digits
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html)."""
    numbers = ["9" * 21, "1" + "0" * 21, "1" * 40]
    assert sorted(numbers, key=orders.sequence_key) == sorted(numbers, key=int)


def test_summarize_counts_open_and_cancelled_orders_and_the_last_order() -> None:
    placed = [orders.Order("o-1", "c-1", "PLACED", 100, "2026-01-01T00:00:01", 1),
              orders.Order("o-2", "c-1", "CANCELLED", 900, "2026-01-01T00:00:03", 2),
              orders.Order("o-3", "c-1", "UPDATED", 250, "2026-01-01T00:00:02", 4)]
    assert orders.summarize(placed) == {"c-1": orders.CustomerSummary(
        "c-1", orders=2, cancelled=1, total_cents=350, last_order_id="o-2", last_order_at="2026-01-01T00:00:03")}


def test_the_workload_interleaves_customers_and_mixes_every_kind() -> None:
    writes = make_workload(3, 400)
    assert writes == make_workload(3, 400)
    assert {w.kind for w in writes} == {"create", "update", "cancel", "erase", "poison"}
    assert {w.schema for w in writes} == {1, 2}
    same_customer_in_a_row = sum(a.customer_id == b.customer_id for a, b in zip(writes, writes[1:]))
    assert same_customer_in_a_row < 0.2 * len(writes)
    versions: dict[str, int] = {}
    for w in writes:  # every change moves its order's version by one
        if w.kind in ("create", "poison"):
            assert w.order_id not in versions and w.version == 1
        elif w.kind == "erase":
            assert w.version == versions[w.order_id]
        else:
            assert w.version == versions[w.order_id] + 1
        versions[w.order_id] = w.version


@pytest.fixture(scope="module")
def chaos() -> CdcReport:
    return run_cdc(seed=9, writes=80, faults=Faults(transient_rate=0.04, replay_rate=0.3),
                   mix=Mix(poison=0.02))


def test_chaos_proof_every_projection_equals_its_recomputation(chaos: CdcReport) -> None:
    """Transient errors, batches delivered twice, poison records and TTL deletions all
    happened, and still: each summary equals the table's recomputation, the on-failure queue
    holds the poison records and nothing else, the search store holds every readable order the
    table holds or TTL purged, and each readable INSERT or MODIFY reached the bus once."""
    assert chaos.transient_errors and chaos.replayed_batches and chaos.poison and chaos.ttl_deletions
    assert chaos.erasures and chaos.bisections and chaos.redelivered, chaos.ledger()
    assert len(chaos.expected) >= 8, chaos.ledger()  # most of the 12 customers still hold orders
    assert chaos.ok, chaos.ledger()
    assert chaos.events_expected > 60


def test_an_unreadable_item_fires_each_projections_alarm_and_each_logs_into_its_declared_group(tmp_path: Path) -> None:
    """Each projection gives the record up into its own on-failure queue, whose alarm fires at
    the first visible message
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html);
    the outbox's filter never passes it, so its dead-letter queue's alarm stays quiet. Each
    function's log group is the one the template declares with a retention
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html),
    and its written-out role refuses none of its calls (IAM enforced)."""
    with Simulator(seed=2, metrics=False, iam=True) as sim:  # each role checked on every call
        out = cdc.deploy(sim, validate=False, parameters={"SearchStore": str(tmp_path / "search.sqlite3")}).outputs
        sim.client("dynamodb").put_item(TableName=out["OrdersTableName"], Item={
            "order_id": {"S": "o-1"}, "customer_id": {"S": "c-1"}, "status": {"S": "PLACED"},
            "version": {"N": "1"}, "created_at": {"S": "2026-01-01T00:00:00+00:00"},
            "total_cents": {"S": "12,50"}})  # a buggy writer's total: text
        sim.run_for(240)
        alarmed = {t.alarm.split("-")[1] for t in sim.alarms.transitions if t.new_state == "ALARM"}
        assert alarmed == {"SummaryFailuresQueueNotEmpty", "SearchFailuresQueueNotEmpty"}
        assert_logs_into_declared_groups(sim, "cdc", ("SummaryFunction", "SearchFunction"))
        summary = function_name(sim, "cdc", "SummaryFunction")
        assert sim.iam.denied(summary) == []  # the written-out role allowed every call it made
