"""The reference alarm set deploys beside the pipeline (cfn-lint, its dashboard created by
CloudFormation); evaluated against a recording of the pipeline's run, in a simulation of its own,
it changes state and pages as beside the run; the cheapest incident replay pages in time, naming
the stage; cut where its detection budget ends, as graders run it, it is the full run up to
then; a run is recorded once for every alarm set judged on it. The other scenarios are graded
against it in lab 04's selfcheck (tests/test_labs_selfcheck.py)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from lambdasim import Simulator
from serverless_course import pipeline
from serverless_course.observability import incidents


def test_reference_alarm_set_deploys_with_its_dashboard() -> None:
    with Simulator(seed=3) as sim:
        stack = pipeline.deploy(sim, validate=False)
        template = incidents._load_template(incidents.REFERENCE_ALARMS)
        alarms = sim.deploy(incidents.REFERENCE_ALARMS, stack_name="orders-alarms", validate=True,
                            parameters=incidents._alarm_parameters(incidents._names(stack), template))
        assert not alarms.not_created
        dashboards = sim.client("cloudwatch").list_dashboards()["DashboardEntries"]
        assert [d["DashboardName"] for d in dashboards] == [alarms.physical_id("OrdersDashboard")]
        described = sim.client("cloudwatch").describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        assert len(described["MetricAlarms"]) == 14 and len(described["CompositeAlarms"]) == 3
        # One alarm on each of the pipeline's dead-letter queues (its template accepts
        # alarm-on-every-dlq because this stack covers them).
        depth_alarmed = {d["Value"] for a in described["MetricAlarms"]
                         if a.get("MetricName") == "ApproximateNumberOfMessagesVisible" for d in a["Dimensions"]}
        assert depth_alarmed == {stack.outputs[name].rsplit("/", 1)[-1] for name in (
            "DeadLetterQueueUrl", "RedriveDeadLetterQueueUrl", "RuleDeadLetterQueueUrl")}


def logical(alarm: str) -> str:
    """An alarm's name without the random suffix CloudFormation gives a name it generates (moto
    draws it from the seeded stream, whose position differs beside the pipeline)."""
    return alarm.rsplit("-", 1)[0]


def beside(scenario: str, seed: int, alarms: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The transitions and pages of `alarms` deployed beside the pipeline's run (graded span)."""
    template = incidents._load_template(alarms)
    with incidents._playing(scenario, seed, incidents.REFERENCE_PROCESSOR, None, incidents.SPAN_S, True) as play:
        play.sim.deploy(alarms, stack_name="orders-alarms", validate=False,
                        parameters=incidents._alarm_parameters(incidents._names(play.stack), template))
        play.sim.run_for(play.run_s)
        t0 = play.sim.now.timestamp() - play.sim.elapsed
        return ([(t.at.timestamp() - t0, logical(t.alarm), t.old_state, t.new_state)
                 for t in play.sim.alarms.transitions],
                [(n.at.timestamp() - t0, logical(n.alarm)) for n in play.sim.alarms.notifications
                 if n.message.get("NewStateValue") == "ALARM"])


def judged_changes(run: incidents.ScenarioRun) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return ([(t.at_s, logical(t.alarm), t.old_state, t.new_state) for t in run.transitions],
            [(p.at_s, logical(p.alarm)) for p in run.pages])


def test_alarms_judged_on_a_recording_change_state_as_beside_the_run() -> None:
    """Alarms only read metrics (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html):
    the reference set deployed beside the pipeline's run through an outage, and the same set in
    a simulation of its own fed the run's recorded metric data, make the same transitions at the
    same instants and send the same pages (the processor's EMF metrics, SQS's, Lambda's, the
    burn-rate composites; tests/lambdasim/test_metric_recording.py pins the rule itself)."""
    scenario, alarms = "downstream outage", incidents.REFERENCE_ALARMS
    expected = beside(scenario, 211, alarms)
    judged = incidents.evaluate_alarms(alarms, incidents.record_scenario(scenario, 211, until_budget_ends=True))
    assert judged.detected and expected[1]
    assert judged_changes(judged) == expected


# An alarm with a 10 s period (on a standard-resolution metric: in the 10 s after each minute
# begins its Sum has the minute's datum), which the simulator evaluates every 10 s.
TEN_SECOND_ALARMS = """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  ProcessorFunctionName: {Type: String}
Resources:
  Pages: {Type: "AWS::SNS::Topic"}
  ProcessorInvokedLately:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Invocations
      Dimensions: [{Name: FunctionName, Value: !Ref ProcessorFunctionName}]
      Statistic: Sum
      Period: 10
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref Pages]
"""


def test_an_alarm_set_evaluated_every_10_s_is_judged_on_a_run_read_every_10_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The minute's recording does not serve an alarm evaluated every 10 s: run_scenario records
    the run again, read every 10 s, and the alarm changes state as it does beside the run."""
    alarms = tmp_path / "alarms.yaml"
    alarms.write_text(TEN_SECOND_ALARMS)
    grains: list[int] = []
    record = incidents.record_scenario
    monkeypatch.setattr(incidents, "record_scenario", lambda *a, **k: grains.append(k["every_s"]) or record(*a, **k))
    monkeypatch.setattr(incidents, "_recordings", type(incidents._recordings)())
    judged = incidents.run_scenario("rule typo", 5, alarms=alarms, until_budget_ends=True)
    expected = beside("rule typo", 5, alarms)
    assert grains == [60, 10]
    assert len(expected[1]) >= 3 and judged_changes(judged) == expected


def test_a_run_is_recorded_once_for_every_alarm_set_judged_on_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_scenario keeps its recordings (by processor content, scenario, seed and span): in the
    process, and in a folder where other processes (a class's gradings) find them."""
    recorded = []
    record = incidents.record_scenario
    monkeypatch.setattr(incidents, "record_scenario", lambda *a, **k: recorded.append(a) or record(*a, **k))
    monkeypatch.setattr(incidents, "_recordings", type(incidents._recordings)())
    first = incidents.run_scenario("throttle storm", 7, until_budget_ends=True, recordings=tmp_path)
    pitfalls = incidents.run_scenario("throttle storm", 7, alarms=incidents.PITFALL_ALARMS, until_budget_ends=True)
    assert len(recorded) == 1 and len(list(tmp_path.glob("*.pickle"))) == 1
    assert first.detected and first.alarm_names != pitfalls.alarm_names
    incidents._recordings.clear()  # another process: only the folder
    again = incidents.run_scenario("throttle storm", 7, until_budget_ends=True, recordings=tmp_path)
    assert len(recorded) == 1 and again == first


@pytest.fixture(scope="module")
def typo_run() -> incidents.ScenarioRun:
    return incidents.run_scenario("rule typo", seed=5)


@pytest.mark.xdist_group("rule-typo-run")  # one full run for both
def test_a_silent_rule_typo_pages_within_its_budget_naming_the_rule(typo_run: incidents.ScenarioRun) -> None:
    run = typo_run
    assert run.detected and run.named, run.pages
    first = run.first_page_in_budget()
    assert first is not None and "eventbridge-rule" in first.alarm
    # Nothing errors before the page: the only alarms in ALARM say that orders stopped arriving.
    assert {t.alarm for t in run.transitions if t.new_state == "ALARM"} <= {
        first.alarm, *[a for a in run.alarm_names if a.endswith("orders-not-flowing")]}


@pytest.mark.xdist_group("rule-typo-run")  # one full run for both
def test_a_graded_run_is_the_full_run_cut_where_the_detection_budget_ends(typo_run: incidents.ScenarioRun) -> None:
    """Graders stop an incident's run when its budget ends (no later page counts): what
    happened until then is what the full run did, transition for transition."""
    full = typo_run
    graded = incidents.run_scenario("rule typo", seed=5, until_budget_ends=True)
    inc = graded.incident
    assert inc is not None and graded.span_s == math.ceil(inc.start_s + inc.budget_s) < full.span_s
    assert graded.transitions == [t for t in full.transitions if t.at_s <= graded.span_s]
    assert graded.pages == [p for p in full.pages if p.at_s <= graded.span_s] != []
    assert graded.orders_sent < full.orders_sent


def _burn_rate(history: list[tuple[float, float]], end: int, minutes: int) -> float | None:
    """The SLO's burn rate over the `minutes` before minute `end`: failed / handled / 0.1 %."""
    window = history[max(0, end - minutes):end]
    failed, handled = sum(f for f, _ in window), sum(f + s for f, s in window)
    return failed / handled / 0.001 if handled else None


def test_reference_burn_rate_pairs_page_when_both_windows_burn() -> None:
    """The reference set's multi-window burn-rate alarms (metric math on the processor's
    RecordsFailed, RecordsDeadLettered and OrdersStored, composites of a long and a short
    window: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html),
    fed the processor's metrics directly: a one-minute blip of 10 % failures trips the 5-minute
    window and pages nobody (the hour's budget barely moves); a steady 3 % pages the slow pair
    (6 h and 30 min above 6) before the fast one (1 h and 5 min above 14.4), each at the first
    minute both its windows, computed here from the data, burn; the fast page ends within 5
    minutes of the fix although the hour still burns."""
    with Simulator(seed=3, service_metrics=False) as sim:
        template = incidents._load_template(incidents.REFERENCE_ALARMS)
        sim.deploy(incidents.REFERENCE_ALARMS, stack_name="orders-alarms", validate=False,
                   parameters={name: f"orders-{name}" for name in template["Parameters"]})
        cw = sim.client("cloudwatch")
        history: list[tuple[float, float]] = []  # (failed, stored) per minute
        for minute in range(150):
            failed = 10.0 if minute == 60 else 3.0 if 70 <= minute < 130 else 0.0
            history.append((failed, 100.0 - failed))
            cw.put_metric_data(Namespace="Orders", MetricData=[
                {"MetricName": name, "Dimensions": [{"Name": "service", "Value": "orders"}], "Value": value,
                 "Timestamp": sim.now} for name, value in (("RecordsFailed", failed), ("OrdersStored", 100.0 - failed))])
            sim.run_for(60)
        t0 = sim.now.timestamp() - sim.elapsed
        changes = {(t.alarm.rsplit("-", 2)[-2] + "-" + t.alarm.rsplit("-", 1)[-1], round((t.at.timestamp() - t0) / 60),
                    t.new_state) for t in sim.alarms.transitions if "-slo-" in t.alarm}

    def first_minute(long_minutes: int, short_minutes: int, threshold: float) -> int:
        return next(end for end in range(1, 151) if all(
            (rate := _burn_rate(history, end, w)) is not None and rate > threshold
            for w in (long_minutes, short_minutes)) and end > 61)

    slow, fast = first_minute(360, 30, 6.0), first_minute(60, 5, 14.4)
    assert slow < fast < 130
    pages = sorted((minute, name) for name, minute, state in changes if state == "ALARM" and "burn" in name
                   and name.split("-")[0] in ("fast", "slow"))
    assert pages == [(slow, "slow-burn"), (fast, "fast-burn")]
    assert ("burn-5m", 61, "ALARM") in changes  # the blip: the short window alone
    fast_ok = min(minute for name, minute, state in changes if name == "fast-burn" and state == "OK" and minute > fast)
    assert 130 < fast_ok <= 135 and _burn_rate(history, fast_ok, 60) > 14.4
