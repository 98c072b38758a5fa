"""DynamoDB Streams shard lineage played by the simulator (`Simulator.roll_stream_shard`,
_moto_patches/dynamodb_stream_shards.py, pollers/streams.py).

Each test's docstring starts with the AWS documentation page whose rule it pins.
"""

from __future__ import annotations

import json
from pathlib import Path

from lambdasim import Simulator

FIXTURES = Path(__file__).parent / "fixtures" / "streams"


def test_a_parent_shards_records_are_processed_before_its_childs():
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html#Streams.Processing:
    shards are created automatically and "applications must always process a parent shard before
    it processes a child shard"; https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_Shard.html:
    the child names its ParentShardId, the closed parent has an EndingSequenceNumber
    (API_streams_SequenceNumberRange.html). A mapping reading when the shard rolls over, and one
    created after it, both invoke every parent record (one a batch, each taking a second) before
    the first child record, in the item's order."""
    with Simulator(seed=1) as sim:
        ddb = sim.client("dynamodb")
        ddb.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
        lam = sim.client("lambda")
        for name in ("before", "after"):
            sim.create_function(FunctionName=name, Handler="handlers.echo", code_dir=FIXTURES)
            sim.set_duration(name, 1000)

        def put(n: int) -> None:
            ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}, "n": {"N": str(n)}})

        lam.create_event_source_mapping(FunctionName="before", EventSourceArn=arn, StartingPosition="TRIM_HORIZON",
                                        BatchSize=1)
        for n in range(3):
            put(n)
        parent = sim.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        child = sim.roll_stream_shard("orders")
        for n in range(3, 6):
            put(n)
        lam.create_event_source_mapping(FunctionName="after", EventSourceArn=arn, StartingPosition="TRIM_HORIZON",
                                        BatchSize=1)
        assert sim.run_until_idle()
        shards = sim.client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        assert [s["ShardId"] for s in shards] == [parent, child]
        assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"] and shards[1]["ParentShardId"] == parent
        assert "EndingSequenceNumber" not in shards[1]["SequenceNumberRange"]
        for name in ("before", "after"):
            runs = [r for r in sim.invocations if r.function_name == name]
            values = [int(rec["dynamodb"]["NewImage"]["n"]["N"]) for r in runs
                      for rec in json.loads(r.payload)["Records"]]
            assert values == list(range(6))
            last_parent_end = runs[2].start_us + runs[2].duration_ms * 1000
            assert runs[3].start_us >= last_parent_end  # the child waits for the parent's last batch


def test_a_closed_shard_past_the_retention_reads_as_empty_and_ended():
    """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html:
    records are trimmed after 24 hours, and a null NextShardIterator means the shard is closed
    and will return no more data; TRIM_HORIZON starts at the oldest record left."""
    with Simulator(seed=2, logs=False, metrics=False, alarms=False, service_metrics=False) as sim:
        ddb, streams = sim.client("dynamodb"), sim.client("dynamodbstreams")
        ddb.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
        ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}})
        parent = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        sim.roll_stream_shard("orders")

        def read(shard_id: str) -> dict:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id,
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            return streams.get_records(ShardIterator=iterator)

        answer = read(parent)
        assert len(answer["Records"]) == 1 and "NextShardIterator" not in answer
        sim.run_for(25 * 3600)
        answer = read(parent)
        assert answer["Records"] == [] and "NextShardIterator" not in answer
