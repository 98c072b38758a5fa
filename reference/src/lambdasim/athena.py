"""Amazon Athena queries that run: StartQueryExecution, GetQueryExecution, GetQueryResults,
StopQueryExecution and ListQueryExecutions, played by `Athena` (`sim.athena`; the adapter routes
moto's API to it, `_moto_patches/athena.py`).

A query runs when it is started, at that virtual instant, and has ended (SUCCEEDED or FAILED) by
the first GetQueryExecution. The SQL is parsed with sqlglot (its Athena dialect), its tables are
looked up in moto's Glue Data Catalog, and DuckDB runs it over the S3 objects of the partitions
left after pruning: each table becomes a DuckDB view over copies of the objects (JSON lines,
Parquet or CSV, by the table's SerDe and InputFormat) with the partition columns joined in; the
copies are kept between queries and made again when an object's body changed.
sqlglot translates Athena's functions to DuckDB's (from_iso8601_timestamp, date_trunc,
date_add...). What the query read is priced by `rules.athena` (bytes scanned, cost); the result
is written to the output location as Athena names it.

Statements: SELECT (and WITH); CREATE EXTERNAL TABLE (into Glue), ALTER TABLE ... ADD PARTITION
(one partition a statement) and MSCK REPAIR TABLE (Hive-style folders registered in Glue). A
table with `projection.enabled` has its partitions computed from its properties, Glue's ignored
(partition-projection.html).

Modelled where AWS's pages are silent (the manual's fidelity table): the failure reasons'
wording (`TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.db.t' does not exist`,
`SYNTAX_ERROR: line 1:8: ...`), EngineExecutionTimeInMillis and the other timings 0, the
`.metadata` file as JSON (AWS's is binary), values formatted as Trino prints them.

DuckDB and sqlglot are imported by the first query, never by `Simulator().start()`.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from random import Random
from typing import Any

from . import moto_state
from .rules import athena as rules

__all__ = ["Athena", "AthenaExecution", "AthenaRefused"]

CATALOG = "awsdatacatalog"


class AthenaRefused(Exception):
    """An API error as Athena answers it (InvalidRequestException by default)."""

    def __init__(self, message: str, code: str = "InvalidRequestException", status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class QueryFailed(Exception):
    """The query ends FAILED with this StateChangeReason."""


@dataclass
class AthenaExecution:
    """One query execution: what was asked, what it read and cost, and its result."""

    query_id: str
    query: str
    database: str
    work_group: str
    output_location: str  # the result file's S3 URI
    statement_type: str
    submitted_ms: int
    state: str = rules.SUCCEEDED
    state_change_reason: str | None = None
    data_scanned_bytes: int = 0
    cost_usd: float = 0.0
    objects_read: list[str] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, Athena type)
    rows: list[list[str | None]] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.rows)


@dataclass
class _Copy:
    """An S3 object as last copied to the scratch folder; for Parquet, once read, its column
    chunks and its footer's size."""

    body: bytes
    path: str
    parquet: tuple[tuple[rules.ParquetChunk, ...], int] | None = None


@dataclass(frozen=True)
class _Table:
    database: str
    name: str
    columns: list[tuple[str, str]]  # (name, Hive type)
    partition_keys: list[tuple[str, str]]
    location: str
    data_format: str  # json, parquet or csv
    parameters: dict[str, str]
    serde_parameters: dict[str, str]


class Athena:
    """The Athena query executions of one simulation (`sim.athena`)."""

    def __init__(self, account_id: str, region: str, now_ms: Callable[[], int], ids: Random):
        self.account_id, self.region = account_id, region
        self._now_ms = now_ms
        self._ids = ids
        self.executions: dict[str, AthenaExecution] = {}
        self._scratch: Path | None = None
        # The objects copied to the scratch folder, by (bucket, key): a later query of the
        # same lake copies (and reads the Parquet layout of) only the objects that changed.
        self._copies: dict[tuple[str, str], _Copy] = {}

    # -- the API ------------------------------------------------------------------------------
    def start(self, *, query: str, database: str | None, output_location: str | None,
              work_group: str | None) -> str:
        """StartQueryExecution: run the statement now; its execution id."""
        group = work_group or "primary"
        if not moto_state.athena_work_group_exists(self.account_id, self.region, group):
            raise AthenaRefused("WorkGroup does not exist")
        location = output_location or moto_state.athena_work_group_output_location(
            self.account_id, self.region, group)
        if not location:
            raise AthenaRefused("No output location provided. An output location is required either through "
                                "the Workgroup result configuration setting or as an API input.")
        query_id = str(uuid.UUID(int=self._ids.getrandbits(128), version=4))
        statement_type = _statement_type(query)
        result_uri, metadata_uri = rules.result_keys(location, query_id, statement_type)
        execution = AthenaExecution(query_id=query_id, query=query, database=(database or "default").lower(),
                                    work_group=group, output_location=result_uri,
                                    statement_type=statement_type, submitted_ms=self._now_ms())
        try:
            if statement_type == "DDL":
                self._run_ddl(execution)
            else:
                self._run_query(execution)
            self._write_result(execution, result_uri, metadata_uri)
        except QueryFailed as failed:
            execution.state, execution.state_change_reason = rules.FAILED, str(failed)
            execution.columns, execution.rows = [], []
        execution.cost_usd = rules.query_cost_usd(execution.data_scanned_bytes,
                                                  statement_type=statement_type, state=execution.state)
        self.executions[query_id] = execution
        return query_id

    def get(self, query_id: str) -> AthenaExecution:
        execution = self.executions.get(query_id)
        if execution is None:
            raise AthenaRefused(f"QueryExecution {query_id} was not found")
        return execution

    def results_page(self, query_id: str, max_results: int | None,
                     next_token: str | None) -> tuple[AthenaExecution, list[list[str | None]], str | None]:
        """GetQueryResults: a page of rows (a SELECT's header row first) and the next page's token."""
        execution = self.get(query_id)
        if execution.state != rules.SUCCEEDED:
            raise AthenaRefused(f"Query did not finish successfully. Final query state: {execution.state}")
        size = max_results or rules.MAX_RESULTS_PER_PAGE
        if not 1 <= size <= rules.MAX_RESULTS_PER_PAGE:
            raise AthenaRefused(f"MaxResults must be between 1 and {rules.MAX_RESULTS_PER_PAGE}")
        start = int(base64.urlsafe_b64decode(next_token).decode()) if next_token else 0
        rows: list[list[str | None]] = list(execution.rows)
        if execution.statement_type == "DML":
            rows.insert(0, [name for name, _ in execution.columns])
        page = rows[start:start + size]
        more = start + size < len(rows)
        return execution, page, base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None

    def stop(self, query_id: str) -> None:
        """StopQueryExecution: every query has already ended, so nothing changes."""
        self.get(query_id)

    def list_ids(self, work_group: str | None) -> list[str]:
        """ListQueryExecutions: the work group's executions, newest first."""
        group = work_group or "primary"
        return [e.query_id for e in reversed(self.executions.values()) if e.work_group == group]

    def close(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
        self._copies.clear()

    # -- the catalog --------------------------------------------------------------------------
    def _table(self, database: str, name: str, position: str) -> _Table:
        found = moto_state.glue_table(self.account_id, self.region, database, name)
        if found is None:
            raise QueryFailed(f"TABLE_NOT_FOUND: {position}Table '{CATALOG}.{database}.{name}' does not exist")
        descriptor = found.get("StorageDescriptor", {})
        serde = descriptor.get("SerdeInfo", {})
        formats = " ".join([serde.get("SerializationLibrary", ""), descriptor.get("InputFormat", "")]).lower()
        data_format = "parquet" if "parquet" in formats else "json" if "json" in formats else "csv"
        return _Table(database, name,
                      [(c["Name"].lower(), c["Type"]) for c in descriptor.get("Columns", [])],
                      [(c["Name"].lower(), c["Type"]) for c in found.get("PartitionKeys", [])],
                      descriptor.get("Location", ""), data_format, dict(found.get("Parameters") or {}),
                      dict(serde.get("Parameters") or {}))

    def _partitions(self, table: _Table) -> list[tuple[tuple[str, ...], str]]:
        """(values, S3 location) of every partition Athena would consider (none: unpartitioned)."""
        if table.parameters.get("projection.enabled", "").strip().lower() == "true":
            now = datetime.fromtimestamp(self._now_ms() / 1000, timezone.utc).replace(tzinfo=None)
            try:
                return rules.projected_partitions(table.parameters, [c for c, _ in table.partition_keys],
                                                  table.location, now)
            except rules.ProjectionError as error:
                raise QueryFailed(f"INVALID_TABLE_PROPERTY: {error}") from None
        return [(tuple(p["Values"]), p.get("StorageDescriptor", {}).get("Location", ""))
                for p in moto_state.glue_partitions(self.account_id, self.region, table.database, table.name)]

    def _objects(self, location: str) -> list[tuple[str, str, int]]:
        bucket, prefix = rules.split_s3_uri(location)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return [(bucket, key, size) for key, size in
                moto_state.s3_objects(self.account_id, self.region, bucket, prefix) if not key.endswith("/")]

    # -- DML -----------------------------------------------------------------------------------
    def _run_query(self, execution: AthenaExecution) -> None:
        import sqlglot
        from sqlglot import exp

        try:
            tree = _parse(execution.query)
        except sqlglot.ParseError as error:
            raise QueryFailed(_syntax_reason(error)) from None
        connection = _connect()
        try:
            cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
            scanned: list[rules.ScannedObject] = []
            for number, node in enumerate(list(tree.find_all(exp.Table))):
                if not node.db and node.name.lower() in cte_names:
                    continue
                meta = node.this.meta
                position = f"line {meta['line']}:{meta['col'] - len(node.name) + 1}: " if "line" in meta else ""
                table = self._table((node.db or execution.database).lower(), node.name.lower(), position)
                view = f"athena_table_{number}"
                alias = node.alias_or_name
                objects = self._load(connection, table, view, _partition_predicates(tree, table, alias))
                columns = _referenced_columns(tree, table, alias)
                scanned.extend(objects)
                execution.objects_read.extend(o.key for o in objects)
                replacement = exp.Table(this=exp.to_identifier(view), alias=exp.TableAlias(
                    this=exp.to_identifier(alias)))
                node.replace(replacement)
                execution.data_scanned_bytes += rules.bytes_scanned(objects, columns)
            sql = tree.sql(dialect="duckdb")
            try:
                cursor = connection.execute(sql)
            except Exception as error:  # DuckDB's binder, parser and conversion errors
                raise QueryFailed(_engine_reason(error)) from None
            execution.columns = [(name, _athena_type(str(kind))) for name, kind, *_ in cursor.description]
            execution.rows = [[_value(v) for v in row] for row in cursor.fetchall()]
        finally:
            connection.close()

    def _load(self, connection: Any, table: _Table, view: str, predicates: list[str]) -> list[rules.ScannedObject]:
        """Create `view` over the table's objects in the partitions the predicates leave; the
        objects read."""
        keys = [c for c, _ in table.partition_keys]
        if keys:
            partitions = self._partitions(table)
            if predicates and partitions:
                partitions = _prune(connection, table, partitions, predicates)
            files = [(bucket, key, size, values) for values, location in partitions
                     for bucket, key, size in self._objects(location)]
        else:
            files = [(bucket, key, size, ()) for bucket, key, size in self._objects(table.location)]
        copies = [self._copy(bucket, key) for bucket, key, _, _ in files]
        parquet = table.data_format == "parquet"
        if parquet:
            _read_parquet_layouts(connection, list({c.path: c for c in copies if c.parquet is None}.values()))
        _create_view(connection, table, view, [(c.path, values) for c, (*_, values) in zip(copies, files)])
        return [rules.ScannedObject(f"s3://{bucket}/{key}", size, *(c.parquet if parquet else ()))
                for c, (bucket, key, size, _) in zip(copies, files)]

    def _copy(self, bucket: str, key: str) -> _Copy:
        """The object's copy in the scratch folder, written again only if its body changed."""
        body = moto_state.s3_object_body(self.account_id, self.region, bucket, key)
        copy = self._copies.get((bucket, key))
        if copy is None or copy.body != body:
            path = self._scratch_dir() / bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            copy = self._copies[(bucket, key)] = _Copy(body, str(path))
        return copy

    def _scratch_dir(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="lambdasim-athena-"))
        return self._scratch

    # -- DDL -----------------------------------------------------------------------------------
    def _run_ddl(self, execution: AthenaExecution) -> None:
        text = execution.query.strip().rstrip(";")
        words = text.split()
        if [w.upper() for w in words[:3]] == ["MSCK", "REPAIR", "TABLE"] and len(words) == 4:
            database, _, name = words[3].replace("`", "").rpartition(".")
            self._repair(self._table((database or execution.database).lower(), name.lower(), ""))
            return
        if text[:5].upper() == "ALTER":
            self._alter(execution, text)
            return
        import sqlglot
        from sqlglot import exp

        try:
            tree = _parse(text)
        except sqlglot.ParseError as error:
            raise QueryFailed(_syntax_reason(error)) from None
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
            self._create_table(execution, tree)
            return
        raise QueryFailed("NOT_SUPPORTED: the simulator runs SELECT, CREATE EXTERNAL TABLE, "
                          "ALTER TABLE ADD PARTITION and MSCK REPAIR TABLE")

    def _create_table(self, execution: AthenaExecution, tree: Any) -> None:
        from sqlglot import exp

        target = tree.this.this
        database = (target.db or execution.database).lower()
        name = target.name.lower()
        if not moto_state.glue_database_exists(self.account_id, self.region, database):
            raise QueryFailed(f"FAILED: SemanticException [Error 10072]: Database does not exist: {database}")
        if moto_state.glue_table(self.account_id, self.region, database, name) is not None:
            if tree.args.get("exists"):
                return
            raise QueryFailed(f"FAILED: AlreadyExistsException: Table {name} already exists")
        columns = [{"Name": c.name.lower(), "Type": c.args["kind"].sql("hive").lower()}
                   for c in tree.this.expressions]
        partition_keys, parameters, serde_parameters = [], {"EXTERNAL": "TRUE"}, {}
        descriptor: dict[str, Any] = {"Columns": columns, "SerdeInfo": {}}
        for prop in tree.args["properties"].expressions:
            if isinstance(prop, exp.PartitionedByProperty):
                partition_keys = [{"Name": c.name.lower(), "Type": c.args["kind"].sql("hive").lower()}
                                  for c in prop.this.expressions]
            elif isinstance(prop, exp.LocationProperty):
                descriptor["Location"] = prop.this.name
            elif isinstance(prop, exp.RowFormatSerdeProperty):
                descriptor["SerdeInfo"]["SerializationLibrary"] = prop.this.name
                for serde_prop in (prop.args.get("serde_properties") or exp.Properties()).expressions:
                    serde_parameters[serde_prop.name] = serde_prop.text("value")
            elif isinstance(prop, exp.FileFormatProperty):
                formats = prop.this
                if isinstance(formats, exp.InputOutputFormat):
                    descriptor["InputFormat"] = formats.args["input_format"].name
                    descriptor["OutputFormat"] = formats.args["output_format"].name
                else:
                    descriptor.update(_STORED_AS.get(formats.name.upper(), {}))
                    descriptor["SerdeInfo"].setdefault(
                        "SerializationLibrary", _STORED_AS_SERDE.get(formats.name.upper(), ""))
            elif isinstance(prop, exp.Property):
                parameters[prop.name] = prop.text("value")
        descriptor["SerdeInfo"]["Parameters"] = serde_parameters
        moto_state.create_glue_table(self.account_id, self.region, database, {
            "Name": name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters,
            "PartitionKeys": partition_keys, "StorageDescriptor": descriptor})

    def _alter(self, execution: AthenaExecution, text: str) -> None:
        import sqlglot
        from sqlglot import exp

        try:
            tree = sqlglot.parse_one(text, read="hive", error_level=sqlglot.ErrorLevel.RAISE)
        except sqlglot.ParseError as error:
            raise QueryFailed(_syntax_reason(error)) from None
        actions = tree.args.get("actions") if isinstance(tree, exp.Alter) else None
        if not actions or not all(isinstance(a, exp.AddPartition) for a in actions):
            raise QueryFailed("NOT_SUPPORTED: the simulator runs ALTER TABLE ... ADD PARTITION, one "
                              "partition a statement")
        target = tree.this
        table = self._table((target.db or execution.database).lower(), target.name.lower(), "")
        for action in actions:
            given = {eq.this.name.lower(): eq.expression.name for eq in action.this.expressions}
            keys = [c for c, _ in table.partition_keys]
            if sorted(given) != sorted(keys):
                raise QueryFailed(f"FAILED: ValidationException: partition columns {keys} expected, "
                                  f"got {sorted(given)}")
            values = tuple(given[k] for k in keys)
            location = action.args.get("location")
            uri = location.this.name if isinstance(location, exp.LocationProperty) else \
                table.location.rstrip("/") + "/" + "/".join(f"{k}={given[k]}" for k in keys) + "/"
            if not self._register(table, values, uri) and not action.args.get("exists"):
                raise QueryFailed("FAILED: AlreadyExistsException: Partition already exists.")

    def _repair(self, table: _Table) -> None:
        """MSCK REPAIR TABLE: register the Hive-style folders under the location Glue lacks."""
        keys = [c for c, _ in table.partition_keys]
        base = table.location if table.location.endswith("/") else table.location + "/"
        _, prefix = rules.split_s3_uri(base)
        seen = set()
        for _, key, _ in self._objects(base):
            values = rules.hive_partition_values(key[len(prefix):], keys)
            if values is not None and values not in seen:
                seen.add(values)
                self._register(table, values, base + "/".join(f"{k}={v}" for k, v in zip(keys, values)) + "/")

    def _register(self, table: _Table, values: tuple[str, ...], location: str) -> bool:
        found = moto_state.glue_table(self.account_id, self.region, table.database, table.name) or {}
        descriptor = dict(found.get("StorageDescriptor", {}), Location=location)
        return moto_state.add_glue_partition(self.account_id, self.region, table.database, table.name,
                                             {"Values": list(values), "StorageDescriptor": descriptor})

    # -- results -------------------------------------------------------------------------------
    def _write_result(self, execution: AthenaExecution, result_uri: str, metadata_uri: str) -> None:
        import json

        lines = [",".join(_csv_field(v) for v in row)
                 for row in ([[n for n, _ in execution.columns]] if execution.statement_type == "DML" else [])
                 + execution.rows]
        bucket, key = rules.split_s3_uri(result_uri)
        if not moto_state.s3_bucket_exists(self.account_id, self.region, bucket):
            raise QueryFailed(f"Unable to verify/create output bucket {bucket}")
        moto_state.put_s3_object(self.account_id, self.region, bucket, key,
                                 "".join(line + "\n" for line in lines).encode())
        metadata_bucket, metadata_key = rules.split_s3_uri(metadata_uri)
        moto_state.put_s3_object(self.account_id, self.region, metadata_bucket, metadata_key, json.dumps(
            {"ColumnInfo": column_info(execution)}).encode())


def column_info(execution: AthenaExecution) -> list[dict[str, Any]]:
    """GetQueryResults' ResultSetMetadata.ColumnInfo."""
    return [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name,
             "Type": kind, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": kind == "varchar"}
            for name, kind in execution.columns]


_STORED_AS = {
    "PARQUET": {"InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"},
    "TEXTFILE": {"InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                 "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"},
}
_STORED_AS_SERDE = {"PARQUET": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                    "TEXTFILE": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"}


def _statement_type(query: str) -> str:
    first = query.lstrip().split(None, 1)[0].upper() if query.strip() else ""
    return "DDL" if first in ("CREATE", "ALTER", "DROP", "MSCK") else "DML"


def _parse(text: str) -> Any:
    import sqlglot

    statements = [s for s in sqlglot.parse(text, read="athena") if s is not None]
    if len(statements) != 1:
        raise sqlglot.ParseError("Only one sql statement is allowed")
    return statements[0]


def _connect() -> Any:
    import duckdb

    # One thread: a lesson's tables are small, and the machine runs other work.
    connection = duckdb.connect(config={"threads": 1})
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def _duck_type(hive_type: str) -> str:
    from sqlglot import exp

    return exp.DataType.build(hive_type, dialect="hive").sql("duckdb")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _partition_predicates(tree: Any, table: _Table, alias: str) -> list[str]:
    """The WHERE conjuncts about this table's partition columns only, as DuckDB SQL over them."""
    from sqlglot import exp

    keys = {c for c, _ in table.partition_keys}
    found = []
    for where in tree.find_all(exp.Where):
        condition = where.this
        for conjunct in condition.flatten() if isinstance(condition, exp.And) else [condition]:
            columns = list(conjunct.find_all(exp.Column))
            if columns and not conjunct.find(exp.Subquery, exp.Select) and all(
                    c.name.lower() in keys and c.table in ("", alias) for c in columns):
                unqualified = conjunct.copy()
                for column in unqualified.find_all(exp.Column):
                    column.set("table", None)
                found.append(unqualified.sql(dialect="duckdb"))
    return found


def _prune(connection: Any, table: _Table, partitions: list[tuple[tuple[str, ...], str]],
           predicates: list[str]) -> list[tuple[tuple[str, ...], str]]:
    """The partitions whose values satisfy every predicate (one that DuckDB cannot evaluate over
    the values alone prunes nothing)."""
    keys = ", ".join(f"{_quote(c)} {_duck_type(t)}" for c, t in table.partition_keys)
    connection.execute(f"CREATE TEMP TABLE athena_partitions (athena_index INTEGER, {keys})")
    placeholders = ", ".join("?" for _ in range(len(table.partition_keys) + 1))
    connection.executemany(f"INSERT INTO athena_partitions VALUES ({placeholders})",
                           [[i, *values] for i, (values, _) in enumerate(partitions)])
    kept = set(range(len(partitions)))
    for predicate in predicates:
        try:
            kept &= {i for (i,) in connection.execute(
                f"SELECT athena_index FROM athena_partitions WHERE {predicate}").fetchall()}
        except Exception:  # a predicate about more than the partition values
            continue
    connection.execute("DROP TABLE athena_partitions")
    return [p for i, p in enumerate(partitions) if i in kept]


def _referenced_columns(tree: Any, table: _Table, alias: str) -> set[str] | None:
    """The table's columns the query names (None: `*`, every column)."""
    from sqlglot import exp

    for star in tree.find_all(exp.Star):
        parent = star.parent
        if not isinstance(parent, exp.Count) and (not isinstance(parent, exp.Column) or parent.table in ("", alias)):
            return None
    names = {c for c, _ in table.columns}
    return {c.name.lower() for c in tree.find_all(exp.Column) if c.name.lower() in names and c.table in ("", alias)}


def _read_parquet_layouts(connection: Any, copies: list[_Copy]) -> None:
    """Each copy's column chunks and footer size (one metadata query for them all)."""
    if not copies:
        return
    chunks: dict[str, list[rules.ParquetChunk]] = {c.path: [] for c in copies}
    for path, column, compressed in connection.execute(
            "SELECT file_name, path_in_schema, total_compressed_size FROM parquet_metadata(?) "
            "ORDER BY file_name, row_group_id, column_id", [[c.path for c in copies]]).fetchall():
        chunks[path].append(rules.ParquetChunk(str(column).split(", ")[0], int(compressed)))
    for c in copies:
        c.parquet = (tuple(chunks[c.path]), int.from_bytes(c.body[-8:-4], "little"))


def _create_view(connection: Any, table: _Table, view: str, paths: list[tuple[str, tuple[str, ...]]]) -> None:
    data = ", ".join(f"d.{_quote(c)}" for c, _ in table.columns)
    parts = "".join(f", CAST(p.{_quote(c)} AS {_duck_type(t)}) AS {_quote(c)}" for c, t in table.partition_keys)
    if not paths:
        nulls = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {_quote(c)}"
                          for c, t in table.columns + table.partition_keys)
        connection.execute(f"CREATE TEMP VIEW {view} AS SELECT {nulls} WHERE false")
        return
    keys = [c for c, _ in table.partition_keys]
    connection.execute(f"CREATE TEMP TABLE {view}_files (filename VARCHAR"
                       + "".join(f", {_quote(c)} VARCHAR" for c in keys) + ")")
    connection.executemany(f"INSERT INTO {view}_files VALUES ({', '.join('?' for _ in range(len(keys) + 1))})",
                           [[path, *values] for path, values in paths])
    files = "[" + ", ".join("'" + path.replace("'", "''") + "'" for path, _ in paths) + "]"
    schema = "{" + ", ".join(f"'{c}': '{_duck_type(t)}'" for c, t in table.columns) + "}"
    if table.data_format == "parquet":
        source = f"read_parquet({files}, filename = true, union_by_name = true)"
    elif table.data_format == "json":
        source = f"read_json({files}, format = 'newline_delimited', columns = {schema}, filename = true)"
    else:
        delimiter = table.serde_parameters.get("field.delim", table.serde_parameters.get("separatorChar", ","))
        skip = int(table.parameters.get("skip.header.line.count", "0"))
        source = (f"read_csv({files}, header = false, skip = {skip}, delim = '{delimiter}', "
                  f"columns = {schema}, filename = true)")
    connection.execute(f"CREATE TEMP VIEW {view} AS SELECT {data}{parts} FROM {source} d "
                       f"JOIN {view}_files p USING (filename)")


def _athena_type(duckdb_type: str) -> str:
    upper = duckdb_type.upper()
    if upper.startswith("DECIMAL"):
        return "decimal"
    return _TYPES.get(upper, "varchar")


_TYPES = {"BIGINT": "bigint", "HUGEINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint",
          "TINYINT": "tinyint", "DOUBLE": "double", "FLOAT": "real", "BOOLEAN": "boolean", "DATE": "date",
          "TIMESTAMP": "timestamp", "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "VARCHAR": "varchar"}


def _value(value: Any) -> str | None:
    """A value as Trino prints it in results."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text + " UTC" if value.tzinfo is not None else text
    return str(value)  # numbers, dates and decimals print alike in both engines


def _csv_field(value: str | None) -> str:
    # Athena quotes every value of its CSV results and leaves a NULL empty.
    return "" if value is None else '"' + value.replace('"', '""') + '"'


def _syntax_reason(error: Exception) -> str:
    details = getattr(error, "errors", None) or [{}]
    first = details[0]
    where = f"line {first['line']}:{first['col']}: " if "line" in first else ""
    return f"SYNTAX_ERROR: {where}{first.get('description', str(error))}"


def _engine_reason(error: Exception) -> str:
    message = str(error).splitlines()[0]
    kind = "COLUMN_NOT_FOUND" if "not found" in message.lower() and "column" in message.lower() else "GENERIC_USER_ERROR"
    return f"{kind}: {message}"
