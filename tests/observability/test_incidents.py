"""The reference alarm set deploys beside the pipeline (cfn-lint, its dashboard created by
CloudFormation), and the cheapest incident replay pages in time, naming the stage. The other
scenarios are graded against it in lab 04's selfcheck (tests/test_labs_selfcheck.py)."""

from __future__ import annotations

from lambdasim import Simulator
from serverless_course import pipeline
from serverless_course.observability import incidents


def test_reference_alarm_set_deploys_with_its_dashboard() -> None:
    with Simulator(seed=3) as sim:
        stack = pipeline.deploy(sim, validate=False)
        template = incidents._load_template(incidents.REFERENCE_ALARMS)
        alarms = sim.deploy(incidents.REFERENCE_ALARMS, stack_name="orders-alarms", validate=True,
                            parameters=incidents._alarm_parameters(stack, template))
        assert not alarms.not_created
        dashboards = sim.client("cloudwatch").list_dashboards()["DashboardEntries"]
        assert [d["DashboardName"] for d in dashboards] == [alarms.physical_id("OrdersDashboard")]
        described = sim.client("cloudwatch").describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        assert len(described["MetricAlarms"]) == 8 and len(described["CompositeAlarms"]) == 1


def test_a_silent_rule_typo_pages_within_its_budget_naming_the_rule() -> None:
    run = incidents.run_scenario("rule typo", seed=5)
    assert run.detected and run.named, run.pages
    first = run.first_page_in_budget()
    assert first is not None and "eventbridge-rule" in first.alarm
    # Nothing errors before the page: the only alarms in ALARM say that orders stopped arriving.
    assert {t.alarm for t in run.transitions if t.new_state == "ALARM"} <= {
        first.alarm, *[a for a in run.alarm_names if a.endswith("orders-not-flowing")]}
