"""The chaos harness (module 3): the reference processor survives it, wrong processors do not.

Each run drives seeded messages through the orders pipeline's processing path (SQS ->
processor -> DynamoDB, deployed from the module 1 SAM template) with poison messages,
duplicate deliveries, DynamoDB throttles, transient 500s and timeouts, then audits it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from serverless_course.chaos import WRONG_PROCESSORS, ChaosMix, ChaosReport, run_chaos

# The reference runs are made once, in one worker, for every test that reads them.
pytestmark = pytest.mark.xdist_group("chaos-reference-runs")

WRONG = WRONG_PROCESSORS
SEEDS = (11, 22, 33)
MESSAGES = 100
# Twice the default shares of every fault on a tenth of the messages, as lab 03 grades (three
# seeds of 100): each run meets every kind of fault, in seconds.
DENSE = ChaosMix(poison=0.06, duplicates=0.10, throttle_rate=0.10, transient_rate=0.04, timeouts=0.02)


@pytest.fixture(scope="module")
def reference_runs() -> list[ChaosReport]:
    return [run_chaos(seed=seed, messages=MESSAGES, faults=DENSE) for seed in SEEDS]


def test_reference_processor_passes_the_audit(reference_runs: list[ChaosReport]) -> None:
    """Every message applied exactly once or dead-lettered as poison with its reason attached
    (the processor's permanent errors: the contract's ``ValidationError``, Powertools'
    ``IdempotencyKeyError``), on three seeds.

    Rules relied on: a record reported in ``batchItemFailures`` is retried alone and the rest of
    the batch is deleted
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html); a message
    received ``maxReceiveCount`` times goes to the DLQ, the backstop for the processor's own
    dead-lettering
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html);
    delivery is at least once, so the effect must be idempotent
    (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
    """
    for report in reference_runs:
        print(report.ledger())
        assert report.ok, report.ledger()
        assert (report.lost, report.duplicated, report.unexplained_dlq) == ([], [], [])
        assert report.events_missing == []
        assert report.left_in_queue == 0
        assert report.applied + sum(report.dead_lettered.values()) >= report.sent
        assert set(report.dead_lettered) <= {"ValidationError", "IdempotencyKeyError"}


def test_the_chaos_is_real(reference_runs: list[ChaosReport]) -> None:
    """Each kind of failure happened in the runs: throttles and 500s were injected, records
    were retried by SQS, invocations timed out (the whole batch comes back after the visibility
    timeout: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html), and
    duplicate deliveries and poison messages were sent."""
    for report in reference_runs:
        assert report.faults["throttle"] > 0 and report.faults["transient"] > 0
        assert report.retries > 0
        assert report.deliveries > report.sent
        assert sum(report.dead_lettered.values()) > 0
    assert sum(r.timeouts for r in reference_runs) > 0


def test_runs_are_deterministic(reference_runs: list[ChaosReport]) -> None:
    """The same seed gives the same ledger (virtual clock, seeded faults; no real sleeps), also
    after other runs in the same process."""
    first = reference_runs[-1]
    again = run_chaos(seed=first.seed, messages=MESSAGES, faults=DENSE)
    strip = lambda r: r.ledger().rsplit("virtual time", 1)[0]  # noqa: E731 (wall time differs)
    assert strip(again) == strip(first)
    assert again.virtual_s == first.virtual_s


def test_no_idempotency_is_caught() -> None:
    """A processor without idempotency applies duplicate deliveries and redelivered records
    twice: the audit reports duplicated effects. Standard queues deliver at least once
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html)
    and Lambda may process a message more than once: the code must be idempotent
    (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html)."""
    report = run_chaos(WRONG / "no_idempotency.py", seed=5, messages=100, faults=DENSE)
    assert not report.ok
    assert len(report.duplicated) > 0


def test_whole_batch_failure_is_caught(reference_runs: list[ChaosReport]) -> None:
    """A processor that fails the whole batch on one bad record (no ``ReportBatchItemFailures``
    response) makes the good records of the batch fail with it until ``maxReceiveCount``: valid
    orders end in the DLQ with no reason of their own, and retries are amplified. Without a
    partial batch response the whole batch is retried
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html)."""
    reference = reference_runs[0]
    report = run_chaos(WRONG / "whole_batch.py", seed=reference.seed, messages=MESSAGES, faults=DENSE)
    assert not report.ok
    assert len(report.unexplained_dlq) > 0
    assert report.retries > 2 * reference.retries


def test_swallowing_errors_is_caught() -> None:
    """A processor that catches every error and returns success has its whole batch deleted:
    poison messages never reach the DLQ and transiently failed records are never retried, so
    they are lost. A successful return deletes the batch's messages
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html)."""
    report = run_chaos(WRONG / "swallow_errors.py", seed=5, messages=100, faults=DENSE)
    assert not report.ok
    assert len(report.lost) > 0
    assert sum(report.dead_lettered.values()) == 0


def test_no_accepted_event_is_missing_after_timeouts(reference_runs: list[ChaosReport]) -> None:
    """An invocation that times out mid-batch comes back whole after the visibility timeout
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html); the records
    it had finished have COMPLETED idempotency records, so the retry returns their saved results
    without running them again
    (https://docs.powertools.aws.dev/lambda/python/latest/utilities/idempotency/). The reference
    processor puts each order's ``OrderAccepted`` event inside the idempotent unit: every applied
    order has its event. The old processor put the batch's events at the end of the handler: the
    audit catches the events it lost (every order is still written exactly once). It also left
    poison messages to the redrive policy, so they reach the DLQ without a reason: unexplained."""
    reference = reference_runs[0]
    assert reference.timeouts > 0
    assert reference.ok, reference.ledger()
    assert reference.events_missing == []
    old = run_chaos(WRONG / "end_of_batch_events.py", seed=reference.seed, messages=MESSAGES, faults=DENSE)
    assert old.timeouts > 0
    assert (old.lost, old.duplicated) == ([], [])
    assert old.unexplained_dlq and all(entry.endswith("(poison, no reason attached)")
                                       for entry in old.unexplained_dlq)
    assert len(old.events_missing) > 0
    assert not old.ok
    assert "FAIL" in old.ledger()


def test_lambda_throttles_lose_nothing() -> None:
    """With reserved concurrency 1 the poller's invocations are throttled; the batch stays in
    flight and is retried, then released to the queue, and nothing is lost
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html,
    https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html)."""
    report = run_chaos(seed=4, messages=40, faults=ChaosMix(reserved_concurrency=1))
    assert report.lambda_throttles > 0
    assert report.ok, report.ledger()


def test_ledger_names_every_column(reference_runs: list[ChaosReport]) -> None:
    """The ledger shows sent, applied, dead-lettered with reasons, lost, duplicated, retries."""
    report = next(r for r in reference_runs if r.dead_lettered["ValidationError"])
    text = report.ledger()
    for column in ("sent", "applied", "dead-lettered", "ValidationError: ", "lost", "duplicated",
                   "retries", "audit"):
        assert column in text
