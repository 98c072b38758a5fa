"""The adapter's faster stream reads answer exactly what moto's own code answers.

Kinesis GetRecords finds a shard's records by key instead of walking the shard; DynamoDB Streams
GetRecords serialises each stream record once for all its readers, and the 24-hour trim point
is counted on from the last call's (`_moto_patches.kinesis`, `_moto_patches.dynamodb_streams`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from moto.kinesis.models import Shard
from moto.kinesis.utils import compose_shard_iterator

from lambdasim import Simulator
from lambdasim._moto_patches import dynamodb_streams as ddb_patch
from lambdasim._moto_patches import kinesis as kinesis_patch
from lambdasim.rules import dynamodb_streams as ddb_rules


def _moto_read(shard: Shard, after: str, limit: int | None) -> tuple[str, list, int]:
    records, last, behind = shard.get_records(after, limit)
    return compose_shard_iterator("s", shard, last), records, behind


def test_kinesis_reads_by_key_answer_what_moto_walks_to() -> None:
    shard = Shard(0, 0, 2**128 - 1)
    for i in range(5):
        shard.put_record(f"k{i}", "ZGF0YQ==", None)
        shard.records[i + 1].created_at = 1000.0 + 0.25 * i  # millis behind latest differ by record
    for after in ("-1", "0", "2", "4", "5", "7"):
        for limit in (None, 1, 2, 10):
            assert kinesis_patch._read("s", shard, after, limit) == _moto_read(shard, after, limit), (after, limit)
    assert kinesis_patch._last_key(shard) == shard.get_max_sequence_number() == 5
    assert kinesis_patch._last_key(Shard(1, 0, 1)) == 0


def test_kinesis_reads_leave_keys_other_than_1_to_n_to_moto() -> None:
    shard = Shard(0, 0, 2**128 - 1)
    for i in range(3):
        shard.put_record(f"k{i}", "ZGF0YQ==", None)
    del shard.records[1]
    assert kinesis_patch._read("s", shard, "0", None) is None
    assert kinesis_patch._read("s", Shard(1, 0, 1), "0", 0) is None  # below Limit's minimum: moto's walk


def _shard_at(hours_ago: list[float]) -> SimpleNamespace:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    items = [SimpleNamespace(record={"dynamodb": {"ApproximateCreationDateTime": now - timedelta(hours=h)}})
             for h in hours_ago]
    return SimpleNamespace(items=items, starting_sequence_number=100)


def _full_count(shard: SimpleNamespace) -> int:
    created = [i.record["dynamodb"]["ApproximateCreationDateTime"].timestamp() for i in shard.items]
    return ddb_rules.trim_index(created, datetime.now(timezone.utc).replace(tzinfo=None).timestamp())


def test_the_trim_point_counted_on_equals_the_count_from_the_first_record() -> None:
    shard = _shard_at([30, 26, 20, 25, 1])  # a handler's write can carry an earlier time
    assert ddb_patch._trim_point(shard) == 100 + _full_count(shard) == 102
    shard.items += _shard_at([27]).items  # older than the day, behind a record still kept
    assert ddb_patch._trim_point(shard) == 100 + _full_count(shard) == 102
    counted, at = shard.__dict__[ddb_patch._TRIM_ATTR]
    shard.__dict__[ddb_patch._TRIM_ATTR] = (4, at + 3600)  # counted at a later time: counted again
    assert ddb_patch._trim_point(shard) == 102


@pytest.fixture(scope="module")
def stream() -> dict:
    with Simulator(seed=3, logs=False, metrics=False) as sim:
        ddb = sim.client("dynamodb")
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST",
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        every_type = {"s": {"S": "é x"}, "n": {"N": "-1.50"}, "b": {"B": b"\x00\xff"}, "ss": {"SS": ["a", "b"]},
                      "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"\x01", b"\x02"]}, "null": {"NULL": True},
                      "no": {"BOOL": False}, "l": {"L": [{"S": "x"}, {"M": {"y": {"N": "0"}}}]},
                      "m": {"M": {"deep": {"L": [{"BOOL": True}]}}}}
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, **every_type})
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "2"}})
        ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}})
        streams = sim.client("dynamodbstreams")
        arn = ddb.describe_table(TableName="t")["Table"]["LatestStreamArn"]
        shard_id = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        bodies: list[bytes] = []
        streams.meta.events.register("before-parse.dynamodb-streams.GetRecords",
                                     lambda response_dict, **_: bodies.append(response_dict["body"]))

        def read() -> dict:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id,
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            streams.get_records(ShardIterator=iterator)
            return json.loads(bodies[-1])

        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

        patched = DynamoDBStreamsHandler.get_records
        DynamoDBStreamsHandler.get_records = patched.__wrapped__  # moto's own serialiser, every member walked
        try:
            by_moto = read()
        finally:
            DynamoDBStreamsHandler.get_records = patched
        yield {"moto": by_moto, "first": read(), "again": read(), "bodies": bodies}


def test_stream_records_serialised_once_answer_moto_s_bytes(stream: dict) -> None:
    assert [r["eventName"] for r in stream["moto"]["Records"]] == ["INSERT", "MODIFY", "REMOVE"]
    for answer in ("first", "again"):
        assert stream[answer]["Records"] == stream["moto"]["Records"]
    # Byte for byte: the answers differ only in their new iterators (moto draws random ids).
    texts = [body.decode().split('"NextShardIterator"')[0] for body in stream["bodies"]]
    assert texts[0] == texts[1] == texts[2]
