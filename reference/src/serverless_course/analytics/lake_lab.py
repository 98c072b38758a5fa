"""Lab 07's harness: a learner's Firehose transformation, partitioning and format choice built
into a delivery stream and a Glue table, a seeded fleet's readings sent through it, and Athena
queries over what landed.

The learner gives `transform.py` (the Lambda transformation), `delivery.py` (`layout()`:
partition_keys, partition column -> JQ expression over the transformed record; parquet;
buffer_interval_s) and
`queries.py`. `run` builds the stream as the lab's README describes it: prefix
`telemetry/<key>=!{partitionKeyFromQuery:<key>}/...` with dynamic partitioning (or
`telemetry/` and Firehose's default time folders without keys), the AppendDelimiterToRecord
processor, Parquet from the table's schema when PARQUET; the table's partitions are registered
with MSCK REPAIR TABLE once everything is delivered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from lambdasim import Simulator
from serverless_course.analytics import fleet
from serverless_course.analytics.lake import Lake, QueryResult, drain, put_batches, query

DATABASE, TABLE, BUCKET, STREAM = "lab_lake", "telemetry", "lab-lake", "telemetry"
COLUMNS = (("device_id", "string"), ("device_type", "string"), ("event_time", "timestamp"),
           ("arrival_time", "timestamp"), ("reading", "double"), ("unit", "string"), ("seq", "int"))
GRADED_DAY = "2026-03-09"
# The graded day's last two hours and the next day's first three: readings of the graded day
# that arrive late land after midnight, and a query that reads every day's objects reads 2.5
# times what it needs. 32 sensors a minute: enough records per object that the footers of small
# Parquet objects do not outweigh what a column saves.
SPEC = fleet.FleetSpec(sensors=32, period_s=60.0, start=datetime(2026, 3, 9, 22, tzinfo=timezone.utc),
                       duration_s=5 * 3600.0, late_rate=0.04, late_delay_s=(600.0, 5400.0),
                       malformed_rate=0.01, anomaly_rate=0.01)
ROLE = "arn:aws:iam::123456789012:role/firehose"


@dataclass(frozen=True)
class Delivery:
    """What the learner's delivery.py says."""

    partition_keys: dict[str, str]
    parquet: bool
    buffer_interval_s: int

    @classmethod
    def of(cls, layout: dict[str, Any]) -> Delivery:
        """From delivery.py's `layout()`: partition_keys, parquet, buffer_interval_s."""
        keys = dict(layout.get("partition_keys") or {})
        return cls({str(k): str(v) for k, v in keys.items()}, bool(layout.get("parquet", False)),
                   int(layout.get("buffer_interval_s", 300)))


@dataclass
class LabRun:
    sim: Simulator
    lake: Lake
    telemetry: fleet.Fleet
    delivery: Delivery
    results: dict[str, QueryResult] = field(default_factory=dict)

    def query(self, sql: str) -> QueryResult:
        if sql not in self.results:
            self.results[sql] = query(self.sim, self.lake, sql)
        return self.results[sql]

    def objects(self, kind: str) -> list[Any]:
        return [o for o in self.sim.firehose.objects if o.kind == kind]

    def body(self, key: str) -> bytes:
        return self.sim.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _stream_config(delivery: Delivery, transform_arn: str) -> dict[str, Any]:
    keys = delivery.partition_keys
    processors: list[dict[str, Any]] = [{"Type": "Lambda", "Parameters": [
        {"ParameterName": "LambdaArn", "ParameterValue": transform_arn},
        {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "60"}]}]
    if keys:
        query_text = "{" + ", ".join(f"{k}: ({v})" for k, v in keys.items()) + "}"
        processors.append({"Type": "MetadataExtraction", "Parameters": [
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query_text},
            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]})
    processors.append({"Type": "AppendDelimiterToRecord", "Parameters": []})
    config: dict[str, Any] = {
        "RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{BUCKET}",
        "Prefix": "telemetry/" + "".join(f"{k}=!{{partitionKeyFromQuery:{k}}}/" for k in keys),
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": delivery.buffer_interval_s},
        "ProcessingConfiguration": {"Enabled": True, "Processors": processors},
        "DynamicPartitioningConfiguration": {"Enabled": bool(keys)},
    }
    if delivery.parquet:
        config["DataFormatConversionConfiguration"] = {
            "Enabled": True,
            "SchemaConfiguration": {"DatabaseName": DATABASE, "TableName": TABLE, "RoleARN": ROLE},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}
    return config


def _table_input(delivery: Delivery) -> dict[str, Any]:
    keys = delivery.partition_keys
    serde, input_format = (("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat") if delivery.parquet else
                           ("org.openx.data.jsonserde.JsonSerDe", "org.apache.hadoop.mapred.TextInputFormat"))
    return {"Name": TABLE, "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": k, "Type": "string"} for k in keys],
            "StorageDescriptor": {
                "Location": f"s3://{BUCKET}/telemetry/", "InputFormat": input_format,
                "SerdeInfo": {"SerializationLibrary": serde},
                "Columns": [{"Name": n, "Type": t} for n, t in COLUMNS if n not in keys]}}


def run(seed: int, *, transform_dir: Path, delivery: Delivery, isolation: Any = None) -> LabRun:
    """The fleet of `seed` through the learner's stream; every buffer delivered, partitions
    registered."""
    telemetry = fleet.generate(SPEC, seed)
    # The lab's stack has no alarm and nothing reads the services' metrics: off, they would cost
    # work every virtual minute of the run.
    sim = Simulator(seed=seed, start=SPEC.start - timedelta(minutes=1), alarms=False, service_metrics=False)
    sim.start()
    sim.client("s3").create_bucket(Bucket=BUCKET)
    glue = sim.client("glue")
    glue.create_database(DatabaseInput={"Name": DATABASE})
    glue.create_table(DatabaseName=DATABASE, TableInput=_table_input(delivery))
    function = sim.create_function(FunctionName="transform", Handler="transform.lambda_handler",
                                   Timeout=60, MemorySize=256)
    sim.map_handler("transform", code_dir=transform_dir, isolation=isolation)
    sim.client("firehose").create_delivery_stream(
        DeliveryStreamName=STREAM, DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration=_stream_config(delivery, function["FunctionArn"]))
    lake = Lake("lab", BUCKET, DATABASE, STREAM, "", "")
    # The gateway sends a minute's readings at once (each sensor reads once a minute): a sixth of
    # the PutRecordBatch calls of 10 s batches, most of a grading's CPU.
    put_batches(sim, STREAM, telemetry.messages, every_s=60)
    drain(sim)
    if delivery.partition_keys:
        query(sim, lake, f"MSCK REPAIR TABLE {TABLE}")
    return LabRun(sim, lake, telemetry, delivery)
