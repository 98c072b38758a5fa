"""Alarms judged on a recording (`lambdasim.metric_recording`): an alarm set in a simulation of its
own, fed a run's metric data at the instants alarm evaluations read it, changes state exactly as
beside the run. Alarms read metrics and nothing else
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html), so the
evaluation is the same whether the run happens beside it or was recorded."""

from __future__ import annotations

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


def record(every_s: int) -> Any:
    with simulator() as sim:
        recording = sim.record_metrics(every_s)
        run(sim)
        sim.run_for(SPAN_S)
    return recording


@pytest.mark.parametrize("fast", [False, True], ids=["minute-alarms", "with-a-10-s-alarm"])
def test_alarms_judged_on_a_recording_change_state_as_beside_the_run(fast: bool) -> None:
    """Every transition, at the same instant with the same reason: a p99 of Lambda's Duration, the
    Average of ConcurrentExecutions, an SQS gauge, a composite; with a 10 s alarm on a high-resolution metric, the evaluations every
    10 s read a recording made every 10 s. The recording survives pickling (a class's gradings
    share it through files)."""
    expected = beside(fast)
    alarmed = {alarm for _, alarm, _, new, _ in expected if new == "ALARM"}
    assert alarmed == {"worker-p99", "worker-concurrency", "backlog-depth", "worker-unwell"} | (
        {"cart-errors-10s"} if fast else set())
    recording = pickle.loads(pickle.dumps(record(10 if fast else 60)))
    assert judged(recording, fast) == expected


def test_a_recording_serves_evaluations_at_its_grain_or_a_multiple_of_it() -> None:
    """A minute's recording cannot serve 10 s evaluations (an alarm with a 10 s period: evaluated
    every 10 s); a 10 s recording serves minute alarms."""
    minute, ten = record(60), record(10)
    assert minute.serves(60) and not minute.serves(10) and ten.serves(60) and ten.serves(10)
    assert judged(ten, fast=False) == judged(minute, fast=False)


def test_replayed_data_is_what_the_run_wrote() -> None:
    """GetMetricStatistics over the replayed data answers what it answered in the run; replaying
    after the alarms are created is refused (an alarm evaluated before the data at a shared
    instant would miss it)."""
    query = {"Namespace": "AWS/Lambda", "MetricName": "Duration", "Period": 600,
             "Dimensions": [{"Name": "FunctionName", "Value": "worker"}],
             "Statistics": ["SampleCount", "Sum", "Maximum"]}

    def statistics(sim: Simulator) -> list[tuple[float, float, float]]:
        answer = sim.client("cloudwatch").get_metric_statistics(
            StartTime=sim.now - timedelta(seconds=SPAN_S), EndTime=sim.now, **query)["Datapoints"]
        return sorted((d["SampleCount"], d["Sum"], d["Maximum"]) for d in answer)

    with simulator() as sim:
        recording = sim.record_metrics(60)
        run(sim)
        sim.run_for(SPAN_S)
        original = statistics(sim)
    replayed: list[Any] = []
    judged(recording, fast=False, then=lambda sim: replayed.extend(statistics(sim)))
    assert replayed == original and len(original) == 4
    with Simulator(seed=9, start=recording.start) as sim:
        alarms(sim, fast=False)
        with pytest.raises(ValueError, match="before the alarms are created"):
            sim.replay_metrics(recording)
