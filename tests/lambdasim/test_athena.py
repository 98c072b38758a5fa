"""Amazon Athena queries run over Glue tables on S3 (module 7, issue 21).

Each test names the AWS page it follows. The module's simulation is built once: three days of
IoT readings written Hive style (`year=2026/month=01/day=0N/`) as JSON lines and as Parquet
(DuckDB's COPY TO), a JSON table made with Glue's API and its partitions found by MSCK REPAIR
TABLE, a Parquet table made by Athena DDL and its partitions added one by one. Expected answers
come from the readings themselves and from the objects' sizes, not from the query engine.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import boto3
import pytest

from lambdasim import Simulator
from lambdasim.rules import athena as rules

BUCKET = "iot-lake"
RESULTS = f"s3://{BUCKET}/athena-results/"
DAYS = ("01", "02", "03")
DEVICES = ("d1", "d2", "d3", "d4")


def _readings(day: str) -> list[dict]:
    return [{"device_id": DEVICES[i % 4], "temp": round(15 + int(day) + (i * 7 % 11) / 2, 1),
             "humidity": 40 + i % 9, "ts": f"2026-01-{day}T{i % 24:02d}:{i * 7 % 60:02d}:00Z"} for i in range(40)]


def _parquet_bytes(rows: list[dict]) -> bytes:
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "rows.json", Path(folder) / "rows.parquet"
        source.write_text("\n".join(json.dumps(r) for r in rows))
        connection = duckdb.connect()
        connection.execute(f"COPY (SELECT * FROM read_json('{source}')) TO '{target}' (FORMAT parquet)")
        connection.close()
        return target.read_bytes()


def _table_input(name: str, location: str, serde: str, input_format: str, partitions=True, parameters=None):
    return {"Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters or {},
            "PartitionKeys": [{"Name": "year", "Type": "int"}, {"Name": "month", "Type": "string"},
                              {"Name": "day", "Type": "string"}] if partitions else [],
            "StorageDescriptor": {"Columns": [{"Name": "device_id", "Type": "string"},
                                              {"Name": "temp", "Type": "double"},
                                              {"Name": "humidity", "Type": "int"},
                                              {"Name": "ts", "Type": "string"}],
                                  "Location": location, "InputFormat": input_format,
                                  "SerdeInfo": {"SerializationLibrary": serde}}}


@pytest.fixture(scope="module")
def lake():
    with Simulator(seed=5) as sim:
        s3, glue = sim.client("s3"), sim.client("glue")
        s3.create_bucket(Bucket=BUCKET)
        glue.create_database(DatabaseInput={"Name": "iot"})
        sizes: dict[str, dict[str, int]] = {"json": {}, "parquet": {}}
        for day in DAYS:
            rows = _readings(day)
            body = "".join(json.dumps(r) + "\n" for r in rows).encode()
            s3.put_object(Bucket=BUCKET, Key=f"json/year=2026/month=01/day={day}/part-0.json", Body=body)
            sizes["json"][day] = len(body)
            parquet = _parquet_bytes(rows)
            s3.put_object(Bucket=BUCKET, Key=f"parquet/year=2026/month=01/day={day}/part-0.parquet", Body=parquet)
            sizes["parquet"][day] = len(parquet)
        glue.create_table(DatabaseName="iot", TableInput=_table_input(
            "readings_json", f"s3://{BUCKET}/json/", "org.openx.data.jsonserde.JsonSerDe",
            "org.apache.hadoop.mapred.TextInputFormat"))
        lake = Lake(sim, sizes)
        assert lake.run("MSCK REPAIR TABLE readings_json")["Status"]["State"] == "SUCCEEDED"
        ddl = lake.run(f"""CREATE EXTERNAL TABLE readings_parquet (device_id string, temp double, humidity int, ts string)
            PARTITIONED BY (year int, month string, day string) STORED AS PARQUET
            LOCATION 's3://{BUCKET}/parquet/'""")
        assert ddl["Status"]["State"] == "SUCCEEDED", ddl["Status"]
        for day in DAYS:
            lake.run(f"ALTER TABLE readings_parquet ADD PARTITION (year=2026, month='01', day='{day}')")
        yield lake


class Lake:
    def __init__(self, sim: Simulator, sizes: dict[str, dict[str, int]]):
        self.sim, self.sizes = sim, sizes
        self.athena = boto3.client("athena", region_name=sim.region)

    def start(self, sql: str, **kwargs) -> str:
        kwargs.setdefault("ResultConfiguration", {"OutputLocation": RESULTS})
        return self.athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": "iot"},
                                                 **kwargs)["QueryExecutionId"]

    def run(self, sql: str, **kwargs) -> dict:
        return self.athena.get_query_execution(QueryExecutionId=self.start(sql, **kwargs))["QueryExecution"]

    def rows(self, execution: dict) -> list[list[str | None]]:
        pages = self.athena.get_paginator("get_query_results").paginate(
            QueryExecutionId=execution["QueryExecutionId"])
        return [[d.get("VarCharValue") for d in row["Data"]] for page in pages for row in page["ResultSet"]["Rows"]]


def test_select_runs_the_sql_over_the_json_objects_of_the_glue_table(lake):
    """A SELECT with WHERE, GROUP BY, aggregates and ORDER BY answers from the table's S3
    objects, header row first (https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html)."""
    execution = lake.run("SELECT device_id, count(*) AS n, max(temp) AS hottest FROM readings_json "
                         "WHERE humidity >= 44 GROUP BY device_id ORDER BY device_id")
    assert execution["Status"]["State"] == "SUCCEEDED"
    everything = [r for day in DAYS for r in _readings(day) if r["humidity"] >= 44]
    expected = [[d, str(sum(r["device_id"] == d for r in everything)),
                 str(max(r["temp"] for r in everything if r["device_id"] == d))] for d in DEVICES]
    assert lake.rows(execution) == [["device_id", "n", "hottest"], *expected]
    page = lake.athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    assert [(c["Name"], c["Type"]) for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]] == [
        ("device_id", "varchar"), ("n", "bigint"), ("hottest", "double")]


def test_partition_pruning_reads_only_the_partitions_the_where_clause_names(lake):
    """WHERE on partition columns limits the data Athena scans to those partitions
    (https://docs.aws.amazon.com/athena/latest/ug/partitions.html); a JSON object is read whole."""
    full = lake.run("SELECT avg(temp) FROM readings_json")
    one_day = lake.run("SELECT avg(temp) FROM readings_json WHERE year = 2026 AND day = '02'")
    assert full["Statistics"]["DataScannedInBytes"] == sum(lake.sizes["json"].values())
    assert one_day["Statistics"]["DataScannedInBytes"] == lake.sizes["json"]["02"]
    assert lake.rows(one_day)[1] == [str(sum(r["temp"] for r in _readings("02")) / 40)]


def test_parquet_scans_only_the_referenced_columns_and_less_than_json(lake):
    """Parquet lets Athena read only the columns a query needs
    (https://docs.aws.amazon.com/athena/latest/ug/columnar-storage.html): one column scans less
    than all four, and less than the same rows as JSON."""
    one_column = lake.run("SELECT avg(temp) FROM readings_parquet")
    every_column = lake.run("SELECT * FROM readings_parquet")
    as_json = lake.run("SELECT avg(temp) FROM readings_json")
    assert lake.rows(one_column)[1] == lake.rows(as_json)[1]
    assert 0 < one_column["Statistics"]["DataScannedInBytes"] < every_column["Statistics"]["DataScannedInBytes"]
    assert every_column["Statistics"]["DataScannedInBytes"] <= sum(lake.sizes["parquet"].values())
    assert one_column["Statistics"]["DataScannedInBytes"] < as_json["Statistics"]["DataScannedInBytes"]
    assert len(lake.rows(every_column)) == 1 + 3 * 40


def test_cost_is_five_dollars_a_terabyte_with_a_ten_megabyte_minimum_and_ddl_free(lake):
    """$5 per TB scanned, rounded up to the megabyte, 10 MB minimum a query; DDL and failed queries
    free (https://aws.amazon.com/athena/pricing/)."""
    query_id = lake.start("SELECT count(*) FROM readings_json WHERE day = '01'")
    recorded = lake.sim.athena.executions[query_id]
    assert recorded.data_scanned_bytes == lake.sizes["json"]["01"] < rules.MINIMUM_BILLED_BYTES
    assert recorded.cost_usd == pytest.approx(10 * 2**20 / 2**40 * 5.0)
    assert rules.billed_bytes(10 * 2**20 + 1) == 11 * 2**20
    ddl = [e for e in lake.sim.athena.executions.values() if e.statement_type == "DDL"]
    failed = lake.sim.athena.executions[lake.start("SELECT * FROM nowhere")]
    assert ddl and all(e.cost_usd == 0 for e in ddl) and failed.cost_usd == 0


def test_results_are_a_csv_named_after_the_query_at_the_output_location(lake):
    """API queries write `QueryID.csv` and `QueryID.csv.metadata` straight to the output location
    (https://docs.aws.amazon.com/athena/latest/ug/querying-finding-output-files.html)."""
    execution = lake.run("SELECT device_id, humidity FROM readings_json WHERE day = '03' ORDER BY ts LIMIT 3")
    query_id = execution["QueryExecutionId"]
    assert execution["ResultConfiguration"]["OutputLocation"] == f"{RESULTS}{query_id}.csv"
    s3 = lake.sim.client("s3")
    body = s3.get_object(Bucket=BUCKET, Key=f"athena-results/{query_id}.csv")["Body"].read().decode()
    assert body.splitlines()[0] == '"device_id","humidity"'
    assert list(csv.reader(io.StringIO(body))) == lake.rows(execution)
    s3.head_object(Bucket=BUCKET, Key=f"athena-results/{query_id}.csv.metadata")


def test_get_query_results_pages_with_next_token_header_first(lake):
    """GetQueryResults answers at most MaxResults rows (up to 1,000) and a NextToken for the rest
    (https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html)."""
    query_id = lake.start("SELECT ts FROM readings_json WHERE day = '01' ORDER BY ts")
    first = lake.athena.get_query_results(QueryExecutionId=query_id, MaxResults=25)
    second = lake.athena.get_query_results(QueryExecutionId=query_id, MaxResults=25, NextToken=first["NextToken"])
    rows = [r["Data"][0]["VarCharValue"] for page in (first, second) for r in page["ResultSet"]["Rows"]]
    assert rows == ["ts", *sorted(r["ts"] for r in _readings("01"))]
    assert "NextToken" not in second
    with pytest.raises(lake.athena.exceptions.InvalidRequestException):
        lake.athena.get_query_results(QueryExecutionId=query_id, MaxResults=1001)


def test_a_failed_query_is_failed_with_its_reason(lake):
    """An unknown table or a syntax error ends FAILED with a StateChangeReason
    (https://docs.aws.amazon.com/athena/latest/APIReference/API_QueryExecutionStatus.html)."""
    missing = lake.run("SELECT * FROM nowhere")
    assert missing["Status"]["State"] == "FAILED"
    assert missing["Status"]["StateChangeReason"] == \
        "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.iot.nowhere' does not exist"
    broken = lake.run("SELECT device_id FROM readings_json WHERE")
    assert broken["Status"]["State"] == "FAILED"
    assert broken["Status"]["StateChangeReason"].startswith("SYNTAX_ERROR: line 1:")
    with pytest.raises(lake.athena.exceptions.InvalidRequestException):
        lake.athena.get_query_results(QueryExecutionId=missing["QueryExecutionId"])


def test_trino_date_functions_run(lake):
    """Athena's Trino functions from_iso8601_timestamp and date_trunc
    (https://docs.aws.amazon.com/athena/latest/ug/functions-env3.html) run on DuckDB."""
    execution = lake.run("SELECT date_trunc('hour', from_iso8601_timestamp(ts)) AS hour, count(*) AS n "
                         "FROM readings_json WHERE day = '01' GROUP BY 1 ORDER BY 1 LIMIT 1")
    assert lake.rows(execution)[1] == ["2026-01-01 00:00:00.000 UTC", "2"]


def test_partition_projection_computes_partitions_from_table_properties(lake):
    """A projected table's partitions come from its integer and date properties and
    storage.location.template, not from Glue
    (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html)."""
    s3, glue = lake.sim.client("s3"), lake.sim.client("glue")
    for day in DAYS:
        s3.put_object(Bucket=BUCKET, Key=f"projected/2026/01/{day}/part.json",
                      Body="".join(json.dumps(r) + "\n" for r in _readings(day)).encode())
    table = _table_input("readings_projected", f"s3://{BUCKET}/projected/", "org.openx.data.jsonserde.JsonSerDe",
                         "org.apache.hadoop.mapred.TextInputFormat", parameters={
                             "projection.enabled": "true",
                             "projection.year.type": "integer", "projection.year.range": "2025,2026",
                             "projection.month.type": "integer", "projection.month.range": "1,12",
                             "projection.month.digits": "2",
                             "projection.day.type": "date", "projection.day.format": "dd",
                             "projection.day.range": "01,31",
                             "storage.location.template": f"s3://{BUCKET}/projected/${{year}}/${{month}}/${{day}}/"})
    glue.create_table(DatabaseName="iot", TableInput=table)
    execution = lake.run("SELECT count(*) FROM readings_projected WHERE year = 2026 AND month = '01' "
                         "AND day IN ('01', '03')")
    assert lake.rows(execution)[1] == ["80"]
    assert execution["Statistics"]["DataScannedInBytes"] == lake.sizes["json"]["01"] + lake.sizes["json"]["03"]
    assert rules.projected_values({"projection.d.type": "date", "projection.d.format": "yyyy-MM-dd",
                                   "projection.d.range": "2026-01-30,2026-02-02"}, "d", None) == \
        ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]


def test_new_partitions_are_read_only_once_added(lake):
    """Athena reads the partitions registered in the catalog: data in a new Hive-style folder
    appears after ALTER TABLE ADD PARTITION
    (https://docs.aws.amazon.com/athena/latest/ug/alter-table-add-partition.html)."""
    s3 = lake.sim.client("s3")
    late = [{"device_id": "d9", "temp": 1.0, "humidity": 1, "ts": "2026-01-04T00:00:00Z"}]
    s3.put_object(Bucket=BUCKET, Key="parquet/year=2026/month=01/day=04/late.parquet", Body=_parquet_bytes(late))
    count = "SELECT count(*) FROM readings_parquet WHERE device_id = 'd9'"
    assert lake.rows(lake.run(count))[1] == ["0"]
    added = lake.run("ALTER TABLE readings_parquet ADD PARTITION (year=2026, month='01', day='04')")
    assert added["Status"]["State"] == "SUCCEEDED"
    assert lake.rows(lake.run(count))[1] == ["1"]
    again = lake.run("ALTER TABLE readings_parquet ADD PARTITION (year=2026, month='01', day='04')")
    assert again["Status"]["State"] == "FAILED"
    partitions = lake.sim.client("glue").get_partitions(DatabaseName="iot", TableName="readings_parquet")
    assert sorted(p["Values"][2] for p in partitions["Partitions"]) == ["01", "02", "03", "04"]


def test_an_object_rewritten_between_queries_is_read_as_it_now_is(lake):
    """Athena reads the data stored in the table's S3 location
    (https://docs.aws.amazon.com/athena/latest/ug/tables-location-format.html) as it is when the
    query runs: an object overwritten after a first query is read again, rows and column chunks
    (the simulator keeps copies of the objects between queries)."""
    s3, glue = lake.sim.client("s3"), lake.sim.client("glue")
    glue.create_table(DatabaseName="iot", TableInput=_table_input(
        "rewritten", f"s3://{BUCKET}/rewritten/", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", partitions=False))
    query = "SELECT count(*), max(temp) FROM rewritten"
    for rows in (_readings("01")[:1], _readings("02")):
        s3.put_object(Bucket=BUCKET, Key="rewritten/part-0.parquet", Body=_parquet_bytes(rows))
        execution = lake.run(query)
        assert lake.rows(execution)[1] == [str(len(rows)), str(max(r["temp"] for r in rows))]
    first, second = [e for e in lake.sim.athena.executions.values() if e.query == query]
    assert first.data_scanned_bytes < second.data_scanned_bytes
