"""Amazon Data Firehose's delivery to Amazon S3, played on the virtual clock (`sim.firehose`).

moto writes every PutRecord(Batch) straight into one S3 object. For a Direct PUT stream with an
S3 or ExtendedS3 destination the adapter (`_moto_patches/firehose.py`) hands the records here
instead, and they go the way AWS documents (`rules/firehose.py` cites the pages):

1. With a Lambda processor, records wait in the stream's transformation buffer until its
   BufferSizeInMBs or BufferIntervalInSeconds is reached, then go in one synchronous invocation
   with AWS's event (invocationId, deliveryStreamArn, region, records of recordId,
   approximateArrivalTimestamp, base64 data). A failed or throttled invocation is tried again,
   NumberOfRetries times; the response is judged record by record (Ok, Dropped,
   ProcessingFailed; a missing, duplicated or malformed record fails); failed records go to the
   error output as processing-failed records. The destination sees Ok records when the
   invocation ends.
2. With dynamic partitioning, each record's keys come from the MetadataExtraction processor's
   JQ query (the `jq` package, imported by the first stream that has one) and from the
   function's `metadata.partitionKeys`; each set of key values has its own buffer. A record
   without a key its prefix needs goes to the error output.
3. The AppendDelimiterToRecord processor adds a newline after each record; nothing else does.
4. A buffer is delivered when it holds SizeInMBs, or IntervalInSeconds after its oldest record,
   whichever comes first: one S3 object under the evaluated prefix, named as AWS names it. With
   DataFormatConversionConfiguration the records become one Parquet object (pyarrow, imported
   when a stream converts) with the columns of the Glue table; records that do not fit go to the
   error output as format-conversion-failed records.
5. The AWS/Firehose metrics of each minute (IncomingRecords, IncomingBytes, IncomingPutRequests,
   DeliveryToS3.Records/Bytes/Success/DataFreshness, ExecuteProcessing.*,
   SucceedProcessing.*) go into moto's CloudWatch when the minute ends.

Modelled where AWS is silent: error objects are written when their records fail (not
buffered); the object name's time is the delivery's; a throttled transformation is tried again
1 s later; DataFreshness is, per delivered object, the age of its oldest record at delivery.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from . import moto_state
from .clock import ScheduledCall, from_micros
from .errors import Throttled
from .rules import firehose as rules
from .telemetry.sink import MotoSink

if TYPE_CHECKING:
    from .simulator import Simulator

_MINUTE_US = rules.PERIOD_S * 1_000_000
_THROTTLED_RETRY_US = 1_000_000  # modelled: AWS gives no interval


@dataclass(frozen=True)
class DeliveryPlan:
    """What a stream's S3 or ExtendedS3 destination configuration asks for, checked as AWS
    checks it (`from_config` raises `rules.ConfigurationError`)."""

    bucket: str
    prefix: str
    error_output_prefix: str
    buffering: rules.Buffering
    dynamic_partitioning: bool
    jq_query: str | None
    lambda_arn: str | None
    lambda_buffering: rules.Buffering | None
    lambda_retries: int
    append_delimiter: bool
    glue_table: tuple[str, str] | None  # (database, table) of a Parquet conversion
    extension: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DeliveryPlan:
        conversion = config.get("DataFormatConversionConfiguration") or {}
        converting = bool(conversion) and conversion.get("Enabled", True)
        dynamic = bool((config.get("DynamicPartitioningConfiguration") or {}).get("Enabled"))
        processing = config.get("ProcessingConfiguration")
        lambda_params = rules.processor_parameters(processing, "Lambda")
        query_params = rules.processor_parameters(processing, "MetadataExtraction")
        prefix, error_prefix = config.get("Prefix") or "", config.get("ErrorOutputPrefix") or ""
        rules.check_prefixes(prefix, error_prefix, dynamic_partitioning=dynamic)
        jq_query = (query_params or {}).get("MetadataExtractionQuery")
        if jq_query is not None:
            _compiled(jq_query)  # refused at creation, as AWS refuses a query that does not compile
        table = None
        if converting:
            schema = conversion.get("SchemaConfiguration") or {}
            table = (schema.get("DatabaseName", ""), schema.get("TableName", ""))
        return cls(
            bucket=config["BucketARN"].split(":")[-1], prefix=prefix, error_output_prefix=error_prefix,
            buffering=rules.buffering(config.get("BufferingHints"), format_conversion=converting,
                                      dynamic_partitioning=dynamic),
            dynamic_partitioning=dynamic, jq_query=jq_query,
            lambda_arn=(lambda_params or {}).get("LambdaArn"),
            lambda_buffering=rules.lambda_buffering(lambda_params) if lambda_params is not None else None,
            lambda_retries=rules.lambda_retries(lambda_params or {}),
            append_delimiter=rules.processor_parameters(processing, "AppendDelimiterToRecord") is not None,
            glue_table=table, extension=config.get("FileExtension") or "")


_jq_programs: dict[str, Any] = {}


def _compiled(query: str) -> Any:
    """A JQ program (the `jq` package), compiled once per query."""
    if query not in _jq_programs:
        import jq

        try:
            _jq_programs[query] = jq.compile(query)
        except ValueError as e:
            raise rules.ConfigurationError(f"MetadataExtractionQuery does not compile: {e}") from None
    return _jq_programs[query]


@dataclass(frozen=True)
class StreamSettings:
    """A delivery stream as the adapter read it from moto at a put."""

    name: str
    arn: str
    version: str
    plan: DeliveryPlan


@dataclass
class FirehoseRecord:
    record_id: str
    data: bytes
    arrival_us: int
    lambda_keys: dict[str, str] = field(default_factory=dict)


@dataclass
class FirehoseObject:
    """One S3 object Firehose wrote: `kind` "data" or the error output type."""

    stream: str
    bucket: str
    key: str
    kind: str
    records: int
    bytes: int
    delivered_us: int
    oldest_arrival_us: int

    @property
    def freshness_s(self) -> float:
        """How old its oldest record was when it was delivered."""
        return (self.delivered_us - self.oldest_arrival_us) / 1e6


@dataclass
class Transformation:
    """One batch sent to the stream's Lambda function, with every attempt's request id."""

    stream: str
    records: int
    started_us: int
    request_ids: list[str] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=dict)  # Ok / Dropped / ProcessingFailed -> records


@dataclass(frozen=True)
class StreamSummary:
    objects: int
    records: int
    bytes: int
    mean_freshness_s: float
    max_freshness_s: float


@dataclass
class _Buffer:
    records: list[FirehoseRecord] = field(default_factory=list)
    size: int = 0
    call: ScheduledCall | None = None


@dataclass
class _Stream:
    settings: StreamSettings
    to_transform: _Buffer = field(default_factory=_Buffer)
    partitions: dict[tuple[tuple[str, str, str], ...], _Buffer] = field(default_factory=dict)


class FirehoseDelivery:
    """Firehose's buffers, transformations and S3 deliveries (`sim.firehose`): `objects`
    (`FirehoseObject`s, data and error), `transformations`, `summary(stream)`,
    `buffered(stream)` (records waiting)."""

    def __init__(self, sim: Simulator, rng: Random):
        self._sim = sim
        self._rng = rng
        self._streams: dict[str, _Stream] = {}
        self.objects: list[FirehoseObject] = []
        self.transformations: list[Transformation] = []
        self._sink = MotoSink(sim.account_id, sim.region)
        self._minutes: dict[int, dict[tuple[str, str], list[float]]] = {}

    def start(self) -> None:
        self._sink.reset()

    # -- what the adapter calls ---------------------------------------------------------------
    def new_record_id(self) -> str:
        """An opaque record id as PutRecord answers it (seeded digits, as long as AWS's)."""
        return str(self._rng.getrandbits(184)).zfill(56)

    def put(self, settings: StreamSettings, datas: list[bytes]) -> list[str]:
        """Accept the records of one PutRecord(Batch) call; their record ids."""
        stream = self._streams.setdefault(settings.name, _Stream(settings))
        stream.settings = settings
        now = self._now_us
        records = [FirehoseRecord(self.new_record_id(), data, now) for data in datas]
        self._metric(settings.name, "IncomingPutRequests", 1)
        self._metric(settings.name, "IncomingRecords", len(records))
        self._metric(settings.name, "IncomingBytes", sum(len(d) for d in datas))
        if settings.plan.lambda_arn:
            assert settings.plan.lambda_buffering is not None
            self._add(stream.to_transform, records, settings.plan.lambda_buffering,
                      lambda: self._transform(stream))
        else:
            self._to_destination(stream, records)
        return [r.record_id for r in records]

    # -- what lessons read --------------------------------------------------------------------
    def summary(self, stream: str) -> StreamSummary:
        data = [o for o in self.objects if o.stream == stream and o.kind == "data"]
        ages = [o.freshness_s for o in data]
        return StreamSummary(len(data), sum(o.records for o in data), sum(o.bytes for o in data),
                             sum(ages) / len(ages) if ages else 0.0, max(ages, default=0.0))

    def buffered(self, stream: str) -> int:
        found = self._streams.get(stream)
        if found is None:
            return 0
        return len(found.to_transform.records) + sum(len(b.records) for b in found.partitions.values())

    # -- buffers ------------------------------------------------------------------------------
    @property
    def _now_us(self) -> int:
        return self._sim._scheduler.now_us

    def _add(self, buffer: _Buffer, records: list[FirehoseRecord], hints: rules.Buffering,
             flush: Callable[[], None]) -> None:
        buffer.records.extend(records)
        buffer.size += sum(len(r.data) for r in records)
        if hints.full(buffer.size):
            self._reschedule(buffer, self._now_us, flush)
        elif buffer.call is None:
            due = buffer.records[0].arrival_us + round(hints.interval_s * 1e6)
            self._reschedule(buffer, due, flush)

    def _reschedule(self, buffer: _Buffer, at_us: int, flush: Callable[[], None]) -> None:
        if buffer.call is not None:
            buffer.call.cancel()
        buffer.call = self._sim._scheduler.call_at(at_us, flush)

    # -- transformation -----------------------------------------------------------------------
    def _transform(self, stream: _Stream) -> None:
        batch, stream.to_transform = stream.to_transform.records, _Buffer()
        transformation = Transformation(stream.settings.name, len(batch), self._now_us)
        self.transformations.append(transformation)
        self._invoke(stream, batch, transformation)

    def _invoke(self, stream: _Stream, batch: list[FirehoseRecord], transformation: Transformation) -> None:
        settings, service = stream.settings, self._sim._service
        plan = settings.plan
        assert plan.lambda_arn is not None
        event = {"invocationId": str(self._uuid()), "deliveryStreamArn": settings.arn, "region": self._sim.region,
                 "records": [{"recordId": r.record_id, "approximateArrivalTimestamp": r.arrival_us // 1000,
                              "data": base64.b64encode(r.data).decode()} for r in batch]}
        attempts = len(transformation.request_ids) + 1
        try:
            config, arn = moto_state.resolve_function(self._sim.account_id, self._sim.region, plan.lambda_arn, None)
            request = service.new_request(config, arn, json.dumps(event).encode(), "RequestResponse",
                                          source="firehose")
            transformation.request_ids.append(request.request_id)
            record = service.execute(request)
        except Throttled:
            return self._retry_or_fail(stream, batch, transformation, attempts, _THROTTLED_RETRY_US,
                                       rules.INVOKE_LIMIT_EXCEEDED, "The Lambda concurrent execution limit is exceeded")
        self._metric(settings.name, "ExecuteProcessing.Duration", record.duration_ms)
        if not record.succeeded:
            self._metric(settings.name, "ExecuteProcessing.Success", 0)
            return self._retry_or_fail(stream, batch, transformation, attempts, record.total_us,
                                       rules.FUNCTION_ERROR, f"The Lambda function failed: {record.error_type}")
        self._metric(settings.name, "ExecuteProcessing.Success", 1)
        judged = rules.judge_response([r.record_id for r in batch], record.result())
        self._sim._scheduler.call_at(self._now_us + record.total_us, self._transformed, stream, batch,
                                     transformation, judged)

    def _retry_or_fail(self, stream: _Stream, batch: list[FirehoseRecord], transformation: Transformation,
                       attempts: int, after_us: int, code: str, message: str) -> None:
        if attempts <= stream.settings.plan.lambda_retries:
            self._sim._scheduler.call_at(self._now_us + after_us, self._invoke, stream, batch, transformation)
            return
        judged = [rules.Transformed(r.record_id, rules.FAILED, error_code=code, error_message=message) for r in batch]
        self._sim._scheduler.call_at(self._now_us + after_us, self._transformed, stream, batch, transformation,
                                     judged)

    def _transformed(self, stream: _Stream, batch: list[FirehoseRecord], transformation: Transformation,
                     judged: list[rules.Transformed]) -> None:
        plan, now = stream.settings.plan, self._now_us
        ok, failed = [], []
        for record, outcome in zip(batch, judged):
            transformation.results[outcome.result] = transformation.results.get(outcome.result, 0) + 1
            if outcome.result == rules.OK:
                ok.append(FirehoseRecord(record.record_id, outcome.data, record.arrival_us, outcome.partition_keys))
            elif outcome.result == rules.FAILED:
                failed.append((record.arrival_us, rules.processing_failed_record(
                    attempts=len(transformation.request_ids), arrival_ms=record.arrival_us // 1000,
                    error_code=outcome.error_code or "", error_message=outcome.error_message or "",
                    ending_ms=now // 1000, raw_data=record.data, lambda_arn=plan.lambda_arn or "")))
        self._metric(stream.settings.name, "SucceedProcessing.Records", len(ok))
        self._metric(stream.settings.name, "SucceedProcessing.Bytes", sum(len(r.data) for r in ok))
        if failed:
            self._write_errors(stream, rules.PROCESSING_FAILED, failed)
        if ok:
            self._to_destination(stream, ok)

    # -- partitions and delivery ------------------------------------------------------------------
    def _to_destination(self, stream: _Stream, records: list[FirehoseRecord]) -> None:
        plan = stream.settings.plan
        failed: list[tuple[int, dict[str, Any]]] = []
        grouped: dict[tuple[tuple[str, str, str], ...], list[FirehoseRecord]] = {}
        for record in records:
            if plan.append_delimiter:
                record = FirehoseRecord(record.record_id, record.data + b"\n", record.arrival_us, record.lambda_keys)
            try:
                partition = self._partition(plan, record)
            except (rules.MissingPartitionKey, ValueError) as e:
                failed.append((record.arrival_us, rules.processing_failed_record(
                    attempts=1, arrival_ms=record.arrival_us // 1000,
                    error_code="DynamicPartitioning.MetadataExtractionFailed", error_message=str(e),
                    ending_ms=self._now_us // 1000, raw_data=record.data, lambda_arn=plan.lambda_arn or "")))
                continue
            grouped.setdefault(partition, []).append(record)
        if failed:
            self._write_errors(stream, rules.PROCESSING_FAILED, failed)
        for partition, members in grouped.items():
            buffer = stream.partitions.setdefault(partition, _Buffer())
            self._add(buffer, members, plan.buffering, lambda p=partition: self._deliver(stream, p))

    def _partition(self, plan: DeliveryPlan, record: FirehoseRecord) -> tuple[tuple[str, str, str], ...]:
        """The record's partition: the value of each key its prefix names (() without dynamic
        partitioning). Raises MissingPartitionKey or ValueError (not JSON for the query)."""
        if not plan.dynamic_partitioning:
            return ()
        query_keys: dict[str, str] = {}
        if plan.jq_query is not None:
            found = _compiled(plan.jq_query).input_text(record.data.decode("utf-8", "replace")).first()
            if not isinstance(found, dict):
                raise ValueError("the MetadataExtractionQuery did not return an object")
            # a key the query finds no value for (null) is a key that could not be extracted
            query_keys = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in found.items() if v is not None}
        partition = []
        for namespace, key in rules.expressions(plan.prefix):
            keys = query_keys if namespace == "partitionKeyFromQuery" else \
                record.lambda_keys if namespace == "partitionKeyFromLambda" else None
            if keys is None:
                continue
            if key not in keys:
                raise rules.MissingPartitionKey(f"{namespace}:{key}")
            partition.append((namespace, key, keys[key]))
        return tuple(partition)

    def _deliver(self, stream: _Stream, partition: tuple[tuple[str, str, str], ...]) -> None:
        buffer = stream.partitions.pop(partition)
        settings, plan = stream.settings, stream.settings.plan
        records = buffer.records
        if plan.glue_table is not None:
            body, records = self._to_parquet(stream, records)
            if not records:
                return
        else:
            body = b"".join(r.data for r in records)
        oldest = min(r.arrival_us for r in records)
        values = rules.PrefixValues(
            at=from_micros(oldest), random_string=self._random_string,
            query_keys={k: v for ns, k, v in partition if ns == "partitionKeyFromQuery"},
            lambda_keys={k: v for ns, k, v in partition if ns == "partitionKeyFromLambda"})
        prefix = rules.data_prefix(plan.prefix, values, dynamic_partitioning=plan.dynamic_partitioning)
        self._write(settings, plan, prefix, "data", body, len(records), oldest)

    def _to_parquet(self, stream: _Stream, records: list[FirehoseRecord]) -> tuple[bytes, list[FirehoseRecord]]:
        """One Parquet object of the records that fit the Glue table's columns; the others go to
        the error output."""
        pa, pq = _pyarrow()
        plan = stream.settings.plan
        assert plan.glue_table is not None
        database, table_name = plan.glue_table
        table = moto_state.glue_table(self._sim.account_id, self._sim.region, database, table_name)
        catalog = {"catalogId": self._sim.account_id, "databaseName": database, "tableName": table_name,
                   "region": self._sim.region}
        try:
            if table is None:
                raise rules.ConfigurationError(f"Glue table {database}.{table_name} does not exist")
            columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
            arrow = _arrow_types()
            schema = pa.schema([(name, arrow[rules.glue_scalar(kind)]) for name, kind in columns])
        except rules.ConfigurationError as e:
            self._conversion_failed(stream, records, rules.CONVERSION_SCHEMA, str(e), catalog)
            return b"", []
        rows, kept, failed = [], [], []
        for record in records:
            try:
                document = json.loads(record.data)
                if not isinstance(document, dict):
                    raise ValueError("the record is not a JSON object")
                lowered = {str(k).lower(): v for k, v in document.items()}  # the OpenX SerDe's default
                rows.append({name: rules.convert_value(kind, lowered.get(name.lower())) for name, kind in columns})
                kept.append(record)
            except (ValueError, TypeError, OverflowError) as e:
                failed.append((record, str(e)))
        for record, message in failed:
            self._conversion_failed(stream, [record], rules.CONVERSION_MALFORMED, message, catalog)
        if not rows:
            return b"", []
        out = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), out, compression="snappy")
        return out.getvalue(), kept

    def _conversion_failed(self, stream: _Stream, records: list[FirehoseRecord], code: str, message: str,
                           catalog: dict[str, str]) -> None:
        self._write_errors(stream, rules.FORMAT_CONVERSION_FAILED, [
            (r.arrival_us, rules.format_conversion_failed_record(
                arrival_ms=r.arrival_us // 1000, error_code=code, error_message=message,
                ending_ms=self._now_us // 1000, raw_data=r.data, table=catalog)) for r in records])

    def _write_errors(self, stream: _Stream, error_type: str, failed: list[tuple[int, dict[str, Any]]]) -> None:
        settings, plan = stream.settings, stream.settings.plan
        oldest = min(arrival for arrival, _ in failed)
        values = rules.PrefixValues(at=from_micros(oldest), random_string=self._random_string,
                                    error_output_type=error_type)
        prefix = rules.error_prefix(plan.prefix, plan.error_output_prefix, values)
        self._write(settings, plan, prefix, error_type, rules.error_object_body([r for _, r in failed]),
                    len(failed), oldest)

    def _write(self, settings: StreamSettings, plan: DeliveryPlan, prefix: str, kind: str, body: bytes,
               records: int, oldest_us: int) -> None:
        now = self._now_us
        key = rules.object_key(prefix, settings.name, settings.version, from_micros(now), str(self._uuid()),
                               plan.extension)
        moto_state.put_s3_object(self._sim.account_id, self._sim.region, plan.bucket, key, body)
        self.objects.append(FirehoseObject(settings.name, plan.bucket, key, kind, records, len(body), now, oldest_us))
        if kind == "data":
            self._metric(settings.name, "DeliveryToS3.Records", records)
            self._metric(settings.name, "DeliveryToS3.Bytes", len(body))
            self._metric(settings.name, "DeliveryToS3.Success", 1)
            self._metric(settings.name, "DeliveryToS3.DataFreshness", (now - oldest_us) / 1e6)

    def _uuid(self) -> Any:
        import uuid

        return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def _random_string(self) -> str:
        return str(self._uuid())[:rules.RANDOM_STRING_LENGTH]

    # -- metrics ------------------------------------------------------------------------------
    def _metric(self, stream: str, name: str, value: float) -> None:
        """Add to the minute's statistics; the minute is written into CloudWatch when it ends."""
        minute = self._now_us // _MINUTE_US
        if minute not in self._minutes:
            self._minutes[minute] = {}
            self._sim._scheduler.call_at((minute + 1) * _MINUTE_US, self._publish, minute, daemon=True)
        stats = self._minutes[minute].setdefault((stream, name), [0, 0.0, value, value])
        stats[0] += 1
        stats[1] += value
        stats[2], stats[3] = min(stats[2], value), max(stats[3], value)

    def _publish(self, minute: int) -> None:
        data = [{"MetricName": name, "Dimensions": [{"Name": rules.DIMENSION, "Value": stream}],
                 "Timestamp": from_micros(minute * _MINUTE_US), "Unit": rules.METRIC_UNITS[name],
                 "StatisticValues": {"SampleCount": count, "Sum": total, "Minimum": low, "Maximum": high}}
                for (stream, name), (count, total, low, high) in self._minutes.pop(minute).items()]
        self._sink.put_metric_data(rules.NAMESPACE, data)


def _pyarrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet, imported at the first conversion."""
    with warnings.catch_warnings():
        # While a simulation runs, freezegun's FakeDate and FakeDatetime stand in for datetime's
        # classes, and pyarrow's extension types, checking their size on import, warn; pyarrow
        # reads dates and times through the C API, which sees the real ones.
        warnings.filterwarnings("ignore", r"datetime\.\w+ size changed", RuntimeWarning)
        import pyarrow
        import pyarrow.parquet

    return pyarrow, pyarrow.parquet


def _arrow_types() -> dict[str, Any]:
    pa, _ = _pyarrow()
    return {"string": pa.string(), "varchar": pa.string(), "char": pa.string(), "int": pa.int32(),
            "integer": pa.int32(), "bigint": pa.int64(), "smallint": pa.int16(), "tinyint": pa.int8(),
            "double": pa.float64(), "float": pa.float32(), "boolean": pa.bool_(),
            "timestamp": pa.timestamp("ms", tz="UTC"), "date": pa.date32()}

