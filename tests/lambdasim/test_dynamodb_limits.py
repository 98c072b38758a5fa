"""Conformance: DynamoDB's throughput ceilings and capacity units (lambdasim/rules/dynamodb.py,
lambdasim/dynamodb_capacity.py, lambdasim/_moto_patches/dynamodb.py; read-write-operations.html,
CapacityUnitCalculations.html, provisioned-capacity-mode.html, on-demand-capacity-mode.html,
burst-adaptive-capacity.html, bp-partition-key-design.html, API_ThrottlingReason.html).

Scenarios stay small: items of 10 KB (10 write units) reach the ceilings in a few hundred calls,
and every client here makes one attempt, so each refusal is seen as the caller sees it.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdasim import DynamoDBLimits, Simulator
from lambdasim.rules import dynamodb as ddb

ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
TEN_KB = "x" * (10 * 1024 - 40)  # with its key and names, an item of at most 10 KB: 10 write units
HUNDRED_KB = "x" * (100 * 1024 - 40)  # 100 write units


def _table(name: str, write_units: int | None = None, read_units: int = 1, sort_key: bool = False):
    client = boto3.client("dynamodb", config=ONE_ATTEMPT)
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort_key:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "S"})
    mode = {"BillingMode": "PAY_PER_REQUEST"} if write_units is None else {
        "ProvisionedThroughput": {"ReadCapacityUnits": read_units, "WriteCapacityUnits": write_units}}
    client.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attributes, **mode)
    return client


def _put(client, table: str, key: str, payload: str = TEN_KB, **kwargs):
    return client.put_item(TableName=table, Item={"pk": {"S": key}, "d": {"S": payload}}, **kwargs)


def _refused(client, table: str, key: str) -> dict:
    with pytest.raises(ClientError) as caught:
        _put(client, table, key)
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    (reason,) = caught.value.response["ThrottlingReasons"]
    return reason


def _keys_per_partition(partitions: int, per_partition: int) -> list[str]:
    """Keys spread evenly over the modelled partitions."""
    found: dict[int, list[str]] = {index: [] for index in range(partitions)}
    n = 0
    while any(len(keys) < per_partition for keys in found.values()):
        key = f"k{n}"
        index = ddb.partition_of({"S": key}, partitions)
        if len(found[index]) < per_partition:
            found[index].append(key)
        n += 1
    return [key for keys in found.values() for key in keys]


def test_item_sizes_and_capacity_units_follow_aws_rounding():
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
    and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html:
    an item's size is its names' and values' bytes (a number 1
    byte per two significant digits + 1, a List or Map 3 bytes + 1 per element); a write unit
    is 1 KB, a read unit 4 KB, rounded up; an eventually consistent read costs half, a
    transactional read or write double; a Query adds the sizes up before rounding once."""
    assert ddb.item_size({"id": {"S": "héllo"}}) == 2 + 6
    assert ddb.item_size({"n": {"N": "-00123.4500"}}) == 1 + 3 + 1  # 12345: 3 bytes + 1
    assert ddb.item_size({"l": {"L": [{"BOOL": True}, {"NULL": True}]}}) == 1 + 3 + 2 * (1 + 1)
    assert ddb.item_size({"m": {"M": {"a": {"S": "b"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert ddb.write_units(3 * 1024) == 3 and ddb.write_units(3 * 1024 + 1) == 4
    assert ddb.write_units(500, transactional=True) == 2
    assert ddb.read_units(3500, "strong") == 1 and ddb.read_units(3500, "eventual") == 0.5
    assert ddb.read_units(8 * 1024, "transactional") == 4
    assert ddb.read_units(0, "strong") == 1  # an item not found still costs the minimum
    assert ddb.query_read_units([1500, 1500, 1500], "strong") == 2  # 4.5 KB, rounded once
    assert ddb.partition_count(3000, 1000) == 2 and ddb.partition_count(1, 1) == 1


def test_consumed_capacity_is_returned_as_computed_for_each_operation(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html:
    ReturnConsumedCapacity answers the units charged: a 3 KB item costs 3 write units to put,
    0.5 read unit to read eventually consistent, 1 strongly consistent, 2 in a transaction
    (which writes it for 6); PutItem over a larger item costs the larger size; BatchWriteItem
    charges each item on its own (moto answered 1.0 and 0.5 for everything)."""
    client = _table("sizes", write_units=100, read_units=100)
    three_kb = "y" * (3 * 1024 - 10)
    assert _put(client, "sizes", "a", three_kb, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"] == {
        "TableName": "sizes", "CapacityUnits": 3.0}
    key = {"pk": {"S": "a"}}
    assert client.get_item(TableName="sizes", Key=key, ReturnConsumedCapacity="TOTAL")[
        "ConsumedCapacity"]["CapacityUnits"] == 0.5
    assert client.get_item(TableName="sizes", Key=key, ConsistentRead=True, ReturnConsumedCapacity="INDEXES")[
        "ConsumedCapacity"] == {"TableName": "sizes", "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}
    assert client.transact_get_items(TransactItems=[{"Get": {"TableName": "sizes", "Key": key}}],
                                     ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"] == [
        {"TableName": "sizes", "CapacityUnits": 2.0}]
    assert client.transact_write_items(TransactItems=[{"Put": {"TableName": "sizes", "Item": {
        "pk": {"S": "b"}, "d": {"S": three_kb}}}}], ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"] == [
        {"TableName": "sizes", "CapacityUnits": 6.0}]
    assert _put(client, "sizes", "a", "small", ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"][
        "CapacityUnits"] == 3.0  # replaces a 3 KB item
    batch = client.batch_write_item(RequestItems={"sizes": [
        {"PutRequest": {"Item": {"pk": {"S": "c"}, "d": {"S": three_kb}}}},
        {"PutRequest": {"Item": {"pk": {"S": "d"}}}}]}, ReturnConsumedCapacity="TOTAL")
    assert batch["ConsumedCapacity"] == [{"TableName": "sizes", "CapacityUnits": 4.0}]
    assert sim.dynamodb.consumed[("sizes", "write")] == 3 + 6 + 3 + 4


def test_a_provisioned_table_serves_its_rate_plus_300_seconds_of_burst_then_throttles(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html:
    DynamoDB retains up to 300 seconds of unused capacity (burst capacity); a table then serves its
    ProvisionedThroughput (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/provisioned-capacity-mode.html)
    and refuses the rest with ProvisionedThroughputExceededException, ThrottlingReason
    TableWriteProvisionedThroughputExceeded
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ThrottlingReason.html).
    A new table starts with its burst full (modelled). A 10 WCU
    table holds 3,000 units: 10 KB items (10 units) at 100 a second, its partition's ceiling, use
    it in 3 seconds; afterwards it takes 10 units a second, one such item."""
    client = _table("burst", write_units=10)
    for second in range(3):
        for n in range(100):
            _put(client, "burst", f"k{second}-{n}")
        sim.run_for(1)
    # 3,000 - 3 x 1,000 + 3 x 10 units left: three more items.
    for n in range(3):
        _put(client, "burst", f"late-{n}")
    assert _refused(client, "burst", "late-3") == {
        "reason": "TableWriteProvisionedThroughputExceeded",
        "resource": "arn:aws:dynamodb:us-east-1:123456789012:table/burst"}
    sim.run_for(1)
    _put(client, "burst", "next-second")
    _refused(client, "burst", "next-second-2")
    refusal = sim.dynamodb.refusals[-1]
    assert (refusal.table, refusal.operation, refusal.kind, refusal.limit, refusal.units) == (
        "burst", "PutItem", "write", "table", 10.0)
    assert refusal.at == sim.now


@pytest.mark.parametrize("write_units", [None, 4000], ids=["on-demand", "provisioned"])
def test_a_hot_key_throttles_on_its_partition_while_the_table_is_under_its_limit(sim, write_units):
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html:
    a partition serves at most 1,000 write units (or 3,000 read units) a second, in provisioned
    and on-demand mode alike, and burst capacity does not lift it
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html).
    One key taking 10 KB writes is refused at its 101st in a second (ThrottlingReason
    TableWriteKeyRangeThroughputExceeded) while the table has used 1,000 of its 4,000 units; a
    key on another partition is served, and the hot key again a second later."""
    client = _table("hot", write_units=write_units)
    for n in range(100):
        _put(client, "hot", "hot")
    assert _refused(client, "hot", "hot")["reason"] == "TableWriteKeyRangeThroughputExceeded"
    refusal = sim.dynamodb.refusals[-1]
    assert (refusal.limit, refusal.key, refusal.units) == ("partition", {"S": "hot"}, 10.0)
    assert sim.dynamodb.consumed[("hot", "write")] == 1000
    partitions = 8 if write_units is None else 5  # 12,000 RCU + 4,000 WCU on demand; 1 + 4,000
    cold = next(key for key in _keys_per_partition(partitions, 1)
                if ddb.partition_of({"S": key}, partitions) != refusal.partition)
    _put(client, "hot", cold)
    sim.run_for(1)
    _put(client, "hot", "hot")


def test_an_on_demand_table_serves_double_its_previous_peak(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html:
    a new on-demand table sustains up to 4,000 write units a second and instantly accommodates up
    to double its previous peak. Spread over its partitions, 10 KB writes are refused past 4,000
    units in the first second; the next second, with a peak of 4,000, more than 7,000 are served. The
    refusal's reason is modelled: the partitions have not split for that traffic yet
    (KeyRangeThroughputExceeded; AWS names none for it)."""
    client = _table("demand")
    keys = _keys_per_partition(8, 10)
    for key in keys[::2]:  # 5 keys on each of the 8 partitions: 40 items, 4,000 units
        _put(client, "demand", key, HUNDRED_KB)
    with pytest.raises(ClientError) as caught:
        _put(client, "demand", keys[1], HUNDRED_KB)
    assert caught.value.response["ThrottlingReasons"][0]["reason"] == "TableWriteKeyRangeThroughputExceeded"
    assert sim.dynamodb.refusals[-1].limit == "table"
    sim.run_for(1)
    # The table has split for its new ceiling (modelled: 8,000 WCU + 12,000 RCU, 12 partitions).
    for key in _keys_per_partition(12, 6):  # 72 items, 7,200 units
        _put(client, "demand", key, HUNDRED_KB)
    assert sim.dynamodb.consumed[("demand", "write")] == 4000 + 7200


def test_batch_writes_refused_for_throughput_come_back_unprocessed(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html:
    items refused because the table's provisioned throughput is exceeded are returned in
    UnprocessedItems; when none can be processed the call fails with
    ProvisionedThroughputExceededException. Each refused item is recorded."""
    client = _table("batch", write_units=1)  # 300 units of burst
    big = [{"PutRequest": {"Item": {"pk": {"S": f"b{n}"}, "d": {"S": TEN_KB}}}} for n in range(25)]
    client.batch_write_item(RequestItems={"batch": big})  # 250 units
    answer = client.batch_write_item(RequestItems={"batch": big[:10]})
    assert len(answer["UnprocessedItems"]["batch"]) == 5  # 50 units left: five items
    assert [r.operation for r in sim.dynamodb.refusals] == ["BatchWriteItem"] * 5
    with pytest.raises(ClientError) as caught:
        client.batch_write_item(RequestItems={"batch": big[:3]})
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"


def test_queries_are_charged_what_they_read_and_reads_wait_for_their_debt(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html:
    a Query costs the sizes of the items it read added up and rounded up to 4 KB once, half
    when eventually consistent. A Query is admitted on its minimum cost and charged the rest
    once it has run (modelled): the table's bucket can go below zero and refuses reads until it
    refills (a 1 RCU table: 300 units of burst, then one a second)."""
    client = _table("reads", write_units=1000, read_units=1, sort_key=True)
    for n in range(100):
        client.put_item(TableName="reads", Item={"pk": {"S": "p"}, "sk": {"S": f"{n:03}"}, "d": {"S": TEN_KB}})
    sim.run_for(1)  # the writes used the partition's second
    answer = client.query(TableName="reads", KeyConditionExpression="pk = :p", ConsistentRead=True,
                          ExpressionAttributeValues={":p": {"S": "p"}}, ReturnConsumedCapacity="TOTAL")
    read = sum(ddb.item_size(item) for item in answer["Items"])
    assert answer["ConsumedCapacity"]["CapacityUnits"] == -(-read // 4096) > 200
    client.query(TableName="reads", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    with pytest.raises(ClientError) as caught:  # the two queries read past the 300 units
        client.get_item(TableName="reads", Key={"pk": {"S": "p"}, "sk": {"S": "000"}})
    assert caught.value.response["ThrottlingReasons"][0]["reason"] == "TableReadProvisionedThroughputExceeded"


def test_a_query_or_scan_is_charged_the_items_it_read_before_its_filter_and_projection(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.FilterExpression.html:
    "A filter expression is applied after a Query finishes, but before the results are returned.
    Therefore, a Query consumes the same amount of read capacity, regardless of whether a filter
    expression is present"; the units are "based on item size, not on the amount of data that is
    returned to an application", with a projection expression too
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html). A Scan's
    filter is applied after the items are read as well
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html)."""
    client = _table("events", sort_key=True)
    for n in range(10):  # 10 items of about 10 KB: 3 read units each, 25 for all ten added up
        client.put_item(TableName="events", Item={
            "pk": {"S": "day"}, "sk": {"S": f"{n:02}"}, "d": {"S": TEN_KB}, "kind": {"S": "rare" if n == 0 else "usual"}})
    read = sum(ddb.item_size(item) for item in client.scan(TableName="events")["Items"])

    def query_units(**kwargs) -> float:
        answer = client.query(TableName="events", KeyConditionExpression="pk = :p", ConsistentRead=True,
                              ReturnConsumedCapacity="TOTAL",
                              **{"ExpressionAttributeValues": {":p": {"S": "day"}}, **kwargs})
        return answer["ConsumedCapacity"]["CapacityUnits"]

    everything = query_units()
    assert everything == -(-read // 4096) == 25
    assert query_units(FilterExpression="kind = :k",
                       ExpressionAttributeValues={":p": {"S": "day"}, ":k": {"S": "rare"}}) == everything
    assert query_units(ProjectionExpression="sk") == everything
    assert query_units(Select="COUNT") == everything
    nothing = client.scan(TableName="events", FilterExpression="kind = :k", ReturnConsumedCapacity="TOTAL",
                          ExpressionAttributeValues={":k": {"S": "none"}})
    assert nothing["Count"] == 0 and nothing["ConsumedCapacity"]["CapacityUnits"] == 12.5  # eventually consistent


def test_enforcement_can_be_turned_off_and_botocore_retries_a_throttle(sim):
    """Each ceiling is a setting (`Simulator(dynamodb_limits=...)`, `sim.dynamodb_limits`, AWS's
    defaults); `enabled = False` serves
    every request and still computes ConsumedCapacity. With enforcement on, botocore retries
    ProvisionedThroughputExceededException as it does AWS's (standard mode: 3 attempts,
    https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html), on the virtual
    clock, so a retried write to a hot key succeeds once its partition has refilled."""
    assert Simulator(dynamodb_limits=DynamoDBLimits(enabled=False)).dynamodb_limits.enabled is False
    assert sim.dynamodb_limits == DynamoDBLimits()  # AWS's defaults
    client = _table("knobs")
    sim.dynamodb_limits.enabled = False
    for n in range(150):
        _put(client, "knobs", "hot")
    assert sim.dynamodb.refusals == []
    assert sim.dynamodb.consumed[("knobs", "write")] == 1500
    sim.dynamodb_limits.enabled = True
    sim.run_for(1)
    for n in range(100):
        _put(client, "knobs", "hot")
    retrying = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    started = sim.elapsed
    _put(retrying, "knobs", "hot")
    assert len(sim.dynamodb.refusals) >= 1 and sim.elapsed > started


def test_global_secondary_index_writes_take_the_index_capacity(sim):
    """https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html: a table write
    that puts an item into a global secondary index costs an index write of the index entry's
    size (the keys and the projected attributes: ALL, KEYS_ONLY), one that changes an index key
    two (the old entry deleted, the new put), and one that leaves the item out of the index
    nothing; the index has its own provisioned throughput, and when it cannot take the write the
    table write is refused (ThrottlingReason IndexWriteProvisionedThroughputExceeded,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ThrottlingReason.html). A
    Query on the index reads the index's capacity."""
    client = boto3.client("dynamodb", config=ONE_ATTEMPT)
    attributes = [{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "customer", "status")]
    client.create_table(
        TableName="orders", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=attributes,
        ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 1000},
        GlobalSecondaryIndexes=[
            {"IndexName": "byCustomer", "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"},
             "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},  # 300 units of burst
            {"IndexName": "byStatus", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"},
             "ProvisionedThroughput": {"ReadCapacityUnits": 100, "WriteCapacityUnits": 100}}])

    def order(n: int, status: str = "new") -> dict:
        return {"pk": {"S": f"o{n}"}, "customer": {"S": f"c{n % 3}"}, "status": {"S": status}, "d": {"S": TEN_KB}}

    first = client.put_item(TableName="orders", Item=order(0),
                            ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert first["Table"] == {"CapacityUnits": 10.0}
    assert first["GlobalSecondaryIndexes"] == {"byCustomer": {"CapacityUnits": 10.0},
                                               "byStatus": {"CapacityUnits": 1.0}}
    assert first["CapacityUnits"] == 21.0
    moved = client.update_item(
        TableName="orders", Key={"pk": {"S": "o0"}}, UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "paid"}},
        ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    assert moved["GlobalSecondaryIndexes"] == {"byCustomer": {"CapacityUnits": 10.0},
                                               "byStatus": {"CapacityUnits": 2.0}}
    outside = {"pk": {"S": "no-index"}, "d": {"S": TEN_KB}}  # no customer, no status: in neither index
    assert "GlobalSecondaryIndexes" not in client.put_item(
        TableName="orders", Item=outside, ReturnConsumedCapacity="INDEXES")["ConsumedCapacity"]
    for n in range(1, 29):  # byCustomer: 20 + 28 x 10 = its 300 units
        client.put_item(TableName="orders", Item=order(n))
    with pytest.raises(ClientError) as caught:
        client.put_item(TableName="orders", Item=order(29))
    assert caught.value.response["ThrottlingReasons"] == [{
        "reason": "IndexWriteProvisionedThroughputExceeded",
        "resource": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/index/byCustomer"}]
    assert "Item" not in client.get_item(TableName="orders", Key={"pk": {"S": "o29"}})  # nothing written
    assert sim.dynamodb.refusals[-1].index == "byCustomer"
    client.put_item(TableName="orders", Item={**outside, "pk": {"S": "still-fine"}})
    client.query(TableName="orders", IndexName="byStatus", KeyConditionExpression="#s = :s",
                 ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": {"S": "new"}})
    assert sim.dynamodb.consumed[("orders/index/byStatus", "read")] == 0.5
