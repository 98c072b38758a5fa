"""Graded tests of lab 04: alarms that page for the right reason.

Each test replays incident scenarios (`serverless_course.observability.incidents`): the orders
pipeline deployed into the course's simulator with your `app.py` as its processor and your
`alarms.yaml` deployed beside it as a second stack, one order a minute, and one incident
injected at a seeded minute: a downstream outage, a poison flood, a throttle storm, a silent rule
typo, a slow duration leak; or a normal day with no incident (30 virtual minutes). A page is an
SNS notification of one of your alarms entering ALARM. An incident's replay stops when its
detection budget ends: no later page counts. Nothing reads your source. Your alarms only watch,
so the pipeline's run is recorded once per processor file and your alarm set is evaluated
against that recording, in a simulation of its own: the same states at the same instants as
beside the run (a class's gradings share the recordings: the class_cache fixture).

The graded seeds are not the ones the notebook uses; instructors may add seeds with the
environment variable LAB04_SEEDS (comma-separated): each scenario then runs on each of them too.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from serverless_course import pipeline
from serverless_course.observability.incidents import ScenarioRun, run_scenario

SEEDS = [211] + [int(s) for s in os.environ.get("LAB04_SEEDS", "").split(",") if s.strip()]
INCIDENTS = ["downstream outage", "poison flood", "throttle storm", "rule typo", "duration leak"]
# The function's environment (template.yaml), for importing app.py once on its own.
ENVIRONMENT = {"ORDERS_TABLE": "orders", "IDEMPOTENCY_TABLE": "idempotency",
               "EVENT_BUS_NAME": "orders", "POWERTOOLS_SERVICE_NAME": "orders",
               "POWERTOOLS_METRICS_NAMESPACE": "Orders",
               "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"}
MIN_LOG_LINES = 20

_runs: dict[tuple[str, str, int], ScenarioRun] = {}


class Submission:
    def __init__(self, alarms: Path, app: Path, isolation: Any, recordings: Path | None):
        self.alarms, self.app, self.isolation, self.recordings = alarms, app, isolation, recordings
        self._key = hashlib.sha256(alarms.read_bytes() + b"\0" + app.read_bytes()).hexdigest()

    def run(self, scenario: str, seed: int) -> ScenarioRun:
        """One scenario's run, cached by the files' content: each test reads the same runs."""
        key = (self._key, scenario, seed)
        if key not in _runs:
            _runs[key] = run_scenario(scenario, seed, alarms=self.alarms, processor=self.app,
                                      isolation=self.isolation, until_budget_ends=True,
                                      recordings=self.recordings)
        return _runs[key]

    def detected(self) -> list[str]:
        return [f"{name} (seed {seed})" for name in INCIDENTS for seed in SEEDS if self.run(name, seed).detected]


@pytest.fixture
def work(submission: Any, class_cache: Path | None) -> Submission:
    alarms, app = submission.path / "alarms.yaml", submission.path / "app.py"
    for path in (alarms, app):
        if not path.is_file():
            pytest.fail(f"{path.name} is missing from the submission", pytrace=False)
    folder = pipeline.code_folder({"processor/app.py": app})
    submission.load("processor.app", code_dir=folder, environ=ENVIRONMENT)
    return Submission(alarms, app, submission.isolation, class_cache)


def describe(run: ScenarioRun) -> str:
    inc = run.incident
    pages = "\n".join(f"  {p.at_s / 60:5.1f} min  {p.alarm}" for p in run.pages) or "  none"
    head = (f"{run.scenario}, seed {run.seed}: the incident ({inc.stage}) started at minute "
            f"{inc.start_s / 60:.0f}, budget {inc.budget_s / 60:.0f} min" if inc else
            f"{run.scenario}, seed {run.seed}")
    return f"{head}; your alarms: {len(run.alarm_names)}; pages:\n{pages}"


def check_detected(work: Submission, scenario: str) -> None:
    for seed in SEEDS:
        run = work.run(scenario, seed)
        assert run.detected, f"not detected within its budget. {describe(run)}"


@pytest.mark.points(1)
def test_detects_a_downstream_outage(work: Submission) -> None:
    """The orders table fails every write for 20 minutes: a page within 10 minutes."""
    check_detected(work, "downstream outage")


@pytest.mark.points(1)
def test_detects_a_poison_flood(work: Submission) -> None:
    """30 orders that break the contract in 5 minutes: a page within 10 minutes."""
    check_detected(work, "poison flood")


@pytest.mark.points(1)
def test_detects_a_throttle_storm(work: Submission) -> None:
    """The processor's concurrency exhausted for 20 minutes (Lambda throttles every
    invocation; https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
    a page within 10 minutes."""
    check_detected(work, "throttle storm")


@pytest.mark.points(1)
def test_detects_a_silent_rule_typo(work: Submission) -> None:
    """The rule's pattern stops matching: orders stop reaching the queue and nothing errors.
    A page within 15 minutes: an alarm on data that stops must treat missing data as breaching
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html)."""
    check_detected(work, "rule typo")


@pytest.mark.points(1)
def test_detects_a_duration_leak(work: Submission) -> None:
    """The processor's duration grows 200 ms a minute toward its 10 s timeout: a page within
    15 minutes, before it times out."""
    check_detected(work, "duration leak")


@pytest.mark.points(2)
def test_no_page_on_a_normal_day(work: Submission) -> None:
    """A normal day (traffic rising and falling, a burst, first attempts throttled for three
    minutes and retried by the SDK): no page. Pays only for an alarm set that detects at least
    one incident: no alarms never page, and never help either."""
    detected = work.detected()
    assert detected, "your alarms detect no incident, so their silence on a normal day says nothing"
    for seed in SEEDS:
        run = work.run("normal day", seed)
        assert not run.pages, f"paged with nothing wrong. {describe(run)}"


@pytest.mark.points(2)
def test_pages_name_what_failed(work: Submission) -> None:
    """Each incident detected is named by a page within its budget: its alarm's name or
    description says which stage failed (the table, the dead-letter queue / poison, throttles /
    concurrency, the rule / orders not arriving, duration). Pays only when at least two
    incidents are detected."""
    detected = work.detected()
    assert len(detected) >= 2, f"only {len(detected)} incidents detected: {detected}"
    for name in INCIDENTS:
        for seed in SEEDS:
            run = work.run(name, seed)
            assert not run.detected or run.named, (
                f"no page names {run.incident.stage} (words such as {', '.join(run.incident.keywords)}). "
                f"{describe(run)}")


@pytest.mark.points(1)
def test_every_log_line_carries_the_correlation_id(work: Submission) -> None:
    """Every line the processor logs (a normal day and a poison flood) is JSON with a
    non-empty correlation_id; EMF lines (metrics) are left out. Pays only when there are at
    least 20 lines."""
    lines = [line for seed in SEEDS for name in ("normal day", "poison flood")
             for line in work.run(name, seed).log_lines]
    app_lines = []
    for line in lines:
        try:
            doc = json.loads(line)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and "_aws" in doc:
            continue
        app_lines.append((line, doc))
    assert len(app_lines) >= MIN_LOG_LINES, f"only {len(app_lines)} log lines: too few to judge"
    missing = [line for line, doc in app_lines if not (isinstance(doc, dict) and doc.get("correlation_id"))]
    assert not missing, (f"{len(missing)} of {len(app_lines)} lines without a correlation_id, e.g.:\n"
                         + "\n".join(line[:200] for line in missing[:3]))
