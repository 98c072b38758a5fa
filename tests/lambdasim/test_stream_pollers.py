"""Kinesis and DynamoDB Streams event source mappings played by the simulator
(lambdasim/pollers/streams.py, lambdasim/sources/streams.py, kinesis.py, dynamodb.py).

Each test's docstring starts with the AWS documentation page whose rule it pins (the site's
fidelity table is built from them): pages of the Lambda Developer Guide
(https://docs.aws.amazon.com/lambda/latest/dg/) unless named otherwise.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel, KinesisDataStreamModel

from lambdasim import Simulator
from lambdasim.sources import streams as rules
from lambdasim.sources.sqs import FunctionError, Returned

FIXTURES = Path(__file__).parent / "fixtures" / "streams"


@pytest.fixture
def sim():
    with Simulator(seed=5) as simulator:
        yield simulator


class Kinesis:
    def __init__(self, sim: Simulator, handler: str, *, shards: int = 1, destination: str | None = None,
                 create_mapping: bool = True, **mapping: Any):
        self.sim = sim
        self.kinesis = sim.client("kinesis")
        self.kinesis.create_stream(StreamName="events", ShardCount=shards)
        self.arn = self.kinesis.describe_stream(StreamName="events")["StreamDescription"]["StreamARN"]
        sim.create_function(FunctionName="consumer", Handler=f"handlers.{handler}", code_dir=FIXTURES)
        self.target = _destination(sim, destination)
        if self.target:
            mapping["DestinationConfig"] = {"OnFailure": {"Destination": self.target}}
        mapping.setdefault("StartingPosition", "TRIM_HORIZON")
        self.mapping = mapping
        self.uuid = self.map() if create_mapping else None

    def map(self) -> str:
        self.uuid = self.sim.client("lambda").create_event_source_mapping(
            FunctionName="consumer", EventSourceArn=self.arn, **self.mapping)["UUID"]
        return self.uuid

    def put(self, *payloads: dict[str, Any], key: str = "k") -> list[str]:
        return [self.kinesis.put_record(StreamName="events", Data=json.dumps(p).encode(), PartitionKey=p.get("key", key))
                ["SequenceNumber"] for p in payloads]

    @property
    def poller(self):
        return self.sim.poller(self.uuid)


def _destination(sim: Simulator, kind: str | None) -> str | None:
    if kind == "sqs":
        sqs = sim.client("sqs")
        url = sqs.create_queue(QueueName="failures")["QueueUrl"]
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if kind == "sns":
        sns = sim.client("sns")
        topic = sns.create_topic(Name="failures")["TopicArn"]
        sqs = sim.client("sqs")
        url = sqs.create_queue(QueueName="failures")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
        return topic
    if kind == "s3":
        sim.client("s3").create_bucket(Bucket="failures")
        return "arn:aws:s3:::failures"
    return None


def _failure_messages(sim: Simulator) -> list[dict[str, Any]]:
    sqs = sim.client("sqs")
    url = sqs.get_queue_url(QueueName="failures")["QueueUrl"]
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(json.loads(m["Body"]) for m in messages)


def _processed(poller) -> list[dict[str, Any]]:
    """The records the function processed successfully, in the order the checkpoint passed them."""
    out = []
    for batch in poller.batches:
        if batch.settlement is not None:
            out.extend(batch.records[:batch.settlement.succeeded])
    return out


def _data(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(record["kinesis"]["data"]))


# -- event shape -------------------------------------------------------------------------------


def test_kinesis_records_have_aws_shape_and_pass_powertools_strict_model(sim):
    """with-kinesis.html: a Kinesis event's records carry `kinesis` (kinesisSchemaVersion, partitionKey,
    sequenceNumber, base64 data, approximateArrivalTimestamp), eventSource aws:kinesis, eventID
    `<shard>:<sequence>`, eventName aws:kinesis:record, invokeIdentityArn, awsRegion and eventSourceARN;
    Powertools' strict KinesisDataStreamModel parses the event the function got."""
    env = Kinesis(sim, "echo")
    env.put({"n": 1}, {"n": 2})
    assert sim.run_until_idle()
    batch = env.poller.batches[0]
    event = json.loads(sim.invocations[0].payload)  # what the handler received, returned as is
    assert event == batch.event()
    parsed = parse(event=event, model=KinesisDataStreamModel)
    assert [json.loads(r.kinesis.data) for r in parsed.Records] == [{"n": 1}, {"n": 2}]
    record = batch.records[0]
    assert list(record) == ["kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn",
                            "awsRegion", "eventSourceARN"]
    assert record["eventID"] == f"shardId-000000000000:{record['kinesis']['sequenceNumber']}"
    assert record["eventSourceARN"] == env.arn and record["awsRegion"] == "us-east-1"
    assert record["invokeIdentityArn"].startswith("arn:aws:iam::")
    assert sim.invocations[0].source == "kinesis" and sim.invocations[0].invocation_type == "RequestResponse"


def test_dynamodb_records_have_aws_shape_pass_powertools_and_streams_api_works(sim):
    """with-ddb.html: DynamoDB stream records carry eventID, eventName, eventVersion, eventSource
    aws:dynamodb, awsRegion, `dynamodb` (ApproximateCreationDateTime in epoch seconds, Keys, images,
    SequenceNumber, SizeBytes, StreamViewType) and eventSourceARN; strict DynamoDBStreamModel parses
    them. moto's own stream hook no longer clears the stream, and a plain boto3 dynamodbstreams client
    works (the account-id endpoint mode is handled by the simulator)."""
    ddb, lam = sim.client("dynamodb"), sim.client("lambda")
    table = ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    stream_arn = table["TableDescription"]["LatestStreamArn"]
    sim.create_function(FunctionName="consumer", Handler="handlers.record_all", code_dir=FIXTURES)
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=stream_arn,
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "v": {"N": "1"}, "blob": {"B": b"\x00\x01"}})
    ddb.update_item(TableName="orders", Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v",
                    ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "a"}})
    assert sim.run_until_idle()
    batch = sim.poller(uuid).batches[0]
    parsed = parse(event=batch.event(), model=DynamoDBStreamModel)
    assert [r.eventName for r in parsed.Records] == ["INSERT", "MODIFY", "REMOVE"]
    record = batch.records[0]
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}  # binary as base64 text, as JSON carries it
    assert record["eventSourceARN"] == stream_arn and record["eventSource"] == "aws:dynamodb"
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    # The stream still holds its records for other readers, through an ordinary client.
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert len(streams.get_records(ShardIterator=it["ShardIterator"])["Records"]) == 3


# -- starting position, batching -----------------------------------------------------------------


def test_starting_positions_trim_horizon_latest_at_timestamp(sim):
    """services-kinesis-parameters.html: StartingPosition TRIM_HORIZON reads from the oldest record,
    LATEST only records written after the mapping was created, AT_TIMESTAMP from
    StartingPositionTimestamp."""
    env = Kinesis(sim, "record_all", create_mapping=False)
    env.put({"n": 0})
    sim.run_for(60)
    middle = sim.now
    env.put({"n": 1})
    lam = sim.client("lambda")
    uuids = {}
    for position in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
        extra = {"StartingPositionTimestamp": middle} if position == "AT_TIMESTAMP" else {}
        uuids[position] = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=env.arn,
                                                          StartingPosition=position, **extra)["UUID"]
    env.put({"n": 2})
    assert sim.run_until_idle()
    seen = {p: [_data(r)["n"] for r in _processed(sim.poller(u))] for p, u in uuids.items()}
    assert seen == {"TRIM_HORIZON": [0, 1, 2], "LATEST": [2], "AT_TIMESTAMP": [1, 2]}


def test_batch_size_and_batching_window(sim):
    """services-kinesis-parameters.html: a batch holds up to BatchSize records (default 100); with
    MaximumBatchingWindowInSeconds Lambda waits up to the window for a full batch."""
    env = Kinesis(sim, "record_all", BatchSize=10, MaximumBatchingWindowInSeconds=5)
    env.put(*[{"n": i} for i in range(23)])
    sim.run_for(1)
    assert [len(b.records) for b in env.poller.batches] == [10, 10]  # full batches go at once
    env.put({"n": 23})
    sim.run_for(3)
    assert len(env.poller.batches) == 2  # 4 records wait for the window
    assert sim.run_until_idle()
    last = env.poller.batches[-1]
    assert len(last.records) == 4 and (last.invoked_us - sim._start_us) / 1e6 == pytest.approx(5.0, abs=0.01)
    env.put(*[{"n": i} for i in range(24, 30)])
    sim.run_for(1)
    assert len(env.poller.batches) == 3  # waiting for the window again
    env.put(*[{"n": i} for i in range(30, 34)])
    sim.run_for(0.1)
    assert len(env.poller.batches) == 4 and len(env.poller.batches[-1].records) == 10  # full: no more waiting


def test_one_batch_in_flight_per_shard_and_parallelization_factor_by_key(sim):
    """with-kinesis.html, services-kinesis-parameters.html: Lambda processes one batch at a time per shard;
    ParallelizationFactor (up to 10) runs that many batches per shard at once, keeping order per
    partition key."""
    env = Kinesis(sim, "record_all", BatchSize=5)
    sim.set_duration("consumer", 1000)
    env.put(*[{"n": i, "key": f"k{i % 4}"} for i in range(20)])
    assert sim.run_until_idle()
    starts = sorted(r.start_us for r in sim.invocations)
    assert all(b - a >= 1_000_000 for a, b in zip(starts, starts[1:]))  # never two at once

    sim.client("lambda").update_event_source_mapping(UUID=env.uuid, Enabled=False)
    env2 = sim.client("lambda").create_event_source_mapping(
        FunctionName="consumer", EventSourceArn=env.arn, StartingPosition="LATEST", BatchSize=5, ParallelizationFactor=4)
    env.put(*[{"n": i, "key": f"k{i % 4}"} for i in range(20, 40)])
    before = len(sim.invocations)
    assert sim.run_until_idle()
    poller = sim.poller(env2["UUID"])
    runs = sim.invocations[before:]
    peak = max(sum(1 for r in runs if r.start_us <= x.start_us < r.start_us + r.total_us) for x in runs)
    assert 1 < peak <= 4
    by_key: dict[str, list[int]] = {}
    for record in _processed(poller):
        payload = _data(record)
        by_key.setdefault(payload["key"], []).append(payload["n"])
    assert all(ns == sorted(ns) for ns in by_key.values()) and sum(map(len, by_key.values())) == 20


# -- errors: bisect, retries, partial batch response, record age (scenarios) ----------------------


@pytest.mark.parametrize("n", [16, 64])
def test_scenario_poison_record_is_isolated_by_bisect_in_log2_n_and_sent_to_destination(sim, n):
    """kinesis-on-failure-destination.html: BisectBatchOnFunctionError splits a failed batch in two
    ("splitting batches doesn't consume the retry quota"); after MaximumRetryAttempts the record is
    discarded to the on-failure destination with AWS's record (KinesisBatchInfo); the rest of the shard
    is processed in order."""
    env = Kinesis(sim, "poison", BatchSize=n, BisectBatchOnFunctionError=True, MaximumRetryAttempts=2,
                  destination="sqs")
    env.put(*[{"n": i, "poison": i == n // 3} for i in range(n)])
    assert sim.run_until_idle()
    poller = env.poller
    assert poller.stats.bisections == math.ceil(math.log2(n))
    failed_runs = sum(1 for b in poller.batches if b.settlement and b.settlement.failed)
    assert failed_runs == math.ceil(math.log2(n)) + 3  # the splits, then 1 + 2 retries of the poison alone
    assert [_data(r)["n"] for r in _processed(poller)] == [i for i in range(n) if i != n // 3]
    [message] = _failure_messages(sim)
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    info = message["KinesisBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"] == env.arn and info["shardId"] == "shardId-000000000000"
    assert set(message) == {"requestContext", "responseContext", "version", "timestamp", "KinesisBatchInfo"}


def test_scenario_report_batch_item_failures_checkpoints_at_lowest_sequence_number(sim):
    """services-kinesis-batchfailurereporting.html: with ReportBatchItemFailures the lowest reported
    sequence number is the checkpoint: records before it are done, Lambda retries from it; with bisect
    the retried remainder is split, isolating the poison record, which goes to the destination."""
    env = Kinesis(sim, "partial", BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"],
                  BisectBatchOnFunctionError=True, MaximumRetryAttempts=1, destination="sqs")
    seqs = env.put(*[{"n": i, "poison": i == 4} for i in range(10)])
    assert sim.run_until_idle()
    first = env.poller.batches[0]
    assert first.settlement.rule is rules.StreamRule.PARTIAL_FAILURE
    assert first.settlement.succeeded == 4 and first.settlement.checkpoint == seqs[4]
    assert env.poller.batches[1].sequence_numbers[0] == seqs[4]  # retried from the checkpoint
    assert [_data(r)["n"] for r in _processed(env.poller)] == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    [message] = _failure_messages(sim)
    assert message["KinesisBatchInfo"]["startSequenceNumber"] == seqs[4]
    assert message["KinesisBatchInfo"]["batchSize"] == 1
    assert "functionError" not in message["responseContext"]  # a partial response is not a function error


def test_without_bisect_the_whole_batch_is_retried_then_discarded(sim):
    """kinesis-on-failure-destination.html: without bisect a failing batch is retried whole until
    MaximumRetryAttempts, then discarded (all of it) to the destination; processing goes on."""
    env = Kinesis(sim, "poison", BatchSize=5, MaximumRetryAttempts=1, destination="sqs")
    env.put(*[{"n": i, "poison": i == 2} for i in range(8)])
    assert sim.run_until_idle()
    assert [len(b.records) for b in env.poller.batches] == [5, 5, 3]
    [message] = _failure_messages(sim)
    assert message["KinesisBatchInfo"]["batchSize"] == 5
    assert message["requestContext"]["approximateInvokeCount"] == 2


def test_maximum_record_age_discards_old_records_to_destination(sim):
    """kinesis-on-failure-destination.html: records older than MaximumRecordAgeInSeconds are not sent to
    the function but discarded to the on-failure destination; with infinite retries a poison record
    blocks its shard until then."""
    env = Kinesis(sim, "poison", BatchSize=10, MaximumRecordAgeInSeconds=60, destination="sqs")
    sim.set_duration("consumer", 10_000)
    env.put(*[{"n": i, "poison": i == 0} for i in range(3)])
    assert sim.run_until_idle()
    assert env.poller.stats.discarded_by_age == 3 and _processed(env.poller) == []
    [message] = _failure_messages(sim)
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["KinesisBatchInfo"]["batchSize"] == 3


@pytest.mark.parametrize("kind", ["sns", "s3"])
def test_on_failure_destination_sns_and_s3(sim, kind):
    """kinesis-on-failure-destination.html, API_OnFailure.html: SNS topics and S3 buckets are on-failure
    destinations too; for S3 Lambda also sends the invocation payload (object under aws/lambda/<mapping
    UUID>/<shard id>/)."""
    env = Kinesis(sim, "poison", BatchSize=2, MaximumRetryAttempts=0, destination=kind)
    env.put({"n": 0, "poison": True})
    assert sim.run_until_idle()
    if kind == "sns":
        [message] = _failure_messages(sim)
        assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    else:
        s3 = sim.client("s3")
        [obj] = s3.list_objects_v2(Bucket="failures")["Contents"]
        assert obj["Key"].startswith(f"aws/lambda/{env.uuid}/shardId-000000000000/2026/01/01/")
        document = json.loads(s3.get_object(Bucket="failures", Key=obj["Key"])["Body"].read())
        assert json.loads(document["payload"])["Records"][0]["kinesis"]["partitionKey"] == "k"
        assert document["KinesisBatchInfo"]["batchSize"] == 1


def test_filter_criteria_skip_records_on_data(sim):
    """invocation-eventfiltering.html: Kinesis filters match the record's keys with `data` decoded as
    JSON; records that match no filter never reach the function."""
    env = Kinesis(sim, "record_all", FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["order"]}})}]})
    env.kinesis.put_record(StreamName="events", Data=b"not json", PartitionKey="k")
    env.put({"kind": "order", "n": 1}, {"kind": "noise"}, {"kind": "order", "n": 2})
    assert sim.run_until_idle()
    assert [_data(r)["n"] for r in _processed(env.poller)] == [1, 2]
    assert env.poller.stats.filtered == 2


def test_iterator_age_grows_when_the_function_cannot_keep_up(sim):
    """monitoring-metrics-types.html: IteratorAge is the age of the last record of the batch when Lambda
    sends it; a function slower than the stream lets it grow (AWS/Lambda IteratorAge, Maximum)."""
    env = Kinesis(sim, "record_all", BatchSize=1)
    sim.set_duration("consumer", 2_000)
    for i in range(5):
        env.put({"n": i})
        sim.run_for(1)
    assert sim.run_until_idle()
    ages = [b.iterator_age_ms for b in env.poller.batches]
    assert ages == sorted(ages) and ages[-1] > 3_000
    sim.telemetry.flush()
    stats = sim.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="IteratorAge", Dimensions=[{"Name": "FunctionName", "Value": "consumer"}],
        StartTime=sim.now - timedelta(hours=1), EndTime=sim.now + timedelta(minutes=1), Period=60,
        Statistics=["Maximum"])
    assert max(p["Maximum"] for p in stats["Datapoints"]) == pytest.approx(ages[-1])


def test_scenario_dynamodb_per_item_order_holds_through_retries(sim):
    """services-dynamodb-errors.html, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html:
    records of an item appear
    in the order of its modifications; a failed batch is retried from its checkpoint, so every item's
    versions reach the function in order, with ParallelizationFactor too (lanes by item key)."""
    ddb, lam = sim.client("dynamodb"), sim.client("lambda")
    table = ddb.create_table(TableName="items", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    sim.create_function(FunctionName="consumer", Handler="handlers.flaky_version", code_dir=FIXTURES)
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=table["TableDescription"]["LatestStreamArn"],
                                           StartingPosition="LATEST", BatchSize=4, ParallelizationFactor=3,
                                           BisectBatchOnFunctionError=True)["UUID"]
    for v in (1, 2, 3):
        for pk in ("a", "b", "c", "d", "e"):
            ddb.put_item(TableName="items", Item={"pk": {"S": pk}, "v": {"S": str(v)}})
    assert sim.run_until_idle()
    poller = sim.poller(uuid)
    assert poller.stats.failed_invocations > 0 and poller.stats.discarded == 0
    versions: dict[str, list[str]] = {}
    for record in _processed(poller):
        image = record["dynamodb"]["NewImage"]
        versions.setdefault(image["pk"]["S"], []).append(image["v"]["S"])
    assert versions == {pk: ["1", "2", "3"] for pk in "abcde"}


# -- the settlement rule itself ------------------------------------------------------------------


def test_settle_stream_batch_rules():
    """services-kinesis-batchfailurereporting.html, services-ddb-batchfailurereporting.html: null or
    empty response / list = success; empty-string or null itemIdentifier or a bad key = complete
    failure; several identifiers: the lowest sequence number is the checkpoint."""
    seqs = ["10", "11", "12", "13"]

    def settle(response, rbif=True):
        return rules.settle_stream_batch(seqs, Returned(json.dumps(response).encode()), report_batch_item_failures=rbif)

    assert settle(None).succeeded == 4 and not settle(None).failed
    assert not settle({}).failed and not settle({"batchItemFailures": []}).failed
    assert not settle({"batchItemFailures": [{"itemIdentifier": "12"}]}, rbif=False).failed
    for bad in ([{"itemIdentifier": ""}], [{"itemIdentifier": None}], [{"id": "12"}], [{"itemIdentifier": "99"}]):
        s = settle({"batchItemFailures": bad})
        assert s.failed and s.succeeded == 0 and s.rule is rules.StreamRule.INVALID_RESPONSE
    s = settle({"batchItemFailures": [{"itemIdentifier": "13"}, {"itemIdentifier": "11"}]})
    assert (s.succeeded, s.failed, s.checkpoint) == (1, True, "11")
    s = rules.settle_stream_batch(seqs, FunctionError("ValueError: x"), report_batch_item_failures=True)
    assert (s.succeeded, s.failed, s.rule) == (0, True, rules.StreamRule.FUNCTION_ERROR)


def test_dynamodb_latest_and_filter_criteria(sim):
    """services-ddb-params.html, invocation-eventfiltering.html: LATEST skips the records already in the
    stream when the mapping is created; DynamoDB filters match the record as it is (eventName,
    dynamodb.NewImage in attribute-value form)."""
    ddb, lam = sim.client("dynamodb"), sim.client("lambda")
    table = ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    ddb.put_item(TableName="t", Item={"pk": {"S": "before"}, "status": {"S": "paid"}})
    sim.create_function(FunctionName="consumer", Handler="handlers.record_all", code_dir=FIXTURES)
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=table["TableDescription"]["LatestStreamArn"],
                                           StartingPosition="LATEST",
                                           FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})["UUID"]
    for pk, status in (("a", "paid"), ("b", "open"), ("c", "paid")):
        ddb.put_item(TableName="t", Item={"pk": {"S": pk}, "status": {"S": status}})
    ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "status": {"S": "paid"}})  # MODIFY
    assert sim.run_until_idle()
    poller = sim.poller(uuid)
    assert [r["dynamodb"]["NewImage"]["pk"]["S"] for r in _processed(poller)] == ["a", "c"]
    assert poller.stats.read == 4 and poller.stats.filtered == 2


def test_throttled_batches_are_retried_without_using_retries_until_too_old(sim):
    """kinesis-on-failure-destination.html: "Before invocation: if [the mapping] is unable to invoke the
    function due to throttling ... it retries until the records expire or exceed the maximum age";
    throttles do not use MaximumRetryAttempts."""
    env = Kinesis(sim, "record_all", BatchSize=10, MaximumRetryAttempts=0, MaximumRecordAgeInSeconds=60,
                  destination="sqs")
    lam = sim.client("lambda")
    lam.put_function_concurrency(FunctionName="consumer", ReservedConcurrentExecutions=0)
    env.put({"n": 0})
    sim.run_for(10)
    assert env.poller.stats.throttled >= 3 and sim.invocations == []
    lam.delete_function_concurrency(FunctionName="consumer")
    assert sim.run_until_idle()
    assert [_data(r)["n"] for r in _processed(env.poller)] == [0]
    lam.put_function_concurrency(FunctionName="consumer", ReservedConcurrentExecutions=0)
    env.put({"n": 1})
    assert sim.run_until_idle()
    [message] = _failure_messages(sim)
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["requestContext"]["approximateInvokeCount"] == 0


def test_disabled_mapping_resumes_from_its_position(sim):
    """API_UpdateEventSourceMapping.html: a disabled mapping stops reading; enabled again it resumes where
    it stopped (Lambda keeps the checkpoint), nothing lost or repeated."""
    env = Kinesis(sim, "record_all")
    env.put({"n": 0})
    assert sim.run_until_idle()
    lam = sim.client("lambda")
    lam.update_event_source_mapping(UUID=env.uuid, Enabled=False)
    env.put({"n": 1}, {"n": 2})
    assert sim.run_until_idle()
    assert len(_processed(env.poller)) == 1
    lam.update_event_source_mapping(UUID=env.uuid, Enabled=True)
    assert sim.run_until_idle()
    assert [_data(r)["n"] for r in _processed(env.poller)] == [0, 1, 2]


def test_scenario_poison_record_blocks_its_shard_until_retention(sim):
    """kinesis-on-failure-destination.html,
    https://docs.aws.amazon.com/streams/latest/dev/kinesis-extended-retention.html: with the defaults (infinite retries and age) a poison record blocks its shard until it leaves the
    stream at the end of the retention (24 h); the records behind it wait, IteratorAge grows, then
    processing goes on."""
    env = Kinesis(sim, "poison", BatchSize=10, destination="sqs")
    sim.client("lambda").update_function_configuration(FunctionName="consumer", Timeout=900)
    sim.set_duration("consumer", 600_000)
    env.put({"n": 0, "poison": True})
    sim.run_for(3600)
    env.put({"n": 1})
    assert sim.run_until_idle(max_seconds=2 * 86_400)
    poller = env.poller
    assert [_data(r)["n"] for r in _processed(poller)] == [1]
    assert poller.stats.max_iterator_age_ms > 23 * 3_600_000
    [message] = _failure_messages(sim)
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["KinesisBatchInfo"]["batchSize"] == 1


def test_failed_records_are_retried_after_a_modelled_delay_not_back_to_back(sim):
    """kinesis-on-failure-destination.html, services-dynamodb-errors.html: a failed batch is retried until
    it succeeds or its records expire (defaults: infinite retries and age); AWS documents no interval
    between the tries. Modelled (sources/streams.py retry_delay_s, illustrative): 1 s after the first
    failure, doubling per consecutive failure up to 60 s, so a poison record makes a handful of
    invocations a minute, not thousands; a success starts the count again."""
    env = Kinesis(sim, "poison", BatchSize=10)
    env.put({"n": 0, "poison": True})

    def waits(invocations):  # seconds from the end of each invocation to the start of the next
        return [round((b.start_us - a.start_us - a.total_us) / 1e6, 3) for a, b in zip(invocations, invocations[1:])]

    sim.run_for(60)
    assert len(sim.invocations) == 6 and waits(sim.invocations) == [1, 2, 4, 8, 16]
    assert [rules.retry_delay_s(n) for n in (1, 2, 6, 7, 20, 5_000)] == [1, 2, 32, 60, 60, 60]
    sim.run_for(3600)
    assert set(waits(sim.invocations[-10:])) == {60}
    env.poller.retry_delay_s = lambda failures: 0.5  # the delay is a parameter of the model
    sim.run_for(120)
    assert waits(sim.invocations[-3:]) == [0.5, 0.5]


def test_the_retry_delay_restarts_after_a_discard_or_a_success(sim):
    """kinesis-on-failure-destination.html: after MaximumRetryAttempts the records are discarded and
    processing goes on at once; the modelled retry delay (1, 2 ... s) counts the failures of the
    records being retried, so it starts again at 1 s for the next poison record."""
    env = Kinesis(sim, "poison", BatchSize=1, MaximumRetryAttempts=2)
    env.put({"n": 0, "poison": True}, {"n": 1}, {"n": 2, "poison": True})
    assert sim.run_until_idle()
    runs = sim.invocations
    waits = [round((b.start_us - a.start_us - a.total_us) / 1e6, 3) for a, b in zip(runs, runs[1:])]
    assert waits == [1, 2, 0, 0, 1, 2]
    assert len(env.poller.discards) == 2


def test_tumbling_window_carries_state_and_ends_with_a_final_invocation(sim):
    """services-kinesis-windows.html: with TumblingWindowInSeconds the event adds window {start, end},
    state, shardId, eventSourceARN, isFinalInvokeForWindow and isWindowTerminatedEarly; the state the
    function returns goes to its next invocation in the window; at the window's end a final invocation
    gets the aggregate, and the next window starts with an empty state."""
    env = Kinesis(sim, "tumbling", BatchSize=2, TumblingWindowInSeconds=60)
    env.put(*[{"n": i} for i in range(5)])
    sim.run_for(30)
    env.put(*[{"n": i} for i in range(5, 8)])
    sim.run_for(40)
    env.put(*[{"n": i} for i in range(8, 12)])
    assert sim.run_until_idle()
    events = [b.event() for b in env.poller.batches]
    finals = [e for e in events if e["isFinalInvokeForWindow"]]
    assert [(e["window"]["start"], e["state"], e["Records"]) for e in finals] == [
        ("2026-01-01T00:00:00Z", {"count": 8}, []), ("2026-01-01T00:01:00Z", {"count": 4}, [])]
    first = events[0]
    assert first["window"] == {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:01:00Z"}
    assert first["state"] == {} and events[1]["state"] == {"count": 2}
    assert first["shardId"] == "shardId-000000000000" and first["eventSourceARN"] == env.arn
    assert first["isWindowTerminatedEarly"] is False
    assert all(len(e["Records"]) <= 2 for e in events)
    ends = [b.invoked_us for b in env.poller.batches if b.window["isFinalInvokeForWindow"]]
    assert [(t - sim._start_us) / 1e6 for t in ends] == pytest.approx([60.0, 120.0], abs=0.1)


def test_tumbling_window_response_without_state_is_a_failed_invocation(sim):
    """services-kinesis-windows.html, services-ddb-windows.html: "If the response does not contain a state
    property, Lambda considers this a failed invocation": the batch is retried, then discarded after
    MaximumRetryAttempts, and the state the function returned before it carries on."""
    env = Kinesis(sim, "tumbling_state_unless_flagged", BatchSize=1, TumblingWindowInSeconds=60,
                  MaximumRetryAttempts=1, destination="sqs")
    seqs = env.put({"n": 0}, {"n": 1, "drop_state": True}, {"n": 2})
    assert sim.run_until_idle()
    batches = env.poller.batches
    flagged = [b for b in batches if b.sequence_numbers == [seqs[1]]]
    assert len(flagged) == 2  # the first try and its one retry
    assert all(b.settlement.failed and b.settlement.rule is rules.StreamRule.MISSING_STATE for b in flagged)
    assert all(b.invocation.function_error is None for b in flagged)  # the function itself succeeded
    assert flagged[1].event()["state"] == {"count": 1}  # the state from before the failed batch
    [message] = _failure_messages(sim)
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["KinesisBatchInfo"]["startSequenceNumber"] == seqs[1]
    [final] = [b.event() for b in batches if b.window["isFinalInvokeForWindow"]]
    assert final["state"] == {"count": 2}


def test_a_stream_mapping_needs_a_starting_position(sim):
    """https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html: StartingPosition is
    required for Kinesis and DynamoDB Streams sources; without it AWS answers InvalidParameterValueException
    "... Value null at 'startingPosition' ..." (moto defaulted to TRIM_HORIZON)."""
    env = Kinesis(sim, "record_all", create_mapping=False)
    lam = sim.client("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as info:
        lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=env.arn)
    assert "Value null at 'startingPosition'" in str(info.value)
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=env.arn,
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    lam.update_event_source_mapping(UUID=uuid, BatchSize=5)  # an update keeps its position


def test_invalid_stream_mapping_parameters_are_rejected(sim):
    """services-kinesis-parameters.html, services-ddb-params.html: ParallelizationFactor 1-10,
    MaximumRetryAttempts -1 to 10,000, MaximumRecordAgeInSeconds -1 or 60-604,800, TumblingWindowInSeconds
    0-900; DynamoDB streams take TRIM_HORIZON or LATEST only (InvalidParameterValueException)."""
    env = Kinesis(sim, "record_all", create_mapping=False)
    lam = sim.client("lambda")
    for bad in ({"ParallelizationFactor": 11}, {"MaximumRetryAttempts": 10_001}, {"MaximumRecordAgeInSeconds": 59},
                {"TumblingWindowInSeconds": 901}):
        with pytest.raises(lam.exceptions.InvalidParameterValueException):
            lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=env.arn,
                                            StartingPosition="LATEST", **bad)
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=env.arn, StartingPosition="LATEST",
                                           MaximumRecordAgeInSeconds=-1)["UUID"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_event_source_mapping(UUID=uuid, ParallelizationFactor=11)
    table = sim.client("dynamodb").create_table(
        TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=table["TableDescription"]["LatestStreamArn"],
                                        StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=sim.now)
