"""A fleet through the deployed pipeline, on the virtual clock, then audited against the truth.

``run_fleet(fleet)`` deploys the SAM template into a simulator, publishes the fleet's messages
through IoT Core at their virtual times (``sim.iot.publish``: each device's MQTT publish, which
runs the topic rule), lets the consumers drain the stream, and compares what the pipeline
stored and published with ``truth.ground_truth(fleet)``:

* every device's stored position is its latest kept fix (``positions_wrong``);
* the ENTER/EXIT events on the bus, counted per (device, geofence, kind, fix time), equal the
  truth's transitions (``transitions_missing``, ``transitions_extra``);
* every valid fix is in the history table (``history_missing``);
* every poison record is in the poison queue (``poison_accounted``), and no valid fix was given
  up to the on-failure destination (``valid_records_given_up``).

``DynamoDBFaults`` makes the tables fail: throttles on a share of every consumer's calls that
botocore's retries absorb, and 500s on every attempt of a share of the position writes, which
only a retry of the record cures. ``positions_app`` replaces the position consumer's
``positions/app.py`` (a learner's file, or a deliberately wrong one).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from serverless_course.code_folders import copy_with
from serverless_course.location.fleet import Fleet
from serverless_course.location.truth import Transition, Truth, ground_truth

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "template.yaml"


@dataclass(frozen=True)
class DynamoDBFaults:
    throttle_rate: float = 0.0  #: share of the consumers' DynamoDB calls throttled once
    failing_writes: float = 0.0  #: share of the position writes failing on every attempt (500)


NO_DYNAMODB_FAULTS = DynamoDBFaults()


@dataclass
class FleetReport:
    seed: int
    devices: int
    published: int
    positions_wrong: list[str] = field(default_factory=list)  # devices whose stored position is not the truth's
    transitions_expected: int = 0
    transitions_published: int = 0
    transitions_missing: list[Transition] = field(default_factory=list)
    transitions_extra: list[Transition] = field(default_factory=list)
    history_missing: int | None = 0  # None: the run kept no history
    poison: int = 0
    poison_accounted: int = 0  # distinct poison records in the poison queue
    valid_records_given_up: int = 0  # valid fixes sent to the on-failure destination
    rule_errors: int = 0  # messages the topic rule could not write to Kinesis
    partial_failures: int = 0  # position consumer responses that reported records
    failed_invocations: int = 0  # position consumer invocations that failed as a whole
    # ... of those, the batches that held more than one device's records: the other devices'
    # fixes failed with them (one record's failure made the whole batch fail)
    whole_batch_failures: int = 0
    records_retried: int = 0  # position consumer: records delivered again after a failure
    faults_injected: Counter = field(default_factory=Counter)
    virtual_s: float = 0.0

    @property
    def positions_right(self) -> int:
        return self.devices - len(self.positions_wrong)

    @property
    def ok(self) -> bool:
        return (not self.positions_wrong and not self.transitions_missing and not self.transitions_extra
                and not self.history_missing and self.poison_accounted == self.poison
                and not self.valid_records_given_up and not self.rule_errors)

    def summary(self) -> str:
        return (f"seed {self.seed}: {self.devices} devices, {self.published} messages; positions right "
                f"{self.positions_right}/{self.devices}; transitions {self.transitions_published} published, "
                f"{self.transitions_expected} expected ({len(self.transitions_missing)} missing, "
                f"{len(self.transitions_extra)} extra); "
                + (f"history missing {self.history_missing}; " if self.history_missing is not None else "")
                + f"poison "
                f"{self.poison_accounted}/{self.poison} in the poison queue; valid records given up "
                f"{self.valid_records_given_up}; partial failures {self.partial_failures}, failed invocations "
                f"{self.failed_invocations} ({self.whole_batch_failures} of several devices), records retried {self.records_retried}")


def code_folder(files: dict[str, Path]) -> Path:
    """A new copy of this code folder (``CodeUri: .``) with ``files`` replaced."""
    return copy_with(HERE, files, prefix="fleet-code-")


def deploy(sim: Any, *, stack_name: str = "fleet", positions_app: str | Path | None = None,
           validate: bool = True, isolation: Any = None, parameters: dict[str, str] | None = None) -> Any:
    """Deploy the pipeline into ``sim``; return the ``lambdasim.sam.Stack``. ``positions_app``
    replaces the position consumer's ``positions/app.py``."""
    stack = sim.deploy(TEMPLATE, stack_name=stack_name, validate=validate, parameters=parameters)
    if positions_app is not None:
        sim.map_handler(stack.function_name("PositionsFunction"),
                        code_dir=code_folder({"positions/app.py": Path(positions_app)}), isolation=isolation)
    return stack


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    from lambdasim.sources.sqs import take_all

    return take_all(sqs, url)


def run_fleet(fleet: Fleet, *, positions_app: str | Path | None = None,
              faults: DynamoDBFaults = NO_DYNAMODB_FAULTS, isolation: Any = None,
              shards: int = 1, history: bool = True, quiet: bool = True) -> FleetReport:
    """Publish ``fleet`` through the pipeline and audit it (see the module's docstring)."""
    return run_fleets([(fleet, faults)], positions_app=positions_app, isolation=isolation,
                      shards=shards, history=history, quiet=quiet)[0]


def run_fleets(runs: Sequence[tuple[Fleet, DynamoDBFaults]], *, positions_app: str | Path | None = None,
               isolation: Any = None, shards: int = 1, history: bool = True,
               quiet: bool = True) -> list[FleetReport]:
    """Several fleets (devices of their own: ``fleet.generate(prefix=...)``) through one
    deployment, one after the other, each with its faults and audited on its own: one deploy
    instead of one per fleet (graders). ``history=False`` deploys without the history consumer
    (its work is a third of a run's)."""
    devices = [d for fleet, _ in runs for d in fleet.devices]
    if len(devices) != len(set(devices)):
        raise ValueError("fleets run together need devices of their own: fleet.generate(prefix=...)")
    with contextlib.ExitStack() as stack:
        if quiet:  # the handlers' log lines (logs=False sends them to stdout)
            stack.enter_context(contextlib.redirect_stdout(open(os.devnull, "w")))
            stack.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
        return _run(runs, positions_app, isolation, shards, history)


def _run(runs: Sequence[tuple[Fleet, DynamoDBFaults]], positions_app: str | Path | None, isolation: Any,
         shards: int, history: bool) -> list[FleetReport]:
    from lambdasim import Simulator

    seed = runs[0][0].seed
    reports = []
    with Simulator(seed=seed, logs=False, metrics=False, service_metrics=False) as sim:
        stack = deploy(sim, stack_name=f"fleet{seed}", positions_app=positions_app, validate=False,
                       isolation=isolation,
                       parameters={"ShardCount": str(shards), "KeepHistory": str(history).lower()})
        out = stack.outputs
        sqs, events = sim.client("sqs"), sim.client("events")
        audit = sqs.create_queue(QueueName="transitions-audit")["QueueUrl"]
        audit_arn = sqs.get_queue_attributes(QueueUrl=audit, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="transitions", EventBusName=out["EventBusName"],
                        EventPattern=json.dumps({"detail-type": ["Geofence Transition"]}))
        events.put_targets(Rule="transitions", EventBusName=out["EventBusName"],
                           Targets=[{"Id": "audit", "Arn": audit_arn}])
        poller = _poller_of(sim, stack.function_name("PositionsFunction"))
        for fleet, faults in runs:
            reports.append(_run_one(sim, out, audit, poller, fleet, faults))
    return reports


def _run_one(sim: Any, out: dict[str, str], audit: str, poller: Any, fleet: Fleet,
             faults: DynamoDBFaults) -> FleetReport:
    from lambdasim.faults import ServerError, Throttle

    truth = ground_truth(fleet)
    sqs, ddb = sim.client("sqs"), sim.client("dynamodb")
    positions_table = out["PositionsTableName"]
    sim.faults.clear()
    for write in ("PutItem", "UpdateItem") if faults.failing_writes else ():
        sim.faults.add("dynamodb", write, ServerError(), rate=faults.failing_writes,
                       when=lambda params: params.get("TableName") == positions_table, label="failing write")
    if faults.throttle_rate:
        sim.faults.add("dynamodb", "*", Throttle(), rate=faults.throttle_rate, attempts=1, label="throttle")
    sim.faults.reset()
    first_batch, first_discard = len(poller.batches), len(poller.discards)
    partial_before, failed_before = poller.stats.partial_failures, poller.stats.failed_invocations

    start = sim.now
    publications = fleet.publications
    i = 0
    while i < len(publications):
        at = publications[i].at_s
        sim.run_until(start + timedelta(seconds=at))
        while i < len(publications) and publications[i].at_s == at:
            p = publications[i]
            sim.iot.publish(p.topic, p.payload, client_id=p.device_id)
            i += 1
    sim.run_until_idle(max_seconds=24 * 3600)

    report = FleetReport(seed=fleet.seed, devices=len(truth.positions), published=len(publications),
                         poison=truth.poison, virtual_s=(sim.now - start).total_seconds())
    report.faults_injected = Counter(f.label or f.code for f in sim.faults.injected if f.kind == "error")
    _audit_positions(report, truth, ddb, positions_table)
    _audit_transitions(report, truth, drain(sqs, audit))
    if "HistoryTableName" in out:
        _audit_history(report, truth, ddb, out["HistoryTableName"])
    else:
        report.history_missing = None
    # A poison record is sent again each time Lambda retries its batch from an earlier record:
    # one record, however many copies.
    report.poison_accounted = len({m["Body"] for m in drain(sqs, out["PoisonQueueUrl"])})
    batches = poller.batches[first_batch:]
    report.valid_records_given_up = _valid_given_up(batches, poller.discards[first_discard:])
    report.rule_errors = len(drain(sqs, out["RuleErrorsQueueUrl"]))
    report.partial_failures = poller.stats.partial_failures - partial_before
    report.failed_invocations = poller.stats.failed_invocations - failed_before
    report.whole_batch_failures = sum(
        1 for b in batches if b.invocation is not None
        and (b.invocation.error_type or b.invocation.timed_out)
        and len({r["kinesis"]["partitionKey"] for r in b.records}) > 1)
    report.records_retried = sum(len(b.records) for b in batches if b.attempt > 1)
    return report


def _poller_of(sim: Any, function_name: str) -> Any:
    mappings = sim.client("lambda").list_event_source_mappings(FunctionName=function_name)["EventSourceMappings"]
    return sim.poller(mappings[0]["UUID"])


def _scan(ddb: Any, table: str) -> list[dict[str, Any]]:
    return [item for page in ddb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]


def _audit_positions(report: FleetReport, truth: Truth, ddb: Any, table: str) -> None:
    stored = {item["device_id"]["S"]: item for item in _scan(ddb, table)}
    for device, fix in truth.positions.items():
        item = stored.get(device, {})
        if _number(item, "ts") != fix.ts or _number(item, "lat") != fix.lat or _number(item, "lon") != fix.lon:
            report.positions_wrong.append(device)


def _number(item: dict[str, Any], name: str) -> float | None:
    """A number attribute of a DynamoDB item (None when it is missing or not a number)."""
    value = item.get(name, {}).get("N")
    return float(value) if value is not None else None


def _audit_transitions(report: FleetReport, truth: Truth, messages: list[dict[str, Any]]) -> None:
    published: Counter[Transition] = Counter()
    for message in messages:
        detail = json.loads(message["Body"])["detail"]
        ts = round(datetime.fromisoformat(detail["SampleTime"]).timestamp() * 1000)
        published[Transition(detail["DeviceId"], detail["GeofenceId"], detail["EventType"], ts)] += 1
    expected = truth.transition_counts()
    report.transitions_expected = sum(expected.values())
    report.transitions_published = sum(published.values())
    report.transitions_missing = sorted((expected - published).elements(), key=lambda t: (t.device_id, t.ts))
    report.transitions_extra = sorted((published - expected).elements(), key=lambda t: (t.device_id, t.ts))


def _audit_history(report: FleetReport, truth: Truth, ddb: Any, table: str) -> None:
    stored = {(item["device_id"]["S"], int(item["ts"]["N"])) for item in _scan(ddb, table)}
    report.history_missing = len(truth.history - stored)


def _valid_given_up(batches: list[Any], discards: list[Any]) -> int:
    """Valid fixes among the records the position consumer's mapping gave up on."""
    given_up = {seq for discard in discards for seq in discard.sequence_numbers}
    valid = 0
    for batch in batches:
        for record in batch.records:
            seq = record["kinesis"]["sequenceNumber"]
            if seq in given_up:
                given_up.discard(seq)
                try:
                    body = json.loads(base64.b64decode(record["kinesis"]["data"]))
                except ValueError:
                    continue
                if isinstance(body.get("lat"), (int, float)) and -90 <= body["lat"] <= 90 and "ts" in body:
                    valid += 1
    return valid
