"""Lesson 08-04's hand-off (serverless_course.cdc.backfill): scan copies rank below every stream
record, and on one table with writes during the scan, only the design that starts reading the
stream first and applies idempotently ends equal to the table's recomputation. The issue's
scale (50,000 items) is reference/benchmarks/cdc_backfill.py."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from serverless_course.cdc import orders
from serverless_course.cdc.backfill import (SCAN_SEQUENCE, BackfillRun, Design, existing_orders, live_writes,
                                            run_backfills)

pytestmark = pytest.mark.xdist_group("cdc")


def test_a_scan_copy_ranks_below_every_stream_record() -> None:
    """Sequence numbers have 21 to 40 digits
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html)."""
    smallest_real = "1" + "0" * 20
    assert orders.sequence_key(SCAN_SEQUENCE) < orders.sequence_key(smallest_real)


def test_live_writes_change_open_orders_one_version_at_a_time() -> None:
    existing = existing_orders(1, 30, 5, datetime(2026, 1, 1, tzinfo=timezone.utc))
    versions = {order_id: write.version for order_id, (write, _) in existing.items() if write.kind != "cancel"}
    writes = live_writes(1, 200, existing, 5, 0.1)
    assert {w.kind for w in writes} == {"create", "update", "cancel", "erase"}
    assert any(w.order_id in existing and w.kind != "create" for w in writes)  # old orders change too
    for w in writes:
        if w.kind == "create":
            assert w.order_id not in versions and w.version == 1
            versions[w.order_id] = 1
            continue
        assert w.order_id in versions  # only open orders change
        assert w.version == versions[w.order_id] + (0 if w.kind == "erase" else 1)
        versions[w.order_id] = w.version
        if w.kind in ("cancel", "erase"):
            del versions[w.order_id]


@pytest.fixture(scope="module")
def runs() -> dict[Design, BackfillRun]:
    return run_backfills(seed=3, existing=16, writes=12, page_size=2)


def test_stream_first_with_idempotent_copies_equals_the_table(runs: dict[Design, BackfillRun]) -> None:
    run = runs["stream-first"]
    assert run.writes_during_scan > 0 and run.copied > run.existing  # items created during the scan copied too
    assert run.streamed == run.writes  # every write reached the projection through the stream
    assert run.expected and run.mismatched == []
    assert run.projected == run.expected  # the last order too, not only the figures


def test_scanning_first_leaves_a_gap(runs: dict[Design, BackfillRun]) -> None:
    run = runs["scan-first"]
    assert run.writes_during_scan > 0 and run.streamed < run.writes
    assert run.mismatched


def test_without_idempotency_the_overlap_is_counted_twice(runs: dict[Design, BackfillRun]) -> None:
    run = runs["no-idempotency"]
    assert run.streamed == run.writes
    assert run.mismatched
