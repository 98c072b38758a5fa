"""Conformance: EventBridge scheduled rules and EventBridge Scheduler schedules fire on the
virtual clock (`lambdasim.schedules`, `lambdasim.rules.schedules`).

fixtures/sam/schedules/ holds two ordinary SAM templates: `rules/` with `Schedule` events
(EventBridge rules), `scheduler/` with a `ScheduleV2` event (an AWS::Scheduler::Schedule). The other tests create rules and
schedules with boto3, as a lesson would. The simulation starts on Thursday 2026-01-01 00:00 UTC.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import schedules as rules
from lambdasim.rules.cold_start import NO_PLATFORM_INIT
from lambdasim.sam import deploy

SCHEDULES = Path(__file__).parent / "fixtures" / "sam" / "schedules"
BASIC = Path(__file__).parent / "fixtures" / "basic"
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
ROLE = "arn:aws:iam::123456789012:role/scheduler"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def payloads(sim, name: str) -> list[dict]:
    return [json.loads(r.payload) for r in sim.invocations if r.function_name == name]


@pytest.fixture
def fn(sim):
    """A function of the basic code folder: fn(name, handler="echo") -> its ARN."""

    def create(name: str, handler: str = "echo") -> str:
        return sim.create_function(FunctionName=name, Handler=f"handlers.{handler}", code_dir=BASIC)["FunctionArn"]

    return create


def schedule_rule(name: str, expression: str, target_arn: str, *, state: str = "ENABLED", **target) -> str:
    events = boto3.client("events")
    arn = events.put_rule(Name=name, ScheduleExpression=expression, State=state)["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": target_arn, **target}])
    return arn


def test_sam_schedule_events_fire_with_the_scheduled_event(sim) -> None:
    """A scheduled rule sends its targets the "Scheduled Event" (source aws.events, detail-type
    "Scheduled Event", resources [the rule's ARN], detail {}), a rate one interval after the
    rule's creation and every interval after; a cron at its UTC time, with the target's Input
    instead of the event; a disabled rule never fires
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html)."""
    stack = deploy(sim, SCHEDULES / "rules", stack_name="sched", validate=False)
    name = stack.functions["Ticker"].name
    sim.run_for(3600)
    ticks = [f for f in sim.schedules.fired if f.name.startswith("sched-TickerEveryFiveMinutes")]
    assert len(ticks) == 12
    assert [f.scheduled_at for f in ticks] == [START + timedelta(minutes=5 * k) for k in range(1, 13)]
    events = payloads(sim, name)
    assert len(events) == 12
    first = events[0]
    assert {k: first[k] for k in ("version", "detail-type", "source", "account", "region", "detail")} == {
        "version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "region": "us-east-1", "detail": {}}
    assert first["resources"] == [ticks[0].arn] and first["time"] == "2026-01-01T00:05:00Z"
    assert len({e["id"] for e in events}) == 12
    sim.run_until(utc(2026, 1, 1, 3))
    assert {"job": "nightly"} in payloads(sim, name)
    nightly = [f for f in sim.schedules.fired if "Nightly" in f.name]
    assert [f.scheduled_at for f in nightly] == [utc(2026, 1, 1, 2)]
    assert not [f for f in sim.schedules.fired if "Paused" in f.name]


def test_sam_schedule_v2_runs_in_its_time_zone_with_context_attributes(sim) -> None:
    """A Scheduler cron runs in ScheduleExpressionTimezone (08:30 in Paris is 07:30 UTC in
    January); a FLEXIBLE window invokes the target within MaximumWindowInMinutes after the
    scheduled time; the Input's context attributes are replaced and the Lambda target is invoked
    asynchronously with it
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html,
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-flexible-time-windows.html,
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html)."""
    deploy(sim, SCHEDULES / "scheduler", stack_name="sched", validate=False)
    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/TickerReminder"
    assert boto3.client("scheduler").get_schedule(Name="TickerReminder")["Arn"] == arn
    sim.run_until(utc(2026, 1, 2, 8))
    fires = [f for f in sim.schedules.fired if f.kind == "schedule"]
    assert [f.scheduled_at for f in fires] == [utc(2026, 1, 1, 7, 30), utc(2026, 1, 2, 7, 30)]
    for fire in fires:
        assert timedelta(0) <= fire.fired_at - fire.scheduled_at < timedelta(minutes=10)
        assert fire.state == "delivered" and fire.async_events[0].request.source == "scheduler"
    assert json.loads(fires[0].payload) == {"due": "2026-01-01T07:30:00Z", "by": arn, "try": "1"}
    invoked = [r for r in sim.invocations if r.source == "scheduler"]
    assert [r.invocation_type for r in invoked] == ["Event", "Event"]
    assert invoked[0].start_us == fires[0].fired_us


def test_cron_rule_fires_at_its_hour_on_the_days_it_names(sim, fn) -> None:
    """cron(0 9 ? * MON-FRI *) fires at 09:00 UTC Monday to Friday: Thursday 1 and Friday 2
    January, not the weekend, then Monday 5; Day-of-week 1-7 is SUN-SAT
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html)."""
    arn = schedule_rule("weekday-report", "cron(0 9 ? * MON-FRI *)", fn("report"))
    assert sim.schedules.next_fire(arn) == utc(2026, 1, 1, 9)
    sim.run_until(utc(2026, 1, 6))
    assert sim.schedules.next_fire(arn) == utc(2026, 1, 6, 9)
    assert [f.scheduled_at for f in sim.schedules.fired] == [utc(2026, 1, 1, 9), utc(2026, 1, 2, 9), utc(2026, 1, 5, 9)]
    assert [e["time"] for e in payloads(sim, "report")] == [
        "2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"]


def test_a_disabled_rule_never_fires_and_a_deleted_one_stops(sim, fn) -> None:
    """Only an ENABLED rule runs; DisableRule stops it, DeleteRule removes it
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html)."""
    schedule_rule("tick", "rate(1 minute)", fn("tick"), state="DISABLED")
    events = boto3.client("events")
    sim.run_for(600)
    assert sim.schedules.fired == []
    events.enable_rule(Name="tick")
    sim.run_for(180)
    assert len(sim.schedules.fired) == 3
    events.disable_rule(Name="tick")
    sim.run_for(180)
    assert len(sim.schedules.fired) == 3
    events.enable_rule(Name="tick")
    sim.run_for(60)
    events.remove_targets(Rule="tick", Ids=["t"])
    events.delete_rule(Name="tick")
    sim.run_for(600)
    assert len(sim.schedules.fired) == 4
    assert sim.run_until_idle(60)


def test_rule_targets_get_input_and_input_path(sim, fn) -> None:
    """A scheduled rule's targets get the event as EventBridge's target settings shape it:
    Input replaces it, InputPath selects a part of it
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Target.html)."""
    arn = fn("shaped")
    schedule_rule("by-path", "rate(1 hour)", arn, InputPath="$.resources")
    schedule_rule("constant", "rate(1 hour)", arn, Input='{"fixed": true}')
    sim.run_for(3600)
    assert sorted(map(json.dumps, payloads(sim, "shaped"))) == sorted([
        json.dumps(["arn:aws:events:us-east-1:123456789012:rule/by-path"]), json.dumps({"fixed": True})])


def test_flexible_window_delay_is_within_the_window_and_fixed_by_the_seed(tmp_path) -> None:
    """FLEXIBLE with MaximumWindowInMinutes 15: each invocation lands within 15 minutes after its
    scheduled time (modelled: a seeded uniform draw), so a seed gives the same times every run
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-flexible-time-windows.html)."""

    def delays(seed: int) -> list[float]:
        with Simulator(seed=seed, init_model=NO_PLATFORM_INIT) as sim:
            arn = sim.create_function(FunctionName="flex", Handler="handlers.echo", code_dir=BASIC)["FunctionArn"]
            boto3.client("scheduler").create_schedule(
                Name="flex", ScheduleExpression="rate(1 hour)", Target={"Arn": arn, "RoleArn": ROLE},
                FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15})
            sim.run_for(6 * 3600)
            fires = sim.schedules.fired
            assert [f.scheduled_at for f in fires] == [START + timedelta(hours=k) for k in range(6)]
            return [(f.fired_us - f.scheduled_us) / 1e6 for f in fires]

    first, again, other = delays(3), delays(3), delays(4)
    assert first == again != other
    assert all(0 <= d < 900 for d in first + other) and len(set(first)) == 6


def test_a_failing_lambda_target_is_retried_by_lambda_async_rules(sim, fn) -> None:
    """Scheduler invokes a Lambda target asynchronously: its delivery succeeds when Lambda
    accepts the event, and a function error is retried by Lambda, twice, about 1 and 2 minutes
    apart (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html);
    a rate schedule without StartDate starts at once
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html)."""
    arn = fn("fragile", "boom")
    boto3.client("scheduler").create_schedule(
        Name="fragile", ScheduleExpression="rate(1 day)", Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"n": 1}'},
        FlexibleTimeWindow={"Mode": "OFF"})
    sim.run_for(3600)
    (fire,) = sim.schedules.fired
    assert fire.scheduled_at == START and fire.state == "delivered" and fire.retries == 0
    (event,) = fire.async_events
    assert len(event.attempts) == 3 and event.condition == "RetriesExhausted"
    gaps = [(b.start_us - a.start_us) / 1e6 for a, b in zip(event.attempts, event.attempts[1:])]
    assert 60 <= gaps[0] < 120 and 120 <= gaps[1] < 240


def test_one_time_schedule_fires_once_in_its_time_zone_and_deletes_itself(sim, fn) -> None:
    """at(2026-01-01T10:00:00) in America/New_York fires once, at 15:00 UTC; with
    ActionAfterCompletion DELETE the schedule is gone afterwards
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html,
    https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html)."""
    arn = fn("once")
    scheduler = boto3.client("scheduler")
    scheduler.create_schedule(
        Name="once", ScheduleExpression="at(2026-01-01T10:00:00)", ScheduleExpressionTimezone="America/New_York",
        Target={"Arn": arn, "RoleArn": ROLE}, FlexibleTimeWindow={"Mode": "OFF"}, ActionAfterCompletion="DELETE")
    sim.run_for(2 * 86400)
    assert [f.scheduled_at for f in sim.schedules.fired] == [utc(2026, 1, 1, 15)]
    assert payloads(sim, "once") == [{}]
    with pytest.raises(ClientError) as gone:
        scheduler.get_schedule(Name="once")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_start_and_end_dates_bound_a_recurring_schedule(sim, fn) -> None:
    """A rate schedule's first occurrence is its StartDate; nothing fires at or after EndDate
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html,
    https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateSchedule.html)."""
    boto3.client("scheduler").create_schedule(
        Name="window", ScheduleExpression="rate(10 minutes)", Target={"Arn": fn("window"), "RoleArn": ROLE},
        FlexibleTimeWindow={"Mode": "OFF"}, StartDate=START + timedelta(minutes=30),
        EndDate=START + timedelta(minutes=60))
    sim.run_for(7200)
    assert [f.scheduled_at for f in sim.schedules.fired] == [START + timedelta(minutes=m) for m in (30, 40, 50)]


def test_an_undeliverable_invocation_goes_to_the_dead_letter_queue(sim) -> None:
    """A target that cannot be invoked (the function does not exist) is not retried and its
    invocation goes to the schedule's dead-letter queue, a standard SQS queue, with its error
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html,
    https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html)."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="schedule-dlq")["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    missing = "arn:aws:lambda:us-east-1:123456789012:function:missing"
    boto3.client("scheduler").create_schedule(
        Name="orphan", ScheduleExpression="at(2026-01-01T00:10:00)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": missing, "RoleArn": ROLE, "Input": '{"id": 7}', "DeadLetterConfig": {"Arn": dlq},
                "RetryPolicy": {"MaximumRetryAttempts": 3}})
    sim.run_for(3600)
    (fire,) = sim.schedules.fired
    assert fire.state == "dead-lettered" and fire.retries == 0
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"]) == {"id": 7}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "NO_RESOURCE" and attributes["TARGET_ARN"] == missing
    assert attributes["SCHEDULE_ARN"] == fire.arn and attributes["RETRY_ATTEMPTS"] == "0"


def test_a_throttled_target_is_retried_then_dead_lettered(sim) -> None:
    """A throttled delivery is retried with backoff until the RetryPolicy's MaximumRetryAttempts
    runs out, then the invocation goes to the dead-letter queue with the exhausted condition and
    the number of retries; each attempt renders `<aws.scheduler.attempt-number>` anew
    (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_RetryPolicy.html,
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html)."""
    from lambdasim.faults import Throttle

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="busy")["QueueUrl"]
    busy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    dlq_url = sqs.create_queue(QueueName="busy-dlq")["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bodies: list[str] = []

    def to_busy(params) -> bool:
        if params["QueueUrl"] != url:
            return False
        bodies.append(params["MessageBody"])
        return True

    sim.faults.add("sqs", "SendMessage", Throttle(), when=to_busy)
    boto3.client("scheduler").create_schedule(
        Name="busy", ScheduleExpression="at(2026-01-01T00:01:00)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": busy, "RoleArn": ROLE, "Input": "try <aws.scheduler.attempt-number>",
                "RetryPolicy": {"MaximumRetryAttempts": 2}, "DeadLetterConfig": {"Arn": dlq}})
    sim.run_for(600)
    (fire,) = sim.schedules.fired
    assert [a.code for a in fire.attempts] == ["RequestThrottled"] * 3
    assert fire.attempts[0].at_us < fire.attempts[1].at_us < fire.attempts[2].at_us
    assert fire.state == "dead-lettered" and fire.exhausted == "MaximumRetryAttempts"
    (message,) = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "THROTTLING" and attributes["RETRY_ATTEMPTS"] == "2"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert message["Body"] == "try 1"
    assert sorted(set(bodies)) == ["try 1", "try 2", "try 3"]


def test_an_sqs_target_gets_the_input_as_its_message(sim) -> None:
    """An SQS queue target receives the schedule's Input as the message body (SendMessage)
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html)."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("scheduler").create_schedule(
        Name="jobs", ScheduleExpression="rate(30 minutes)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": "run <aws.scheduler.scheduled-time>"})
    sim.run_for(3600)
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(bodies) == ["run 2026-01-01T00:00:00Z", "run 2026-01-01T00:30:00Z", "run 2026-01-01T01:00:00Z"]


def test_event_bus_and_sns_targets_get_the_input(sim) -> None:
    """An event bus target receives an event whose detail is the Input, with the target's
    EventBridgeParameters' DetailType and Source; an SNS topic target publishes the Input
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html,
    https://docs.aws.amazon.com/scheduler/latest/APIReference/API_EventBridgeParameters.html)."""
    sqs, events, sns = boto3.client("sqs"), boto3.client("events"), boto3.client("sns")
    url = sqs.create_queue(QueueName="seen")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = events.create_event_bus(Name="jobs")["EventBusArn"]
    events.put_rule(Name="billing", EventBusName="jobs", EventPattern=json.dumps({"source": ["billing"]}))
    events.put_targets(Rule="billing", EventBusName="jobs", Targets=[{"Id": "q", "Arn": queue}])
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"})
    scheduler = boto3.client("scheduler")
    for name, arn, extra in (("to-bus", bus, {"EventBridgeParameters": {"DetailType": "Invoice due", "Source": "billing"}}),
                             ("to-topic", topic, {})):
        scheduler.create_schedule(Name=name, ScheduleExpression="at(2026-01-01T00:05:00)",
                                  FlexibleTimeWindow={"Mode": "OFF"},
                                  Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"invoice": 12}', **extra})
    sim.run_for(600)
    assert [f.state for f in sim.schedules.fired] == ["delivered", "delivered"]
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    (event,) = [b for b in bodies if "detail" in b]
    assert (event["source"], event["detail-type"], event["detail"]) == ("billing", "Invoice due", {"invoice": 12})
    assert {"invoice": 12} in bodies


def test_expressions_aws_refuses_are_refused(sim) -> None:
    """rate() takes a singular unit for 1 and a plural one above; cron() has six fields with `?`
    in Day-of-month or Day-of-week; a Scheduler time zone is an IANA name; only the default
    event bus takes scheduled rules
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html,
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html)."""
    events, scheduler = boto3.client("events"), boto3.client("scheduler")
    for expression in ("rate(1 minutes)", "rate(5 hour)", "cron(0 9 * * * *)", "cron(0 9 * *)", "every 5 minutes"):
        with pytest.raises(ClientError) as refused:
            events.put_rule(Name="bad", ScheduleExpression=expression)
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        assert "bad" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as refused:
        scheduler.create_schedule(Name="bad-zone", ScheduleExpression="cron(0 9 * * ? *)",
                                  ScheduleExpressionTimezone="Mars/Olympus", FlexibleTimeWindow={"Mode": "OFF"},
                                  Target={"Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RoleArn": ROLE})
    assert "bad-zone" in refused.value.response["Error"]["Message"]
    events.create_event_bus(Name="orders")
    with pytest.raises(ClientError) as refused:
        events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)", EventBusName="orders")
    assert "only on the default event bus" in refused.value.response["Error"]["Message"]
    assert events.list_rules()["Rules"] == [] == events.list_rules(EventBusName="orders")["Rules"]


def test_cron_special_characters() -> None:
    """`L` is the last day of the month (or, alone in Day-of-week, of the week: Saturday), `W`
    the weekday nearest a day, `#` the n-th weekday of the month, and the Year field limits the
    years (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html)."""
    utc_zone = rules.zone("UTC")

    def first(expression: str) -> datetime | None:
        return rules.next_fire(rules.parse_expression(expression, scheduler=False), START, tz=utc_zone,
                               anchor=START, first_at_anchor=False)

    assert first("cron(0 10 L * ? *)") == utc(2026, 1, 31, 10)
    assert first("cron(0 10 ? * L *)") == utc(2026, 1, 3, 10)  # Saturday
    assert first("cron(0 10 ? * 6L *)") == utc(2026, 1, 30, 10)  # the last Friday
    assert first("cron(0 10 ? * 2#1 *)") == utc(2026, 1, 5, 10)  # the first Monday
    assert first("cron(0 10 17W * ? *)") == utc(2026, 1, 16, 10)  # the 17th is a Saturday
    assert first("cron(0/15 * * * ? *)") == utc(2026, 1, 1, 0, 15)
    assert first("cron(0 0 1 1 ? 2030)") == utc(2030, 1, 1)


def test_daylight_saving_time_skips_or_merges_local_times() -> None:
    """In a time zone with daylight saving, a cron time that does not exist when clocks go
    forward is skipped and one that occurs twice when they go back runs once; a rate of days is
    24 hours, whatever the clocks do
    (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html,
    https://repost.aws/knowledge-center/eventbridge-scheduler-adjust-dst)."""
    new_york = ZoneInfo("America/New_York")

    def fires(expression: str, start: datetime, days: int) -> list[datetime]:
        parsed, out, after = rules.parse_expression(expression, scheduler=True), [], start - timedelta(microseconds=1)
        while (due := rules.next_fire(parsed, after, tz=new_york, anchor=start, first_at_anchor=True)) is not None \
                and due < start + timedelta(days=days):
            out.append(due)
            after = due
        return out

    spring = fires("cron(30 2 * * ? *)", utc(2026, 3, 7), 3)  # 2026-03-08 02:30 does not exist
    assert [d.astimezone(new_york).day for d in spring] == [7, 9]
    autumn = fires("cron(30 1 * * ? *)", utc(2026, 10, 31), 3)  # 2026-11-01 01:30 happens twice
    assert [d.astimezone(new_york).day for d in autumn] == [31, 1, 2]
    assert autumn[1] == utc(2026, 11, 1, 5, 30)  # the first 01:30, still EDT
    daily = fires("rate(1 day)", utc(2026, 3, 7, 12), 3)
    assert [b - a for a, b in zip(daily, daily[1:])] == [timedelta(days=1)] * 2
