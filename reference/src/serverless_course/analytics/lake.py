"""The analytics pipeline deployed in a simulation, sensors publishing into it, and Athena
queries over its lake.

`deploy` deploys template.yaml with `sim.deploy` (the template `sam deploy` takes);
`publish` sends a fleet's messages through IoT Core at their arrival times; `query` runs one
Athena statement and answers its rows and DataScannedInBytes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from serverless_course.analytics.fleet import Message

if TYPE_CHECKING:
    from lambdasim import Simulator

TEMPLATE = Path(__file__).parent / "template.yaml"


@dataclass(frozen=True)
class Lake:
    stack_name: str
    bucket: str
    database: str
    stream: str
    aggregates_table: str
    alerts_topic: str

    @property
    def results_location(self) -> str:
        # Outside the table's location, so query results are never read as telemetry.
        return f"s3://{self.bucket}/athena-results/"


def deploy(sim: Simulator, *, stack_name: str = "iot-analytics", buffer_interval_s: int = 300,
           buffer_size_mib: int = 128, output_format: str = "PARQUET", database: str = "iot_lake",
           alert_celsius: float = 40, validate: bool = True) -> Lake:
    """`validate=False` skips cfn-lint (about 2 s of CPU, most of it imports): for lessons that
    deploy the template tests/analytics already lints."""
    stack = sim.deploy(TEMPLATE, stack_name=stack_name, validate=validate, parameters={
        "BufferIntervalInSeconds": str(buffer_interval_s), "BufferSizeInMBs": str(buffer_size_mib),
        "OutputFormat": output_format, "DatabaseName": database, "TemperatureAlertCelsius": str(alert_celsius)})
    out = stack.outputs
    return Lake(stack_name, out["LakeBucketName"], out["DatabaseName"], out["DeliveryStreamName"],
                out["AggregatesTableName"], out["AlertsTopicArn"])


def publish(sim: Simulator, messages: Iterable[Message]) -> None:
    """Each message through IoT Core's rules engine at its arrival (the clock moves there)."""
    for message in messages:
        if message.arrival > sim.now:
            sim.run_until(message.arrival)
        sim.iot.publish(message.topic, message.payload, client_id=message.topic.split("/")[1])


# --8<-- [start:put_batches]
def put_batches(sim: Simulator, stream: str | Sequence[str], messages: Iterable[Message], every_s: int = 10) -> None:
    """The messages straight into Firehose with PutRecordBatch, as an IoT rule's Firehose action
    with batchMode sends a gateway's batch (https://docs.aws.amazon.com/iot/latest/developerguide/kinesis-firehose-rule-action.html):
    what arrived in each `every_s` seconds, sent at the end of them, in batches of up to 500
    records (https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html).
    Far fewer calls than a publish per reading, for runs of a million readings. Several streams
    get each batch at the same moment, as one rule with a Firehose action per stream sends it."""
    firehose = sim.client("firehose")
    streams = [stream] if isinstance(stream, str) else list(stream)
    pending: list[bytes] = []

    def flush() -> None:
        for i in range(0, len(pending), 500):
            for name in streams:
                firehose.put_record_batch(DeliveryStreamName=name,
                                          Records=[{"Data": data} for data in pending[i:i + 500]])
        pending.clear()

    step = timedelta(seconds=every_s)
    due = None
    for message in messages:
        if due is not None and message.arrival >= due:
            sim.run_until(due)
            flush()
        if not pending:
            due = message.arrival + step
        pending.append(message.payload)
    if due is not None:
        sim.run_until(max(due, sim.now))
        flush()
# --8<-- [end:put_batches]


def drain(sim: Simulator, until: datetime | None = None) -> None:
    """Run the clock until every buffer is delivered: the longest Firehose buffer is 900 s and
    the transformation's 60 s buffer comes first (buffering-hints.html)."""
    sim.run_until(until) if until is not None else sim.run_for(900 + 60 + 1)


@dataclass(frozen=True)
class QueryResult:
    header: list[str]
    rows: list[list[str | None]]
    bytes_scanned: int
    cost_usd: float
    state: str
    reason: str | None


def query(sim: Simulator, lake: Lake, sql: str) -> QueryResult:
    """Run `sql` in Athena against the lake's database; every row of its result."""
    athena = sim.client("athena")
    query_id = athena.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": lake.database},
        ResultConfiguration={"OutputLocation": lake.results_location})["QueryExecutionId"]
    status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    state = status["Status"]["State"]
    scanned = int(status.get("Statistics", {}).get("DataScannedInBytes", 0))
    if state != "SUCCEEDED":
        return QueryResult([], [], scanned, 0.0, state, status["Status"].get("StateChangeReason"))
    rows: list[list[str | None]] = []
    token: str | None = None
    while True:
        page = athena.get_query_results(QueryExecutionId=query_id, **({"NextToken": token} if token else {}))
        rows.extend([d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"])
        token = page.get("NextToken")
        if not token:
            break
    header, rows = (rows[0], rows[1:]) if rows else ([], [])  # a DDL statement has no rows
    return QueryResult(header, rows, scanned, sim.athena.executions[query_id].cost_usd, state, None)
