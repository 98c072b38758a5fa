"""Kinesis Data Streams for DynamoDB played by the simulator (lambdasim/dynamodb_kinesis.py,
rules/dynamodb_kinesis.py, _moto_patches/dynamodb_kinesis.py).

Each test's docstring starts with the AWS documentation page whose rule it pins (the site's
fidelity table is built from them): pages of the DynamoDB Developer Guide
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/) or API Reference
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import KinesisDataStreamModel
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import dynamodb_kinesis as rules

FIXTURES = Path(__file__).parent / "fixtures" / "streams"


def _table_and_stream(sim: Simulator, shards: int = 1) -> str:
    sim.client("dynamodb").create_table(
        TableName="orders", BillingMode="PAY_PER_REQUEST", AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"}], KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    kinesis = sim.client("kinesis")
    kinesis.create_stream(StreamName="changes", ShardCount=shards)
    return kinesis.describe_stream(StreamName="changes")["StreamDescription"]["StreamARN"]


def _enabled(sim: Simulator, stream_arn: str, **config: str) -> None:
    extra = {"EnableKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": config["precision"]}} \
        if config else {}
    sim.client("dynamodb").enable_kinesis_streaming_destination(TableName="orders", StreamArn=stream_arn, **extra)
    sim.run_for(sim.dynamodb_kinesis.model.status_delay_s)


def _put(sim: Simulator, item_id: str, n: int) -> None:
    sim.client("dynamodb").put_item(TableName="orders", Item={"id": {"S": item_id}, "n": {"N": str(n)}})


def _refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return refused.value.response["Error"]["Code"]


def test_destination_is_enabling_then_active_then_disabling_then_disabled():
    """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_EnableKinesisStreamingDestination.html:
    Enable answers TableName, StreamArn, DestinationStatus and the configuration, and
    DescribeKinesisStreamingDestination tells when streaming is ACTIVE;
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_KinesisDataStreamDestination.html:
    ENABLING, ACTIVE, DISABLING, DISABLED, precision MILLISECOND by default; a change made while
    ENABLING or after Disable writes nothing (modelled: replication starts at ACTIVE)."""
    with Simulator(seed=1) as sim:
        arn = _table_and_stream(sim)
        ddb = sim.client("dynamodb")
        answer = ddb.enable_kinesis_streaming_destination(TableName="orders", StreamArn=arn)
        assert (answer["TableName"], answer["StreamArn"], answer["DestinationStatus"]) == ("orders", arn, "ENABLING")
        assert answer["EnableKinesisStreamingConfiguration"] == {"ApproximateCreationDateTimePrecision": "MILLISECOND"}
        _put(sim, "early", 1)
        sim.run_for(sim.dynamodb_kinesis.model.status_delay_s)
        assert ddb.describe_kinesis_streaming_destination(TableName="orders")["KinesisDataStreamDestinations"] == [
            {"StreamArn": arn, "DestinationStatus": "ACTIVE", "ApproximateCreationDateTimePrecision": "MILLISECOND"}]
        _put(sim, "streamed", 1)
        assert ddb.disable_kinesis_streaming_destination(TableName="orders", StreamArn=arn)[
            "DestinationStatus"] == "DISABLING"
        _put(sim, "late", 1)
        sim.run_for(60)
        assert [d["DestinationStatus"] for d in ddb.describe_kinesis_streaming_destination(
            TableName="orders")["KinesisDataStreamDestinations"]] == ["DISABLED"]
        assert [r.document["dynamodb"]["Keys"]["id"]["S"] for r in sim.dynamodb_kinesis.records] == ["streamed"]


def test_refusals_carry_the_documented_error_codes():
    """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_EnableKinesisStreamingDestination.html,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DisableKinesisStreamingDestination.html:
    ResourceNotFoundException (no such table), ResourceInUseException (the operation conflicts with
    the destination's state);
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html: a table streams to
    one Kinesis data stream, in its own account and Region;
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_KinesisDataStreamDestination.html:
    precision MILLISECOND or MICROSECOND. Messages are the simulator's."""
    with Simulator(seed=1) as sim:
        arn = _table_and_stream(sim)
        ddb = sim.client("dynamodb")
        enable, disable = ddb.enable_kinesis_streaming_destination, ddb.disable_kinesis_streaming_destination
        assert _refused(enable, TableName="nope", StreamArn=arn) == "ResourceNotFoundException"
        assert _refused(ddb.describe_kinesis_streaming_destination, TableName="nope") == "ResourceNotFoundException"
        assert _refused(enable, TableName="orders", StreamArn=arn.replace("changes", "missing")) \
            == "ResourceNotFoundException"
        assert _refused(enable, TableName="orders", StreamArn=arn.replace("us-east-1", "eu-west-1")) \
            == "ValidationException"
        assert _refused(enable, TableName="orders", StreamArn=arn, EnableKinesisStreamingConfiguration={
            "ApproximateCreationDateTimePrecision": "SECOND"}) == "ValidationException"
        assert _refused(disable, TableName="orders", StreamArn=arn) == "ResourceNotFoundException"
        enable(TableName="orders", StreamArn=arn)
        assert _refused(disable, TableName="orders", StreamArn=arn) == "ResourceInUseException"  # still ENABLING
        assert _refused(enable, TableName="orders", StreamArn=arn) == "ResourceInUseException"  # one stream a table


def test_records_have_the_documented_shape_pass_powertools_and_parse_as_change_records():
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html: each change is a
    record holding the time of the change, the item's key and its images before and after,
    eventSource aws:dynamodb, recordFormat application/json and the table's name, read through a
    Lambda event source mapping like any Kinesis record (Powertools' strict KinesisDataStreamModel);
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Record.html: a Time
    to Live deletion carries userIdentity {type Service, principalId dynamodb.amazonaws.com};
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_KinesisDataStreamDestination.html:
    MICROSECOND precision makes ApproximateCreationDateTime epoch microseconds."""
    with Simulator(seed=2) as sim:
        sim.dynamodb_ttl.model.delay_s = (0.0, 0.0)
        arn = _table_and_stream(sim)
        ddb = sim.client("dynamodb")
        ddb.update_time_to_live(TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
        _enabled(sim, arn, precision="MICROSECOND")
        sim.create_function(FunctionName="consumer", Handler="handlers.echo", code_dir=FIXTURES)
        sim.client("lambda").create_event_source_mapping(FunctionName="consumer", EventSourceArn=arn,
                                                         StartingPosition="TRIM_HORIZON")
        _put(sim, "a", 1)
        sim.run_for(1.5)
        ddb.update_item(TableName="orders", Key={"id": {"S": "a"}}, UpdateExpression="SET n = :n, #t = :t",
                        ExpressionAttributeNames={"#t": "ttl"},
                        ExpressionAttributeValues={":n": {"N": "2"}, ":t": {"N": str(int(sim.now.timestamp()))}})
        sim.run_for(1800)  # the TTL sweep deletes the expired item
        events = [json.loads(invocation.payload) for invocation in sim.invocations]
        records = [r for event in events for r in parse(event=event, model=KinesisDataStreamModel).Records]
        documents = [json.loads(r.kinesis.data) for r in records]
        assert [d["eventName"] for d in documents] == ["INSERT", "MODIFY", "REMOVE"]
        assert all(list(d) == ["awsRegion", "eventID", "eventName", "userIdentity", "recordFormat", "tableName",
                               "dynamodb", "eventSource"] for d in documents)
        assert {(d["recordFormat"], d["tableName"], d["eventSource"], d["awsRegion"]) for d in documents} == {
            ("application/json", "orders", "aws:dynamodb", "us-east-1")}
        assert [d["userIdentity"] for d in documents] == [None, None, rules.TTL_IDENTITY]
        assert [sorted(d["dynamodb"]) for d in documents] == [
            ["ApproximateCreationDateTime", "Keys", "NewImage", "SizeBytes"],
            ["ApproximateCreationDateTime", "Keys", "NewImage", "OldImage", "SizeBytes"],
            ["ApproximateCreationDateTime", "Keys", "OldImage", "SizeBytes"]]
        changes = [DynamoDBRecord(d) for d in documents]
        assert changes[1].dynamodb.keys == {"id": "a"}
        assert (changes[1].dynamodb.old_image["n"], changes[1].dynamodb.new_image["n"]) == (1, 2)
        created_us = [d["dynamodb"]["ApproximateCreationDateTime"] for d in documents]
        assert created_us[1] - created_us[0] == 1_500_000  # microseconds, 1.5 s apart
        assert len({r.kinesis.partitionKey for r in records}) == 1


def test_an_items_records_share_a_shard_and_items_spread_over_shards():
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html: the records are
    written to the Kinesis data stream like any producer's, whose partition key picks the shard
    (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html); which partition
    key DynamoDB uses is not documented (modelled: one per item partition key, so an item's records
    stay in one shard)."""
    with Simulator(seed=3) as sim:
        arn = _table_and_stream(sim, shards=4)
        _enabled(sim, arn)
        for n in range(3):
            for item in "abcdefgh":
                _put(sim, item, n)
        sim.run_for(5)
        kinesis = sim.client("kinesis")
        shard_of: dict[str, set[str]] = {}
        for shard in kinesis.list_shards(StreamName="changes")["Shards"]:
            iterator = kinesis.get_shard_iterator(StreamName="changes", ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for record in kinesis.get_records(ShardIterator=iterator)["Records"]:
                item = json.loads(record["Data"])["dynamodb"]["Keys"]["id"]["S"]
                shard_of.setdefault(item, set()).add(shard["ShardId"])
        assert sorted(shard_of) == list("abcdefgh")
        assert all(len(shards) == 1 for shards in shard_of.values())
        assert len({next(iter(s)) for s in shard_of.values()}) > 1


def test_records_can_come_out_of_order_and_twice_and_creation_time_rebuilds_the_order():
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html: "The Kinesis data
    stream records might appear in a different sequence than the item changes occurred. The same
    item notifications might also appear more than once in the stream. You can check the
    ApproximateCreationDateTime attribute to identify the approximate order ... and to identify
    duplicate records" (the delay and the duplicate share are modelled)."""
    with Simulator(seed=4) as sim:
        sim.dynamodb_kinesis.model.delay_s = (0.0, 2.0)
        sim.dynamodb_kinesis.model.duplicate_rate = 0.3
        arn = _table_and_stream(sim)
        _enabled(sim, arn, precision="MICROSECOND")
        for n in range(40):
            _put(sim, "a", n)
            sim.run_for(0.25)
        sim.run_for(5)
        written = [r.document for r in sim.dynamodb_kinesis.records]
        values = [int(d["dynamodb"]["NewImage"]["n"]["N"]) for d in written]
        assert values != sorted(values)  # out of order
        assert len(values) > 40 and sorted(set(values)) == list(range(40))  # duplicates, nothing lost
        rebuilt = {d["dynamodb"]["ApproximateCreationDateTime"]: int(d["dynamodb"]["NewImage"]["n"]["N"])
                   for d in written}
        assert [rebuilt[t] for t in sorted(rebuilt)] == list(range(40))


def test_a_cancelled_transaction_writes_no_record_and_a_committed_one_does():
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html: records capture
    changes to the table's data; a cancelled transaction changes nothing
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html: all
    or nothing)."""
    with Simulator(seed=5) as sim:
        arn = _table_and_stream(sim)
        _enabled(sim, arn)
        ddb = sim.client("dynamodb")
        put = {"Put": {"TableName": "orders", "Item": {"id": {"S": "t"}, "n": {"N": "1"}}}}
        failing = {"ConditionCheck": {"TableName": "orders", "Key": {"id": {"S": "missing"}},
                                      "ConditionExpression": "attribute_exists(id)"}}
        with pytest.raises(ClientError):
            ddb.transact_write_items(TransactItems=[put, failing])
        ddb.transact_write_items(TransactItems=[put])
        sim.run_for(5)
        assert [r.document["eventName"] for r in sim.dynamodb_kinesis.records] == ["INSERT"]
        data = sim.client("kinesis").get_records(ShardIterator=sim.client("kinesis").get_shard_iterator(
            StreamName="changes", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        assert [json.loads(r["Data"])["eventName"] for r in data["Records"]] == ["INSERT"]
