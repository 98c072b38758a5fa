"""Conformance: CloudWatch metric alarms, metric math alarms and composite alarms evaluated on the
virtual clock (`lambdasim.alarms`, `lambdasim.rules.alarms`, `lambdasim._moto_patches.cloudwatch`).

The rules of the missing-data page are pinned by its own two tables, row by row; the rest drive
alarms through boto3 (and one template) as a lesson would. The simulation starts on 2026-01-01
00:00 UTC; an alarm is evaluated on every whole minute.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from aws_lambda_powertools.utilities.parser.models import SnsModel, SnsNotificationModel, SqsModel
from botocore.exceptions import ClientError

from lambdasim.rules import alarms as rules

BASIC = __import__("pathlib").Path(__file__).parent / "fixtures" / "basic"
MINUTE_US = 60_000_000


def points(pattern: str) -> list[rules.Datapoint]:
    """`0 - X - X`: 0 not breaching, X breaching, - missing; oldest first, one minute apart."""
    values = {"0": 0.0, "X": 5.0, "-": None}
    return [rules.Datapoint(i * MINUTE_US, values[c], 1.0 if values[c] is not None else None)
            for i, c in enumerate(pattern.split())]


def outcome(pattern: str, m: int, treat: str, current: str = rules.OK) -> str:
    rule = rules.ThresholdRule(60, 3, 1.0, "GreaterThanOrEqualToThreshold", m, treat, "Sum")
    evaluation = rules.evaluate(rule, points(pattern), current, 5 * MINUTE_US)
    return "retain" if evaluation.kept else evaluation.state


# The page's tables: data points (most recent on the right), then MISSING, IGNORE, BREACHING,
# NOT BREACHING.
MISSING_DATA_TABLE_3_OF_3 = [
    ("0 - X - X", ["OK", "OK", "OK", "OK"]),
    ("0 - - - -", ["OK", "OK", "OK", "OK"]),
    ("- - - - -", ["INSUFFICIENT_DATA", "retain", "ALARM", "OK"]),
    ("0 X X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
    ("- - X - -", ["ALARM", "retain", "ALARM", "OK"]),
]
MISSING_DATA_TABLE_2_OF_3 = [
    ("0 - X - X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
    ("0 0 X 0 X", ["ALARM", "ALARM", "ALARM", "ALARM"]),
    ("0 - X - -", ["OK", "OK", "ALARM", "OK"]),
    ("- - - - 0", ["OK", "OK", "ALARM", "OK"]),
    ("- - - X -", ["ALARM", "retain", "ALARM", "OK"]),
]


@pytest.mark.parametrize(("m", "row"), [(3, row) for row in MISSING_DATA_TABLE_3_OF_3]
                         + [(2, row) for row in MISSING_DATA_TABLE_2_OF_3])
def test_missing_data_is_treated_as_the_pages_tables_say(m, row) -> None:
    """Each TreatMissingData mode (missing, ignore, breaching, notBreaching), with M out of N
    (3 of 3, 2 of 3) over a 5-period evaluation range: N real points are evaluated without
    filling; fewer are filled as few times as possible; all missing gives INSUFFICIENT_DATA
    (missing) or keeps the state (ignore); the premature-alarm rule (`- - X - -`)
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html)."""
    pattern, expected = row
    assert [outcome(pattern, m, treat) for treat in rules.TREAT_MISSING_DATA] == expected


def test_the_state_reason_and_reason_data_have_aws_shape() -> None:
    """StateReason `Threshold Crossed: 2 out of the last 3 datapoints [...] were greater than or
    equal to the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition).` and
    StateReasonData's version, queryDate, startDate, statistic, period, recentDatapoints,
    threshold and evaluatedDatapoints
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html)."""
    rule = rules.ThresholdRule(60, 3, 1.0, "GreaterThanOrEqualToThreshold", 2, None, "Sum")
    evaluation = rules.evaluate(rule, points("0 0 X 0 X"), rules.OK, 5 * MINUTE_US)
    assert evaluation.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [5.0 (01/01/70 00:04:00), 5.0 (01/01/70 00:02:00)] "
        "were greater than or equal to the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition).")
    data = evaluation.reason_data
    assert (data["version"], data["statistic"], data["period"], data["threshold"]) == ("1.0", "Sum", 60, 1.0)
    assert data["queryDate"] == "1970-01-01T00:05:00.000+0000" and data["startDate"] == "1970-01-01T00:02:00.000+0000"
    assert data["recentDatapoints"] == [5.0, 0.0, 5.0]
    assert [p["timestamp"][11:19] for p in data["evaluatedDatapoints"]] == ["00:04:00", "00:03:00", "00:02:00"]


def test_percentiles_need_raw_values_and_low_sample_counts_can_keep_the_state() -> None:
    """A percentile is computed from raw values; a statistic set counts only with SampleCount 1
    or Min = Max, and no percentile exists when a value is negative
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html);
    with EvaluateLowSampleCountPercentile `ignore` a p99 period of fewer than 10/(1-0.99) = 1,000
    samples leaves the state alone
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html)."""
    raw = [float(v) for v in range(1, 101)]
    assert rules.period_statistic("p90", raw, [])[0] == pytest.approx(90.1)
    assert rules.period_statistic("p50", [], [rules.StatisticSet(4, 8.0, 2.0, 2.0)]) == (2.0, 4)
    assert rules.period_statistic("p50", [], [rules.StatisticSet(4, 10.0, 1.0, 4.0)])[0] is None
    assert rules.period_statistic("p50", [-1.0, 3.0], [])[0] is None
    assert rules.period_statistic("Average", [1.0], [rules.StatisticSet(3, 9.0, 2.0, 4.0)]) == (2.5, 4)
    assert rules.low_sample_count("p99", 999) and not rules.low_sample_count("p99", 1000)
    assert rules.low_sample_count("p10", 99) and not rules.low_sample_count("p10", 100)
    rule = rules.ThresholdRule(60, 1, 50.0, "GreaterThanThreshold", None, None, "p99", ignore_low_samples=True)
    few = [rules.Datapoint(0, 99.0, 10.0, low_sample=True)]
    assert rules.evaluate(rule, few, rules.OK, MINUTE_US).kept


def test_metric_math_follows_the_documented_semantics() -> None:
    """Arithmetic treats a missing value as 0 and drops a division by zero; IF(metric1, metric2,
    metric3) gives the page's [30, 0, 20, -, -]; FILL with a value or REPEAT; SUM of an array; a
    comparison gives 0 or 1; METRICS() with an Id filter
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html)."""
    grid = tuple(range(5))
    metric1 = {0: 1.0, 1: 1.0, 2: 0.0, 3: 0.0}
    metric2 = {0: 30.0, 2: 0.0, 3: 0.0, 4: 30.0}
    metric3 = {0: 0.0, 1: 0.0, 2: 20.0, 4: 20.0}
    context = rules.MathContext({"metric1": metric1, "metric2": metric2, "metric3": metric3},
                                ("metric1", "metric2", "metric3"), {"metric1": 60}, grid)

    def ev(expression: str) -> dict[int, float]:
        value = rules.evaluate_expression(expression, context)
        assert isinstance(value, rules.SeriesValue)
        return value.points

    assert ev("IF(metric1, metric2, metric3)") == {0: 30.0, 1: 0.0, 2: 20.0}
    # metric2 is missing at 1 (0 / 1 = 0); metric1 is 0 at 2 and 3 and missing at 4: dropped.
    assert ev("metric2 / metric1") == {0: 30.0, 1: 0.0}
    assert ev("metric1 + metric2") == {0: 31.0, 1: 1.0, 2: 0.0, 3: 0.0, 4: 30.0}
    assert ev("FILL(metric3, 7)") == {0: 0.0, 1: 0.0, 2: 20.0, 3: 7.0, 4: 20.0}
    assert ev("FILL(metric3, REPEAT)")[3] == 20.0
    assert ev("SUM([metric1, metric3])") == {0: 1.0, 1: 1.0, 2: 20.0, 3: 0.0, 4: 20.0}
    assert ev("metric2 >= 30 AND metric1 > 0") == {0: 1.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
    assert ev("SUM(METRICS(\"metric1\")) * PERIOD(metric1)") == {0: 60.0, 1: 60.0, 2: 0.0, 3: 0.0}
    with pytest.raises(rules.AlarmConfigurationError):
        rules.evaluate_expression("ANOMALY_DETECTION_BAND(metric1)", context)


def test_alarm_rules_parse_and_hold_as_documented() -> None:
    """AlarmRule: ALARM, OK, INSUFFICIENT_DATA of a name (quoted or not) or an ARN, TRUE,
    FALSE, AND, OR, NOT, parentheses
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html)."""
    rule = rules.parse_rule('(ALARM("errors") OR ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:latency)) '
                            'AND NOT INSUFFICIENT_DATA(errors) AND TRUE')
    assert rule.references == (("ALARM", "errors"), ("ALARM", "latency"), ("INSUFFICIENT_DATA", "errors"))
    assert rule.holds({"errors": "OK", "latency": "ALARM"})
    assert not rule.holds({"errors": "INSUFFICIENT_DATA", "latency": "ALARM"})
    assert not rules.parse_rule("ALARM(a) AND FALSE").holds({"a": "ALARM"})
    with pytest.raises(rules.AlarmConfigurationError):
        rules.parse_rule("ALARM(a) AND")


# ---------------------------------------------------------------------------------------------
# Through the API, on the virtual clock
# ---------------------------------------------------------------------------------------------


def topic_to_queue(sim, name: str) -> tuple[str, str]:
    sns, sqs = sim.client("sns"), sim.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def put(sim, metric: str, value: float | None = None, values: list[float] | None = None) -> None:
    datum = {"MetricName": metric, "Dimensions": [{"Name": "Service", "Value": "orders"}]}
    datum.update({"Value": value} if values is None else {"Values": values})
    sim.client("cloudwatch").put_metric_data(Namespace="Shop", MetricData=[datum])


def test_alarm_notification_reaches_sqs_and_lambda_and_parses_with_powertools(sim) -> None:
    """A transition publishes AWS's alarm notification to the alarm's SNS topics: Subject
    `ALARM: "name" in US East (N. Virginia)`, Message JSON with AlarmName, AWSAccountId,
    NewStateValue, NewStateReason, StateChangeTime, Region, AlarmArn, OldStateValue and the
    Trigger; SNS delivers it to an SQS subscription (Powertools' SqsModel and
    SnsNotificationModel) and a Lambda subscription (SnsModel)
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html,
    https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html). A new alarm starts in
    INSUFFICIENT_DATA (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html)."""
    topic, url = topic_to_queue(sim, "alerts")
    sim.create_function(FunctionName="pager", Handler="handlers.echo", code_dir=BASIC)
    sim.client("sns").subscribe(TopicArn=topic, Protocol="lambda",
                                Endpoint=sim.client("lambda").get_function(FunctionName="pager")["Configuration"]["FunctionArn"])
    cw = sim.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="orders-failing", AlarmDescription="Orders fail", Namespace="Shop",
                        MetricName="Failures", Dimensions=[{"Name": "Service", "Value": "orders"}], Statistic="Sum",
                        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        AlarmActions=[topic])
    assert cw.describe_alarms(AlarmNames=["orders-failing"])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    put(sim, "Failures", 3)
    sim.run_for(60)

    alarm = cw.describe_alarms(AlarmNames=["orders-failing"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM" and alarm["StateUpdatedTimestamp"] == sim.now
    body = sim.client("sqs").receive_message(QueueUrl=url)["Messages"][0]["Body"]
    record = SqsModel.model_validate({"Records": [{
        "messageId": "m", "receiptHandle": "r", "body": body, "attributes": {
            "ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "s",
            "ApproximateFirstReceiveTimestamp": "1"},
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:alerts-inbox", "awsRegion": "us-east-1"}]})
    notification = SnsNotificationModel.model_validate_json(record.Records[0].body)
    assert notification.Subject == 'ALARM: "orders-failing" in US East (N. Virginia)'
    message = json.loads(notification.Message)
    assert message["NewStateValue"] == "ALARM" and message["OldStateValue"] == "INSUFFICIENT_DATA"
    assert message["AWSAccountId"] == "123456789012" and message["Region"] == "US East (N. Virginia)"
    assert message["StateChangeTime"] == "2026-01-01T00:01:00.000+0000"
    assert message["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [3.0 (01/01/26 00:00:00)]")
    assert message["Trigger"] == {
        "MetricName": "Failures", "Namespace": "Shop", "StatisticType": "Statistic", "Statistic": "SUM",
        "Unit": None, "Dimensions": [{"value": "orders", "name": "Service"}], "Period": 60, "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1.0,
        "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": ""}
    sim.run_for(1)
    invocation = next(r for r in sim.invocations if r.function_name == "pager")
    event = SnsModel.model_validate_json(invocation.payload)
    assert json.loads(event.Records[0].Sns.Message)["AlarmArn"] == alarm["AlarmArn"]


def test_history_records_creation_transitions_and_actions(sim) -> None:
    """DescribeAlarmHistory: ConfigurationUpdate `Alarm "name" created`, StateUpdate `Alarm
    updated from INSUFFICIENT_DATA to OK` with the old and new state in HistoryData, Action
    `Successfully executed action <topic>` (or Failed for a missing topic); newest first, filtered
    by type, paged (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarmHistory.html).
    SetAlarmState changes the state until the next evaluation and runs the new state's actions
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html)."""
    topic, _ = topic_to_queue(sim, "ops")
    cw = sim.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="queue-depth", Namespace="Shop", MetricName="Depth", Statistic="Maximum",
                        Dimensions=[{"Name": "Service", "Value": "orders"}], Period=60, EvaluationPeriods=1,
                        Threshold=100, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
                        OKActions=[topic], AlarmActions=["arn:aws:sns:us-east-1:123456789012:gone"])
    sim.run_for(60)
    cw.set_alarm_state(AlarmName="queue-depth", StateValue="ALARM", StateReason="testing the pager")
    assert cw.describe_alarms(AlarmNames=["queue-depth"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    sim.run_for(60)  # the next evaluation puts it back
    items = cw.describe_alarm_history(AlarmName="queue-depth")["AlarmHistoryItems"]
    assert [(i["HistoryItemType"], i["HistorySummary"]) for i in items] == [
        ("Action", f"Successfully executed action {topic}"),
        ("StateUpdate", "Alarm updated from ALARM to OK"),
        ("Action", "Failed to execute action arn:aws:sns:us-east-1:123456789012:gone"),
        ("StateUpdate", "Alarm updated from OK to ALARM"),
        ("Action", f"Successfully executed action {topic}"),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to OK"),
        ("ConfigurationUpdate", 'Alarm "queue-depth" created'),
    ]
    data = json.loads(items[1]["HistoryData"])
    assert data["oldState"]["stateReason"] == "testing the pager" and data["newState"]["stateValue"] == "OK"
    assert items[0]["Timestamp"] == sim.now
    states = cw.describe_alarm_history(AlarmName="queue-depth", HistoryItemType="StateUpdate", MaxRecords=2,
                                       ScanBy="TimestampAscending")
    assert [i["HistorySummary"][-5:] for i in states["AlarmHistoryItems"]] == ["to OK", "ALARM"]
    assert "NextToken" in states


def test_percentile_alarm_over_raw_values(sim) -> None:
    """An ExtendedStatistic p90 alarm reads the raw values of each period (PutMetricData
    Values) and goes to ALARM when the period's p90 passes the threshold
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html)."""
    cw = sim.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="slow", Namespace="Shop", MetricName="Latency", ExtendedStatistic="p90",
                        Dimensions=[{"Name": "Service", "Value": "orders"}], Period=60, EvaluationPeriods=1,
                        Threshold=500, ComparisonOperator="GreaterThanThreshold")
    put(sim, "Latency", values=[100.0] * 95 + [900.0] * 5)  # p90 = 100: fine
    sim.run_for(60)
    put(sim, "Latency", values=[100.0] * 80 + [900.0] * 20)  # p90 = 900
    sim.run_for(60)
    assert [(t.old_state, t.new_state) for t in sim.alarms.transitions] == [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM")]
    assert sim.alarms.transitions[-1].reason_data["statistic"] == "p90"
    assert sim.alarms.transitions[-1].reason_data["recentDatapoints"] == [900.0]


def test_metric_math_alarm_on_an_error_rate(sim) -> None:
    """A metric math alarm (Metrics: two MetricStat queries and an expression with ReturnData)
    evaluates the expression per period: errors / requests * 100 over 2 out of 3 periods, FILL
    for quiet minutes; its notification carries the Metrics
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html)."""
    cw = sim.client("cloudwatch")
    dims = [{"Name": "Service", "Value": "orders"}]

    def stat(i: str, metric: str) -> dict:
        return {"Id": i, "ReturnData": False,
                "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": metric, "Dimensions": dims},
                               "Period": 60, "Stat": "Sum"}}

    cw.put_metric_alarm(AlarmName="error-rate", EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=5,
                        ComparisonOperator="GreaterThanThreshold", Metrics=[
                            stat("errors", "Errors"), stat("requests", "Requests"),
                            {"Id": "rate", "Expression": "100 * FILL(errors, 0) / requests", "ReturnData": True}])
    for minute, (errors, requests) in enumerate([(0, 100), (10, 100), (1, 100), (20, 100)]):
        if errors:
            put(sim, "Errors", errors)
        put(sim, "Requests", requests)
        sim.run_for(60)
    assert [(t.at.minute, t.new_state) for t in sim.alarms.transitions] == [(1, "OK"), (4, "ALARM")]
    assert sim.alarms.transitions[-1].reason_data["recentDatapoints"] == [10.0, 1.0, 20.0]
    assert sim.alarms.problems == {}


def test_composite_alarm_follows_its_children(sim) -> None:
    """A composite alarm is INSUFFICIENT_DATA only until its first evaluation, then ALARM while
    its rule holds and OK otherwise; it is evaluated after its children, its reason names the
    child that changed (`<arn> transitioned to ALARM at ...`) and its reason data the triggering
    alarms (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html).
    A rule that does not parse is refused."""
    cw = sim.client("cloudwatch")
    for name, metric in (("failures", "Failures"), ("depth", "Depth")):
        cw.put_metric_alarm(AlarmName=name, Namespace="Shop", MetricName=metric, Statistic="Maximum",
                            Dimensions=[{"Name": "Service", "Value": "orders"}], Period=60, EvaluationPeriods=1,
                            Threshold=10, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    cw.put_composite_alarm(AlarmName="orders-down", AlarmRule='ALARM("failures") AND NOT OK(depth)')
    with pytest.raises(ClientError):
        cw.put_composite_alarm(AlarmName="bad", AlarmRule="ALARM(failures) AND")
    assert cw.describe_alarms(AlarmNames=["orders-down"])["CompositeAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    sim.run_for(60)
    put(sim, "Failures", 50)
    sim.run_for(60)
    assert cw.describe_alarms(AlarmNames=["orders-down"])["CompositeAlarms"][0]["StateValue"] == "OK"
    put(sim, "Failures", 50)
    put(sim, "Depth", 50)
    sim.run_for(60)
    composite = cw.describe_alarms(AlarmNames=["orders-down"])["CompositeAlarms"][0]
    assert composite["StateValue"] == "ALARM"
    assert composite["StateReason"] == ("arn:aws:cloudwatch:us-east-1:123456789012:alarm:depth transitioned to ALARM "
                                        "at Thursday 01 January, 2026 00:03:00 UTC")
    triggering = json.loads(composite["StateReasonData"])["triggeringAlarms"]
    assert {t["arn"].rsplit(":", 1)[1] for t in triggering} == {"failures", "depth"}
    history = cw.describe_alarm_history(AlarmName="orders-down", AlarmTypes=["CompositeAlarm"])["AlarmHistoryItems"]
    assert history[0]["HistorySummary"] == "Alarm updated from OK to ALARM"


def test_alarm_state_change_event_on_the_default_bus(sim) -> None:
    """A change of state puts the "CloudWatch Alarm State Change" event (source aws.cloudwatch,
    resources [the alarm's ARN], detail alarmName, state, previousState, configuration) on the
    default event bus, where a rule routes it
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html)."""
    sqs, events, cw = sim.client("sqs"), sim.client("events"), sim.client("cloudwatch")
    url = sqs.create_queue(QueueName="alarm-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="alarms", EventPattern=json.dumps({"source": ["aws.cloudwatch"],
                                                            "detail-type": ["CloudWatch Alarm State Change"]}))
    events.put_targets(Rule="alarms", Targets=[{"Id": "q", "Arn": arn}])
    cw.put_metric_alarm(AlarmName="quiet", Namespace="Shop", MetricName="Orders", Statistic="Sum", Period=60,
                        EvaluationPeriods=2, Threshold=1, ComparisonOperator="LessThanThreshold",
                        TreatMissingData="breaching")
    sim.run_for(60)
    event = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert (event["source"], event["detail-type"]) == ("aws.cloudwatch", "CloudWatch Alarm State Change")
    assert event["resources"] == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:quiet"]
    detail = event["detail"]
    assert (detail["alarmName"], detail["previousState"]["value"], detail["state"]["value"]) == (
        "quiet", "INSUFFICIENT_DATA", "ALARM")
    assert detail["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] == "Orders"


def test_alarms_from_a_template_evaluate(sim, tmp_path) -> None:
    """AWS::CloudWatch::Alarm and AWS::CloudWatch::CompositeAlarm in a template are created and
    evaluated like alarms made through the API; `Ref` is the alarm's name
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-compositealarm.html)."""
    template = {"Resources": {
        "Failing": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": "tpl-failing", "Namespace": "Shop", "MetricName": "Failures", "Statistic": "Sum",
            "Dimensions": [{"Name": "Service", "Value": "orders"}], "Period": 60, "EvaluationPeriods": 1,
            "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching"}},
        "Down": {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {
            "AlarmName": "tpl-down", "AlarmRule": {"Fn::Sub": 'ALARM("${Failing}")'}}},
    }, "Outputs": {"Failing": {"Value": {"Ref": "Failing"}}}}
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    stack = sim.deploy(path, stack_name="alarms", validate=False)
    assert stack.outputs["Failing"] == "tpl-failing"
    put(sim, "Failures", 2)
    sim.run_for(60)
    states = {a["AlarmName"]: a["StateValue"] for kind in ("MetricAlarms", "CompositeAlarms")
              for a in sim.client("cloudwatch").describe_alarms()[kind]}
    assert states == {"tpl-failing": "ALARM", "tpl-down": "ALARM"}


def test_lambda_errors_alarm_over_virtual_hours(sim) -> None:
    """An alarm on AWS/Lambda Errors (Sum, 5-minute period, 1 out of 1) reads the metrics the
    simulator's telemetry publishes: a function failing for 20 minutes of a 2-hour day goes to
    ALARM, back to OK when it recovers, and stays quiet otherwise (missing data notBreaching,
    https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html); two
    virtual hours take well under a second. Without alarms nothing is evaluated."""
    sim.create_function(FunctionName="checkout", Handler="handlers.echo", code_dir=BASIC)
    lam, cw = sim.client("lambda"), sim.client("cloudwatch")
    sim.run_for(600)
    assert sim.alarms.evaluations == 0
    cw.put_metric_alarm(AlarmName="checkout-errors", Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum",
                        Dimensions=[{"Name": "FunctionName", "Value": "checkout"}], Period=300, EvaluationPeriods=1,
                        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")
    started = time.process_time()
    for minute in range(120):
        broken = 30 <= minute < 50
        if minute in (30, 50):
            sim.map_handler("checkout", handler="handlers.boom" if broken else "handlers.echo", code_dir=BASIC)
        if minute % 2 == 0:
            lam.invoke(FunctionName="checkout", Payload=b"{}")
        sim.run_until(sim.now.replace(second=0, microsecond=0) + timedelta(minutes=1))
    cpu = time.process_time() - started
    changes = [(t.at.strftime("%H:%M"), t.new_state) for t in sim.alarms.transitions]
    # the last failure is at 00:58; the 5-minute window ending at 01:04 no longer holds it
    assert changes == [("00:11", "OK"), ("00:41", "ALARM"), ("01:04", "OK")]
    assert sim.alarms.evaluations == 120
    assert cpu < 1.0


def test_p99_duration_alarm_over_lambdas_published_durations(sim) -> None:
    """AWS/Lambda Duration is published as each minute's values (PutMetricData Values and
    Counts, which "supports retrieving percentile statistics on this data":
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html), so an
    ExtendedStatistic p99 alarm evaluates: one slow invocation in 101 trips a Maximum alarm and
    not the p99 one (p99: 99 % of the period's data is lower,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html);
    two in 20 trip both. GetMetricStatistics still answers the minute's SampleCount, Sum and
    Maximum from the same data."""
    sim.create_function(FunctionName="checkout", Handler="handlers.echo", code_dir=BASIC)
    sim.set_duration("checkout", lambda rng, event: float(event["ms"]))
    lam, cw = sim.client("lambda"), sim.client("cloudwatch")
    for name, stat in (("checkout-p99", {"ExtendedStatistic": "p99"}), ("checkout-max", {"Statistic": "Maximum"})):
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/Lambda", MetricName="Duration", Period=60,
                            Dimensions=[{"Name": "FunctionName", "Value": "checkout"}], EvaluationPeriods=1,
                            Threshold=1000, ComparisonOperator="GreaterThanThreshold", **stat)
    for minute, durations in enumerate(([50] * 100 + [2000], [50] * 18 + [2000] * 2)):
        for ms in durations:
            lam.invoke(FunctionName="checkout", Payload=json.dumps({"ms": ms}))
        sim.run_until(sim.now.replace(second=0, microsecond=0) + timedelta(minutes=1))
    changes = [(t.alarm, t.at.minute, t.new_state, t.reason_data["recentDatapoints"]) for t in sim.alarms.transitions]
    assert sorted(changes) == [("checkout-max", 1, "ALARM", [2000.0]), ("checkout-p99", 1, "OK", [50.0]),
                               ("checkout-p99", 2, "ALARM", [2000.0])]
    stats = cw.get_metric_statistics(Namespace="AWS/Lambda", MetricName="Duration", Period=60,
                                     Dimensions=[{"Name": "FunctionName", "Value": "checkout"}],
                                     StartTime=sim.now - timedelta(minutes=2), EndTime=sim.now,
                                     Statistics=["SampleCount", "Sum", "Maximum"])["Datapoints"]
    assert sorted((d["SampleCount"], d["Sum"], d["Maximum"]) for d in stats) == [(20.0, 4900.0, 2000.0),
                                                                                (101.0, 7000.0, 2000.0)]
