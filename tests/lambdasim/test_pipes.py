"""EventBridge Pipes run by the simulator (lambdasim/pollers/pipes.py, rules/pipes.py), DynamoDB
Streams' 24-hour retention and Time to Live deletions (_moto_patches/dynamodb_streams.py,
dynamodb_ttl.py, rules/dynamodb_streams.py).

Each test's docstring starts with the AWS documentation page whose rule it pins: pages of the
Amazon EventBridge User Guide (https://docs.aws.amazon.com/eventbridge/latest/userguide/) or,
for DynamoDB, of the DynamoDB API Reference
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, SqsModel
from botocore.exceptions import ClientError

from lambdasim import Simulator

FIXTURES = Path(__file__).parent / "fixtures" / "pipes"
ROLE = "arn:aws:iam::123456789012:role/pipe-role"
DAY_S = 24 * 3600


@pytest.fixture
def sim():
    with Simulator(seed=11) as simulator:
        yield simulator


def _queue(sim: Simulator, name: str) -> tuple[str, str]:
    sqs = sim.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _drain(sim: Simulator, url: str) -> list[dict[str, Any]]:
    sqs = sim.client("sqs")
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _bus_to_queue(sim: Simulator, source: Any = None) -> tuple[str, str]:
    """A custom bus whose one rule sends the events of `source` (default: every pipe's) to a
    queue: (bus ARN, queue URL)."""
    events = sim.client("events")
    bus = events.create_event_bus(Name="orders")["EventBusArn"]
    url, arn = _queue(sim, "bus-copy")
    events.put_rule(Name="from-pipes", EventBusName="orders",
                    EventPattern=json.dumps({"source": [source or {"prefix": "Pipe "}]}))
    events.put_targets(Rule="from-pipes", EventBusName="orders", Targets=[{"Id": "q", "Arn": arn}])
    return bus, url


def _function(sim: Simulator, name: str, handler: str) -> str:
    return sim.create_function(FunctionName=name, Handler=f"handlers.{handler}", code_dir=FIXTURES)["FunctionArn"]


def _orders_table(sim: Simulator, *, ttl: bool = False) -> str:
    ddb = sim.client("dynamodb")
    table = ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    if ttl:
        ddb.update_time_to_live(TableName="orders",
                                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    return table["TableDescription"]["LatestStreamArn"]


def _put(sim: Simulator, order_id: str, status: str, **extra: Any) -> None:
    item = {"id": {"S": order_id}, "status": {"S": status}, **{k: ({"N": str(v)} if isinstance(v, (int, float))
                                                                    else {"S": v}) for k, v in extra.items()}}
    sim.client("dynamodb").put_item(TableName="orders", Item=item)


# -- sources, filters, targets -------------------------------------------------------------------


def test_sqs_pipe_filters_and_puts_events_on_a_bus(sim):
    """eb-pipes-event-filtering.html: a message that matches no filter is dropped (deleted from the
    queue); the others reach the event bus target as events with source "Pipe <name>",
    detail-type "Event from aws:sqs" and the SQS record as detail (the source "Pipe <name>" is
    shown in AWS's tutorial, community.aws ddb-streams-to-eb-pipes); StopPipe stops the reading
    and StartPipe resumes it; SqsModel parses the records."""
    source_url, source_arn = _queue(sim, "incoming")
    bus, copy_url = _bus_to_queue(sim)
    pipes = sim.client("pipes")
    pipes.create_pipe(Name="orders-pipe", RoleArn=ROLE, Source=source_arn, Target=bus, SourceParameters={
        "SqsQueueParameters": {"BatchSize": 5},
        "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"status": ["paid"]}})}]}})
    sqs = sim.client("sqs")
    for n, status in enumerate(["paid", "pending", "paid"]):
        sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"id": f"o{n}", "status": status}))
    sim.run_for(5)
    events = _drain(sim, copy_url)
    assert [json.loads(e["detail"]["body"])["id"] for e in events] == ["o0", "o2"]
    assert {(e["source"], e["detail-type"]) for e in events} == {("Pipe orders-pipe", "Event from aws:sqs")}
    parse(event={"Records": [e["detail"] for e in events]}, model=SqsModel)
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    assert sim.pipes.summary("orders-pipe") == {
        "records_in": 3, "filtered": 1, "executions": 1, "retries": 0, "enriched": 0, "delivered": 2,
        "failed": 0, "dead_lettered": 0}

    pipes.stop_pipe(Name="orders-pipe")
    sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"id": "o3", "status": "paid"}))
    sim.run_for(60)
    assert pipes.describe_pipe(Name="orders-pipe")["CurrentState"] == "STOPPED"
    assert _drain(sim, copy_url) == []
    pipes.start_pipe(Name="orders-pipe")
    sim.run_for(5)
    assert [json.loads(e["detail"]["body"])["id"] for e in _drain(sim, copy_url)] == ["o3"]


def test_dynamodb_stream_outbox_keeps_each_items_order(sim):
    """eb-pipes-dynamodb.html: a pipe reads the table's stream in order and, with a filter on
    INSERT and MODIFY, puts one event per change on the bus, detail-type "Event from
    aws:dynamodb"; every change of an item arrives in its stream order; the records pass
    Powertools' DynamoDBStreamModel."""
    stream = _orders_table(sim)
    bus, copy_url = _bus_to_queue(sim)
    sim.client("pipes").create_pipe(
        Name="outbox", RoleArn=ROLE, Source=stream, Target=bus,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10,
                                                       "MaximumBatchingWindowInSeconds": 2},
                          "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT", "MODIFY"]})}]}})
    sim.run_for(1)
    for status in ("placed", "paid", "shipped"):
        _put(sim, "o1", status)
        _put(sim, "o2", status)
    sim.client("dynamodb").delete_item(TableName="orders", Key={"id": {"S": "o2"}})
    sim.run_for(10)
    events = _drain(sim, copy_url)
    assert {e["detail-type"] for e in events} == {"Event from aws:dynamodb"}
    assert {e["source"] for e in events} == {"Pipe outbox"}
    by_item: dict[str, list[str]] = {}
    for event in events:
        image = event["detail"]["dynamodb"]["NewImage"]
        by_item.setdefault(image["id"]["S"], []).append(image["status"]["S"])
    assert by_item == {"o1": ["placed", "paid", "shipped"], "o2": ["placed", "paid", "shipped"]}
    parse(event={"Records": [e["detail"] for e in events]}, model=DynamoDBStreamModel)
    summary = sim.pipes.summary("outbox")
    assert (summary["records_in"], summary["filtered"], summary["delivered"]) == (7, 1, 6)
    # The window gathered the six changes (written at one instant) into one execution.
    assert summary["executions"] == 1


def test_kinesis_records_reach_a_pipe_flattened(sim):
    """eb-pipes-event-filtering.html: a Kinesis record flows through a pipe with the fields of
    Lambda's `kinesis` object at the top (partitionKey, sequenceNumber, base64 data...) beside
    eventSource and eventSourceARN; a filter on `data` reads it as JSON."""
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    stream = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    sim.client("pipes").create_pipe(
        Name="clicks", RoleArn=ROLE, Source=stream, Target=_function(sim, "sink", "echo"),
        SourceParameters={"KinesisStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10},
                          "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"data": {"kind": ["order"]}})}]}})
    for kind in ("order", "click"):
        kinesis.put_record(StreamName="clicks", Data=json.dumps({"kind": kind}).encode(), PartitionKey="user-1")
    sim.run_for(5)
    [record] = json.loads(sim.invocations[0].payload)
    assert json.loads(base64.b64decode(record["data"])) == {"kind": "order"}
    assert (record["partitionKey"], record["eventSource"], record["eventSourceARN"]) == ("user-1", "aws:kinesis", stream)
    assert "kinesis" not in record and record["invokeIdentityArn"] == ROLE
    assert sim.pipes.summary("clicks")["filtered"] == 1


def test_enrichment_output_is_what_the_lambda_target_gets(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/pipes-enrichment.html,
    eb-pipes-batching-concurrency.html: the enrichment function is
    invoked synchronously with the batch as a JSON array; what it returns (here fewer events:
    it left out a test order) is what the Lambda target is invoked with, also as an array."""
    source_url, source_arn = _queue(sim, "incoming")
    enrich = _function(sim, "enrich", "enrich")
    target = _function(sim, "target", "echo")
    sim.client("pipes").create_pipe(Name="enriched", RoleArn=ROLE, Source=source_arn, Enrichment=enrich,
                                    Target=target, SourceParameters={"SqsQueueParameters": {
                                        "BatchSize": 10, "MaximumBatchingWindowInSeconds": 1}})
    sqs = sim.client("sqs")
    for n, order in enumerate([{"total": 10}, {"total": 5, "test": True}, {"total": 2.5}]):
        sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"id": f"o{n}", **order}))
    sim.run_for(5)
    assert [(i.function_name, i.function_error) for i in sim.invocations] == [("enrich", None), ("target", None)]
    # The echo target returns what it was invoked with: the enrichment's response.
    assert json.loads(sim.invocations[1].payload) == [{"id": "o0", "total_with_tax": 12.0},
                                                      {"id": "o2", "total_with_tax": 3.0}]
    [execution] = sim.pipes.executions
    assert (len(execution.identifiers), execution.enriched, execution.delivered, execution.error) == (3, 2, 2, None)
    assert _drain(sim, source_url) == []  # processed: deleted from the source


def test_input_templates_shape_each_event(sim):
    """eb-pipes-input-transformation.html: a target's InputTemplate is applied to each event: a
    JSON template with inline JSON paths (quoted: the value as text; unquoted: as JSON) and
    reserved variables gives the domain event the bus gets, with the target's Source and
    DetailType; a template that is only a path gives that value (an SQS body read as JSON)."""
    stream = _orders_table(sim)
    bus, copy_url = _bus_to_queue(sim, "orders.outbox")
    template = ('{"orderId": "<$.dynamodb.Keys.id.S>", "change": <$.eventName>, "image": <$.dynamodb.NewImage>, '
                '"via": "<aws.pipes.pipe-name>"}')
    pipes = sim.client("pipes")
    pipes.create_pipe(Name="outbox", RoleArn=ROLE, Source=stream, Target=bus, TargetParameters={
        "InputTemplate": template,
        "EventBridgeEventBusParameters": {"Source": "orders.outbox", "DetailType": "OrderChanged"}},
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST"}})
    source_url, source_arn = _queue(sim, "incoming")
    pipes.create_pipe(Name="ids", RoleArn=ROLE, Source=source_arn, Target=_function(sim, "ids", "echo"),
                      TargetParameters={"InputTemplate": "<$.body.id>"})
    sim.run_for(1)
    _put(sim, "o1", "paid")
    sim.client("sqs").send_message(QueueUrl=source_url, MessageBody=json.dumps({"id": "o7"}))
    sim.run_for(5)
    [event] = _drain(sim, copy_url)
    assert (event["source"], event["detail-type"]) == ("orders.outbox", "OrderChanged")
    assert event["detail"] == {"orderId": "o1", "change": "INSERT", "via": "outbox",
                               "image": {"id": {"S": "o1"}, "status": {"S": "paid"}}}
    [ids] = [i for i in sim.invocations if i.function_name == "ids"]
    assert json.loads(ids.payload) == ["o7"]


def test_failing_target_is_retried_then_dead_lettered(sim):
    """eb-pipes-error-troubleshooting.html: for a stream source, a failing target (a customer
    invocation error) is retried up to the pipe's MaximumRetryAttempts, then the records go to
    its dead-letter queue; the retries run the whole pipe again."""
    stream = _orders_table(sim)
    target = _function(sim, "down", "fail")
    dlq_url, dlq_arn = _queue(sim, "pipe-dlq")
    sim.client("pipes").create_pipe(
        Name="fragile", RoleArn=ROLE, Source=stream, Target=target,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10,
                                                       "MaximumRetryAttempts": 2,
                                                       "DeadLetterConfig": {"Arn": dlq_arn}}})
    _put(sim, "o1", "placed")
    sim.run_for(120)
    summary = sim.pipes.summary("fragile")
    assert (summary["executions"], summary["retries"], summary["failed"], summary["dead_lettered"]) == (3, 2, 3, 1)
    [dead] = _drain(sim, dlq_url)
    assert dead["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert dead["requestContext"]["requestId"] == sim.pipes.executions[-1].request_id != ""
    assert dead["DDBStreamBatchInfo"]["batchSize"] == 1
    assert dead["DDBStreamBatchInfo"]["streamArn"] == stream


def test_lambda_target_partial_batch_failure_retries_from_the_failed_record(sim):
    """eb-pipes-batching-concurrency.html ("Partial batch failure"): a Lambda target returns
    batchItemFailures with the failed records' identifiers (a stream record's sequence number);
    the records before the first failure are done, the rest is retried."""
    stream = _orders_table(sim)
    target = _function(sim, "picky", "partial")
    sim.client("pipes").create_pipe(
        Name="picky", RoleArn=ROLE, Source=stream, Target=target,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10,
                                                       "MaximumBatchingWindowInSeconds": 1,
                                                       "MaximumRetryAttempts": 1}})
    _put(sim, "o1", "placed")
    _put(sim, "o2", "placed", poison="yes")
    _put(sim, "o3", "placed")
    sim.run_for(60)
    first, retry, *_ = sim.pipes.executions
    assert len(first.identifiers) == 3 and retry.identifiers == first.identifiers[1:]
    assert (first.retry, retry.retry) == (False, True)
    assert [i.function_error for i in sim.invocations[:2]] == [None, None]  # the batches parsed


# -- DynamoDB Streams retention and Time to Live ----------------------------------------------------


def test_ttl_deletions_are_service_removes_a_filter_leaves_out(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html: an expired item is still returned by
    reads until TTL deletes it, within two days; its stream record is a REMOVE with userIdentity
    {"type": "Service", "principalId": "dynamodb.amazonaws.com"}, which a pipe's filter on
    userIdentity leaves out while a user's own delete passes."""
    stream = _orders_table(sim, ttl=True)
    bus, copy_url = _bus_to_queue(sim)
    user_removes = {"eventName": ["REMOVE"], "userIdentity": {"type": [{"anything-but": "Service"}]}}
    sim.client("pipes").create_pipe(
        Name="removals", RoleArn=ROLE, Source=stream, Target=bus,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST"},
                          "FilterCriteria": {"Filters": [
                              {"Pattern": json.dumps({"eventName": ["REMOVE"], "userIdentity": {"type": [{"exists": False}]}})},
                              {"Pattern": json.dumps(user_removes)}]}})
    sim.run_for(1)
    expires = int(sim.now.timestamp()) + 60
    _put(sim, "o1", "placed", expires_at=expires)
    _put(sim, "o2", "placed")
    sim.run_for(120)
    ddb = sim.client("dynamodb")
    assert "Item" in ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})  # expired, not yet deleted
    ddb.delete_item(TableName="orders", Key={"id": {"S": "o2"}})
    for _ in range(8):  # six hours at a time, so the stream still holds the deletion's record
        if sim.dynamodb_ttl.deletions:
            break
        sim.run_for(DAY_S / 4)
    assert "Item" not in ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})
    [deletion] = sim.dynamodb_ttl.deletions
    assert expires <= deletion.at_us / 1e6 <= expires + 2 * DAY_S
    events = _drain(sim, copy_url)
    assert [e["detail"]["dynamodb"]["Keys"]["id"]["S"] for e in events] == ["o2"]
    assert "userIdentity" not in events[0]["detail"]
    streams = sim.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    last = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"][-1]
    assert (last["eventName"], last["dynamodb"]["Keys"]) == ("REMOVE", {"id": {"S": "o1"}})
    assert last["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert sim.pipes.summary("removals")["filtered"] == 3  # two INSERTs and the TTL REMOVE


def test_stream_records_older_than_24_hours_are_trimmed(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html
    (TrimmedDataAccessException): stream records are kept 24 hours;
    an iterator whose position was trimmed is refused, and TRIM_HORIZON starts after the trim."""
    stream = _orders_table(sim)
    streams = sim.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    _put(sim, "old", "placed")
    old_iterator = streams.get_shard_iterator(StreamArn=stream, ShardId=shard,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    sim.run_for(DAY_S - 60)
    _put(sim, "new", "placed")
    sim.run_for(120)
    with pytest.raises(ClientError) as refused:
        streams.get_records(ShardIterator=old_iterator)
    assert refused.value.response["Error"]["Code"] == "TrimmedDataAccessException"
    fresh = streams.get_shard_iterator(StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=fresh["ShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == ["new"]


def test_a_stalled_consumers_iterator_age_rises_toward_the_retention(sim):
    """https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html (IteratorAge):
    a consumer that keeps failing (retried here once a virtual hour) reports the age of its
    batch's last record at every invocation: it rises toward the stream's 24 hours, after which
    the record is gone (discarded as RecordAgeExceeded)."""
    stream = _orders_table(sim)
    _function(sim, "stuck", "fail")
    uuid = sim.client("lambda").create_event_source_mapping(
        FunctionName="stuck", EventSourceArn=stream, StartingPosition="TRIM_HORIZON")["UUID"]
    sim.run_for(1)
    sim.poller(uuid).retry_delay_s = lambda failures: 3600.0
    _put(sim, "o1", "placed")
    sim.run_for(DAY_S + 3600)
    ages_h = [batch.iterator_age_ms / 3_600_000 for batch in sim.poller(uuid).batches]
    assert ages_h == sorted(ages_h) and ages_h[0] < 0.01 and 23 <= ages_h[-1] < 24
    [discard] = sim.poller(uuid).discards
    assert discard.condition == "RecordAgeExceeded"
    datapoints = sim.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="IteratorAge", Dimensions=[{"Name": "FunctionName", "Value": "stuck"}],
        StartTime=sim.now.replace(year=2025), EndTime=sim.now, Period=DAY_S * 2, Statistics=["Maximum"])
    assert 23 * 3_600_000 <= datapoints["Datapoints"][0]["Maximum"] < DAY_S * 1000


def test_a_mapping_disabled_past_the_retention_never_sees_the_trimmed_records(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html: a Lambda mapping disabled for more than 24 hours resumes after
    the trim point: the trimmed records are lost to it (the poller's TrimmedDataAccessException
    is counted in stats.trimmed_reads)."""
    stream = _orders_table(sim)
    _function(sim, "consumer", "echo")
    lam = sim.client("lambda")
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=stream,
                                           StartingPosition="TRIM_HORIZON", Enabled=False)["UUID"]
    _put(sim, "lost", "placed")
    sim.run_for(DAY_S + 60)
    _put(sim, "kept", "placed")
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    sim.run_for(10)
    delivered = [r["dynamodb"]["Keys"]["id"]["S"] for i in sim.invocations
                 for r in json.loads(i.payload)["Records"]]
    assert delivered == ["kept"]
    assert sim.poller(uuid).stats.trimmed_reads == 1


def test_a_template_declares_a_pipe_that_runs(sim):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-pipes-pipe.html:
    AWS::Pipes::Pipe (Source, Target, RoleArn, SourceParameters; Ref is the name, Fn::GetAtt Arn)
    creates a pipe that runs like one made with CreatePipe; deleting the stack deletes it."""
    template = {"Resources": {
        "Incoming": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "incoming"}},
        "Outgoing": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "outgoing"}},
        "Pipe": {"Type": "AWS::Pipes::Pipe", "Properties": {
            "Name": "relay", "RoleArn": ROLE, "Source": {"Fn::GetAtt": ["Incoming", "Arn"]},
            "Target": {"Fn::GetAtt": ["Outgoing", "Arn"]},
            "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}}}}},
        "Outputs": {"PipeArn": {"Value": {"Fn::GetAtt": ["Pipe", "Arn"]}}}}
    cloudformation = sim.client("cloudformation")
    cloudformation.create_stack(StackName="relay", TemplateBody=json.dumps(template))
    [output] = cloudformation.describe_stacks(StackName="relay")["Stacks"][0]["Outputs"]
    assert output["OutputValue"] == "arn:aws:pipes:us-east-1:123456789012:pipe/relay"
    sqs = sim.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="incoming")["QueueUrl"], MessageBody='{"id": "o1"}')
    sim.run_for(5)
    [record] = _drain(sim, sqs.get_queue_url(QueueName="outgoing")["QueueUrl"])
    assert json.loads(record["body"]) == {"id": "o1"} and record["eventSource"] == "aws:sqs"
    cloudformation.delete_stack(StackName="relay")
    assert sim.client("pipes").list_pipes()["Pipes"] == []
    assert sim.pipes.current() == {}


def test_a_templates_ttl_specification_turns_time_to_live_on(sim):
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
    (TimeToLiveSpecification): a table declared with it has Time to Live enabled on that
    attribute, and its expired items are deleted like those of a table updated with
    UpdateTimeToLive (moto's CloudFormation ignored the property)."""
    template = {"Resources": {"Orders": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "TableName": "orders", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}}}}}
    sim.client("cloudformation").create_stack(StackName="ttl", TemplateBody=json.dumps(template))
    ddb = sim.client("dynamodb")
    assert ddb.describe_time_to_live(TableName="orders")["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    _put(sim, "o1", "placed", expires_at=int(sim.now.timestamp()) + 60)
    sim.run_for(2 * DAY_S + 3600)
    assert "Item" not in ddb.get_item(TableName="orders", Key={"id": {"S": "o1"}})
    assert [d.key for d in sim.dynamodb_ttl.deletions] == [{"id": {"S": "o1"}}]


def test_a_failed_put_events_fails_the_batch_and_the_pipe_retries_it(sim):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-error-troubleshooting.html:
    a target the pipe cannot deliver to fails the execution, which the pipe retries from the
    source (a stream source until MaximumRetryAttempts); a PutEvents call that fails after the
    SDK's own retries (a 500) is such a failure, not an error of the simulation: the change
    reaches the bus once the call succeeds."""
    from lambdasim.faults import ServerError

    stream = _orders_table(sim)
    bus, copy_url = _bus_to_queue(sim)
    sim.client("pipes").create_pipe(
        Name="outbox", RoleArn=ROLE, Source=stream, Target=bus,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 10,
                                                       "MaximumRetryAttempts": 5}})
    sim.run_for(1)
    sim.faults.add("events", "PutEvents", ServerError(), times=2)
    _put(sim, "o1", "placed")
    sim.run_for(120)
    events = _drain(sim, copy_url)
    assert [e["detail"]["dynamodb"]["NewImage"]["id"]["S"] for e in events] == ["o1"]
    summary = sim.pipes.summary("outbox")
    assert (summary["failed"], summary["delivered"], summary["dead_lettered"]) == (2, 1, 0)
