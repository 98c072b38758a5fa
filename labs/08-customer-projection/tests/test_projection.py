"""Graded tests of lab 08: the customer projection counts every change once.

Each test deploys the module's CDC stack (serverless_course.cdc, the SAM template) into the
course's Lambda simulator with your `app.py` as the summary projection's `summary/app.py`, and
plays a seeded workload of writes to the orders table (creates, updates, cancels that Time to
Live purges later, erasures, a few unreadable items, across 12 interleaved customers) with the
module's harness (`serverless_course.cdc.harness.run_cdc`): transient errors on your table
calls, batches delivered a second time, poison records. Then it audits: every customer's
summary must equal a recomputation from the orders table (`orders.summarize`), and the
on-failure queue must hold the unreadable records and nothing else. Nothing reads your source.
Your projection runs in processes of its own (one per execution environment, as on AWS).

The graded seeds are not the ones the README and the notebook show; instructors may add others
with the environment variable LAB08_SEEDS (comma-separated).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from labgrader import require_work
from serverless_course import cdc
from serverless_course.cdc.harness import NO_FAULTS, CdcReport, Faults, run_cdc
from serverless_course.cdc.workload import Mix

SEEDS = [61, 37] + [int(s) for s in os.environ.get("LAB08_SEEDS", "").split(",") if s.strip()]
WRITES = 80
GRADED_FAULTS = Faults(transient_rate=0.03, replay_rate=0.15)
GRADED_MIX = Mix(poison=0.02)  # one or two unreadable items on each graded seed

ENVIRONMENT = {"SUMMARY_TABLE": "summaries"}

_runs: dict[tuple[str, int, int, Faults, Mix], CdcReport] = {}


@dataclass
class Projection:
    path: Path
    isolation: Any

    def run(self, seed: int, writes: int = WRITES, faults: Faults = GRADED_FAULTS,
            mix: Mix = GRADED_MIX) -> CdcReport:
        """One run, cached by the file's content: each test reads the same runs."""
        key = (hashlib.sha256(self.path.read_bytes()).hexdigest(), seed, writes, faults, mix)
        if key not in _runs:
            _runs[key] = run_cdc(seed=seed, writes=writes, summary_app=self.path, faults=faults, mix=mix,
                                 only_summary=True, isolation=self.isolation)
        return _runs[key]

    def graded(self) -> Iterator[CdcReport]:
        """The graded seeds' runs, each made when a test first reaches it: a test stops at the
        first seed it fails on, and a run no test reaches is never made."""
        return (self.run(seed) for seed in SEEDS)


@pytest.fixture
def projection(submission: Any) -> Projection:
    path = submission.path / "app.py"
    if not path.is_file():
        pytest.fail("app.py is missing from the submission", pytrace=False)
    # Imported once in the function's code folder: a clear message if it cannot be.
    submission.load("summary.app", code_dir=cdc.code_folder({"summary/app.py": path}), environ=ENVIRONMENT)
    return Projection(path, submission.isolation)


def wrong_summaries(report: CdcReport, customers: set[str] | None = None) -> str:
    wrong = [c for c in report.mismatched if customers is None or c in customers]
    lines = [f"seed {report.seed}: {len(wrong)} customers' summaries differ from the table's recomputation"]
    for customer in wrong[:3]:
        lines.append(f"  {customer}: yours {report.projected.get(customer)}\n"
                     f"  {' ' * len(customer)}  table {report.expected.get(customer)}")
    return "\n".join(lines) + "\n" + report.ledger()


def mostly_right(report: CdcReport) -> None:
    """The guard of the tests that check an absence: most summaries are right."""
    right = len(report.expected) - len([c for c in report.mismatched if c in report.expected])
    require_work(right, len(report.expected), f"customers' summaries right on seed {report.seed}")


# ---------------------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_without_faults_each_summary_equals_the_table(projection: Projection) -> None:
    """30 writes (creates, updates, cancels, TTL deletions, erasures), nothing injected: each
    customer's summary equals the recomputation from the orders table."""
    report = projection.run(seed=5, writes=30, faults=NO_FAULTS, mix=Mix(poison=0.0))
    assert report.expected and not report.mismatched, wrong_summaries(report)


@pytest.mark.points(4)
def test_each_summary_equals_a_recomputation_from_the_table(projection: Projection) -> None:
    """On every graded seed, with transient errors, batches delivered twice, poison records
    and TTL deletions: each summary equals the recomputation from the table."""
    for report in projection.graded():
        assert report.expected and not report.mismatched, wrong_summaries(report)


@pytest.mark.points(2)
def test_a_batch_delivered_twice_counts_once(projection: Projection) -> None:
    """Lambda's event source mappings process each record at least once: "duplicate
    processing of records can occur"
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html). The
    customers whose records came twice have the table's figures, not more."""
    for report in projection.graded():
        require_work(len(report.replayed_customers), 1, f"customers in batches delivered twice on seed {report.seed}")
        wrong = [c for c in report.mismatched if c in report.replayed_customers]
        assert not wrong, wrong_summaries(report, report.replayed_customers)


@pytest.mark.points(2)
def test_removed_orders_leave_the_summary(projection: Projection) -> None:
    """A REMOVE record takes its order out: a user's delete, and Time to Live's deletion
    (userIdentity type Service, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html).
    The customers who lost orders have the table's figures."""
    for report in projection.graded():
        require_work(len(report.removal_customers), 1, f"customers with a removed order on seed {report.seed}")
        wrong = [c for c in report.mismatched if c in report.removal_customers]
        assert not wrong, wrong_summaries(report, report.removal_customers)


@pytest.mark.points(2)
def test_only_unreadable_records_are_dead_lettered(projection: Projection) -> None:
    """Each unreadable record reaches the on-failure queue (your handler reports it; bisection
    isolates it; its retries run out), and no readable record does: a transient error is
    retried, not given up on."""
    for report in projection.graded():
        mostly_right(report)
        assert report.poison, f"seed {report.seed} has no unreadable record (the workload changed?)"
        assert not report.poison_kept, (
            f"seed {report.seed}: {len(report.poison_kept)} unreadable records never reached the "
            f"on-failure queue (reported as success?)\n{report.ledger()}")
        assert not report.wrongly_dead_lettered, (
            f"seed {report.seed}: {len(report.wrongly_dead_lettered)} readable records were given up "
            f"on\n{report.ledger()}")


@pytest.mark.points(1)
def test_a_failure_holds_back_only_its_record(projection: Projection) -> None:
    """Report the failing record's sequence number (batchItemFailures) rather than fail the
    whole batch: the mapping then checkpoints the records before it and retries from it
    (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html),
    while an error or a timeout sends every record of the batch again. No invocation of your
    projection ends in an error on the graded seeds."""
    for report in projection.graded():
        mostly_right(report)
        assert report.failed_invocations == 0, (
            f"seed {report.seed}: {report.failed_invocations} invocations failed as a whole (an "
            f"exception or a timeout), so their batches came back whole\n{report.ledger()}")
