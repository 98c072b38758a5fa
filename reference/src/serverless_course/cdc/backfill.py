"""Backfill and hand-off: a projection built for a table that already has items, while writes go on.

The stream holds the last 24 hours
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html); a projection
added to an older table needs its items from a Scan, and every change made after that from the
stream. Three designs, played on the CDC stack (``cdc/template.yaml``) with the same seeded table
and the same writes:

* ``stream-first`` (right): the projection's event source mapping starts reading the stream (at
  LATEST), then a parallel Scan copies every item into the same projection function. An item
  written during the scan comes twice, from the scan and from the stream: the summary's entries
  (``summary/app.py``, keyed on the order and ordered by sequence number) apply it once;
* ``scan-first`` (wrong): the scan runs first and the mapping starts when it ends: a change made
  during the scan to an item the scan had already passed reaches the projection by neither path
  (a gap). Enabling the stream after the scan is the same mistake;
* ``no-idempotency`` (wrong): the right order, with a projection that adds each record's
  difference and remembers nothing (``wrong/naive_counter.py``): an item written during the scan
  is counted twice.

``run_backfill`` plays one design and counts the result against the read model recomputed from
the table (``orders.summarize``).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from serverless_course import cdc
from serverless_course.cdc import orders as model
from serverless_course.cdc.harness import projected_summaries, table_orders
from serverless_course.cdc.workload import Write, Writer, item

Design = Literal["stream-first", "scan-first", "no-idempotency"]
NAIVE = cdc.HERE / "wrong" / "naive_counter.py"
DESIGNS: tuple[Design, ...] = ("stream-first", "scan-first", "no-idempotency")

# --8<-- [start:copy]
# Real sequence numbers have 21 to 40 digits
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html):
# "0" ranks a scan's copy below every record of the stream, so whichever comes first, the
# stream's latest record of an item wins and the copy fills in only items the stream never shows.
SCAN_SEQUENCE = "0"


def scan_copy(scanned: dict[str, Any]) -> dict[str, Any]:
    """A scanned item as the projection's input: an INSERT record that ranks below the stream's."""
    return {"eventID": f"scan-{scanned['order_id']['S']}", "eventName": "INSERT", "eventSource": "scan",
            "dynamodb": {"Keys": {"order_id": scanned["order_id"]}, "NewImage": scanned,
                         "SequenceNumber": SCAN_SEQUENCE}}
# --8<-- [end:copy]


class BackfillError(RuntimeError):
    """The projection refused a page of scan copies on every attempt."""


class ScanJob:
    """A parallel Scan (``segments`` workers,
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan)
    that sends each page to the projection function as scan copies. Each segment reads a page of
    ``page_size`` items every ``page_interval_s`` of virtual time: the scan's pace is this
    lesson's choice, not an AWS figure."""

    def __init__(self, sim: Any, table: str, function: str, *, segments: int = 4, page_size: int = 100,
                 page_interval_s: float = 1.0, attempts: int = 3):
        self.sim, self.table, self.function = sim, table, function
        self.segments, self.page_size, self.page_interval_s = segments, page_size, page_interval_s
        self.attempts = attempts
        self.copied = 0  #: scan copies the projection accepted
        # Each unfinished segment's ExclusiveStartKey (None: its first page).
        self._next: dict[int, dict[str, Any] | None] = {segment: None for segment in range(segments)}
        self._started = False

    @property
    def done(self) -> bool:
        return self._started and not self._next

    def read_pages(self) -> None:
        """Each unfinished segment reads its next page and applies it."""
        self._started = True
        ddb = self.sim.client("dynamodb")
        for segment, start in sorted(self._next.items()):
            page = ddb.scan(TableName=self.table, Segment=segment, TotalSegments=self.segments,
                            Limit=self.page_size, ConsistentRead=True,
                            **({"ExclusiveStartKey": start} if start else {}))
            if page["Items"]:
                self._apply([scan_copy(i) for i in page["Items"]])
            if "LastEvaluatedKey" in page:
                self._next[segment] = page["LastEvaluatedKey"]
            else:
                del self._next[segment]

    def _apply(self, copies: list[dict[str, Any]]) -> None:
        """One synchronous invocation per page. The copies are idempotent, so a page the function
        reports a failure for is sent again whole."""
        lam = self.sim.client("lambda")
        for _ in range(self.attempts):
            answer = lam.invoke(FunctionName=self.function, Payload=json.dumps({"Records": copies}).encode())
            failed = "FunctionError" in answer or json.loads(answer["Payload"].read()).get("batchItemFailures")
            if not failed:
                self.copied += len(copies)
                return
        raise BackfillError(f"{self.function} refused a page of {len(copies)} scan copies {self.attempts} times")


@dataclass
class BackfillRun:
    design: Design
    existing: int  #: items in the table before the hand-off
    writes: int  #: writes made from the hand-off on
    writes_during_scan: int = 0
    copied: int = 0  #: scan copies the projection received
    streamed: int = 0  #: stream records the projection's mapping delivered
    scan_s: float = 0.0  #: virtual seconds the scan took
    expected: dict[str, model.CustomerSummary] = field(default_factory=dict)
    projected: dict[str, model.CustomerSummary] = field(default_factory=dict)
    cpu_s: float = 0.0  #: the whole run's, every design's together

    @property
    def mismatched(self) -> list[str]:
        """Customers whose projected figures (open and cancelled orders, total) are not the table's.
        The naive projection keeps no last order, so the last order is left out of the count."""
        empty = model.CustomerSummary("")
        return sorted(c for c in set(self.expected) | set(self.projected)
                      if _figures(self.expected.get(c, empty)) != _figures(self.projected.get(c, empty)))

    def total(self, projection: dict[str, model.CustomerSummary]) -> tuple[int, int, int]:
        """(open orders, cancelled orders, total of open orders) over every customer."""
        figures = [_figures(s) for s in projection.values()]
        return (sum(f[0] for f in figures), sum(f[1] for f in figures), sum(f[2] for f in figures))


def _figures(summary: model.CustomerSummary) -> tuple[int, int, int]:
    return summary.orders, summary.cancelled, summary.total_cents


def existing_orders(seed: int, count: int, customers: int, now: datetime) -> dict[str, tuple[Write, datetime]]:
    """``count`` orders placed before the hand-off (over the last 90 days), as their last write
    and when each was placed: mostly placed, some changed (version 2 to 4), some cancelled."""
    rng = random.Random(f"cdc-backfill-existing-{seed}")
    found = {}
    for n in range(count):
        kind = "create" if (roll := rng.random()) < 0.7 else "update" if roll < 0.9 else "cancel"
        order = Write(0.0, kind, f"o-{seed}-e{n:06d}", f"c-{rng.randrange(customers):04d}",
                      rng.randrange(500, 20_000), 1 if kind == "create" else rng.randrange(2, 5),
                      1 + n % 2)
        found[order.order_id] = (order, now - timedelta(seconds=rng.uniform(3600, 90 * 86_400)))
    return found


def live_writes(seed: int, count: int, existing: dict[str, tuple[Write, datetime]], customers: int,
                mean_gap_s: float) -> list[Write]:
    """``count`` writes from the hand-off on, ``mean_gap_s`` apart on average: new orders (40 %),
    and changes (35 %), cancels (15 %) and erasures (10 %) of open orders, old or new."""
    rng = random.Random(f"cdc-backfill-live-{seed}")
    open_orders = [w for w, _ in existing.values() if w.kind != "cancel"]
    out: list[Write] = []
    at = 0.0
    for n in range(count):
        at += rng.expovariate(1 / mean_gap_s)
        roll = rng.random()
        if roll < 0.4 or not open_orders:
            write = Write(at, "create", f"o-{seed}-l{n:06d}", f"c-{rng.randrange(customers):04d}",
                          rng.randrange(500, 20_000), 1, 2)
            open_orders.append(write)
        else:
            index = rng.randrange(len(open_orders))
            last = open_orders[index]
            if roll < 0.75:
                write = Write(at, "update", last.order_id, last.customer_id, rng.randrange(500, 20_000),
                              last.version + 1, last.schema)
                open_orders[index] = write
            else:
                kind = "cancel" if roll < 0.9 else "erase"
                write = Write(at, kind, last.order_id, last.customer_id, last.total_cents,
                              last.version + 1 if kind == "cancel" else last.version, last.schema)
                open_orders[index] = open_orders[-1]  # taken out in O(1): order does not matter
                open_orders.pop()
        out.append(write)
    return out


def preload(sim: Any, table: str, existing: dict[str, tuple[Write, datetime]]) -> None:
    """Write the existing orders with BatchWriteItem (25 puts a call,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html)."""
    ddb, now = sim.client("dynamodb"), sim.now
    puts = [{"PutRequest": {"Item": item(w, placed, now, 0.0)}} for w, placed in existing.values()]
    for start in range(0, len(puts), 25):
        pending = {table: puts[start:start + 25]}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def run_backfills(designs: tuple[Design, ...] = DESIGNS, *, seed: int = 0, existing: int = 200, writes: int = 60,
                  customers: int | None = None, mean_gap_s: float = 0.1, segments: int = 4,
                  page_size: int = 25, page_interval_s: float = 1.0) -> dict[Design, BackfillRun]:
    """Build one customer summary per design for a table of ``existing`` orders while ``writes``
    go on, and audit each against the table. The designs share one table, one stream and one
    sequence of writes; each has its own copy of the stack's summary projection (function,
    read-model table, mapping) and its own scan. ``customers`` defaults to one for every four
    orders: a summary item keeps an entry per order, within DynamoDB's 400 KB item size
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html)."""
    from lambdasim import Simulator

    cpu = time.process_time()
    customers = customers or max(1, existing // 4)
    runs = {design: BackfillRun(design, existing, writes) for design in designs}
    # Time to Live off: its deletions are REMOVE records like erasures, nothing new here.
    with Simulator(seed=seed, logs=False, metrics=False, dynamodb_ttl=False) as sim:
        stack = cdc.deploy(sim, stack_name=f"backfill{seed}", validate=False)
        out, lam = stack.outputs, sim.client("lambda")
        # Only the designs' projections read the stream: none of the stack's readers runs.
        for uuid in stack.event_source_mappings.values():
            lam.update_event_source_mapping(UUID=uuid, Enabled=False)
        sim.client("pipes").stop_pipe(Name=out["OutboxPipeName"])
        table = out["OrdersTableName"]
        known = existing_orders(seed, existing, customers, sim.now)
        preload(sim, table, known)
        changes = live_writes(seed, writes, known, customers, mean_gap_s)
        writer = Writer(sim.client("dynamodb"), table, created_at={o: placed for o, (_, placed) in known.items()})

        projections = {design: Projection.copy_of(sim, stack, design) for design in designs}
        jobs = {design: ScanJob(sim, table, p.function, segments=segments, page_size=page_size,
                                page_interval_s=page_interval_s) for design, p in projections.items()}
        start = sim.now
        # --8<-- [start:handoff]
        for design, projection in projections.items():
            if design != "scan-first":
                projection.start_mapping()  # from LATEST: every change from now on
        next_page, done_writes = start, 0
        while done_writes < len(changes) or not all(job.done for job in jobs.values()):
            write_at = start + timedelta(seconds=changes[done_writes].at_s) if done_writes < len(changes) else None
            if any(not job.done for job in jobs.values()) and (write_at is None or next_page <= write_at):
                sim.run_until(next_page)
                for design, job in jobs.items():
                    if job.done:
                        continue
                    job.read_pages()
                    if job.done:
                        runs[design].scan_s = (sim.now - start).total_seconds()
                        if design == "scan-first":
                            projections[design].start_mapping()  # too late: the scan's changes are gone
                next_page += timedelta(seconds=page_interval_s)
                continue
            sim.run_until(write_at)
            writer.write(changes[done_writes], sim.now)
            done_writes += 1
            for design, job in jobs.items():
                runs[design].writes_during_scan += not job.done
        # --8<-- [end:handoff]
        sim.run_until_idle()

        expected = model.summarize(table_orders(sim, table))
        for design, run in runs.items():
            run.copied = jobs[design].copied
            run.streamed = projections[design].streamed()
            run.expected = expected
            run.projected = projected_summaries(sim, projections[design].table)
    cpu_s = time.process_time() - cpu
    for run in runs.values():
        run.cpu_s = cpu_s
    return runs


@dataclass
class Projection:
    """One design's copy of the stack's summary projection: its function, read-model table and
    event source mapping (the template's, created when ``start_mapping`` is called)."""

    sim: Any
    function: str
    table: str
    mapping_config: dict[str, Any]
    mapping: str | None = None

    @classmethod
    def copy_of(cls, sim: Any, stack: Any, design: Design) -> Projection:
        ddb, lam = sim.client("dynamodb"), sim.client("lambda")
        name = f"{stack.name}-{design}"
        source = ddb.describe_table(TableName=stack.outputs["CustomerSummaryTableName"])["Table"]
        ddb.create_table(TableName=name, KeySchema=source["KeySchema"], BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=source["AttributeDefinitions"])
        function = stack.function_name("SummaryFunction")
        config = lam.get_function_configuration(FunctionName=function)
        code = cdc.code_folder({"summary/app.py": NAIVE}) if design == "no-idempotency" else cdc.HERE
        sim.create_function(FunctionName=name, Handler=config["Handler"], Runtime=config["Runtime"],
                            Timeout=config["Timeout"], MemorySize=config["MemorySize"], code_dir=code,
                            Environment={"Variables": {**config["Environment"]["Variables"], "SUMMARY_TABLE": name}})
        template_mapping = lam.get_event_source_mapping(UUID=stack.event_source_mappings["SummaryFunctionOrderChanges"])
        keep = ("EventSourceArn", "BatchSize", "MaximumBatchingWindowInSeconds", "BisectBatchOnFunctionError",
                "MaximumRetryAttempts", "FunctionResponseTypes", "DestinationConfig")
        return cls(sim, name, name, {k: template_mapping[k] for k in keep if k in template_mapping})

    def start_mapping(self) -> None:
        """The template's mapping, started now at LATEST: it reads every change made from this
        instant on, and none before."""
        self.mapping = self.sim.client("lambda").create_event_source_mapping(
            FunctionName=self.function, StartingPosition="LATEST", **self.mapping_config)["UUID"]

    def streamed(self) -> int:
        """Stream records the mapping delivered (retries included)."""
        return sum(len(b.sequence_numbers) for b in self.sim.poller(self.mapping).batches) if self.mapping else 0
