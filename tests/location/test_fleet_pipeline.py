"""The fleet pipeline's SAM template, deployed once (cfn-lint checked), one fix at a time.

Rules relied on, each named where it is used: the topic rule's SQL and functions, the Kinesis
action's partition key, the stream mapping's partial batch responses, the conditional write.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lambdasim import Simulator
from serverless_course.location import fleet, run
from stack_checks import assert_logs_into_declared_groups

pytestmark = pytest.mark.xdist_group("location-pipeline")


@dataclass
class World:
    sim: Any
    out: dict[str, str]
    audit_url: str
    shard_iterator: str

    def publish(self, device: str, **fix: Any) -> None:
        self.sim.iot.publish(f"fleet/{device}/location", fix, client_id=device)
        self.sim.run_for(5)

    def stream_records(self) -> list[dict[str, Any]]:
        kinesis = self.sim.client("kinesis")
        answer = kinesis.get_records(ShardIterator=self.shard_iterator)
        self.shard_iterator = answer["NextShardIterator"]
        return answer["Records"]

    def position(self, device: str) -> dict[str, Any] | None:
        return self.sim.client("dynamodb").get_item(
            TableName=self.out["PositionsTableName"], Key={"device_id": {"S": device}}).get("Item")

    def transitions(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"])["detail"] for m in run.drain(self.sim.client("sqs"), self.audit_url)]


def _centre(geofence: str) -> tuple[float, float]:
    ring = fleet.geofence_rings()[geofence][:-1]
    return sum(v[0] for v in ring) / len(ring), sum(v[1] for v in ring) / len(ring)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Simulator(seed=4, metrics=False, iam=True) as sim:  # each role checked on every call
        stack = run.deploy(sim, stack_name="fleet", validate=True)  # cfn-lint clean, or it raises
        out = stack.outputs
        sqs, events = sim.client("sqs"), sim.client("events")
        audit = sqs.create_queue(QueueName="audit")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=audit, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = events.put_rule(Name="all", EventBusName=out["EventBusName"],
                               EventPattern=json.dumps({"source": ["fleet.tracking"]}))["RuleArn"]
        # EventBridge delivers to a queue only where the queue's policy allows it (eb-use-resource-based.html).
        sqs.set_queue_attributes(QueueUrl=audit, Attributes={"Policy": json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]})})
        events.put_targets(Rule="all", EventBusName=out["EventBusName"], Targets=[{"Id": "audit", "Arn": arn}])
        kinesis = sim.client("kinesis")
        shard = kinesis.list_shards(StreamName=out["StreamName"])["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(StreamName=out["StreamName"], ShardId=shard,
                                              ShardIteratorType="LATEST")["ShardIterator"]
        yield World(sim, out, audit, iterator)


def test_one_fix_reaches_kinesis_enriched_by_the_rule_and_is_stored(world: World) -> None:
    """The rule's SELECT adds topic(2) as device_id and timestamp() as received_at (the broker's
    clock, here the virtual one) and the Kinesis action uses the device id as partition key
    (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html,
    https://docs.aws.amazon.com/iot/latest/developerguide/kinesis-rule-action.html)."""
    received = int(world.sim.now.timestamp() * 1000)
    world.publish("truck-1", lat=47.61, lon=-122.2, accuracy=8.5, ts=received - 1500, speed=12)
    [record] = world.stream_records()
    assert record["PartitionKey"] == "truck-1"
    assert json.loads(record["Data"]) == {"lat": 47.61, "lon": -122.2, "accuracy": 8.5, "ts": received - 1500,
                                          "device_id": "truck-1", "received_at": received}
    item = world.position("truck-1")
    assert item is not None and item["ts"] == {"N": str(received - 1500)} and item["geofences"] == {"L": []}
    history = world.sim.client("dynamodb").get_item(TableName=world.out["HistoryTableName"], Key={
        "device_id": {"S": "truck-1"}, "ts": {"N": str(received - 1500)}})
    assert "Item" in history


def test_an_imprecise_fix_never_reaches_the_stream(world: World) -> None:
    """WHERE accuracy <= 50: a message the WHERE clause rejects runs no action
    (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-where.html)."""
    world.publish("truck-2", lat=47.61, lon=-122.2, accuracy=51, ts=1_767_225_600_000)
    assert world.stream_records() == []
    assert world.position("truck-2") is None


def test_enter_and_exit_once_each_despite_a_duplicate_and_a_late_fix(world: World) -> None:
    """The device's item is written only for a newer fix (a conditional write), so a duplicate
    and an older fix that arrives late publish nothing
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html)."""
    lon, lat = _centre("depot-north")
    t0 = 1_767_225_700_000
    world.publish("truck-3", lat=47.5, lon=-122.2, accuracy=5, ts=t0)
    world.publish("truck-3", lat=lat, lon=lon, accuracy=5, ts=t0 + 10_000)
    world.publish("truck-3", lat=lat, lon=lon, accuracy=5, ts=t0 + 10_000)  # QoS 1 redelivery
    world.publish("truck-3", lat=47.5, lon=-122.2, accuracy=5, ts=t0 + 5_000)  # late: older
    world.publish("truck-3", lat=47.5, lon=-122.2, accuracy=5, ts=t0 + 20_000)
    assert [(d["EventType"], d["GeofenceId"], d["DeviceId"]) for d in world.transitions()] == [
        ("ENTER", "depot-north", "truck-3"), ("EXIT", "depot-north", "truck-3")]
    assert world.position("truck-3")["ts"] == {"N": str(t0 + 20_000)}


def test_poison_goes_to_the_poison_queue_with_its_reason(world: World) -> None:
    """A record no retry can fix is not reported as failed (Lambda would retry it until the
    mapping's retries run out and then give up its batch-mates too:
    https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html)."""
    world.publish("truck-4", lat="N/A", lon=-122.2, accuracy=5, ts=1_767_225_600_000)
    world.sim.run_for(120)  # SQS's gauges are published once a minute; each alarm reads them
    alarmed = {t.alarm.split("-")[1] for t in world.sim.alarms.transitions if t.new_state == "ALARM"}
    assert alarmed == {"PoisonQueueNotEmpty"}  # the poison queue's alarm alone: no batch was given up on
    [entry] = run.drain(world.sim.client("sqs"), world.out["PoisonQueueUrl"])
    assert entry["MessageAttributes"]["ErrorType"]["StringValue"] == "ValidationError"
    assert json.loads(base64.b64decode(entry["Body"]))["lat"] == "N/A"
    for failures in ("PositionsFailuresQueueUrl", "HistoryFailuresQueueUrl"):
        assert run.drain(world.sim.client("sqs"), world.out[failures]) == []


def test_each_consumer_logs_into_its_declared_group_kept_30_days(world: World) -> None:
    """The template declares each function's log group with a retention
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html):
    the function's log lines land in that group, not in one Lambda would make without it."""
    assert_logs_into_declared_groups(world.sim, "fleet", ("PositionsFunction", "HistoryFunction"))


def test_each_consumers_written_out_role_allows_every_call_it_made(world: World) -> None:
    """With IAM enforced, each call a function's code makes is checked against its role
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html): the roles
    the template writes out, scoped to the stream, tables, bus and queues, refused none."""
    for function in ("PositionsFunction", "HistoryFunction"):
        name = next(f["FunctionName"] for f in world.sim.client("lambda").list_functions()["Functions"]
                    if f["FunctionName"].startswith(f"fleet-{function}-"))
        assert [c for c in world.sim.iam.calls if c.function == name], function
        assert world.sim.iam.denied(name) == [], function
