"""The readiness review (module 5): every course template passes it or states why it keeps a
finding; a naive stack fails every course rule with a clear reason; each rule's edge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from serverless_course.hardening import review as review_module
from serverless_course.hardening.readiness_rules import RULES, failure_paths
from serverless_course.hardening.review import Review, review

pytestmark = pytest.mark.xdist_group("hardening-review")

SRC = Path(review_module.__file__).resolve().parents[1]
NAIVE = SRC / "hardening" / "naive" / "template.yaml"
# Every template the course ships, found rather than listed, so a new module's stack cannot be
# left out; the naive stack fails on purpose.
COURSE_TEMPLATES = sorted(path for folder in (SRC, SRC.parents[1] / "examples")
                          for path in folder.rglob("*.yaml") if path != NAIVE)
RULE = {rule.id: rule for rule in RULES}


@pytest.fixture(scope="module")
def naive() -> Review:
    return review(NAIVE)


@pytest.mark.parametrize("template", COURSE_TEMPLATES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_course_template_passes_or_states_why(template: Path) -> None:
    result = review(template)
    assert result.passed, result.report()
    assert all(f.accepted_because for f in result.findings if f.course_rule)


# The stacks of modules 3 and 5 to 8 keep only decisions about a teaching stack: tables and
# buckets without Retain (every lesson and test deletes them), and the failure-paths lesson's
# DLQs without alarms (module 4's subject). Log retention, the stream consumers' roles and a
# queue and an alarm per failure path are built, not accepted.
DECISIONS_ONLY = {
    "failure_paths/template.yaml": {"alarm-on-every-dlq", "stateful-resources-protected"},
    "hardening/config_template.yaml": set(),
    "location/template.yaml": {"stateful-resources-protected"},
    "analytics/template.yaml": {"stateful-resources-protected"},
    "cdc/template.yaml": {"stateful-resources-protected"},
}


@pytest.mark.parametrize("template, decisions", DECISIONS_ONLY.items())
def test_a_hardened_stack_accepts_only_its_decisions(template: str, decisions: set[str]) -> None:
    from cfnlint.decode import decode

    written, _ = decode(str(SRC / template))
    accepted = (written.get("Metadata") or {}).get("ReadinessReview", {}).get("Accepted") or []
    assert {entry["Rule"] for entry in accepted} == decisions
    assert not [entry for entry in accepted if "not yet" in entry["Reason"].lower()]


def test_the_naive_stack_fails_every_course_rule(naive: Review) -> None:
    assert not naive.passed
    assert {f.rule for f in naive.failing()} == set(RULE)


def test_findings_name_the_resource_the_author_wrote(naive: Review) -> None:
    # SAM generates ProcessorFunctionRole and ProcessorFunctionOrders; the finding is on ProcessorFunction.
    wildcard = naive.failing("no-wildcard-permissions")
    assert {f.resource for f in wildcard} == {"ProcessorFunction"}
    assert any("dynamodb:*" in f.message for f in wildcard)
    assert any("AWSLambdaSQSQueueExecutionRole" in f.message for f in wildcard)
    assert all(f.line > 0 for f in naive.failing())


def test_the_report_says_why_and_where_to_read_once_per_rule(naive: Review) -> None:
    report = naive.report()
    assert report.startswith(f"Readiness review of {NAIVE}: FAIL ({len(naive.failing())} to fix)")
    for rule in RULES:
        assert report.count(f"see: {rule.source_url}") == 1, rule.id


def test_the_shared_dead_letter_queue_lists_its_paths(naive: Review) -> None:
    (shared,) = naive.failing("one-dlq-per-failure-path")
    assert shared.resource == "FailuresQueue"
    assert "EventBridge deliveries that fail" in shared.message and "(redrive)" in shared.message


def test_the_command_exits_1_on_a_failing_template(naive: Review, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(review_module, "review", lambda template, region: naive)
    assert review_module.main([str(NAIVE)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_an_accepted_finding_needs_a_reason(tmp_path: Path) -> None:
    text = NAIVE.read_text().replace("Globals:", "Metadata:\n  ReadinessReview:\n    Accepted:\n"
                                     "      - Rule: log-retention\n        Reason: ' '\n\nGlobals:", 1)
    (tmp_path / "template.yaml").write_text(text)
    (tmp_path / "app.py").write_text("")
    with pytest.raises(ValueError, match="without a reason"):
        review(tmp_path)


def test_an_acceptance_that_matches_no_finding_fails_the_review(tmp_path: Path) -> None:
    hardened = SRC / "solutions" / "lab05_harden_the_stack" / "template.yaml"
    text = hardened.read_text().replace("Globals:", "Metadata:\n  ReadinessReview:\n    Accepted:\n"
                                        "      - Rule: log-retention\n        Reason: kept for a while\n\nGlobals:", 1)
    (tmp_path / "template.yaml").write_text(text)
    result = review(tmp_path / "template.yaml")
    (stale,) = result.failing()
    assert stale.rule == "stale-acceptance" and "log-retention" in stale.message


def _queue_consumer(visibility: Any, timeout: Any, window: Any = None, **extra: Any) -> dict[str, Any]:
    mapping = {"EventSourceArn": {"Fn::GetAtt": ["Q", "Arn"]}, "FunctionName": {"Ref": "F"}}
    if window is not None:
        mapping["MaximumBatchingWindowInSeconds"] = window
    return {**extra, "Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": visibility}},
        "F": {"Type": "AWS::Lambda::Function", "Properties": {"Timeout": timeout}},
        "M": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping}}}


@pytest.mark.parametrize("visibility, timeout, window, fails", [
    (61, 10, 1, False),   # 6 x 10 + 1, exactly enough
    (60, 10, 1, True),
    (30, 5, None, False),  # the queue's default timeout against a 5 s function
    (30, 6, None, True),
])
def test_visibility_timeout_is_six_function_timeouts_plus_the_window(visibility: int, timeout: int,
                                                                     window: int | None, fails: bool) -> None:
    findings = RULE["visibility-timeout"].check(_queue_consumer(visibility, timeout, window))
    assert bool(findings) is fails


def test_values_are_read_with_the_parameters_defaults_and_conditions() -> None:
    template = _queue_consumer(
        {"Ref": "Visibility"}, {"Fn::If": ["Long", 20, 10]},
        Parameters={"Visibility": {"Type": "Number", "Default": 60}, "Mode": {"Type": "String", "Default": "short"}},
        Conditions={"Long": {"Fn::Equals": [{"Ref": "Mode"}, "long"]}})
    assert RULE["visibility-timeout"].check(template) == []
    template["Parameters"]["Mode"]["Default"] = "long"
    assert RULE["visibility-timeout"].check(template)


def test_a_reserved_concurrency_under_a_false_condition_bounds_nothing() -> None:
    template = _queue_consumer(60, 10, Parameters={"Reserved": {"Type": "Number", "Default": -1}},
                               Conditions={"HasReserved": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Reserved"}, -1]}]}})
    template["Resources"]["F"]["Properties"]["ReservedConcurrentExecutions"] = {
        "Fn::If": ["HasReserved", {"Ref": "Reserved"}, {"Ref": "AWS::NoValue"}]}
    assert RULE["queue-consumer-concurrency"].check(template)
    template["Parameters"]["Reserved"]["Default"] = 5
    assert RULE["queue-consumer-concurrency"].check(template) == []


def test_a_wildcard_resource_is_right_for_an_action_that_cannot_be_scoped() -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyName": "p", "PolicyDocument": {
        "Statement": [{"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                       "Resource": "*"}]}}]}}
    template = {"Resources": {"R": role, "F": {"Type": "AWS::Lambda::Function",
                                               "Properties": {"Role": {"Fn::GetAtt": ["R", "Arn"]}}}}}
    assert RULE["no-wildcard-permissions"].check(template) == []
    role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"].append("sqs:SendMessage")
    (finding,) = RULE["no-wildcard-permissions"].check(template)
    assert finding == ("R", "role R (policy p) allows sqs:SendMessage on resource *")


def test_a_function_told_where_the_dlq_is_is_one_more_path_into_it() -> None:
    paths = failure_paths({"Resources": {
        "D": {"Type": "AWS::SQS::Queue"},
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["D", "Arn"]}}}},
        "F": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {"DLQ": {"Ref": "D"}}}}}}})
    assert [(p.what, p.sink) for p in paths] == [("messages received too often from Q (redrive)", "D"),
                                                 ("records F dead-letters itself", "D")]


def test_a_queue_a_variable_names_a_dead_letter_queue_is_a_path_of_its_own() -> None:
    """The function's own rejects are a failure path even when nothing else ends in that queue;
    a variable named otherwise (a queue it works on) is not one."""
    queue = {"Type": "AWS::SQS::Queue"}
    function = {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
        "DEAD_LETTER_QUEUE_URL": {"Ref": "Poison"}, "WORK_QUEUE_URL": {"Ref": "Work"}}}}}
    paths = failure_paths({"Resources": {"Poison": queue, "Work": queue, "F": function}})
    assert [(p.what, p.sink) for p in paths] == [("records F dead-letters itself", "Poison")]
