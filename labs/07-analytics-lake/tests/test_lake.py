"""Graded tests of lab 07: a lake that answers cheaply.

Your transform.py runs as the stream's Lambda transformation, your delivery.py lays out the
stream and the table, your queries.py answers the questions. A seeded fleet (32 sensors, one
reading a minute for 5 hours from 2026-03-09 22:00 UTC, with late, out-of-order and malformed
messages; `lake_lab.SPEC`) goes through Firehose into S3; every answer is checked against the fleet's
own readings computed in Python, never against the lake. The graded seed is not the one the
notebook uses; instructors may add seeds with the environment variable LAB07_SEEDS
(comma-separated): every test then checks each seed's fleet too. Nothing reads your source.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from labgrader import SubmissionError
from serverless_course.analytics import fleet
from serverless_course.analytics.lake import QueryResult
from serverless_course.analytics.lake_lab import GRADED_DAY, Delivery, LabRun, run

SEEDS = [307] + [int(s) for s in os.environ.get("LAB07_SEEDS", "").split(",") if s.strip()]
# Each query may scan at most this share of the graded day's readings as the sensors sent them
# (JSON): a day's folder of JSON lines is over it, the few columns of Parquet are well under.
BUDGET_SHARE = 0.35

QUERIES = ("daily_max_by_type", "hourly_anomalies")


@dataclass
class Graded:
    """What the tests read of one seed's run, taken before its simulator stops (one runs at a
    time in a process): the lake's objects and each query's result, or why there is none."""
    seed: int
    telemetry: fleet.Fleet
    delivered: int  # records delivered as data
    data_objects: int
    failed_payloads: list[str]  # the error output's records, canonical JSON
    answers: dict[str, QueryResult | str]

    def __repr__(self) -> str:  # what a failed test shows of it
        return f"Graded(seed={self.seed})"


_graded: dict[tuple[int, int], Graded] = {}


def _canonical(payload: bytes) -> str:
    try:
        return json.dumps(json.loads(payload), sort_keys=True)
    except ValueError:
        return payload.decode(errors="replace")


def _answer_of(lab: LabRun, queries: Any, name: str) -> QueryResult | str:
    if isinstance(queries, str):
        return queries
    try:
        sql = str(getattr(queries, name)(GRADED_DAY))
    except Exception as error:  # noqa: BLE001 - the learner's function: say what it raised
        return f"queries.{name}({GRADED_DAY!r}) raised {type(error).__name__}: {error}"
    return lab.query(sql)


def _grade(seed: int, lab: LabRun, queries: Any) -> Graded:
    failed = sorted(_canonical(base64.b64decode(json.loads(line)["rawData"]))
                    for o in lab.objects("processing-failed") for line in lab.body(o.key).splitlines())
    return Graded(seed, lab.telemetry, sum(o.records for o in lab.objects("data")), len(lab.objects("data")),
                  failed, {name: _answer_of(lab, queries, name) for name in QUERIES})


@pytest.fixture
def labs(submission: Any) -> list[Graded]:
    """Each graded seed's fleet through the learner's lake, cached by the files' content: each
    test reads the same runs."""
    for name in ("transform.py", "delivery.py", "queries.py"):
        if not (submission.path / name).is_file():
            pytest.fail(f"{name} is missing from the submission", pytrace=False)
    key = hash(tuple((submission.path / n).read_bytes() for n in ("transform.py", "delivery.py", "queries.py")))
    if any((key, seed) not in _graded for seed in SEEDS):
        submission.load("transform", code_dir=submission.path)  # fails here, for you, if it does not import
        delivery = Delivery.of(submission.load("delivery").layout())
        try:
            queries: Any = submission.load("queries")
        except SubmissionError as error:  # only the query tests need it: they say why
            queries = str(error)
        for seed in SEEDS:
            if (key, seed) not in _graded:
                lab = run(seed, transform_dir=submission.path, delivery=delivery, isolation=submission.isolation)
                try:
                    _graded[key, seed] = _grade(seed, lab, queries)
                finally:
                    lab.sim.stop()
    return [_graded[key, seed] for seed in SEEDS]


def _result(lab: Graded, name: str) -> QueryResult:
    result = lab.answers[name]
    if isinstance(result, str):
        pytest.fail(result, pytrace=False)
    return result


def _answer(lab: Graded, name: str) -> list[list[str | None]]:
    result = _result(lab, name)
    assert result.state == "SUCCEEDED", f"seed {lab.seed}: Athena: {result.reason}"
    return result.rows


def _budget(lab: Graded) -> int:
    return int(BUDGET_SHARE * sum(len(m.payload) for m in lab.telemetry.messages
                                  if m.reading is not None and m.reading.day == GRADED_DAY))


@pytest.mark.points(1)
def test_every_valid_reading_reaches_the_lake(labs: list[Graded]) -> None:
    """Every well-formed reading is delivered as data, none to the error output."""
    for lab in labs:
        valid = len(lab.telemetry.readings)
        assert lab.delivered == valid, (f"seed {lab.seed}: {lab.delivered} records delivered as data; "
                                        f"the fleet sent {valid} valid readings")


@pytest.mark.points(2)
def test_malformed_records_go_to_the_error_output_not_lost(labs: list[Graded]) -> None:
    """Each malformed message is in the error output (processing-failed: your transformation
    answered ProcessingFailed, https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html),
    and nothing else is: a Dropped record is lost. Pays only when valid readings reach the lake."""
    for lab in labs:
        assert lab.data_objects, f"seed {lab.seed}: nothing reached the lake"
        expected = sorted(_canonical(m.payload) for m in lab.telemetry.malformed)
        missing = len([p for p in expected if p not in lab.failed_payloads])
        assert lab.failed_payloads == expected, (
            f"seed {lab.seed}: {len(expected)} malformed messages; {len(lab.failed_payloads)} records in the "
            f"error output, {missing} of the malformed ones missing from it")


def _check_daily_max(lab: Graded) -> None:
    rows = _answer(lab, "daily_max_by_type")
    got = {row[0]: float(row[1]) for row in rows if row[1] is not None}
    assert got == fleet.daily_max_by_type(lab.telemetry.readings, GRADED_DAY), f"seed {lab.seed}: your rows: {rows[:8]}"


def _check_anomalies(lab: Graded) -> None:
    rows = _answer(lab, "hourly_anomalies")
    got = {(row[0], int(row[1])): int(row[2]) for row in rows}
    expected = fleet.hourly_anomalies(lab.telemetry.readings, GRADED_DAY)
    assert got == expected, f"seed {lab.seed}: your rows: {rows[:8]}; expected e.g. {list(expected.items())[:4]}"


@pytest.mark.points(2)
def test_daily_max_by_type_is_right(labs: list[Graded]) -> None:
    """The highest reading of each type on the graded day, by event time (late readings too)."""
    for lab in labs:
        _check_daily_max(lab)


@pytest.mark.points(2)
def test_hourly_anomalies_are_right(labs: list[Graded]) -> None:
    """Readings above their type's threshold per type and hour of the graded day (event time)."""
    for lab in labs:
        _check_anomalies(lab)


def _check_budget(lab: Graded, name: str) -> None:
    result = _result(lab, name)
    budget = _budget(lab)
    assert result.bytes_scanned <= budget, (
        f"seed {lab.seed}: {name} scanned {result.bytes_scanned:,} bytes; the budget is {budget:,} "
        f"({BUDGET_SHARE:.0%} of the day's readings as sent). Partitions and a columnar format cut it "
        "(https://docs.aws.amazon.com/athena/latest/ug/performance-tuning.html)")


@pytest.mark.points(1)
def test_daily_max_scans_under_budget(labs: list[Graded]) -> None:
    """Bytes scanned within budget. Pays only when the answer is right."""
    for lab in labs:
        _check_daily_max(lab)
        _check_budget(lab, "daily_max_by_type")


@pytest.mark.points(1)
def test_hourly_anomalies_scan_under_budget(labs: list[Graded]) -> None:
    """Bytes scanned within budget. Pays only when the answer is right."""
    for lab in labs:
        _check_anomalies(lab)
        _check_budget(lab, "hourly_anomalies")
