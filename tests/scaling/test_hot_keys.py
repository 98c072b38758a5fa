"""The hot-key experiment (`serverless_course.scaling.hot_keys.run_hot_key`): one partition key
throttles on its partition while the table is under its provisioned throughput, and a suffix
spread over ten keys removes the throttles
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-sharding.html)."""

from __future__ import annotations

import numpy as np

from serverless_course.scaling.hot_keys import DAY, partition_key, run_hot_key


def test_the_suffix_spreads_the_writes_round_robin():
    assert partition_key(7, 1) == DAY
    assert [partition_key(n, 3) for n in range(4)] == [f"{DAY}#0", f"{DAY}#1", f"{DAY}#2", f"{DAY}#0"]


def test_one_key_throttles_on_its_partition_and_ten_shards_do_not():
    hot = run_hot_key(shards=1, writes_per_s=150, seconds=3)  # 1,500 WCU a second of 3,000
    assert hot.partitions == 4 and hot.writes == 450
    (busy,) = np.flatnonzero(hot.accepted.sum(axis=0))  # one partition takes every write
    # Its one-second bucket starts full (1,000 units): 2 s of 1,500 units a second empty it,
    # then it serves 1,000 units (100 writes) a second and refuses the other 50.
    assert hot.throttled[:2].sum() <= 1
    assert hot.accepted[2, busy] == 100 and hot.throttled[2, busy] == 50
    assert (hot.accepted.sum(axis=1) * hot.units_per_write <= hot.table_write_units).all()

    sharded = run_hot_key(shards=10, writes_per_s=150, seconds=3)
    assert sharded.throttled_total == 0 and sharded.writes == 450
    assert (sharded.accepted > 0).all()  # every partition takes some of the writes
    assert sharded.units_requested().max() <= 1000
    assert sum(len(keys) for keys in sharded.keys_on.values()) == 10
