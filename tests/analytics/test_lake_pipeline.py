"""The module 7 pipeline (serverless_course.analytics, template.yaml) deployed once: a small
seeded fleet across midnight publishes through IoT Core; every answer is checked against the
fleet's own readings (serverless_course.analytics.fleet), never against the lake."""

from __future__ import annotations

import base64
import io
import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from lambdasim import Simulator
from lambdasim.rules import iam as iam_rules
from serverless_course.analytics import fleet, lake, queries
from stack_checks import assert_logs_into_declared_groups, function_name

pytestmark = pytest.mark.xdist_group("analytics-pipeline")

SPEC = fleet.FleetSpec(sensors=4, duration_s=80 * 60, start=datetime(2026, 3, 9, 23, 20, tzinfo=timezone.utc),
                       late_rate=0.03, late_delay_s=(600.0, 1800.0), malformed_rate=0.015, anomaly_rate=0.03)
DAYS = ("2026-03-09", "2026-03-10")


@pytest.fixture(scope="module")
def run():
    telemetry = fleet.generate(SPEC, seed=5)
    # IAM enforced: each function's calls are checked against its role.
    with Simulator(seed=5, start=SPEC.start - timedelta(minutes=1), iam=True) as sim:
        deployed = lake.deploy(sim, buffer_interval_s=120, buffer_size_mib=64)
        sqs = sim.client("sqs")
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sim.client("sns").subscribe(TopicArn=deployed.alerts_topic, Protocol="sqs", Endpoint=arn,
                                    Attributes={"RawMessageDelivery": "true"})
        lake.publish(sim, telemetry.messages)
        lake.drain(sim)
        yield sim, deployed, telemetry, queue


def _objects(sim, kind: str):
    return [o for o in sim.firehose.objects if o.kind == kind]


def test_the_fleet_has_late_out_of_order_and_malformed_messages():
    spec = fleet.FleetSpec(sensors=40, duration_s=6 * 3600)
    telemetry = fleet.generate(spec, seed=5)
    assert {m.malformed for m in telemetry.malformed} == set(fleet.MALFORMED_KINDS)
    assert any(m.late_s > spec.late_delay_s[0] for m in telemetry.messages)
    events = [m.reading.event_time for m in telemetry.messages if m.reading]
    assert events != sorted(events)  # arrival order is not event order
    assert fleet.generate(spec, seed=5) == telemetry  # seeded


def test_every_reading_lands_under_its_event_day_and_type_as_parquet_and_malformed_ones_in_errors(run):
    """https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html: keys from the
    JQ query build the prefix; https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html:
    ProcessingFailed records go to the error output prefix."""
    import pyarrow.parquet as pq

    sim, deployed, telemetry, _ = run
    data, failed = _objects(sim, "data"), _objects(sim, "processing-failed")
    assert sum(o.records for o in data) == len(telemetry.readings)
    assert sum(o.records for o in failed) == len(telemetry.malformed) > 0
    s3 = sim.client("s3")
    landed = Counter()
    for o in data:
        assert o.key.startswith("telemetry/dt=") and o.key.endswith(".parquet")
        day, device_type = (part.split("=")[1] for part in o.key.split("/")[1:3])
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket=o.bucket, Key=o.key)["Body"].read()))
        assert {t.strftime("%Y-%m-%d") for t in table.column("event_time").to_pylist()} == {day}
        landed[device_type] += table.num_rows
    assert landed == Counter(r.device_type for r in telemetry.readings)
    raw = [base64.b64decode(json.loads(line)["rawData"]) for o in failed
           for line in s3.get_object(Bucket=o.bucket, Key=o.key)["Body"].read().splitlines()]
    # The rule's SELECT * passes JSON on re-serialised and anything else as its bytes.
    assert sorted(map(_canonical, raw)) == sorted(_canonical(m.payload) for m in telemetry.malformed)


def _canonical(payload: bytes) -> str:
    try:
        return json.dumps(json.loads(payload), sort_keys=True)
    except ValueError:
        return payload.decode()


@pytest.mark.parametrize("day", DAYS)
def test_athena_answers_the_questions_as_the_readings_do(run, day):
    sim, deployed, telemetry, _ = run
    top = lake.query(sim, deployed, queries.daily_max_by_type(day))
    assert {t: float(v) for t, v in top.rows} == fleet.daily_max_by_type(telemetry.readings, day)
    hourly = lake.query(sim, deployed, queries.hourly_anomalies(day))
    assert {(t, int(h)): int(n) for t, h, n in hourly.rows} == fleet.hourly_anomalies(telemetry.readings, day)
    assert hourly.rows  # the seeded fleet has anomalies on both days


def test_a_days_query_reads_only_that_days_folders_and_only_the_columns_it_names(run):
    """https://docs.aws.amazon.com/athena/latest/ug/partitions.html and columnar-storage.html."""
    sim, deployed, telemetry, _ = run
    day = DAYS[0]
    result = lake.query(sim, deployed, queries.daily_max_by_type(day))
    [execution] = [e for e in sim.athena.executions.values() if e.data_scanned_bytes == result.bytes_scanned][-1:]
    assert execution.objects_read and all(f"/dt={day}/" in key for key in execution.objects_read)
    that_day = sum(o.bytes for o in _objects(sim, "data") if f"/dt={day}/" in o.key)
    assert 0 < result.bytes_scanned < that_day


def test_tumbling_windows_count_each_reading_in_the_minute_it_arrived(run):
    """https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-windows.html: the window's
    state is carried between invocations and the final invocation writes the aggregate."""
    sim, deployed, telemetry, _ = run
    items = sim.client("dynamodb").scan(TableName=deployed.aggregates_table)["Items"]
    windows = {(i["device_type"]["S"], datetime.fromisoformat(i["window_start"]["S"].replace("Z", "+00:00"))):
               (int(i["readings"]["N"]), float(i["max"]["N"])) for i in items}
    assert windows == fleet.minute_aggregates(telemetry.messages, by="arrival")
    assert windows != fleet.minute_aggregates(telemetry.messages, by="event")  # late data


def test_hot_thermometers_alert_once_per_reading_over_the_threshold(run):
    sim, deployed, telemetry, queue = run
    expected = 0
    for m in telemetry.messages:
        try:
            doc = json.loads(m.payload)
        except ValueError:
            continue
        value = doc.get("reading")
        expected += doc["device_type"] == "thermometer" and isinstance(value, float) and value > 40
    sqs = sim.client("sqs")
    got = 0
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        got += len(batch)
        for message in batch:
            assert json.loads(message["Body"])["reading"] > 40
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert got == expected > 0


def test_each_function_logs_into_its_declared_group_and_no_window_was_given_up(run):
    """The template declares each function's log group with a retention
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html),
    alarms on the window function's on-failure queue at its first message, and writes the window
    function's role out: with IAM enforced it refused none of the function's calls."""
    sim, deployed, _, _ = run
    assert_logs_into_declared_groups(sim, deployed.stack_name, ("TransformFunction", "WindowFunction"))
    window = function_name(sim, deployed.stack_name, "WindowFunction")
    assert [c for c in sim.iam.calls if c.function == window] and sim.iam.denied(window) == []
    [alarm] = [a for a in sim.client("cloudwatch").describe_alarms()["MetricAlarms"]
               if "WindowFailuresQueueNotEmpty" in a["AlarmName"]]
    assert alarm["StateValue"] == "OK"  # every batch was written: nothing in the failures queue


def test_the_delivery_role_reads_the_schema_table_and_no_other(run):
    """Parquet conversion reads the Glue table named in the stream's SchemaConfiguration with
    its RoleARN: the role allows the table reads on that table, its database and the catalog,
    and on no other table or database
    (https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html,
    https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html)."""
    sim, deployed, _, _ = run
    description = sim.client("firehose").describe_delivery_stream(DeliveryStreamName=deployed.stream)[
        "DeliveryStreamDescription"]
    schema = description["Destinations"][0]["ExtendedS3DestinationDescription"][
        "DataFormatConversionConfiguration"]["SchemaConfiguration"]
    iam = sim.client("iam")
    role = schema["RoleARN"].rsplit("/", 1)[1]
    granted = [statement for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
               for statement in iam_rules.statements(
                   name, iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])]
    partition, _, region, account = description["DeliveryStreamARN"].split(":")[1:5]
    glue = f"arn:{partition}:glue:{region}:{account}"
    database, table = schema["DatabaseName"], schema["TableName"]
    read = (f"{glue}:catalog", f"{glue}:database/{database}", f"{glue}:table/{database}/{table}")
    others = (f"{glue}:database/another", f"{glue}:table/{database}/another", f"{glue}:table/another/{table}")
    for action in ("glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"):
        assert [iam_rules.evaluate(granted, action, arn) for arn in read] == [iam_rules.Decision.ALLOWED] * 3
        assert [iam_rules.evaluate(granted, action, arn) for arn in others] == [iam_rules.Decision.IMPLICIT_DENY] * 3
