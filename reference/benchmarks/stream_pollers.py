"""How fast the simulator plays Kinesis and DynamoDB Streams event source mappings.

    .venv/bin/python reference/benchmarks/stream_pollers.py

Kinesis: 10,000 records already in a 4-shard stream (PutRecords, 500 per call), mapping
BatchSize 100, a handler that counts its records. DynamoDB: 5,000 PutItem writes to a table with
a NEW_IMAGE stream, BatchSize 100. "simulator" is `sim.run_until_idle()` (reading, batching,
invocations, settlement); "raw" reads the same records with GetShardIterator / GetRecords
through boto3 against moto inside the same simulator. Wall-clock, one run each (not a test).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import freezegun.api

from lambdasim import Simulator

CODE = Path(__file__).resolve().parents[2] / "tests" / "lambdasim" / "fixtures" / "streams"


class _Wall:
    # freezegun replaces module-level references to the real clock; a class attribute is safe.
    now = staticmethod(freezegun.api.real_perf_counter)


def wall() -> float:
    return _Wall.now()


def read_shard(client: Any, iterator: str) -> None:
    """GetRecords in pages of 100 until the shard has nothing more: the raw reads to compare with."""
    while iterator:
        answer = client.get_records(ShardIterator=iterator, Limit=100)
        if not answer["Records"]:
            break
        iterator = answer["NextShardIterator"]


def run_mapping(sim: Simulator, arn: str) -> tuple[float, int]:
    """Map a recording function to the stream and run it dry: (wall seconds, records handled)."""
    sim.create_function(FunctionName="c", Handler="handlers.record_all", code_dir=CODE)
    sim.client("lambda").create_event_source_mapping(FunctionName="c", EventSourceArn=arn,
                                                    StartingPosition="TRIM_HORIZON", BatchSize=100)
    t0 = wall()
    sim.run_until_idle()
    return wall() - t0, sum(p.stats.succeeded for p in sim.pollers.values())


def kinesis(n: int = 10_000, shards: int = 4) -> None:
    with Simulator(seed=1, logs=False, metrics=False) as sim:
        k = sim.client("kinesis")
        k.create_stream(StreamName="bench", ShardCount=shards)
        arn = k.describe_stream(StreamName="bench")["StreamDescription"]["StreamARN"]
        for start in range(0, n, 500):
            k.put_records(StreamName="bench", Records=[
                {"Data": json.dumps({"i": i}).encode(), "PartitionKey": f"p{i}"} for i in range(start, min(n, start + 500))])
        t0 = wall()
        for shard in k.list_shards(StreamName="bench")["Shards"]:
            read_shard(k, k.get_shard_iterator(StreamName="bench", ShardId=shard["ShardId"],
                                               ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        raw = wall() - t0
        simulated, done = run_mapping(sim, arn)
    print(f"Kinesis {n} records / {shards} shards: simulator {simulated:.2f} s ({done / simulated:,.0f} records/s), "
          f"raw GetRecords {raw:.2f} s, ratio {simulated / raw:.1f}x")


def dynamodb(n: int = 5_000) -> None:
    with Simulator(seed=1, logs=False, metrics=False) as sim:
        ddb = sim.client("dynamodb")
        arn = ddb.create_table(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                               AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                               BillingMode="PAY_PER_REQUEST",
                               StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
                               )["TableDescription"]["LatestStreamArn"]
        t0 = wall()
        for i in range(n):
            ddb.put_item(TableName="bench", Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
        writes = wall() - t0
        streams = sim.client("dynamodbstreams")
        t0 = wall()
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        read_shard(streams, streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        raw = wall() - t0
        simulated, done = run_mapping(sim, arn)
    print(f"DynamoDB stream {n} writes (PutItem {writes:.2f} s): simulator {simulated:.2f} s "
          f"({done / simulated:,.0f} records/s), raw GetRecords {raw:.2f} s, ratio {simulated / raw:.1f}x")


if __name__ == "__main__":
    kinesis(*(int(a) for a in sys.argv[1:2]))
    dynamodb()
