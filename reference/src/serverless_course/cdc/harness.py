"""The CDC chaos run: a seeded workload through the CDC stack, failures injected, then an audit.

What runs: the module's SAM stack (``cdc.deploy``) in the simulator: the orders table's stream
read by the summary projection's and the search projection's event source mappings (batches of
100, bisection, 3 retries, failures reported per record, the on-failure queue) and by the outbox
pipe. ``summary_app`` replaces the summary projection's ``summary/app.py`` (a learner's file, or
a wrong one from ``wrong/``).

What is injected (all from the seed, on the virtual clock):

* **transient errors**: a share of the summary projection's calls to its table fail with a 500
  on every attempt, so the error escapes botocore and the record must be retried;
* **duplicates**: a share of the batches the mapping delivered to the summary projection are
  delivered again, up to ``replay_delay_s`` later. Lambda's event source mappings "process each
  event at least once, and duplicate processing of records can occur"
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html). A replay
  may land after newer records of the same orders were applied: stricter than a retry by the
  mapping, which resends a batch before the shard's later records, and what a second reader
  or a backfill meets;
* **poison records**: the workload's unreadable items (``workload.Mix.poison``), which no retry
  fixes: bisection isolates them and they must reach the on-failure queue, alone;
* **Time to Live deletions**: cancelled orders expire ``ttl_after_s`` after the cancel; the
  simulator's TTL process deletes them within ``TTL_DELAY_S`` (shortened from AWS's "within two
  days", https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html,
  so that a run of minutes sees them), as REMOVE records with the service's userIdentity.

The audit, once the stream has been read: each customer's summary equals ``orders.summarize`` of
the table's items (the read model recomputed from scratch); the on-failure queue holds every
poison record and nothing else; the search store holds every readable order the table holds or
TTL purged; each readable INSERT or MODIFY reached the bus as exactly one domain event.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serverless_course import cdc
from serverless_course.cdc import orders as model
from serverless_course.cdc.workload import Mix, Writer, make_workload
from serverless_course.code_folders import scratch_folder

TTL_AFTER_S = 600.0  #: a cancelled order's expires_at: this long after the cancel
TTL_DELAY_S = (0.0, 1800.0)  #: the simulated TTL process deletes an expired item this long after


@dataclass(frozen=True)
class Faults:
    transient_rate: float = 0.03  #: share of the summary's calls to its table failing (500)
    replay_rate: float = 0.10  #: share of the summary's batches delivered a second time
    replay_delay_s: float = 20.0  #: a replay comes up to this long after the batch


NO_FAULTS = Faults(transient_rate=0.0, replay_rate=0.0)


@dataclass
class CdcReport:
    seed: int
    writes: int
    stream_records: int = 0
    expected: dict[str, model.CustomerSummary] = field(default_factory=dict)
    projected: dict[str, model.CustomerSummary] = field(default_factory=dict)
    poison: list[str] = field(default_factory=list)  #: sequence numbers of unreadable records
    dead_lettered: list[str] = field(default_factory=list)  #: sequence numbers, summary's failures
    ttl_deletions: int = 0
    erasures: int = 0
    deliveries: int = 0  #: records the mapping delivered to the summary projection (replays apart)
    replayed_batches: int = 0
    replayed_customers: set[str] = field(default_factory=set)  #: customers of replayed batches' records
    removal_customers: set[str] = field(default_factory=set)  #: customers with an order removed
    transient_errors: int = 0
    bisections: int = 0
    failed_invocations: int = 0  #: the summary projection's batches that ended in an error or a timeout
    search_checked: bool = False
    search_mismatched: list[str] = field(default_factory=list)
    events_checked: bool = False
    events_expected: int = 0
    events_missing: list[str] = field(default_factory=list)  #: stream eventIDs
    events_duplicated: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def mismatched(self) -> list[str]:
        """Customers whose projected summary is not the recomputed one."""
        return sorted(c for c in set(self.expected) | set(self.projected)
                      if self.expected.get(c) != self.projected.get(c))

    @property
    def wrongly_dead_lettered(self) -> list[str]:
        return sorted(set(self.dead_lettered) - set(self.poison))

    @property
    def poison_kept(self) -> list[str]:
        """Poison records that did not reach the on-failure queue."""
        return sorted(set(self.poison) - set(self.dead_lettered))

    @property
    def redelivered(self) -> int:
        """Records the mapping delivered more than once (retries of failed batches)."""
        return max(0, self.deliveries - self.stream_records)

    @property
    def ok(self) -> bool:
        return not (self.mismatched or self.wrongly_dead_lettered or self.poison_kept
                    or self.search_mismatched or self.events_missing or self.events_duplicated)

    def ledger(self) -> str:
        lines = [f"seed {self.seed}: {self.writes} writes, {self.stream_records} stream records "
                 f"({self.ttl_deletions} TTL deletions, {self.erasures} erasures, {len(self.poison)} poison), "
                 f"{self.deliveries} records delivered to the summary projection "
                 f"({self.redelivered} again after a failure, {self.failed_invocations} whole batches failed, "
                 f"{self.bisections} bisections), "
                 f"{self.replayed_batches} batches delivered twice, {self.transient_errors} transient errors",
                 f"  customers: {len(self.expected)} in the table, {len(self.mismatched)} summaries wrong"]
        for customer in self.mismatched[:3]:
            lines.append(f"    {customer}: projected {self.projected.get(customer)}, "
                         f"recomputed {self.expected.get(customer)}")
        lines.append(f"  on-failure queue: {len(self.dead_lettered)} records, "
                     f"{len(self.wrongly_dead_lettered)} of them readable; {len(self.poison_kept)} poison missing")
        if self.search_checked:
            lines.append(f"  search projection: {len(self.search_mismatched)} documents wrong")
        if self.events_checked:
            lines.append(f"  outbox: {self.events_expected} events expected, {len(self.events_missing)} missing, "
                         f"{len(self.events_duplicated)} duplicated")
        return "\n".join(lines)


def run_cdc(seed: int = 0, writes: int = 1000, *, summary_app: str | Path | None = None,
            faults: Faults = Faults(), mix: Mix = Mix(), customers: int = 12,
            only_summary: bool = False, isolation: Any = None) -> CdcReport:
    """Play ``writes`` seeded writes through the CDC stack with ``faults`` and audit the result.
    ``only_summary`` stops the search projection and the outbox pipe (graders: less to run)."""
    from lambdasim import Simulator
    from lambdasim.faults import ServerError
    from lambdasim.rules.dynamodb_streams import TtlModel

    wall, cpu = time.perf_counter(), time.process_time()
    report = CdcReport(seed=seed, writes=writes)
    store = scratch_folder("cdc-search-") / "search.sqlite3"
    with Simulator(seed=seed, logs=False, metrics=False) as sim:
        sim.dynamodb_ttl.model = TtlModel(delay_s=TTL_DELAY_S)
        replace = {"SummaryFunction": {"summary/app.py": Path(summary_app)}} if summary_app else None
        stack = cdc.deploy(sim, stack_name=f"cdc{seed}", replace=replace, validate=False,
                           isolation=isolation, parameters={"SearchStore": str(store)})
        out = stack.outputs
        summary_fn = stack.function_name("SummaryFunction")
        if only_summary:
            sim.client("lambda").update_event_source_mapping(
                UUID=stack.event_source_mappings["SearchFunctionOrderChanges"], Enabled=False)
            sim.client("pipes").stop_pipe(Name=out["OutboxPipeName"])
        else:
            audit_url = _bus_to_queue(sim, out["EventBusName"], f"cdc{seed}-audit")
        summary_table = out["CustomerSummaryTableName"]
        transient = sim.faults.add(
            "dynamodb", "*", ServerError(), rate=faults.transient_rate, label="transient",
            when=lambda params: params.get("TableName") == summary_table) if faults.transient_rate else None

        writer = Writer(sim.client("dynamodb"), out["OrdersTableName"], TTL_AFTER_S)
        lam = sim.client("lambda")
        poller = sim.poller(stack.event_source_mappings["SummaryFunctionOrderChanges"])
        rng = random.Random(f"cdc-replays-{seed}")
        start, seen = sim.now, 0
        replays: list[tuple[float, bytes]] = []
        for write in make_workload(seed, writes, customers=customers, mix=mix):
            sim.run_until(start + _seconds(write.at_s))
            writer.write(write, sim.now)
            seen = _collect_replays(sim, poller, seen, rng, faults, replays)
            due = [r for r in replays if r[0] <= sim.elapsed]
            for replay in due:
                replays.remove(replay)
                _replay(report, lam, summary_fn, replay[1])
        for _, payload in replays:
            _replay(report, lam, summary_fn, payload)
        # Every cancelled order expires and is deleted, and every record is read.
        sim.run_for(TTL_AFTER_S + TTL_DELAY_S[1] + sim.dynamodb_ttl.model.sweep_interval_s + 60)
        sim.run_until_idle()
        if transient is not None:  # the audit's own reads must not fail
            sim.faults.remove(transient)

        records = _stream_records(sim, out["OrdersStreamArn"])
        report.stream_records = len(records)
        report.ttl_deletions = sum(1 for r in records if "userIdentity" in r)
        report.erasures = sum(1 for r in records if r["eventName"] == "REMOVE" and "userIdentity" not in r)
        report.removal_customers = {model.read_order(_image(r)).customer_id for r in records
                                    if r["eventName"] == "REMOVE" and not _unreadable(r)}
        report.poison = [r["dynamodb"]["SequenceNumber"] for r in records if _unreadable(r)]
        report.expected = model.summarize(table_orders(sim, out["OrdersTableName"]))
        report.projected = projected_summaries(sim, summary_table)
        report.dead_lettered = _dead_lettered(sim, out["SummaryFailuresQueueUrl"], records)
        report.bisections = poller.stats.bisections
        report.failed_invocations = poller.stats.failed_invocations
        report.deliveries = sum(len(batch.sequence_numbers) for batch in poller.batches)
        report.transient_errors = sum(1 for f in sim.faults.injected if f.label == "transient")
        if not only_summary:
            report.search_checked = True
            report.search_mismatched = _search_mismatched(store, sim, out["OrdersTableName"], records)
            report.events_checked = True
            _audit_events(report, sim, audit_url, records)
    report.wall_s, report.cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    return report


def _seconds(s: float) -> Any:
    from datetime import timedelta
    return timedelta(seconds=s)


def _collect_replays(sim: Any, poller: Any, seen: int, rng: random.Random, faults: Faults,
                     replays: list[tuple[float, bytes]]) -> int:
    """Choose, among the batches the mapping delivered since ``seen``, those delivered again."""
    batches = poller.batches
    for batch in batches[seen:]:
        if batch.records and rng.random() < faults.replay_rate:
            replays.append((sim.elapsed + rng.uniform(0, faults.replay_delay_s),
                            json.dumps({"Records": batch.records}).encode()))
    return len(batches)


def _replay(report: CdcReport, lam: Any, function: str, payload: bytes) -> None:
    """Deliver a batch again, as Lambda may (the answer does not matter: a duplicate)."""
    lam.invoke(FunctionName=function, Payload=payload)
    report.replayed_batches += 1
    for record in json.loads(payload)["Records"]:
        image = _image(record)
        if "customer_id" in image:
            report.replayed_customers.add(image["customer_id"]["S"])


def _bus_to_queue(sim: Any, bus: str, name: str) -> str:
    sqs, events = sim.client("sqs"), sim.client("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": ["orders.cdc"]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "audit", "Arn": arn}])
    return url


def _drain(sim: Any, url: str) -> list[dict[str, Any]]:
    sqs, found = sim.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _stream_records(sim: Any, stream_arn: str) -> list[dict[str, Any]]:
    """Every record of the stream, shard by shard (boto3's shape)."""
    streams, found = sim.client("dynamodbstreams"), []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            answer = streams.get_records(ShardIterator=iterator)
            found += answer["Records"]
            iterator = answer.get("NextShardIterator") if answer["Records"] else None
    return found


def _image(record: dict[str, Any]) -> dict[str, Any]:
    change = record["dynamodb"]
    return change.get("OldImage" if record["eventName"] == "REMOVE" else "NewImage", {})


def _unreadable(record: dict[str, Any]) -> bool:
    try:
        model.read_order(_image(record))
    except model.UnreadableOrder:
        return True
    return False


def table_orders(sim: Any, table: str) -> list[model.Order]:
    """The readable orders the table holds (a consistent Scan)."""
    readable = []
    for page in sim.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            try:
                readable.append(model.read_order(item))
            except model.UnreadableOrder:
                continue
    return readable


def projected_summaries(sim: Any, table: str) -> dict[str, model.CustomerSummary]:
    """The customer summaries the read-model table holds (empty ones left out)."""
    found = {}
    for page in sim.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            if item["entry"]["S"] != model.SUMMARY_ENTRY:
                continue
            summary = model.CustomerSummary(
                customer_id=item["customer_id"]["S"], orders=int(item.get("orders", {}).get("N", 0)),
                cancelled=int(item.get("cancelled", {}).get("N", 0)),
                total_cents=int(item.get("total_cents", {}).get("N", 0)),
                last_order_id=item.get("last_order_id", {}).get("S"),
                last_order_at=item.get("last_order_at", {}).get("S"))
            if not summary.is_empty() or summary.total_cents:
                found[summary.customer_id] = summary
    return found


def _dead_lettered(sim: Any, url: str, records: list[dict[str, Any]]) -> list[str]:
    """Sequence numbers of the records the summary projection's mapping gave up on (its own
    failures queue: every message in it is one of its batches)."""
    sequences = sorted(int(r["dynamodb"]["SequenceNumber"]) for r in records)
    found = []
    for message in _drain(sim, url):
        info = message["DDBStreamBatchInfo"]
        low, high = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
        found += [str(s) for s in sequences if low <= s <= high]
    return found


def _search_mismatched(store: Path, sim: Any, table: str, records: list[dict[str, Any]]) -> list[str]:
    """Orders whose search document is missing, extra or wrong: every readable order the table
    holds, and every one TTL purged (history kept), as it last was."""
    expected = {o.order_id: (o.status, o.total_cents) for o in table_orders(sim, table)}
    for record in records:
        if "userIdentity" in record and not _unreadable(record):
            order = model.read_order(_image(record))
            expected[order.order_id] = (order.status, order.total_cents)
    with sqlite3.connect(store) as connection:
        found = {row[0]: (row[1], row[2]) for row in connection.execute(
            "SELECT order_id, status, total_cents FROM documents WHERE deleted = 0")}
    return sorted(o for o in set(expected) | set(found) if expected.get(o) != found.get(o))


def _audit_events(report: CdcReport, sim: Any, url: str, records: list[dict[str, Any]]) -> None:
    expected = [r["eventID"] for r in records if r["eventName"] in ("INSERT", "MODIFY") and not _unreadable(r)]
    seen = Counter(event["detail"]["event_id"] for event in _drain(sim, url))
    report.events_expected = len(expected)
    report.events_missing = [e for e in expected if not seen[e]]
    report.events_duplicated = sorted(e for e, n in seen.items() if n > 1)
