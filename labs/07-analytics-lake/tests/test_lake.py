"""Graded tests of lab 07: a lake that answers cheaply.

Your transform.py runs as the stream's Lambda transformation, your delivery.py lays out the
stream and the table, your queries.py answers the questions. A seeded fleet (24 sensors, one
reading every 5 minutes for 30 hours from 2026-03-09 00:00 UTC, with late, out-of-order and
malformed messages) goes through Firehose into S3; every answer is checked against the fleet's
own readings computed in Python, never against the lake. The graded seed is not the one the
notebook uses. Nothing reads your source.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from serverless_course.analytics import fleet
from serverless_course.analytics.lake_lab import GRADED_DAY, Delivery, LabRun, run

SEED = 307
# Each query may scan at most this share of the graded day's readings as the sensors sent them
# (JSON): a day's folder of JSON lines is over it, the few columns of Parquet are well under.
BUDGET_SHARE = 0.35

_runs: dict[int, LabRun] = {}


@pytest.fixture
def lab(submission: Any) -> LabRun:
    for name in ("transform.py", "delivery.py", "queries.py"):
        if not (submission.path / name).is_file():
            pytest.fail(f"{name} is missing from the submission", pytrace=False)
    key = hash(tuple((submission.path / n).read_bytes() for n in ("transform.py", "delivery.py", "queries.py")))
    if key not in _runs:
        submission.load("transform", code_dir=submission.path)  # fails here, for you, if it does not import
        delivery = Delivery.of(submission.load("delivery").layout())
        _runs[key] = run(SEED, transform_dir=submission.path, delivery=delivery, isolation=submission.isolation)
    return _runs[key]


@pytest.fixture
def queries(submission: Any) -> Any:
    return submission.load("queries")


def _canonical(payload: bytes) -> str:
    try:
        return json.dumps(json.loads(payload), sort_keys=True)
    except ValueError:
        return payload.decode(errors="replace")


def _failed_payloads(lab: LabRun) -> list[str]:
    return sorted(_canonical(base64.b64decode(json.loads(line)["rawData"]))
                  for o in lab.objects("processing-failed") for line in lab.body(o.key).splitlines())


def _sql(queries: Any, name: str) -> str:
    try:
        return str(getattr(queries, name)(GRADED_DAY))
    except Exception as error:  # noqa: BLE001 - the learner's function: say what it raised
        pytest.fail(f"queries.{name}({GRADED_DAY!r}) raised {type(error).__name__}: {error}", pytrace=False)


def _answer(lab: LabRun, queries: Any, name: str) -> list[list[str | None]]:
    result = lab.query(_sql(queries, name))
    assert result.state == "SUCCEEDED", f"Athena: {result.reason}"
    return result.rows


def _budget(lab: LabRun) -> int:
    return int(BUDGET_SHARE * sum(len(m.payload) for m in lab.telemetry.messages
                                  if m.reading is not None and m.reading.day == GRADED_DAY))


@pytest.mark.points(1)
def test_every_valid_reading_reaches_the_lake(lab: LabRun) -> None:
    """Every well-formed reading is delivered as data, none to the error output."""
    delivered = sum(o.records for o in lab.objects("data"))
    valid = len(lab.telemetry.readings)
    assert delivered == valid, f"{delivered} records delivered as data; the fleet sent {valid} valid readings"


@pytest.mark.points(2)
def test_malformed_records_go_to_the_error_output_not_lost(lab: LabRun) -> None:
    """Each malformed message is in the error output (processing-failed: your transformation
    answered ProcessingFailed, https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html),
    and nothing else is: a Dropped record is lost. Pays only when valid readings reach the lake."""
    assert lab.objects("data"), "nothing reached the lake"
    expected = sorted(_canonical(m.payload) for m in lab.telemetry.malformed)
    failed = _failed_payloads(lab)
    missing = len([p for p in expected if p not in failed])
    assert failed == expected, (f"{len(expected)} malformed messages; {len(failed)} records in the error output, "
                                f"{missing} of the malformed ones missing from it")


@pytest.mark.points(2)
def test_daily_max_by_type_is_right(lab: LabRun, queries: Any) -> None:
    """The highest reading of each type on the graded day, by event time (late readings too)."""
    rows = _answer(lab, queries, "daily_max_by_type")
    got = {row[0]: float(row[1]) for row in rows if row[1] is not None}
    assert got == fleet.daily_max_by_type(lab.telemetry.readings, GRADED_DAY), f"your rows: {rows[:8]}"


@pytest.mark.points(2)
def test_hourly_anomalies_are_right(lab: LabRun, queries: Any) -> None:
    """Readings above their type's threshold per type and hour of the graded day (event time)."""
    rows = _answer(lab, queries, "hourly_anomalies")
    got = {(row[0], int(row[1])): int(row[2]) for row in rows}
    expected = fleet.hourly_anomalies(lab.telemetry.readings, GRADED_DAY)
    assert got == expected, f"your rows: {rows[:8]}; expected e.g. {list(expected.items())[:4]}"


def _check_budget(lab: LabRun, queries: Any, name: str) -> None:
    result = lab.query(_sql(queries, name))
    budget = _budget(lab)
    assert result.bytes_scanned <= budget, (
        f"{name} scanned {result.bytes_scanned:,} bytes; the budget is {budget:,} "
        f"({BUDGET_SHARE:.0%} of the day's readings as sent). Partitions and a columnar format cut it "
        "(https://docs.aws.amazon.com/athena/latest/ug/performance-tuning.html)")


@pytest.mark.points(1)
def test_daily_max_scans_under_budget(lab: LabRun, queries: Any) -> None:
    """Bytes scanned within budget. Pays only when the answer is right."""
    test_daily_max_by_type_is_right(lab, queries)
    _check_budget(lab, queries, "daily_max_by_type")


@pytest.mark.points(1)
def test_hourly_anomalies_scan_under_budget(lab: LabRun, queries: Any) -> None:
    """Bytes scanned within budget. Pays only when the answer is right."""
    test_hourly_anomalies_are_right(lab, queries)
    _check_budget(lab, queries, "hourly_anomalies")
