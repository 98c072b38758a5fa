"""The drain experiment (`serverless_course.scaling.drain.run_drain`) in lambdasim agrees with
the arithmetic (`queueing.predict`) on a small backlog: the drain time within one invocation,
Little's law after it, all the capacity in use before it."""

from __future__ import annotations

import pytest

from serverless_course.scaling import predict
from serverless_course.scaling.drain import run_drain


def test_a_backlog_drains_as_predicted():
    numbers = dict(backlog=30, arrival_rate=1.0, seconds_per_message=2.0, max_concurrency=5)
    p = predict(**numbers)
    assert p.drain_s == 20
    run = run_drain(**numbers, seconds=40)
    # The backlog is visible until its last messages are received: at most one invocation early.
    assert p.drain_s - 2.0 <= run.drained_at_s <= p.drain_s + 0.5
    assert run.mean_concurrency(1, p.drain_s - 2) == pytest.approx(5, abs=0.1)
    assert run.mean_concurrency(p.drain_s + 5, 40) == pytest.approx(p.steady_concurrency, abs=0.1)
    assert run.invocations == 30 + 40 and set(run.batch_sizes.tolist()) == {1}
    # After the drain a message waits for nothing but its own invocation.
    assert run.latency_percentile(99, sent_after_s=p.drain_s + 5) == pytest.approx(2.0, abs=0.01)
    assert run.latency_percentile(100) > 10


def test_without_spare_capacity_the_backlog_stays():
    run = run_drain(backlog=20, arrival_rate=2.5, seconds_per_message=2.0, max_concurrency=5, seconds=20)
    assert run.drained_at_s == float("inf")
    assert run.backlog[-1] >= 15
