"""Retry amplification (``serverless_course.chaos.amplification``): the measurement read back from
a chaos run, and the whole-batch arithmetic it is compared with in lesson 03-02."""

from __future__ import annotations

import pytest

from serverless_course.chaos import WRONG_PROCESSORS, ChaosMix, run_chaos
from serverless_course.chaos.amplification import SIMULATION_START, measure, whole_batch_expectation
from serverless_course.chaos.harness import make_messages

MAX_RECEIVE_COUNT = 5  # the pipeline template's redrive policy
POISON_ONLY = ChaosMix(poison=0.1, duplicates=0, throttle_rate=0, transient_rate=0, timeouts=0)


def test_expectation_at_the_edges_and_in_between() -> None:
    """No poison: one delivery per message; all poison: every batch is received maxReceiveCount
    times; in between, q = 1 - (1 - p)^B batches fail R times."""
    clean = whole_batch_expectation(0.0)
    assert (clean.poisoned_batch_share, clean.deliveries_per_message, clean.valid_dead_lettered_share) == (0, 1, 0)
    assert whole_batch_expectation(1.0).deliveries_per_message == MAX_RECEIVE_COUNT
    five = whole_batch_expectation(0.05, batch_size=10, max_receive_count=5)
    assert five.poisoned_batch_share == pytest.approx(0.4013, abs=1e-4)
    assert five.deliveries_per_message == pytest.approx(1 + 0.4013 * 4, abs=1e-3)
    assert five.invocations_per_message == pytest.approx(five.deliveries_per_message / 10)
    assert five.valid_dead_lettered_share == pytest.approx(1 - 0.95 ** 9)
    assert whole_batch_expectation(0.05, batch_size=1).valid_dead_lettered_share == 0


def _poisoned_batches(report, mix: ChaosMix) -> list[list[bool]]:
    # The first batches the poller formed, each as its records' poison flags.
    poison_by_body = {m.body: bool(m.poison)
                      for m in make_messages(report.sent, report.seed, mix, SIMULATION_START)}
    first_receive = [b for b in report.poller.batches
                     if all(r["attributes"]["ApproximateReceiveCount"] == "1" for r in b.records)]
    return [[poison_by_body[r["body"]] for r in b.records] for b in first_receive]


def test_whole_batch_failure_measured() -> None:
    """Without a partial batch response a function error returns every message of the batch
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html); a message
    received maxReceiveCount times goes to the DLQ
    (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
    So every message of a batch holding poison is handed over 5 times and its valid members end
    in the DLQ; the other batches are handed over once."""
    report = run_chaos(WRONG_PROCESSORS / "whole_batch.py", seed=4, messages=60, faults=POISON_ONLY)
    measured = measure(report, POISON_ONLY)
    batches = _poisoned_batches(report, POISON_ONLY)
    poisoned = [flags for flags in batches if any(flags)]
    assert poisoned and len(poisoned) < len(batches)  # the run exercises both kinds of batch
    in_poisoned = sum(len(flags) for flags in poisoned)
    assert measured.messages == sum(len(flags) for flags in batches) == 60
    assert measured.poison == sum(sum(flags) for flags in batches)
    assert measured.deliveries == 60 + (MAX_RECEIVE_COUNT - 1) * in_poisoned
    assert measured.deliveries == report.poller.stats.received
    assert measured.valid_dead_lettered == in_poisoned - measured.poison
    assert measured.invocations == len(batches) + (MAX_RECEIVE_COUNT - 1) * len(poisoned)
    assert measured.drain_s >= MAX_RECEIVE_COUNT * 65  # five visibility timeouts of 65 s


def test_reference_processor_measured() -> None:
    """With ReportBatchItemFailures and poison sent to the DLQ by the processor itself, each
    message is handed over once and no valid message reaches the DLQ."""
    report = run_chaos(seed=4, messages=60, faults=POISON_ONLY)
    measured = measure(report, POISON_ONLY)
    assert measured.poison > 0
    assert measured.deliveries == measured.messages == 60
    assert measured.valid_dead_lettered == 0
    assert measured.deliveries_per_message == 1.0
    assert measured.drain_s < 65
