"""Kinesis Data Streams for DynamoDB, next to DynamoDB Streams: the same changes, in an order the
reader has to rebuild.

A table can stream its item changes to a Kinesis data stream
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html): kept up to a year,
read by more consumers, but "the Kinesis data stream records might appear in a different
sequence than the item changes occurred. The same item notifications might also appear more than
once in the stream. You can check the ApproximateCreationDateTime attribute to identify the
approximate order that the item modifications occurred, and to identify duplicate records."

``run_changes`` writes orders into a table streaming to a Kinesis stream (the simulator plays the
late and duplicated records), reads every record back, and projects each order's latest state two
ways: the last record read wins (right with DynamoDB Streams' per-item order, wrong here), and the
record with the latest ApproximateCreationDateTime wins (``latest_changes``). Each is compared
with the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from random import Random
from typing import Any

TABLE, STREAM = "orders", "order-changes"


@dataclass
class ChangesRun:
    precision: str
    writes: int = 0
    records: int = 0  #: records read from the Kinesis stream
    repeated: int = 0  #: records of an item change read before (same item, same creation time)
    behind: int = 0  #: records read after a later change of the same item
    orders: int = 0  #: orders in the table at the end
    wrong_last_read: int = 0  #: orders whose last record read is not the table's state
    wrong_rebuilt: int = 0  #: orders whose latest change by creation time is not the table's state


def _order_key(document: dict[str, Any]) -> str:
    return document["dynamodb"]["Keys"]["order_id"]["S"]


# --8<-- [start:rebuild]
def latest_changes(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each order's latest change, whatever order the records came in: the one with the greatest
    ApproximateCreationDateTime. A duplicate carries the same time as its first copy, so it
    changes nothing; two changes within one tick of the precision cannot be told apart (ask for
    MICROSECOND)."""
    latest: dict[str, dict[str, Any]] = {}
    for document in documents:
        order = _order_key(document)
        seen = latest.get(order)
        if seen is None or document["dynamodb"]["ApproximateCreationDateTime"] > \
                seen["dynamodb"]["ApproximateCreationDateTime"]:
            latest[order] = document
    return latest
# --8<-- [end:rebuild]


def _state(document: dict[str, Any]) -> dict[str, Any] | None:
    """The order as the change left it (None: deleted)."""
    return document["dynamodb"].get("NewImage")


def run_changes(*, seed: int = 0, orders: int = 6, writes: int = 120, gap_s: float = 0.02,
                duplicate_rate: float = 0.1, precision: str = "MICROSECOND") -> ChangesRun:
    """Write ``writes`` changes (puts, and a delete in ten) to ``orders`` orders, one every
    ``gap_s`` virtual seconds, into a table whose Kinesis streaming destination has
    ``precision``; the simulator writes ``duplicate_rate`` of the records twice. Read the
    stream back and audit both projections against the table."""
    from lambdasim import Simulator

    run = ChangesRun(precision)
    rng = Random(seed)
    with Simulator(seed=seed, logs=False, metrics=False, alarms=False, dynamodb_ttl=False) as sim:
        sim.dynamodb_kinesis.model.duplicate_rate = duplicate_rate
        ddb, kinesis = sim.client("dynamodb"), sim.client("kinesis")
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}])
        kinesis.create_stream(StreamName=STREAM, ShardCount=2)
        stream_arn = kinesis.describe_stream(StreamName=STREAM)["StreamDescription"]["StreamARN"]
        # --8<-- [start:enable]
        ddb.enable_kinesis_streaming_destination(
            TableName=TABLE, StreamArn=stream_arn,
            EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": precision})
        # --8<-- [end:enable]
        while ddb.describe_kinesis_streaming_destination(TableName=TABLE)[
                "KinesisDataStreamDestinations"][0]["DestinationStatus"] != "ACTIVE":
            sim.run_for(5)
        for n in range(writes):
            order = f"o-{rng.randrange(orders)}"
            if rng.random() < 0.1:
                ddb.delete_item(TableName=TABLE, Key={"order_id": {"S": order}})
            else:
                ddb.put_item(TableName=TABLE, Item={"order_id": {"S": order}, "version": {"N": str(n)}})
            run.writes += 1
            sim.run_for(gap_s)
        sim.run_for(5)
        documents = _read_all(kinesis)
        table = {item["order_id"]["S"]: item for item in ddb.scan(TableName=TABLE)["Items"]}
    run.records = len(documents)
    newest: dict[str, int] = {}
    seen: set[tuple[str, int]] = set()
    for document in documents:
        order, created = _order_key(document), document["dynamodb"]["ApproximateCreationDateTime"]
        run.repeated += (order, created) in seen
        run.behind += created < newest.get(order, created)
        seen.add((order, created))
        newest[order] = max(newest.get(order, created), created)
    last_read = {_order_key(d): d for d in documents}
    rebuilt = latest_changes(documents)
    run.orders = len(table)
    run.wrong_last_read = sum(_state(d) != table.get(order) for order, d in last_read.items())
    run.wrong_rebuilt = sum(_state(d) != table.get(order) for order, d in rebuilt.items())
    return run


def _read_all(kinesis: Any) -> list[dict[str, Any]]:
    """Every record of the stream, shard by shard, in each shard's order (a consumer's view)."""
    documents = []
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            documents += [json.loads(record["Data"]) for record in answer["Records"]]
            iterator = answer.get("NextShardIterator") if answer["Records"] else None
    return documents
