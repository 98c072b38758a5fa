"""Kinesis Data Streams throughput ceilings the simulator enforces on moto's streams
(lambdasim/rules/kinesis.py, lambdasim/kinesis_throughput.py, lambdasim/_moto_patches/kinesis.py,
and the stream poller's share of a shard's reads, lambdasim/pollers/streams.py).

Each test's docstring names the AWS documentation page whose rule it pins (the site's fidelity
table is built from them).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdasim import KinesisLimits, Simulator
from lambdasim.rules import kinesis as rules
from lambdasim.rules.cold_start import NO_PLATFORM_INIT


FIXTURES = Path(__file__).parent / "fixtures" / "streams"
ACCOUNT = "123456789012"


@pytest.fixture
def sim():
    with Simulator(seed=3, init_model=NO_PLATFORM_INIT) as simulator:
        yield simulator


@pytest.fixture
def kinesis(sim):
    # No SDK retries: a retry's backoff would sleep on the virtual clock and let the call through.
    return sim.client("kinesis", config=Config(retries={"total_max_attempts": 1}))


def _stream(kinesis, name: str = "events", shards: int = 1, on_demand: bool = False) -> str:
    if on_demand:
        kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    else:
        kinesis.create_stream(StreamName=name, ShardCount=shards)
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def _put_many(kinesis, count: int, key: str = "hot", stream: str = "events", data: bytes = b"x") -> list[dict]:
    results: list[dict] = []
    for start in range(0, count, 500):
        entries = [{"Data": data, "PartitionKey": key} for _ in range(min(500, count - start))]
        results += kinesis.put_records(StreamName=stream, Records=entries)["Records"]
    return results


def _refused(call) -> ClientError:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value


def test_a_shard_accepts_1000_records_per_second_and_refuses_the_next_with_awss_error(sim, kinesis):
    """https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html : each shard
    supports writes of up to 1,000 records per second; over it, PutRecord answers
    ProvisionedThroughputExceededException (HTTP 400) whose message names the shard, stream and
    account (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html,
    API_PutRecords.html's example), and the record is not written. A second later the shard
    accepts again (a rolling second)."""
    _stream(kinesis)
    assert all("SequenceNumber" in r for r in _put_many(kinesis, 1000))
    error = _refused(lambda: kinesis.put_record(StreamName="events", Data=b"x", PartitionKey="hot"))
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error.response["Error"]["Message"] == (
        f"Rate exceeded for shard shardId-000000000000 in stream events under account {ACCOUNT}.")
    (throttle,) = sim.kinesis.throttles
    assert (throttle.operation, throttle.stream_name, throttle.shard_id, throttle.limit, throttle.at) == (
        "PutRecord", "events", "shardId-000000000000", "shard-write-records", sim.now)

    sim.run_for(0.999)
    _refused(lambda: kinesis.put_record(StreamName="events", Data=b"x", PartitionKey="hot"))
    sim.run_for(0.001)
    assert kinesis.put_record(StreamName="events", Data=b"x", PartitionKey="hot")["ShardId"] == "shardId-000000000000"
    iterator = kinesis.get_shard_iterator(StreamName="events", ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert len(kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]) == 1001


def test_a_shard_accepts_1_mib_per_second_counting_data_and_partition_key(sim, kinesis):
    """https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateStream.html : each shard
    supports writes up to a maximum data write total of 1 MiB per second; a record counts its data
    blob plus its partition key
    (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsRequestEntry.html)."""
    _stream(kinesis)
    blob = b"x" * (100 * 1024 - 1)  # with the one-byte key: 100 KiB a record
    for _ in range(10):
        kinesis.put_record(StreamName="events", Data=blob, PartitionKey="k")
    _refused(lambda: kinesis.put_record(StreamName="events", Data=blob, PartitionKey="k"))
    assert sim.kinesis.throttles[-1].limit == "shard-write-bytes"
    kinesis.put_record(StreamName="events", Data=b"x" * (24 * 1024 - 1), PartitionKey="k")  # exactly 1 MiB in all


def test_put_records_refuses_records_one_by_one_with_error_code_and_message(sim, kinesis):
    """https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html : a PutRecords
    request can partly fail; each refused record answers ErrorCode
    ProvisionedThroughputExceededException and an ErrorMessage with the account, stream and shard
    (API_PutRecordsResultEntry.html), FailedRecordCount counts them, the other records are
    written, and the answer keeps the request's order. The MD5 hash of the partition key picks
    the shard, so only the full shard refuses."""
    _stream(kinesis, shards=2)
    (hot,) = {r["ShardId"] for r in _put_many(kinesis, 1000, key="hot")}
    answer = kinesis.put_records(StreamName="events", Records=[
        {"Data": b"1", "PartitionKey": "hot"}, {"Data": b"2", "PartitionKey": "k"},
        {"Data": b"3", "PartitionKey": "hot"}])
    assert answer["FailedRecordCount"] == 2
    first, second, third = answer["Records"]
    assert first == third == {"ErrorCode": "ProvisionedThroughputExceededException",
                              "ErrorMessage": f"Rate exceeded for shard {hot} in stream events under account {ACCOUNT}."}
    assert second["ShardId"] != hot and "ErrorCode" not in second
    assert [(t.operation, t.shard_id) for t in sim.kinesis.throttles] == [("PutRecords", hot)] * 2
    iterator = kinesis.get_shard_iterator(StreamName="events", ShardId=hot, ShardIteratorType="TRIM_HORIZON")
    assert len(kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=10_000)["Records"]) == 1000


def test_a_hot_partition_key_is_throttled_while_the_stream_is_under_its_capacity(sim, kinesis):
    """https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html : the write
    ceiling is per shard: a stream of 4 shards takes 4,000 records per second in all, but every
    record of one partition key goes to one shard (the MD5 of the key,
    https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html), which refuses past
    its own 1,000."""
    _stream(kinesis, shards=4)
    results = _put_many(kinesis, 1500, key="hot")
    assert sum("ErrorCode" in r for r in results) == 500
    assert {t.limit for t in sim.kinesis.throttles} == {"shard-write-records"}
    assert len({r["ShardId"] for r in results if "ShardId" in r}) == 1


def test_an_on_demand_stream_has_its_own_write_ceiling_and_the_shard_ceilings_still_apply(sim, kinesis):
    """https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html : a new
    on-demand stream has 4 MB/s of write throughput by default (the simulator adds 4,000 records
    per second, a modelling choice), and
    https://docs.aws.amazon.com/streams/latest/dev/working-with-streams.html : a shard's 1 MB/s
    and 1,000 records/s hold in both on-demand and provisioned modes."""
    assert (rules.ON_DEMAND_WRITE_BYTES_PER_S, rules.ON_DEMAND_WRITE_RECORDS_PER_S) == (4 * 1024 * 1024, 4000)
    _stream(kinesis, on_demand=True)
    assert sum("ErrorCode" in r for r in _put_many(kinesis, 1001, key="hot")) == 1
    assert sim.kinesis.throttles[-1].limit == "shard-write-records"

    sim.run_for(1)
    sim.kinesis.limits = rules.KinesisLimits(on_demand_write_records_per_s=10)
    answer = kinesis.put_records(StreamName="events", Records=[
        {"Data": b"x", "PartitionKey": f"key-{i}"} for i in range(11)])
    assert answer["FailedRecordCount"] == 1
    assert answer["Records"][-1]["ErrorMessage"] == f"Rate exceeded for stream events under account {ACCOUNT}."
    assert sim.kinesis.throttles[-1].limit == "stream-write-records"


def test_get_records_takes_5_calls_per_shard_per_second(sim, kinesis):
    """https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html : each shard
    supports up to five read transactions (GetRecords calls) per second; the sixth is refused with
    ProvisionedThroughputExceededException
    (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html). Another shard
    has its own five."""
    _stream(kinesis, shards=2)
    iterators = {shard: kinesis.get_shard_iterator(StreamName="events", ShardId=shard,
                                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                 for shard in ("shardId-000000000000", "shardId-000000000001")}
    for _ in range(5):
        kinesis.get_records(ShardIterator=iterators["shardId-000000000000"])
    error = _refused(lambda: kinesis.get_records(ShardIterator=iterators["shardId-000000000000"]))
    assert error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert (sim.kinesis.throttles[-1].operation, sim.kinesis.throttles[-1].limit) == ("GetRecords", "shard-read-calls")
    kinesis.get_records(ShardIterator=iterators["shardId-000000000001"])
    sim.run_for(1)
    kinesis.get_records(ShardIterator=iterators["shardId-000000000000"])


def test_get_records_takes_2_mib_per_shard_per_second_and_a_big_read_counts_longer(sim, kinesis):
    """https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html : each shard
    can read up to 2 MiB per second; a call that returned more counts for as long as the shard
    needs to deliver it (the page's example: after a 10 MiB answer the calls of the next 5
    seconds fail), so 3 MiB keeps the shard refusing for 1.5 seconds."""
    _stream(kinesis)
    for _ in range(3):  # 1 MiB a second: the write ceiling
        kinesis.put_record(StreamName="events", Data=b"x" * (rules.MIB - 1), PartitionKey="k")
        sim.run_for(1)
    iterator = kinesis.get_shard_iterator(StreamName="events", ShardId="shardId-000000000000",
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    answer = kinesis.get_records(ShardIterator=iterator)
    assert len(answer["Records"]) == 3
    following = answer["NextShardIterator"]
    sim.run_for(1.499)
    _refused(lambda: kinesis.get_records(ShardIterator=following))
    assert sim.kinesis.throttles[-1].limit == "shard-read-bytes"
    sim.run_for(0.001)
    assert kinesis.get_records(ShardIterator=following)["Records"] == []


def test_the_lambda_poller_shares_the_shard_read_ceiling_and_still_delivers_every_record(sim, kinesis):
    """https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html : with a standard iterator
    the event source mapping shares the shard's read throughput with the other consumers, and
    Lambda polls each shard at a base rate of once per second. A poll refused because another
    consumer used the shard's 5 GetRecords calls of the second is tried again a second later,
    from the same position: every record reaches the function, in order."""
    arn = _stream(kinesis)
    sim.create_function(FunctionName="consumer", Handler="handlers.record_all", code_dir=FIXTURES)
    uuid = sim.client("lambda").create_event_source_mapping(
        FunctionName="consumer", EventSourceArn=arn, StartingPosition="TRIM_HORIZON")["UUID"]
    sim.run_for(1)
    iterator = kinesis.get_shard_iterator(StreamName="events", ShardId="shardId-000000000000",
                                          ShardIteratorType="LATEST")["ShardIterator"]
    for _ in range(5):  # another consumer reads the shard five times this second
        kinesis.get_records(ShardIterator=iterator)
    written_at = sim.now
    for n in range(3):
        kinesis.put_record(StreamName="events", Data=json.dumps({"n": n}).encode(), PartitionKey="k")
    sim.run_until_idle()
    poller = sim.poller(uuid)
    assert poller.stats.read_throttles == 1
    assert [t.operation for t in sim.kinesis.throttles] == ["GetRecords"]
    (invocation,) = [i for i in sim.invocations if i.function_name == "consumer"]
    assert (invocation.start - written_at).total_seconds() == pytest.approx(rules.LAMBDA_POLL_INTERVAL_S)
    assert json.loads(invocation.payload) == {"n": 3}
    (batch,) = poller.batches
    assert [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in batch.records] == [0, 1, 2]


def test_enforcement_can_be_turned_off():
    """https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html : the ceilings
    are AWS's defaults; `Simulator(kinesis_limits=KinesisLimits(enforce=False))` gives moto's own
    behaviour back (every write and read accepted, nothing recorded), for lessons about something
    else."""
    with Simulator(seed=3, kinesis_limits=KinesisLimits(enforce=False)) as sim:
        kinesis = sim.client("kinesis", config=Config(retries={"total_max_attempts": 1}))
        _stream(kinesis)
        assert not any("ErrorCode" in r for r in _put_many(kinesis, 1500))
        assert sim.kinesis.throttles == []
    with pytest.raises(ValueError):
        rules.KinesisLimits(shard_write_records_per_s=0)
