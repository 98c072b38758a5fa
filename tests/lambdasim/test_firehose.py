"""Amazon Data Firehose delivering Direct PUT streams to S3, as AWS documents it
(lambdasim/rules/firehose.py, lambdasim/firehose.py, lambdasim/_moto_patches/firehose.py).

Each test's docstring names the AWS documentation page whose rule it pins (the site's fidelity
table is built from them). One simulation serves the module; each test has streams of its own.
"""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import firehose as rules

FIXTURES = Path(__file__).parent / "fixtures" / "firehose"
BUCKET = "lake"
START = datetime(2026, 3, 8, 23, 50, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=3, start=START) as simulator:
        simulator.client("s3").create_bucket(Bucket=BUCKET)
        for name, handler in (("verdicts", "handlers.by_verdict"), ("broken", "handlers.broken")):
            simulator.create_function(FunctionName=name, Handler=handler, code_dir=FIXTURES, Timeout=60)
        yield simulator


@pytest.fixture(scope="module")
def firehose(sim):
    return sim.client("firehose", config=Config(retries={"total_max_attempts": 1}))


def _stream(firehose, name: str, **destination) -> str:
    config = {"RoleARN": "arn:aws:iam::123456789012:role/firehose", "BucketARN": f"arn:aws:s3:::{BUCKET}",
              **destination}
    return firehose.create_delivery_stream(DeliveryStreamName=name, DeliveryStreamType="DirectPut",
                                           ExtendedS3DestinationConfiguration=config)["DeliveryStreamARN"]


def _objects(sim, stream: str, kind: str = "data"):
    return [o for o in sim.firehose.objects if o.stream == stream and o.kind == kind]


def _body(sim, key: str) -> bytes:
    return sim.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _lambda(function: str, **parameters) -> dict:
    params = [{"ParameterName": "LambdaArn",
               "ParameterValue": f"arn:aws:lambda:us-east-1:123456789012:function:{function}"}]
    params += [{"ParameterName": k, "ParameterValue": str(v)} for k, v in parameters.items()]
    return {"Type": "Lambda", "Parameters": params}


def _refused(call) -> ClientError:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value


def test_a_buffer_is_delivered_at_its_size_or_its_interval_whichever_comes_first(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html: "The first buffer
    condition that is satisfied triggers Firehose to deliver the data" (SizeInMBs,
    IntervalInSeconds). Records do not get a newline added: "a common solution is to use
    delimiters in the data" (https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html)."""
    _stream(firehose, "hints", Prefix="hints/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    firehose.put_record_batch(DeliveryStreamName="hints", Records=[{"Data": b'{"n":1}'}, {"Data": b'{"n":2}'}])
    sim.run_for(59.9)
    assert _objects(sim, "hints") == [] and sim.firehose.buffered("hints") == 2
    sim.run_for(0.2)
    [by_time] = _objects(sim, "hints")
    assert _body(sim, by_time.key) == b'{"n":1}{"n":2}'
    assert by_time.freshness_s == pytest.approx(60.0)

    big = b"x" * (400 * 1024)
    firehose.put_record_batch(DeliveryStreamName="hints", Records=[{"Data": big}] * 3)  # 1.2 MiB >= 1 MiB
    sim.run_for(0)
    assert [o.records for o in _objects(sim, "hints")] == [2, 3]
    assert _objects(sim, "hints")[1].freshness_s == 0.0


def test_object_names_and_timestamp_prefixes_are_the_oldest_records_time_in_utc(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html: the key is
    <evaluated prefix><stream>-<version>-<year>-<month>-<day>-<hour>-<minute>-<second>-<uuid>, the
    default prefix YYYY/MM/dd/HH in UTC; https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html:
    a prefix without a timestamp expression gets !{timestamp:yyyy/MM/dd/HH/} appended, timestamps
    are the approximate arrival of the oldest record in the object, quoted text is literal."""
    _stream(firehose, "named", Prefix="raw/", BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60})
    _stream(firehose, "hive", Prefix="year=!{timestamp:yyyy}/!{timestamp:'month='MM'/day='dd}/",
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
            BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60})
    next_hour = (sim.now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    sim.run_until(next_hour - timedelta(seconds=30))
    at = sim.now
    for stream in ("named", "hive"):
        firehose.put_record(DeliveryStreamName=stream, Record={"Data": b"a"})
    sim.run_for(61)
    [named], [hive] = _objects(sim, "named"), _objects(sim, "hive")
    arrived, delivered = at.strftime("%Y/%m/%d/%H/"), sim.now.replace(microsecond=0)
    assert arrived != delivered.strftime("%Y/%m/%d/%H/")  # the records arrived in the previous hour
    assert re.fullmatch(rf"raw/{arrived}named-1-{delivered:%Y-%m-%d-%H-%M}-\d\d-[0-9a-f-]{{36}}", named.key)
    assert hive.key.startswith(f"year={at:%Y}/month={at:%m}/day={at:%d}/hive-1-")
    assert rules.java_datetime("yy-M-d H:mm:ss 'at' ''", datetime(2026, 3, 9, 7, 5, 4)) == "26-3-9 7:05:04 at '"


def test_prefix_rules_are_checked_when_the_stream_is_created(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html, "Semantic rules":
    ErrorOutputPrefix can't be null when Prefix contains expressions; Prefix can't contain
    !{firehose:error-output-type}; an ErrorOutputPrefix with expressions must contain it; !{ only
    in expressions. https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html:
    SizeInMBs 1-128, IntervalInSeconds 0-900."""
    refusals = [
        {"Prefix": "!{timestamp:yyyy}/"},
        {"Prefix": "a/!{firehose:error-output-type}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}"},
        {"Prefix": "!{timestamp:yyyy}/", "ErrorOutputPrefix": "e/!{timestamp:yyyy}/"},
        {"Prefix": "a!{b"},
        {"BufferingHints": {"SizeInMBs": 129, "IntervalInSeconds": 60}},
        {"BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 901}},
    ]
    for i, destination in enumerate(refusals):
        error = _refused(lambda: _stream(firehose, f"refused-{i}", **destination))
        assert error.response["Error"]["Code"] == "InvalidArgumentException", destination
    assert "refused-0" not in firehose.list_delivery_streams()["DeliveryStreamNames"]


def test_put_record_batch_limits_and_its_per_record_results(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html: up to
    500 records, each up to 1,000 KB before base64, up to 4 MB for the request; the response has
    FailedPutCount and a RecordId per record, in order."""
    _stream(firehose, "limits", BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900})
    too_many = _refused(lambda: firehose.put_record_batch(DeliveryStreamName="limits",
                                                          Records=[{"Data": b"x"}] * 501))
    too_big = _refused(lambda: firehose.put_record(DeliveryStreamName="limits",
                                                   Record={"Data": b"x" * (rules.MAX_RECORD_BYTES + 1)}))
    request_too_big = _refused(lambda: firehose.put_record_batch(
        DeliveryStreamName="limits", Records=[{"Data": b"x" * (900 * 1024)}] * 5))
    assert [e.response["Error"]["Code"] for e in (too_many, too_big, request_too_big)] == \
        ["ValidationException", "ValidationException", "InvalidArgumentException"]
    assert sim.firehose.buffered("limits") == 0
    firehose.put_record(DeliveryStreamName="limits", Record={"Data": b"x" * rules.MAX_RECORD_BYTES})
    answer = firehose.put_record_batch(DeliveryStreamName="limits", Records=[{"Data": b"x"}] * 500)
    assert answer["FailedPutCount"] == 0 and len(answer["RequestResponses"]) == 500
    assert len({r["RecordId"] for r in answer["RequestResponses"]}) == 500
    assert sim.firehose.buffered("limits") == 501


def test_transformation_results_and_the_processing_failed_output(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html:
    each record comes back with its recordId, a result of Ok, Dropped or ProcessingFailed and base64
    data; a missing record ID is a transformation failure.
    https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html:
    failed records go to the processing-failed output with attemptsMade, arrivalTimestamp,
    errorCode, errorMessage, attemptEndingTimestamp, rawData and lambdaArn. The event passes
    Powertools' KinesisFirehoseModel (the handler parses it)."""
    _stream(firehose, "transformed", Prefix="clean/", ErrorOutputPrefix="bad/!{firehose:error-output-type}/",
            BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60},
            ProcessingConfiguration={"Enabled": True, "Processors": [_lambda("verdicts", BufferIntervalInSeconds=10)]})
    verdicts = ["keep", "drop", "fail", "lose", "keep"]
    firehose.put_record_batch(DeliveryStreamName="transformed", Records=[
        {"Data": json.dumps({"verdict": v, "site": "s1"}).encode()} for v in verdicts])
    invoked = len(sim.invocations)
    sim.run_for(11)  # the batch goes at 10 s; its records go on when the invocation ends
    assert len(sim.invocations) == invoked + 1 and sim.invocations[-1].succeeded
    [transformation] = [t for t in sim.firehose.transformations if t.stream == "transformed"]
    assert transformation.results == {"Ok": 2, "Dropped": 1, "ProcessingFailed": 2}
    [failed] = _objects(sim, "transformed", rules.PROCESSING_FAILED)
    assert failed.key.startswith("bad/processing-failed/transformed-1-")
    documents = [json.loads(line) for line in _body(sim, failed.key).splitlines()]
    assert [d["errorCode"] for d in documents] == [rules.PROCESSING_FAILED_STATUS, rules.MISSING_RECORD_ID]
    assert {json.loads(base64.b64decode(d["rawData"]))["verdict"] for d in documents} == {"fail", "lose"}
    assert all(d["attemptsMade"] == 1 and d["lambdaArn"].endswith(":function:verdicts") for d in documents)
    sim.run_for(60)
    [data] = _objects(sim, "transformed")
    assert _body(sim, data.key).splitlines() == [b'{"verdict": "KEEP", "site": "S1"}'] * 2


def test_a_failing_function_is_retried_then_its_records_are_processing_failed(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html:
    a failed invocation is retried (NumberOfRetries, three times by default,
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_ProcessorParameter.html); then the
    batch is skipped and its records go to the processing-failed output."""
    _stream(firehose, "retried", Prefix="r/", BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60},
            ProcessingConfiguration={"Enabled": True, "Processors": [
                _lambda("broken", NumberOfRetries=2, BufferIntervalInSeconds=0)]})
    firehose.put_record_batch(DeliveryStreamName="retried", Records=[{"Data": b"1"}, {"Data": b"2"}])
    sim.run_for(5)
    [transformation] = [t for t in sim.firehose.transformations if t.stream == "retried"]
    assert len(transformation.request_ids) == 3
    [failed] = _objects(sim, "retried", rules.PROCESSING_FAILED)
    assert failed.key.startswith("r/processing-failed/2026/")  # no ErrorOutputPrefix: <Prefix><type>/YYYY/MM/dd/HH/
    documents = [json.loads(line) for line in _body(sim, failed.key).splitlines()]
    assert [(d["attemptsMade"], d["errorCode"]) for d in documents] == [(3, rules.FUNCTION_ERROR)] * 2


def test_dynamic_partitioning_by_jq_and_by_lambda_keys_with_a_buffer_per_partition(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/dev/buffering.html: "A new buffer is created for
    each active partition" and each is delivered when its own size or interval is met;
    https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning-s3bucketprefix.html: keys
    from inline JQ parsing (partitionKeyFromQuery) and from the Lambda function
    (partitionKeyFromLambda, its metadata.partitionKeys); records whose keys cannot be
    extracted go to the error prefix (https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning-error-handling.html)."""
    _stream(firehose, "by-device", Prefix="device=!{partitionKeyFromQuery:device}/",
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
            BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60},
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration={"Enabled": True, "Processors": [
                {"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{device: .device}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]})
    big = "x" * (600 * 1024)
    firehose.put_record_batch(DeliveryStreamName="by-device", Records=[
        {"Data": json.dumps({"device": "a", "pad": big}).encode()},
        {"Data": json.dumps({"device": "b"}).encode()},
        {"Data": json.dumps({"device": "a", "pad": big}).encode()},
        {"Data": b'{"no_device": true}'}])
    sim.run_for(0)
    [a] = _objects(sim, "by-device")  # partition a reached 1 MiB; b waits for its interval
    assert a.key.startswith("device=a/by-device-1-") and a.records == 2
    assert _body(sim, a.key).count(b"\n") == 2
    [error] = _objects(sim, "by-device", rules.PROCESSING_FAILED)
    assert error.key.startswith("errors/processing-failed/")
    sim.run_for(60)
    assert [o.key.split("/")[0] for o in _objects(sim, "by-device")] == ["device=a", "device=b"]

    _stream(firehose, "by-site", Prefix="site=!{partitionKeyFromLambda:site}/",
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
            BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60},
            DynamicPartitioningConfiguration={"Enabled": True},
            ProcessingConfiguration={"Enabled": True, "Processors": [_lambda("verdicts", BufferIntervalInSeconds=0)]})
    firehose.put_record_batch(DeliveryStreamName="by-site", Records=[
        {"Data": json.dumps({"verdict": "keep", "site": s}).encode()} for s in ("north", "south", "north")])
    sim.run_for(61)
    assert sorted((o.key.split("/")[0], o.records) for o in _objects(sim, "by-site")) == \
        [("site=north", 2), ("site=south", 1)]


def test_parquet_conversion_uses_the_glue_tables_columns(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html: JSON records
    become Parquet with the schema of an AWS Glue table; SizeInMBs can't be under 64 with
    conversion and defaults to 128; records that do not fit the schema go to the error prefix
    (https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html)."""
    glue = sim.client("glue")
    glue.create_database(DatabaseInput={"Name": "iot"})
    glue.create_table(DatabaseName="iot", TableInput={"Name": "readings", "StorageDescriptor": {"Columns": [
        {"Name": "device", "Type": "string"}, {"Name": "temp", "Type": "double"},
        {"Name": "at", "Type": "timestamp"}]}})
    conversion = {"Enabled": True, "SchemaConfiguration": {"DatabaseName": "iot", "TableName": "readings",
                                                          "RoleARN": "arn:aws:iam::123456789012:role/firehose"},
                  "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                  "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {}}}}
    error = _refused(lambda: _stream(firehose, "too-small", DataFormatConversionConfiguration=conversion,
                                     BufferingHints={"SizeInMBs": 32, "IntervalInSeconds": 60}))
    assert error.response["Error"]["Code"] == "InvalidArgumentException"
    _stream(firehose, "parquet", Prefix="readings/", ErrorOutputPrefix="bad/!{firehose:error-output-type}/",
            DataFormatConversionConfiguration=conversion, FileExtension=".parquet")
    firehose.put_record_batch(DeliveryStreamName="parquet", Records=[
        {"Data": b'{"device": "a", "TEMP": 21.5, "at": 1773014400, "extra": 1}'},
        {"Data": b'{"device": "b", "temp": "hot"}'},
        {"Data": b'{"device": "c", "at": "2026-03-09T00:00:00Z"}'}])
    sim.run_for(300)  # the interval's default
    [failed] = _objects(sim, "parquet", rules.FORMAT_CONVERSION_FAILED)
    assert json.loads(_body(sim, failed.key))["ErrorCode"] == rules.CONVERSION_MALFORMED
    [data] = _objects(sim, "parquet")
    assert data.key.endswith(".parquet") and data.records == 2
    import pyarrow.parquet as pq  # imported by the delivery already
    table = pq.ParquetFile(io.BytesIO(_body(sim, data.key))).read()
    assert table.column_names == ["device", "temp", "at"]
    rows = table.to_pylist()
    assert [(r["device"], r["temp"]) for r in rows] == [("a", 21.5), ("c", None)]
    assert rows[0]["at"] == datetime(2026, 3, 9, 0, 0, tzinfo=timezone.utc) == rows[1]["at"]


def test_delivery_metrics_go_to_cloudwatch_each_minute(sim, firehose):
    """https://docs.aws.amazon.com/firehose/latest/dev/monitoring-with-cloudwatch-metrics.html:
    AWS/Firehose IncomingRecords, IncomingBytes, DeliveryToS3.Records, DeliveryToS3.Bytes and
    DeliveryToS3.DataFreshness (the age of the oldest record in Firehose; here taken at each
    delivery, the age of the object's oldest record) per
    DeliveryStreamName."""
    _stream(firehose, "metered", BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 30})
    start = sim.now
    for _ in range(3):
        firehose.put_record_batch(DeliveryStreamName="metered", Records=[{"Data": b"12345"}] * 4)
        sim.run_for(10)
    sim.run_for(120)
    cloudwatch = sim.client("cloudwatch")

    def total(metric: str, statistic: str = "Sum") -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Firehose", MetricName=metric, StartTime=start.replace(second=0),
            EndTime=sim.now, Period=600, Statistics=[statistic],
            Dimensions=[{"Name": "DeliveryStreamName", "Value": "metered"}])["Datapoints"]
        return max(p[statistic] for p in points) if statistic == "Maximum" else sum(p[statistic] for p in points)

    assert total("IncomingRecords") == 12 and total("IncomingBytes") == 60
    assert total("DeliveryToS3.Records") == 12 and total("DeliveryToS3.Bytes") == 60
    assert total("DeliveryToS3.DataFreshness", "Maximum") == pytest.approx(30.0)
    assert sim.firehose.summary("metered").objects == 1
