"""Amazon Athena: what a query scans, what it costs, its states, where its results go, and the
partitions a projected table has.

Pure: no moto, no clock, no query engine. `lambdasim.athena` runs the queries (DuckDB) and
feeds these rules the objects a query reads.

Sources:

- https://aws.amazon.com/athena/pricing/ : SQL queries are charged $5 per TB of data scanned,
  "rounded up to the nearest megabyte, with a 10 MB minimum per query"; DDL statements
  (CREATE/ALTER/DROP TABLE, partition management) and failed queries are not charged; cancelled
  queries are charged for what they scanned. The page itself could not be re-read when this was
  written: the figures are those quoted from it by AWS's own blogs and many transcriptions.
  "TB" is taken as 2**40 bytes and "megabyte" as 2**20 bytes (the binary units the Athena
  console shows); the page does not say which.
- https://docs.aws.amazon.com/athena/latest/ug/querying-finding-output-files.html : queries run
  through the API write their results straight to the output location as `QueryID.csv` with
  `QueryID.csv.metadata` beside it (DDL: `QueryID.txt` and `QueryID.txt.metadata`).
- https://docs.aws.amazon.com/athena/latest/APIReference/API_QueryExecutionStatus.html : the
  states QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED.
- https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html : MaxResults
  up to 1,000 rows a page, NextToken for the next.
- https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html and
  https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html :
  `projection.enabled`, `projection.<column>.type` integer (`range` "low,high", `interval`,
  `digits`), date (`range` "start,end" in `format` or NOW[+-N UNIT], `format` a Java date
  pattern, `interval` and `interval.unit`) and enum (`values`); `storage.location.template` with
  `${column}` placeholders, else `<location>/<column>=<value>/...`; a projected table's
  partitions in Glue are ignored.
- https://docs.aws.amazon.com/athena/latest/ug/columnar-storage.html : Parquet lets Athena read
  only the columns a query needs.

The bytes-scanned model (AWS publishes none; the manual's fidelity table): Athena reads the
objects of the partitions left after pruning on the partition columns in WHERE; a text object
(JSON, CSV) is read whole, as stored (compressed size if compressed); a Parquet object costs the
compressed size of the column chunks of the columns the query references, in every row group,
plus its footer (the metadata, its 4-byte length and the 4-byte magic). Not modelled: Parquet
row-group skipping by min/max statistics (Athena may skip more), and reads of a Parquet
object's page indexes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

PRICE_PER_TB_USD: Final = 5.0
BYTES_PER_TB: Final = 2**40
BYTES_PER_MB: Final = 2**20
MINIMUM_BILLED_BYTES: Final = 10 * BYTES_PER_MB
MAX_RESULTS_PER_PAGE: Final = 1000

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"

# The end of a Parquet file: the footer's length (4 bytes) and the magic "PAR1" (4 bytes).
PARQUET_FOOTER_TRAILER_BYTES: Final = 8


@dataclass(frozen=True)
class ParquetChunk:
    """One column chunk of one row group: its top-level column and its compressed size."""

    column: str
    compressed_bytes: int


@dataclass(frozen=True)
class ScannedObject:
    """One S3 object a query reads: its size as stored, and for Parquet its column chunks and
    footer."""

    key: str
    size: int
    parquet_chunks: tuple[ParquetChunk, ...] | None = None  # None: a text object, read whole
    parquet_footer_bytes: int = 0


def bytes_scanned(objects: Iterable[ScannedObject], columns: set[str] | None) -> int:
    """The bytes Athena reads from `objects` for a query referencing `columns` (lower-case
    names; None: every column, as `SELECT *`)."""
    total = 0
    for obj in objects:
        if obj.parquet_chunks is None:
            total += obj.size
            continue
        total += obj.parquet_footer_bytes + PARQUET_FOOTER_TRAILER_BYTES
        total += sum(chunk.compressed_bytes for chunk in obj.parquet_chunks
                     if columns is None or chunk.column.lower() in columns)
    return total


def billed_bytes(scanned: int) -> int:
    """Bytes charged for a DML query that scanned `scanned`: rounded up to a megabyte, at least
    10 MB (athena/pricing)."""
    return max(MINIMUM_BILLED_BYTES, math.ceil(scanned / BYTES_PER_MB) * BYTES_PER_MB)


def query_cost_usd(scanned: int, *, statement_type: str, state: str) -> float:
    """What a query costs: DDL and failed queries nothing, the rest $5 per TB of billed bytes."""
    if statement_type == "DDL" or state == FAILED:
        return 0.0
    return billed_bytes(scanned) / BYTES_PER_TB * PRICE_PER_TB_USD


def result_keys(output_location: str, query_id: str, statement_type: str) -> tuple[str, str]:
    """The S3 URIs of a query's results and their metadata file (querying-finding-output-files)."""
    extension = "txt" if statement_type == "DDL" else "csv"
    base = output_location if output_location.endswith("/") else output_location + "/"
    return f"{base}{query_id}.{extension}", f"{base}{query_id}.{extension}.metadata"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/prefix` -> (bucket, prefix)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    return bucket, prefix


# -- partition projection --------------------------------------------------------------------

_UNITS: Final = {"YEARS", "MONTHS", "WEEKS", "DAYS", "HOURS", "MINUTES", "SECONDS"}
# Java DateTimeFormatter letters -> strftime, for the patterns partition layouts use.
_JAVA_DATE: Final = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
_RELATIVE: Final = re.compile(r"^\s*NOW\s*(?:([+-])\s*(\d+)\s*([A-Z]+?)S?\s*)?$", re.IGNORECASE)


class ProjectionError(ValueError):
    """A projection property Athena would refuse (INVALID_TABLE_PROPERTY)."""


def strftime_pattern(java_pattern: str) -> str:
    """A Java date pattern (yyyy, MM, dd, HH, mm, ss and literals) as a strftime pattern."""
    pattern = java_pattern
    for java, python in _JAVA_DATE:
        pattern = pattern.replace(java, python)
    if re.search(r"[A-Za-z]", re.sub(r"%[YmdHMS]", "", pattern)):
        raise ProjectionError(f"date format {java_pattern!r} is outside the simulator's subset "
                              "(yyyy, MM, dd, HH, mm, ss)")
    return pattern


def _step(moment: datetime, n: int, unit: str) -> datetime:
    if unit == "YEARS":
        return moment.replace(year=moment.year + n)
    if unit == "MONTHS":
        months = moment.month - 1 + n
        return moment.replace(year=moment.year + months // 12, month=months % 12 + 1)
    return moment + timedelta(**{unit.lower(): n})


def _date_bound(text: str, pattern: str, now: datetime) -> datetime:
    relative = _RELATIVE.match(text)
    if relative is None:
        return datetime.strptime(text.strip(), pattern)
    sign, amount, unit = relative.groups()
    if sign is None:
        return now
    unit = unit.upper() + "S"
    if unit not in _UNITS:
        raise ProjectionError(f"unknown unit in {text!r}")
    return _step(now, int(amount) * (1 if sign == "+" else -1), unit)


def projected_values(properties: dict[str, str], column: str, now: datetime) -> list[str]:
    """The values a projected partition column takes, as they appear in S3 paths."""
    prefix = f"projection.{column}."
    kind = properties.get(prefix + "type", "").strip().lower()
    if kind == "enum":
        return properties[prefix + "values"].split(",")
    if kind == "integer":
        low, high = (int(v) for v in properties[prefix + "range"].split(","))
        interval = int(properties.get(prefix + "interval", "1"))
        digits = int(properties.get(prefix + "digits", "0"))
        return [str(v).zfill(digits) for v in range(low, high + 1, interval)]
    if kind == "date":
        pattern = strftime_pattern(properties[prefix + "format"])
        start_text, end_text = properties[prefix + "range"].split(",")
        start, end = _date_bound(start_text, pattern, now), _date_bound(end_text, pattern, now)
        interval = int(properties.get(prefix + "interval", "1"))
        unit = properties.get(prefix + "interval.unit", "DAYS").strip().upper()
        if unit not in _UNITS:
            raise ProjectionError(f"projection.{column}.interval.unit {unit!r} is not supported")
        values, moment = [], start
        while moment <= end:
            values.append(moment.strftime(pattern))
            moment = _step(moment, interval, unit)
        return values
    raise ProjectionError(f"Table is configured for partition projection, but the following partition "
                          f"columns are missing projection configuration: [{column}]")


def projected_partitions(properties: dict[str, str], columns: Sequence[str], location: str,
                         now: datetime) -> list[tuple[tuple[str, ...], str]]:
    """Every (values, S3 location) of a projected table: the cartesian product of its columns'
    values, each placed in `storage.location.template` or Hive style under `location`."""
    template = properties.get("storage.location.template")
    if template is not None:
        missing = [c for c in columns if "${" + c + "}" not in template]
        if missing:
            raise ProjectionError("The 'storage.location.template' table property must contain templates "
                                  "for all partition columns!")
    combos: list[tuple[str, ...]] = [()]
    for column in columns:
        combos = [combo + (value,) for combo in combos for value in projected_values(properties, column, now)]
    base = location if location.endswith("/") else location + "/"
    found = []
    for values in combos:
        if template is not None:
            path = template
            for column, value in zip(columns, values):
                path = path.replace("${" + column + "}", value)
        else:
            path = base + "/".join(f"{c}={v}" for c, v in zip(columns, values))
        found.append((values, path if path.endswith("/") else path + "/"))
    return found


def hive_partition_values(relative_key: str, columns: Sequence[str]) -> tuple[str, ...] | None:
    """The values of `columns` in a key below a table's location written Hive style
    (`year=2026/month=01/file`), in order; None when the key is not laid out so."""
    parts = relative_key.split("/")[:-1]
    if len(parts) < len(columns):
        return None
    values = []
    for column, part in zip(columns, parts):
        name, sep, value = part.partition("=")
        if not sep or name.lower() != column.lower():
            return None
        values.append(value)
    return tuple(values)
