"""Kinesis shard arithmetic (`serverless_course.scaling.shards`) and the simulator agreeing with
it: an even spread of keys stays under each shard's 1,000 records/s, one hot key is refused past
it while the stream as a whole is under its capacity, and big records hit the 1 MiB/s ceiling
first (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html)."""

from __future__ import annotations

import pytest

from serverless_course.scaling.shards import (
    MIB,
    hash_key,
    keys,
    predicted_per_shard,
    run_load,
    shard_of,
    shards_needed,
)

FOUR_SHARDS = [(f"shardId-00000000000{n}", n * 2**126, (n + 1) * 2**126 - 1) for n in range(4)]


def test_shards_needed_takes_the_larger_of_the_two_ceilings():
    assert shards_needed(2_000, 1024) == 2  # records bind: 2,000 / 1,000
    assert shards_needed(2_000, 4096) == 8  # bytes bind: 8 MiB/s / 1 MiB/s
    assert shards_needed(1_000, 1024) == 1 and shards_needed(1_001, 1024) == 2
    assert shards_needed(0, 1024) == 1
    assert shards_needed(1, MIB) == 1 and shards_needed(2, MIB) == 2
    with pytest.raises(ValueError):
        shards_needed(10, 0)


def test_a_key_maps_to_the_shard_whose_range_holds_its_md5():
    h = hash_key("customer-0")
    assert 0 <= h < 2**128
    assert shard_of("customer-0", FOUR_SHARDS) == FOUR_SHARDS[h // 2**126][0]
    load = predicted_per_shard(keys(1), 2_000, FOUR_SHARDS)
    assert sorted(load.values()) == [0, 0, 0, 2_000]
    assert sum(predicted_per_shard(keys(1_000), 2_000, FOUR_SHARDS).values()) == pytest.approx(2_000)


def test_one_hot_key_is_refused_past_1000_records_per_second_on_its_shard():
    run = run_load(shards=4, records_per_s=2_000, seconds=2, distinct_keys=1)
    (hot,) = [n for n in range(4) if run.offered[:, n].sum()]
    assert run.accepted[:, hot].tolist() == [1_000, 1_000]
    assert run.refused[:, hot].tolist() == [1_000, 1_000]
    assert run.error_codes == {"ProvisionedThroughputExceededException": 2_000}
    assert run.limits == {"shard-write-records": 2_000}
    assert run.refused_share == 0.5


def test_many_keys_spread_the_same_load_and_nothing_is_refused():
    run = run_load(shards=4, records_per_s=2_000, seconds=1, distinct_keys=1_000)
    assert run.refused.sum() == 0
    predicted = predicted_per_shard(keys(1_000), 2_000, run.ranges)
    assert run.accepted[0].tolist() == pytest.approx([predicted[s] for s in run.shard_ids], abs=1)
    assert run.accepted.max() < 600


def test_big_records_hit_the_bytes_ceiling_first():
    run = run_load(shards=4, records_per_s=2_000, seconds=1, distinct_keys=1_000, record_bytes=4096)
    assert run.limits == {"shard-write-bytes": int(run.refused.sum())}
    assert run.accepted[0].tolist() == [256] * 4  # 1 MiB / 4 KiB
    assert run.accepted_bytes.max() == MIB
