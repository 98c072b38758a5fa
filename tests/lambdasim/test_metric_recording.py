"""Alarms judged on a recording (`lambdasim.metric_recording`): an alarm set in a simulation of its
own, fed a run's metric data at the instants alarm evaluations read it, changes state exactly as
beside the run. Alarms read metrics and nothing else
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html), so the
evaluation is the same whether the run happens beside it or was recorded."""

from __future__ import annotations

import functools
import json
import pickle
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from lambdasim import Simulator

BASIC = Path(__file__).parent / "fixtures" / "basic"
SPAN_S = 2400


def run(sim: Simulator) -> None:
    """40 minutes of work: invocations slow and failing in the middle third, a queue that backs up
    and drains, and a high-resolution custom metric (10 s alarms) with a spike."""
    sim.create_function(FunctionName="worker", Handler="handlers.echo", code_dir=BASIC)
    sim.set_duration("worker", lambda rng, event: float(event["ms"]))
    lam, sqs, cw = sim.client("lambda"), sim.client("sqs"), sim.client("cloudwatch")
    queue = sqs.create_queue(QueueName="backlog")["QueueUrl"]
    for second in range(0, SPAN_S, 20):
        bad = 800 <= second < 1600
        sim.schedule(second + 0.5, lambda ms=(900.0 if bad else 40.0): lam.invoke(
            FunctionName="worker", InvocationType="Event", Payload=json.dumps({"ms": ms})))
        if bad:
            sim.schedule(second + 1.0, lambda: sqs.send_message(QueueUrl=queue, MessageBody="later"))
        sim.schedule(second + 2.0, lambda s=second: cw.put_metric_data(Namespace="Shop", MetricData=[
            {"MetricName": "CartErrors", "Value": 9.0 if 1200 <= s < 1230 else 0.0, "StorageResolution": 1}]))
    sim.schedule(1800.0, lambda: [sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
                                  for _ in range(20) for m in sqs.receive_message(
                                      QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])])


def alarms(sim: Simulator, *, fast: bool) -> None:
    cw = sim.client("cloudwatch")
    worker = [{"Name": "FunctionName", "Value": "worker"}]
    cw.put_metric_alarm(AlarmName="worker-p99", Namespace="AWS/Lambda", MetricName="Duration", Dimensions=worker,
                        ExtendedStatistic="p99", Period=60, EvaluationPeriods=3, DatapointsToAlarm=2,
                        Threshold=500, ComparisonOperator="GreaterThanThreshold")
    cw.put_metric_alarm(AlarmName="worker-concurrency", Namespace="AWS/Lambda", MetricName="ConcurrentExecutions",
                        Dimensions=worker, Statistic="Average", Period=60, EvaluationPeriods=1,
                        Threshold=0.5, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    cw.put_metric_alarm(AlarmName="backlog-depth", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
                        Dimensions=[{"Name": "QueueName", "Value": "backlog"}], Statistic="Maximum", Period=300,
                        EvaluationPeriods=1, Threshold=30, ComparisonOperator="GreaterThanThreshold")
    cw.put_composite_alarm(AlarmName="worker-unwell", AlarmRule='ALARM("worker-p99") OR ALARM("backlog-depth")')
    if fast:
        cw.put_metric_alarm(AlarmName="cart-errors-10s", Namespace="Shop", MetricName="CartErrors", Statistic="Sum",
                            Period=10, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")


def simulator() -> Simulator:
    return Simulator(seed=5)


def beside(fast: bool) -> list[tuple[Any, ...]]:
    with simulator() as sim:
        alarms(sim, fast=fast)
        run(sim)
        sim.run_for(SPAN_S)
        return changes(sim)


def changes(sim: Simulator) -> list[tuple[Any, ...]]:
    return [(t.at, t.alarm, t.old_state, t.new_state, t.reason) for t in sim.alarms.transitions]


def judged(recording: Any, fast: bool, then: Callable[[Simulator], None] = lambda sim: None) -> list[tuple[Any, ...]]:
    with Simulator(seed=9, start=recording.start) as sim:
        sim.replay_metrics(recording)
        alarms(sim, fast=fast)
        sim.run_for(SPAN_S)
        then(sim)
        return changes(sim)


DURATION = {"Namespace": "AWS/Lambda", "MetricName": "Duration", "Period": 600,
            "Dimensions": [{"Name": "FunctionName", "Value": "worker"}],
            "Statistics": ["SampleCount", "Sum", "Maximum"]}


def duration_statistics(sim: Simulator) -> list[tuple[float, float, float]]:
    answer = sim.client("cloudwatch").get_metric_statistics(
        StartTime=sim.now - timedelta(seconds=SPAN_S), EndTime=sim.now, **DURATION)["Datapoints"]
    return sorted((d["SampleCount"], d["Sum"], d["Maximum"]) for d in answer)


@functools.cache
def recorded(every_s: int) -> tuple[Any, list[tuple[float, float, float]]]:
    """The run recorded every `every_s` seconds, through a pickle (a class's gradings share
    recordings through files), and GetMetricStatistics of its Duration at its end."""
    with simulator() as sim:
        recording = sim.record_metrics(every_s)
        run(sim)
        sim.run_for(SPAN_S)
        return pickle.loads(pickle.dumps(recording)), duration_statistics(sim)


# The runs are shared by the tests (one worker).
pytestmark = pytest.mark.xdist_group("metric-recording")


def test_minute_alarms_judged_on_a_recording_change_state_as_beside_the_run() -> None:
    """Every transition, at the same instant with the same reason: a p99 of Lambda's Duration, the
    Average of ConcurrentExecutions, an SQS gauge, a composite; on a recording read every minute
    or every 10 s (a multiple serves). GetMetricStatistics over the replayed data answers what
    it answered in the run."""
    expected = beside(fast=False)
    alarmed = {alarm for _, alarm, _, new, _ in expected if new == "ALARM"}
    assert alarmed == {"worker-p99", "worker-concurrency", "backlog-depth", "worker-unwell"}
    (minute, original), (ten, _) = recorded(60), recorded(10)
    replayed: list[Any] = []
    assert judged(minute, fast=False, then=lambda sim: replayed.extend(duration_statistics(sim))) == expected
    assert replayed == original and len(original) == 4
    assert ten.serves(60) and judged(ten, fast=False) == expected


def test_a_10_s_alarm_needs_a_recording_read_every_10_s() -> None:
    """An alarm with a 10 s period on a high-resolution metric is evaluated every 10 s: judged on a
    recording read every 10 s, it changes state as beside the run; a minute's recording does not
    serve it. Replaying after the alarms are created is refused (an alarm evaluated before the
    data at a shared instant would miss it)."""
    expected = beside(fast=True)
    assert "cart-errors-10s" in {alarm for _, alarm, _, new, _ in expected if new == "ALARM"}
    (minute, _), (ten, _) = recorded(60), recorded(10)
    assert ten.serves(10) and not minute.serves(10)
    assert judged(ten, fast=True) == expected
    with Simulator(seed=9, start=ten.start) as sim:
        alarms(sim, fast=False)
        with pytest.raises(ValueError, match="before the alarms are created"):
            sim.replay_metrics(ten)
