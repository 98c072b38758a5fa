"""Graded tests of lab 03: the processor survives the chaos run.

Each test deploys the orders pipeline (the module 1 SAM template) into the course's Lambda
simulator with your `app.py` as the processor's `processor/app.py`, and drives seeded messages
through its processing path with the module's chaos harness (`serverless_course.chaos`):
poison messages, duplicate deliveries, DynamoDB throttles, transient 500s and timeouts. Then
the harness audits what happened: the orders table's stream counts each order's writes, and the
DLQ is drained and each entry matched with the message it came from. Nothing reads your source.
Your processor runs in processes of its own (one per execution environment, as on AWS).

The graded seeds are not the ones the README and the notebook show; instructors may add others
with the environment variable LAB03_SEEDS (comma-separated).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from labgrader import require_work
from serverless_course import pipeline
from serverless_course.chaos import ChaosMix, ChaosReport, run_chaos

SEEDS = [41, 59, 83] + [int(s) for s in os.environ.get("LAB03_SEEDS", "").split(",") if s.strip()]
MESSAGES = 100
# The graded runs' failures: twice the shares of the default ChaosMix() on half its messages, so
# that each seed meets as many faults in half the grading time.
MIX = {"poison": 0.06, "duplicates": 0.10, "throttle_rate": 0.05, "transient_rate": 0.04,
       "timeouts": 0.02}
GRADED_FAULTS = ChaosMix(**MIX)
NO_FAULTS = ChaosMix(poison=0, duplicates=0, throttle_rate=0, transient_rate=0, timeouts=0)
# The retry budget on a seed: the reference processor's retries on the same seed, times
# RETRY_FACTOR, plus RETRY_SLACK records.
RETRY_FACTOR, RETRY_SLACK = 1.5, 10
# The reference processor's retries on the graded seeds (MESSAGES messages each), so that
# grading does not run it again; the project's tests check these against fresh runs.
REFERENCE_RETRIES = {41: 40, 59: 40, 83: 27}

# The function's environment (template.yaml), for importing app.py once on its own.
ENVIRONMENT = {"ORDERS_TABLE": "orders", "IDEMPOTENCY_TABLE": "idempotency",
               "EVENT_BUS_NAME": "orders", "POWERTOOLS_SERVICE_NAME": "orders",
               "POWERTOOLS_METRICS_NAMESPACE": "Orders",
               "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"}

_runs: dict[tuple[str, int, int, ChaosMix], ChaosReport] = {}


def chaos(app: Path | None, seed: int, messages: int = MESSAGES,
          faults: ChaosMix = GRADED_FAULTS, isolation: Any = None) -> ChaosReport:
    """One chaos run, cached by the file's content: each test reads the same runs."""
    key = (hashlib.sha256(app.read_bytes()).hexdigest() if app else "reference", seed,
           messages, faults)
    if key not in _runs:
        _runs[key] = run_chaos(app, seed=seed, messages=messages, faults=faults,
                               isolation=isolation)
    return _runs[key]


@dataclass
class Processor:
    path: Path
    isolation: Any

    def chaos(self, seed: int, messages: int = MESSAGES, faults: ChaosMix = GRADED_FAULTS) -> ChaosReport:
        return chaos(self.path, seed, messages, faults, self.isolation)


@pytest.fixture
def app(submission: Any) -> Processor:
    path = submission.path / "app.py"
    if not path.is_file():
        pytest.fail("app.py is missing from the submission", pytrace=False)
    # Imported once in the function's code folder: a clear message if it cannot be.
    folder = pipeline.code_folder({"processor/app.py": path})
    submission.load("processor.app", code_dir=folder, environ=ENVIRONMENT)
    return Processor(path, submission.isolation)


@dataclass
class Runs:
    """The graded seeds' chaos runs, each made when a test first reaches it (and kept): a test
    stops at the first seed it fails on, and a run that no test reaches is never made."""

    app: Processor

    def __iter__(self) -> Iterator[ChaosReport]:
        return (self.app.chaos(seed) for seed in SEEDS)


@pytest.fixture
def runs(app: Processor) -> Runs:
    return Runs(app)


def valid_orders_applied(report: ChaosReport) -> None:
    """The guard of the tests that check an absence: most orders were really written."""
    require_work(report.applied, report.sent, f"orders written exactly once on seed {report.seed}")


def first(ids: list[str], n: int = 5) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


# ---------------------------------------------------------------------------------------------


@pytest.mark.points(2)
def test_without_faults_every_order_is_stored_once_and_accepted(app: Processor) -> None:
    """30 valid messages, nothing injected: every order is written once, none is retried or
    dead-lettered, and each stored order's OrderAccepted event reaches the bus once."""
    report = app.chaos(seed=7, messages=30, faults=NO_FAULTS)
    assert report.applied == report.sent, (
        f"{report.applied} of {report.sent} orders written exactly once with nothing failing:\n"
        f"{report.ledger()}")
    assert not report.dead_lettered and not report.unexplained_dlq and report.retries == 0, (
        f"nothing fails, yet records were retried or dead-lettered:\n{report.ledger()}")
    assert not report.events_missing, (
        f"stored orders without an OrderAccepted event: {first(report.events_missing)}")
    assert not report.events_duplicated, (
        f"orders with more than one OrderAccepted event: {first(report.events_duplicated)}")


@pytest.mark.points(3)
def test_no_order_is_lost(runs: Runs) -> None:
    """On every graded seed, each valid order is written or (if not) in the DLQ, each poison
    message is in the DLQ and never written, nothing is left on the queue, and every written
    order's OrderAccepted event reached the bus. A record whose error is swallowed is deleted
    with its batch and lost
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html)."""
    for report in runs:
        valid_orders_applied(report)
        assert not report.lost, (
            f"seed {report.seed}: {len(report.lost)} orders lost (neither written nor "
            f"dead-lettered, or poison that was written): {first(report.lost)}\n{report.ledger()}")
        assert report.left_in_queue == 0, (
            f"seed {report.seed}: {report.left_in_queue} messages still on the queue")
        assert not report.events_missing, (
            f"seed {report.seed}: {len(report.events_missing)} orders written without an "
            f"OrderAccepted event on the bus: {first(report.events_missing)}")


@pytest.mark.points(3)
def test_no_effect_is_applied_twice(runs: Runs) -> None:
    """On every graded seed, no order is written twice, although messages are delivered twice
    and records are redelivered after failures and timeouts. Delivery is at least once, so the
    effect must be idempotent, keyed by the event, not the delivery
    (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
    https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/)."""
    for report in runs:
        valid_orders_applied(report)
        assert not report.duplicated, (
            f"seed {report.seed}: {len(report.duplicated)} orders written more than once: "
            f"{first(report.duplicated)}\n{report.ledger()}")


@pytest.mark.points(3)
def test_every_dlq_entry_is_explained(runs: Runs) -> None:
    """On every graded seed, the DLQ holds only poison messages (not JSON, an order the contract
    rejects, no event id), each with its reason attached (``ErrorType`` and ``ErrorMessage``
    message attributes); no valid order ends there. Only the records reported in
    batchItemFailures are retried, so a poison message must not take its batch-mates to the DLQ
    with it (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html), and a
    message the redrive policy moves after maxReceiveCount receives carries no reason
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html)."""
    for report in runs:
        valid_orders_applied(report)
        assert not report.unexplained_dlq, (
            f"seed {report.seed}: {len(report.unexplained_dlq)} DLQ entries that are not poison "
            f"messages with their reason: {first(report.unexplained_dlq)}\n{report.ledger()}")
        assert sum(report.dead_lettered.values()) > 0, (
            f"seed {report.seed}: no poison message reached the DLQ\n{report.ledger()}")


@pytest.mark.points(2)
def test_retries_stay_within_the_budget(runs: Runs) -> None:
    """On every graded seed, the records left for SQS to redeliver (the poller's retries) are at
    most 1.5 times the reference processor's retries on the same seed, plus 10, in a run that
    loses nothing; and no order is written twice in one invocation. Transient errors are
    retried by SQS, and only the failed records, not their batch-mates (a whole-batch failure
    multiplies the retries); the code itself retries nothing beyond the SDK's own bounded
    retries: a loop that waits for a write to succeed spends the function's time (and money)
    and times the whole batch out
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html)."""
    for report in runs:
        assert not report.lost and report.left_in_queue == 0, (
            f"seed {report.seed}: the run lost orders, so its retries do not count")
        assert report.in_invocation_retries == 0, (
            f"seed {report.seed}: {report.in_invocation_retries} order writes were made again "
            "inside the same invocation: report the failed record in batchItemFailures and let "
            "SQS redeliver it, instead of retrying it in your code")
        reference = REFERENCE_RETRIES.get(report.seed)
        if reference is None:  # an instructor's extra seed
            reference = chaos(None, report.seed).retries
        budget = math.floor(RETRY_FACTOR * reference) + RETRY_SLACK
        assert report.retries <= budget, (
            f"seed {report.seed}: {report.retries} records redelivered; the budget is {budget} "
            f"({RETRY_FACTOR} x the reference's {reference} + {RETRY_SLACK})")
