"""Kinesis Data Streams for DynamoDB next to DynamoDB Streams (serverless_course.cdc.kinesis_changes):
the records of one order can come late and twice
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html), so the last record
read is not the order's state; the record with the latest ApproximateCreationDateTime is, when
the precision tells the changes apart."""

from __future__ import annotations

from serverless_course.cdc.kinesis_changes import latest_changes, run_changes


def _change(order: str, created: int, version: int | None) -> dict:
    dynamodb: dict = {"ApproximateCreationDateTime": created, "Keys": {"order_id": {"S": order}}}
    if version is not None:
        dynamodb["NewImage"] = {"order_id": {"S": order}, "version": {"N": str(version)}}
    return {"eventName": "MODIFY" if version is not None else "REMOVE", "dynamodb": dynamodb}


def test_the_latest_creation_time_wins_whatever_the_order_and_a_duplicate_changes_nothing() -> None:
    late, first, duplicate_of_late = _change("a", 20, 2), _change("a", 10, 1), _change("a", 20, 99)
    removed = _change("b", 5, None)
    assert latest_changes([late, first, duplicate_of_late, removed]) == {"a": late, "b": removed}


def test_read_order_is_wrong_and_creation_time_rebuilds_the_table() -> None:
    run = run_changes(seed=0)
    assert run.records > run.writes - 12  # every change (a delete of a missing order writes none), some twice
    assert run.repeated > 0 and run.behind > 0
    assert run.wrong_last_read > 0
    assert run.wrong_rebuilt == 0


def test_millisecond_precision_cannot_order_changes_within_one_millisecond() -> None:
    coarse = run_changes(seed=0, orders=2, writes=40, gap_s=0.0002, precision="MILLISECOND")
    fine = run_changes(seed=0, orders=2, writes=40, gap_s=0.0002, precision="MICROSECOND")
    assert coarse.wrong_rebuilt > 0
    assert fine.wrong_rebuilt == 0
