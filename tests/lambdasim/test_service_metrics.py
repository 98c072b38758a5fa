"""Conformance: the service metrics moto never produces, published once a virtual minute into
moto's CloudWatch (rules/service_metrics.py, service_metrics.py; the SQS counts in
_moto_patches/sqs.py). Each test names the AWS page of the metrics it pins.

moto stores what PutMetricData sends and answers GetMetricStatistics / GetMetricData from it,
but no AWS service writes metrics there: without the simulator, AWS/SQS, AWS/Events,
AWS/DynamoDB and AWS/Kinesis are empty.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.dynamodb_capacity import DynamoDBLimits
from lambdasim.rules import service_metrics as rules
from lambdasim.rules.kinesis import KinesisLimits
from lambdasim.rules.throughput import RateLimit
from serverless_course import prices

STREAM_HANDLERS = Path(__file__).parent / "fixtures" / "streams"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def sim():
    with Simulator(seed=3) as simulator:
        yield simulator


def _per_minute(sim: Simulator, namespace: str, metric: str, dims: dict[str, str], statistic: str = "Sum") -> dict:
    """{minute since the start: statistic} of one metric with exactly these dimensions, as
    GetMetricData answers it (moto's GetMetricStatistics matches dimensions as a subset)."""
    start = sim.now - timedelta(seconds=sim.elapsed)
    answer = sim.client("cloudwatch").get_metric_data(StartTime=start, EndTime=sim.now, MetricDataQueries=[
        {"Id": "m", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": metric,
                                              "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
                                   "Period": 60, "Stat": statistic}}])["MetricDataResults"][0]
    return dict(sorted((int((t - start).total_seconds() // 60), v) for t, v in zip(answer["Timestamps"],
                                                                                   answer["Values"])))


def _queue(sim: Simulator, name: str, **attributes: str) -> tuple[str, str]:
    sqs = sim.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


# -- SQS ------------------------------------------------------------------------------------------
def test_queue_depth_and_age_of_oldest_message_over_a_backlog_and_its_drain(sim):
    """sqs-available-cloudwatch-metrics.html: ApproximateNumberOfMessagesVisible (messages available
    for retrieval), ApproximateAgeOfOldestMessage (Seconds, "reported if the queue contains at least
    one active message"), published at one-minute intervals (monitoring-using-cloudwatch.html).
    A backlog of 30 sent in the first minute, drained 10 a minute from minute 2: the depth steps
    down and the oldest message's age grows while the backlog stays, then stops being reported."""
    sqs = sim.client("sqs")
    url, _ = _queue(sim, "backlog")
    for i in range(30):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
        sim.run_for(2)

    def drain_ten():
        for _ in range(10):
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    for minute in (2, 3, 4):
        sim.schedule(sim.now + timedelta(seconds=minute * 60 - sim.elapsed + 1), drain_ten)
    sim.run_until(sim.now + timedelta(seconds=360 - sim.elapsed))
    dims = {"QueueName": "backlog"}
    assert _per_minute(sim, "AWS/SQS", "ApproximateNumberOfMessagesVisible", dims) == {
        0: 30, 1: 30, 2: 20, 3: 10, 4: 0, 5: 0}
    ages = _per_minute(sim, "AWS/SQS", "ApproximateAgeOfOldestMessage", dims, "Maximum")
    # The oldest message left at each minute's end: the first at 0 s until minute 2 drains 0-9
    # (message 10 was sent at 20 s, 20 at 40 s); nothing left after minute 4: no data point.
    assert ages == {0: 60, 1: 120, 2: 180 - 20, 3: 240 - 40}
    assert _per_minute(sim, "AWS/SQS", "NumberOfMessagesSent", dims) == {0: 30, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0}


def test_age_of_oldest_message_leaves_out_a_poison_pill_after_three_receives(sim):
    """sqs-available-cloudwatch-metrics.html: "For standard queues, if a message is received three
    or more times and not deleted, SQS moves it to the back of the queue. The metric then reflects
    the age of the next message that hasn't exceeded the receive threshold"; "FIFO queues don't
    reorder messages"; moved to a dead-letter queue, "the DLQ's metric reflects the time the
    message was moved"."""
    sqs = sim.client("sqs")
    standard, _ = _queue(sim, "standard")
    fifo, _ = _queue(sim, "ordered.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    _, dlq_arn = _queue(sim, "dead")
    redriven, _ = _queue(sim, "redriven", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn,
                                                                    "maxReceiveCount": "1"}))
    for url in (standard, fifo, redriven):
        sqs.send_message(QueueUrl=url, MessageBody="poison", **({"MessageGroupId": "g"} if url == fifo else {}))
    sim.run_for(30)
    sqs.send_message(QueueUrl=standard, MessageBody="healthy")
    for receives in range(1, 4):
        for url in (standard, fifo):
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)
        sim.run_for(1)
        if receives == 2:  # received twice: still the oldest
            sim.run_until(sim.now + timedelta(seconds=60 - sim.elapsed))
    sqs.receive_message(QueueUrl=redriven, VisibilityTimeout=0)  # receive 1 of 1
    sim.run_for(5)
    sqs.receive_message(QueueUrl=redriven)  # past maxReceiveCount: moved to the DLQ now
    moved_at = sim.elapsed
    sim.run_until(sim.now + timedelta(seconds=180 - sim.elapsed))

    def age(queue: str) -> dict:
        return _per_minute(sim, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue}, "Maximum")

    # minute 0: two receives, the poison message (sent at 0 s) is the oldest; from minute 1 it has
    # three and the healthy one (sent at 30 s) is reported instead.
    assert age("standard") == {0: 60, 1: 120 - 30, 2: 180 - 30}
    assert age("ordered.fifo") == {0: 60, 1: 120, 2: 180}
    assert age("dead") == {1: int(120 - moved_at), 2: int(180 - moved_at)}
    assert 60 < moved_at < 120


def test_sent_received_deleted_and_empty_receives_are_the_minutes_counts(sim):
    """sqs-available-cloudwatch-metrics.html: NumberOfMessagesSent (messages added to a queue),
    NumberOfMessagesReceived (messages returned by ReceiveMessage), NumberOfMessagesDeleted (every
    successful deletion with a valid receipt handle, "including duplicate deletions"),
    NumberOfEmptyReceives (ReceiveMessage calls that returned no message)."""
    sqs = sim.client("sqs")
    url, _ = _queue(sim, "counts")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(7)])
    sim.run_for(61)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=5, VisibilityTimeout=300)["Messages"]
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]}
                                                    for m in received[:3]])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])  # a duplicate deletion
    sim.run_for(60)
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)  # 2 in flight: 2 left
    sqs.receive_message(QueueUrl=url)  # empty
    sqs.receive_message(QueueUrl=url)  # empty
    sim.run_for(60)
    dims = {"QueueName": "counts"}
    assert _per_minute(sim, "AWS/SQS", "NumberOfMessagesSent", dims) == {0: 7, 1: 0, 2: 0}
    assert _per_minute(sim, "AWS/SQS", "NumberOfMessagesReceived", dims) == {0: 0, 1: 5, 2: 2}
    assert _per_minute(sim, "AWS/SQS", "NumberOfMessagesDeleted", dims) == {0: 0, 1: 4, 2: 0}
    assert _per_minute(sim, "AWS/SQS", "NumberOfEmptyReceives", dims) == {0: 0, 1: 0, 2: 2}
    assert _per_minute(sim, "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", dims, "Maximum") == {1: 2, 2: 4}


def test_a_queue_untouched_for_six_hours_stops_publishing(sim):
    """monitoring-using-cloudwatch.html: a queue is active "for up to six hours" after it held
    messages or an action reached it; an inactive queue's metrics stop."""
    sqs = sim.client("sqs")
    url, _ = _queue(sim, "idle")
    sqs.send_message(QueueUrl=url, MessageBody="x")
    for m in sqs.receive_message(QueueUrl=url)["Messages"]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    sim.run_for(8 * 3600)
    minutes = _per_minute(sim, "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "idle"})
    assert list(minutes) == list(range(6 * 60))


# -- EventBridge ----------------------------------------------------------------------------------
def test_eventbridge_invocations_failed_invocations_throttled_rules_and_matched_events(sim):
    """eb-monitoring.html: Invocations (successful and failed, "doesn't include throttled or retried
    attempts until they fail permanently"; dimensions None and RuleName), FailedInvocations (failed
    permanently; sent only when not zero), TriggeredRules, MatchedEvents ("events that matched with
    any rule", no dimension), ThrottledRules ("triggered rules that are being throttled"); RuleName
    alone for the default bus, EventBusName and RuleName for a custom bus."""
    sqs, events = sim.client("sqs"), sim.client("events")
    _, arn = _queue(sim, "orders")
    events.create_event_bus(Name="shop")
    for bus in ("default", "shop"):
        events.put_rule(Name="orders", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))
        events.put_targets(Rule="orders", EventBusName=bus, Targets=[
            {"Id": "q", "Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 0}}])
    events.put_rule(Name="gone", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="gone", Targets=[{"Id": "missing", "Arn": arn.replace("orders", "deleted")}])
    sim.eventbridge.invocations_limit = RateLimit(4, 4)
    entries = [{"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"n": n})} for n in range(3)]
    events.put_events(Entries=entries)
    events.put_events(Entries=[{**e, "EventBusName": "shop"} for e in entries[:2]])
    assert sim.run_until_idle()
    sim.run_until(sim.now + timedelta(seconds=120 - sim.elapsed))

    def total(metric: str, **dims: str) -> float:
        return sum(_per_minute(sim, "AWS/Events", metric, dims).values())

    throttled = len([t for t in sim.eventbridge.throttles if t.scope == "invocations"])
    assert throttled > 0
    assert total("Invocations", RuleName="orders") == 3
    assert total("Invocations", EventBusName="shop", RuleName="orders") == 2
    assert total("FailedInvocations", RuleName="gone") == 3  # a missing queue: not retried, dropped
    assert total("FailedInvocations", RuleName="orders") == 0  # not zero only: never published
    # The account-wide series (no dimension) holds all 8; moto 5.2.5 answers a query without
    # dimensions with every series of the name (CloudWatch: that series only), so twice that here.
    assert total("Invocations") == 2 * (3 + 2 + 3)
    assert total("TriggeredRules", RuleName="gone") == 3
    assert total("MatchedEvents") == 5
    assert total("ThrottledRules", RuleName="orders") + total("ThrottledRules", RuleName="gone") \
        + total("ThrottledRules", EventBusName="shop", RuleName="orders") == throttled
    assert total("InvocationAttempts") == 2 * sum(len(d.attempts) for d in sim.eventbridge.deliveries)
    assert {tuple(d["Name"] for d in m["Dimensions"]) for m in sim.client("cloudwatch").list_metrics(
        Namespace="AWS/Events", MetricName="Invocations")["Metrics"]} == {(), ("RuleName",), ("EventBusName", "RuleName")}


# -- DynamoDB -------------------------------------------------------------------------------------
def test_dynamodb_consumed_write_capacity_and_write_throttle_events_on_a_provisioned_table(sim):
    """metrics-dimensions.html: ConsumedWriteCapacityUnits (Sum: the units consumed in the minute;
    SampleCount: "the number of requests to DynamoDB that consumed write capacity"), aggregated at
    one-minute intervals; WriteThrottleEvents per throttled event and ThrottledRequests (TableName,
    Operation) per throttled request; TroubleshootingThrottling-cloudwatch.html: the reason's
    WriteProvisionedThroughputThrottleEvents."""
    sim.dynamodb_limits = DynamoDBLimits(burst_seconds=1)
    ddb = sim.client("dynamodb", config=NO_RETRIES)
    ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 2})
    refused = 0
    for second in range(65):
        for i in range(3):  # 3 one-unit writes a second against 2 WCU
            try:
                ddb.put_item(TableName="orders", Item={"pk": {"S": f"{second}-{i}"}})
            except ClientError:
                refused += 1
        sim.run_for(1)
    sim.run_until(sim.now + timedelta(seconds=120 - sim.elapsed))
    table = {"TableName": "orders"}
    units = _per_minute(sim, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", table)
    requests = _per_minute(sim, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", table, "SampleCount")
    assert units == requests and sum(units.values()) == 65 * 3 - refused
    assert units[0] == 60 * 2  # the provisioned rate (the bucket holds one second, full at first)
    throttles = _per_minute(sim, "AWS/DynamoDB", "WriteThrottleEvents", table)
    assert sum(throttles.values()) == refused == len(sim.dynamodb.refusals) > 0
    assert _per_minute(sim, "AWS/DynamoDB", "WriteProvisionedThroughputThrottleEvents", table) == throttles
    assert _per_minute(sim, "AWS/DynamoDB", "ThrottledRequests", {"Operation": "PutItem", **table}) == throttles


# -- Kinesis and Lambda's IteratorAge -------------------------------------------------------------
def test_iterator_age_grows_on_a_stalled_stream_consumer_and_stream_records_are_counted(sim):
    """monitoring-metrics-types.html: IteratorAge (AWS/Lambda, FunctionName) is the age of the last
    record of a batch when Lambda sent it; a consumer stuck on a poison record retries the same
    batch, so its Maximum grows minute after minute. monitoring-with-cloudwatch.html (Kinesis):
    IncomingRecords, the records successfully put to the stream, and
    WriteProvisionedThroughputExceeded, "the number of records rejected due to throttling"
    (StreamName), every minute."""
    kinesis, lam = sim.client("kinesis"), sim.client("lambda")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="events")["StreamDescription"]["StreamARN"]
    sim.create_function(FunctionName="consumer", Handler="handlers.poison", code_dir=STREAM_HANDLERS)
    lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn, StartingPosition="TRIM_HORIZON",
                                    MaximumRetryAttempts=-1)
    kinesis.put_records(StreamName="events", Records=[
        {"Data": json.dumps({"poison": True}).encode(), "PartitionKey": "k"},
        {"Data": json.dumps({"n": 1}).encode(), "PartitionKey": "k"}])
    sim.run_for(300)
    sim.telemetry.flush()
    ages = _per_minute(sim, "AWS/Lambda", "IteratorAge", {"FunctionName": "consumer"}, "Maximum")
    assert list(ages) == [0, 1, 2, 3, 4]
    assert list(ages.values()) == sorted(ages.values()) and ages[4] > 4 * 60_000
    # moto writes IncomingRecords itself, one datum per PutRecords call
    assert _per_minute(sim, "AWS/Kinesis", "IncomingRecords", {"StreamName": "events"}) == {0: 2}
    sim.kinesis.limits = KinesisLimits(shard_write_records_per_s=1)
    kinesis.create_stream(StreamName="hot", ShardCount=1)
    answer = sim.client("kinesis", config=NO_RETRIES).put_records(StreamName="hot", Records=[
        {"Data": b"x", "PartitionKey": "k"} for _ in range(3)])
    assert answer["FailedRecordCount"] == 2
    sim.run_for(60)
    assert _per_minute(sim, "AWS/Kinesis", "WriteProvisionedThroughputExceeded", {"StreamName": "hot"}) == {5: 2}


# -- what CloudWatch answers, the switch, the cost --------------------------------------------------
def test_get_metric_data_answers_sum_average_maximum_and_sample_count_as_cloudwatch(sim):
    """GetMetricData / GetMetricStatistics over a period longer than a minute add the minutes up
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Statistic):
    Sum of the counts, Maximum of the samples, Average = Sum / SampleCount. moto 5.2.5 computes no
    percentiles: ExtendedStatistics (p99) come back absent, and GetMetricData's p99 fails in moto."""
    sqs = sim.client("sqs")
    url, _ = _queue(sim, "stats")
    for minute in range(3):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(minute + 1)])
        sim.run_for(60)
    cw = sim.client("cloudwatch")
    start, end = sim.now - timedelta(minutes=3), sim.now
    answer = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        {"Id": f"s{i}", "MetricStat": {"Metric": {"Namespace": "AWS/SQS", "MetricName": name,
                                                  "Dimensions": [{"Name": "QueueName", "Value": "stats"}]},
                                       "Period": 180, "Stat": stat}}
        for i, (name, stat) in enumerate([("NumberOfMessagesSent", "Sum"), ("NumberOfMessagesSent", "SampleCount"),
                                          ("ApproximateNumberOfMessagesVisible", "Maximum"),
                                          ("ApproximateNumberOfMessagesVisible", "Average")])])
    values = {r["Id"]: r["Values"] for r in answer["MetricDataResults"]}
    assert values == {"s0": [6.0], "s1": [3.0], "s2": [6.0], "s3": [(1 + 3 + 6) / 3]}
    stats = cw.get_metric_statistics(Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
                                     Dimensions=[{"Name": "QueueName", "Value": "stats"}], StartTime=start,
                                     EndTime=end, Period=180, ExtendedStatistics=["p99"])
    assert [p.get("ExtendedStatistics") for p in stats["Datapoints"]] == [None]
    with pytest.raises(TypeError):  # moto serialises the missing percentile and fails
        cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
            {"Id": "p", "MetricStat": {"Metric": {"Namespace": "AWS/SQS", "MetricName": "NumberOfMessagesSent",
                                                  "Dimensions": [{"Name": "QueueName", "Value": "stats"}]},
                                       "Period": 180, "Stat": "p99"}}])


def test_nothing_is_written_when_no_service_is_used_or_the_switch_is_off():
    """The publication is the simulator's own cost: nothing for services nobody used, and
    `Simulator(service_metrics=False)` publishes nothing at all."""
    with Simulator(seed=1) as idle:
        idle.run_for(2 * 3600)
        assert (idle.service_metrics.minutes, idle.service_metrics.data_points) == (0, 0)
    with Simulator(seed=1, service_metrics=False) as off:
        off.client("sqs").create_queue(QueueName="q")
        off.run_for(600)
        assert off.client("cloudwatch").list_metrics(Namespace="AWS/SQS")["Metrics"] == []


def test_rules_units_and_rule_dimensions():
    """The units the pages give (ApproximateAgeOfOldestMessage in Seconds, the rest Count) and eb-monitoring.html's dimensions of a rule on the default and a custom bus."""
    assert rules.unit("AWS/SQS", "ApproximateAgeOfOldestMessage") == "Seconds"
    assert rules.unit("AWS/Events", "Invocations") == "Count"
    assert rules.rule_dimensions("arn:aws:events:us-east-1:123456789012:rule/orders") == (("RuleName", "orders"),)
    assert rules.rule_dimensions("arn:aws:events:us-east-1:123456789012:rule/shop/orders") == (
        ("EventBusName", "shop"), ("RuleName", "orders"))
    assert rules.throttle_event_metrics("read", "TableReadKeyRangeThroughputExceeded") == (
        "ReadThrottleEvents", "ReadKeyRangeThroughputThrottleEvents")
    assert rules.age_of_oldest_message_s([(0.0, 5), (30_000.0, 0)], 90_000.0, fifo=False) == 60
    assert rules.age_of_oldest_message_s([(0.0, 5)], 90_000.0, fifo=False) is None


def test_custom_metric_cardinality_and_its_monthly_cost():
    """https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension:
    each unique combination of dimensions is a separate metric; an EMF document's metrics are
    published under each of its dimension sets; https://aws.amazon.com/cloudwatch/pricing/: custom
    metrics are priced per metric-month, in tiers ($0.30 for the first 10,000: transcribed, see
    serverless_course.prices)."""
    # 5 names under {service} (3 services) and {service, operation} (3 x 20): 5 x (3 + 60)
    assert prices.custom_metric_count(5, [{"service": 3}, {"service": 3, "operation": 20}]) == 315
    assert prices.custom_metric_count(2, [{}]) == 2
    assert prices.custom_metrics_monthly_usd(315) == pytest.approx(315 * 0.30)
    # a tenant id as a dimension: 5 names x 3 services x 20,000 tenants crosses two tiers
    many = prices.custom_metric_count(5, [{"service": 3, "tenant": 20_000}])
    assert many == 300_000
    assert prices.custom_metrics_monthly_usd(many) == pytest.approx(10_000 * 0.30 + 240_000 * 0.10 + 50_000 * 0.05)
