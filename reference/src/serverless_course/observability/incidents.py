"""Incident scenarios: the orders pipeline on the virtual clock, an alarm set beside it, and one
incident injected, to see which alarms page, and when.

`run_scenario(name, seed)` runs module 1's pipeline (`serverless_course.pipeline`), puts a
steady stream of `OrderPlaced` events on the bus (one order a minute, the seed jittering each
arrival by up to 10 s: steady, so that a quiet window means something broke), injects the
scenario's incident, runs `SPAN_S` virtual seconds and returns a `ScenarioRun`: what happened
and when, every transition and SNS notification of an alarm set (a CloudFormation template, its
parameters the names of what it watches: `ALARM_PARAMETERS`), and the processor's log lines.
Orders go straight onto the bus, without API Gateway and the ingest function, to keep a run
cheap: the alarms watch the path from the rule on.

Alarms only watch, so the pipeline runs without them (`record_scenario`, its metric data recorded
as alarm evaluations read it: `lambdasim.metric_recording`), and the alarm set is then deployed
in a simulation of its own that replays that data at the instants it was read
(`evaluate_alarms`): the same transitions at the same instants as beside the pipeline
(tests/observability/test_incidents.py), and one run of the pipeline serves every alarm set
judged on it (`run_scenario` keeps the recordings: a learner changing alarms.yaml, a class of
learners whose processors are the same file).

The scenarios (`SCENARIOS`): a downstream outage (the orders table fails every write for 20
minutes), a poison flood (malformed orders), a throttle storm (the processor's concurrency
exhausted for 20 minutes), a silent rule typo (the rule's pattern stops matching: orders stop
reaching the queue and nothing errors), a slow duration leak (the processor's duration grows
minute by minute), and a normal day (traffic rising from one order every four minutes, so that
some minutes are quiet, to one and a half a minute and falling back, a burst, and the table
throttling first attempts for three minutes, which the SDK's retries absorb: nothing to page
for). An incident starts at a seeded minute after a warm-up in which the alarms get their data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import random
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serverless_course import pipeline
from serverless_course.capacity.pipeline import Durations
from serverless_course.pipeline import orders_contract as contract
from serverless_course.pipeline import traffic

if TYPE_CHECKING:
    from lambdasim.metric_recording import MetricRecording

__all__ = ["ALARM_PARAMETERS", "PITFALL_ALARMS", "REFERENCE_ALARMS", "REFERENCE_PROCESSOR", "SCENARIOS",
           "SPAN_S", "Incident", "Page", "ScenarioRecording", "ScenarioRun", "Transition", "evaluate_alarms",
           "plot_alarm_timeline", "record_scenario", "run_scenario"]

# The reference alarm set and the processor instrumented for it: lab 04's solution.
REFERENCE_SOLUTION = Path(__file__).resolve().parents[1] / "solutions" / "lab04_alarms_that_page"
REFERENCE_ALARMS = REFERENCE_SOLUTION / "alarms.yaml"
REFERENCE_PROCESSOR = REFERENCE_SOLUTION / "app.py"
#: Lesson 04-03's alarms that look right and are not (the missing-data and poison-pill pitfalls).
PITFALL_ALARMS = Path(__file__).resolve().parent / "pitfall_alarms.yaml"
#: The parameters an alarm template may declare; it is given those it declares.
ALARM_PARAMETERS = ("ProcessorFunctionName", "OrdersQueueName", "DeadLetterQueueName",
                    "RedriveDeadLetterQueueName", "RuleDeadLetterQueueName",
                    "OrdersTableName", "EventBusName", "OrderPlacedRuleName")

SPAN_S = 30 * 60
ORDERS_PER_MINUTE = 1.0
JITTER_S = 10.0
WARM_UP_MINUTES = (8, 11)  # the incident starts at a seeded minute in this range
INCIDENT_S = 20 * 60


@dataclass(frozen=True)
class Incident:
    """What was injected: `stage` is what failed, in words; a page names it when its alarm's
    name or description holds one of `keywords`; `budget_s` is the time allowed from `start_s`
    to the first page."""

    scenario: str
    stage: str
    keywords: tuple[str, ...]
    start_s: float
    budget_s: float
    end_s: float | None = None


@dataclass(frozen=True)
class Page:
    """An SNS notification of an alarm entering ALARM."""

    at_s: float
    alarm: str
    description: str

    def names(self, incident: Incident) -> bool:
        text = f"{self.alarm} {self.description}".lower()
        return any(word in text for word in incident.keywords)


@dataclass(frozen=True)
class Transition:
    """An alarm's change of state, `at_s` virtual seconds into the run."""

    at_s: float
    alarm: str
    old_state: str
    new_state: str


@dataclass
class ScenarioRun:
    scenario: str
    seed: int
    incident: Incident | None
    span_s: int
    orders_sent: int
    transitions: list[Transition]
    pages: list[Page]
    log_lines: list[str]  # the processor's lines, platform lines (START, END, REPORT) left out
    alarm_names: list[str]

    def states(self, alarm: str, step_s: int = 60) -> list[str]:
        """The alarm's state at the end of each step of the run (a timeline)."""
        changes = [t for t in self.transitions if t.alarm == alarm]
        out, state, i = [], "INSUFFICIENT_DATA", 0
        for end in range(step_s, self.span_s + 1, step_s):
            while i < len(changes) and changes[i].at_s <= end:
                state, i = changes[i].new_state, i + 1
            out.append(state)
        return out

    def first_page_in_budget(self) -> Page | None:
        inc = self.incident
        if inc is None:
            return None
        return next((p for p in self.pages if inc.start_s <= p.at_s <= inc.start_s + inc.budget_s), None)

    @property
    def detected(self) -> bool:
        return self.first_page_in_budget() is not None

    @property
    def named(self) -> bool:
        """A page within the budget names the failing stage."""
        inc = self.incident
        return inc is not None and any(
            p.names(inc) for p in self.pages if inc.start_s <= p.at_s <= inc.start_s + inc.budget_s)


@dataclass(frozen=True)
class _Scenario:
    stage: str
    keywords: tuple[str, ...]
    budget_s: float
    inject: Callable[[Any, Any, Incident, random.Random], None]


def _bus_entry(bus: str, detail: dict[str, Any] | str) -> dict[str, str]:
    return {"EventBusName": bus, "Source": contract.SOURCE_API, "DetailType": contract.ORDER_PLACED,
            "Detail": detail if isinstance(detail, str) else json.dumps(detail)}


def _order_detail(sim: Any, rng: random.Random, n: int) -> dict[str, Any]:
    order_id = f"o-{n:07d}"
    return {"metadata": {"event_id": contract.event_id_for(order_id), "correlation_id": f"corr-{n:05d}",
                         "schema_version": contract.SCHEMA_VERSION, "occurred_at": sim.now.isoformat()},
            "data": traffic.order(rng, order_id)}


def _outage(sim: Any, stack: Any, inc: Incident, rng: random.Random) -> None:
    from lambdasim.faults import ServerError
    table = stack.outputs["OrdersTableName"]
    sim.faults.add("dynamodb", "PutItem", ServerError(), label="outage",
                   when=lambda p: p.get("TableName") == table and inc.start_s <= sim.elapsed < inc.end_s)


def _poison_flood(sim: Any, stack: Any, inc: Incident, rng: random.Random) -> None:
    bus, events = stack.outputs["EventBusName"], sim.client("events")

    def send(n: int) -> None:
        detail = _order_detail(sim, rng, 900_000 + n)
        detail["data"]["items"][0]["quantity"] = 0  # breaks the contract: never processable
        events.put_events(Entries=[_bus_entry(bus, detail)])
    for n in range(30):
        sim.schedule(inc.start_s + n * 10 - sim.elapsed, send, n)


def _throttle_storm(sim: Any, stack: Any, inc: Incident, rng: random.Random) -> None:
    lam, function = sim.client("lambda"), stack.function_name("ProcessorFunction")
    sim.schedule(inc.start_s - sim.elapsed, lambda: lam.put_function_concurrency(
        FunctionName=function, ReservedConcurrentExecutions=0))
    sim.schedule(inc.end_s - sim.elapsed, lambda: lam.delete_function_concurrency(FunctionName=function))


def _rule_typo(sim: Any, stack: Any, inc: Incident, rng: random.Random) -> None:
    events, bus = sim.client("events"), stack.outputs["EventBusName"]
    rule = stack.physical_id("OrderPlacedRule").split("|")[-1]

    def typo() -> None:  # a deploy changes one letter of the pattern: valid, matches nothing
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(
            {"source": [contract.SOURCE_API], "detail-type": ["OrderPlace"]}))
    sim.schedule(inc.start_s - sim.elapsed, typo)


def _duration_leak(sim: Any, stack: Any, inc: Incident, rng: random.Random) -> None:
    function, base = stack.function_name("ProcessorFunction"), Durations()
    memory = int(stack.parameters["ProcessorMemorySize"])

    def duration_ms(_rng: Any, event: dict[str, Any]) -> float:
        leaked_minutes = max(0.0, sim.elapsed - inc.start_s) / 60
        return base.processor_ms(len(event["Records"]), memory) + 200.0 * leaked_minutes
    sim.set_duration(function, duration_ms)


def _outage_then_poison(sim: Any, stack: Any, inc: Incident, rng: random.Random) -> None:
    _outage(sim, stack, inc, rng)
    _poison_flood(sim, stack, replace(inc, start_s=inc.end_s), rng)


SCENARIOS: dict[str, _Scenario | None] = {
    "downstream outage": _Scenario("the orders table (DynamoDB writes)", ("table", "dynamodb", "write"),
                                   10 * 60, _outage),
    "poison flood": _Scenario("poison messages (dead-letter queue)", ("dlq", "dead-letter", "poison"),
                              10 * 60, _poison_flood),
    "throttle storm": _Scenario("the processor's concurrency (Lambda throttles)", ("throttl", "concurrency"),
                                10 * 60, _throttle_storm),
    "rule typo": _Scenario("the EventBridge rule (orders stop arriving)", ("rule", "eventbridge", "arriv"),
                           15 * 60, _rule_typo),
    "duration leak": _Scenario("the processor's duration", ("duration", "slow", "latency"),
                               15 * 60, _duration_leak),
    "normal day": None,
    # Lesson 04-03: the outage, then a poison flood as the table comes back (the budget is the
    # outage's).
    "outage, then poison flood": _Scenario("the orders table (DynamoDB writes)", ("table", "dynamodb", "write"),
                                           10 * 60, _outage_then_poison),
}


def _normal_day(sim: Any, stack: Any, start_s: float) -> None:
    """The harmless blip: for three minutes the table throttles the first attempt of a tenth of
    the processor's calls, which botocore retries (and a burst of orders arrives meanwhile)."""
    from lambdasim.faults import Throttle
    sim.faults.add("dynamodb", "*", Throttle(), rate=0.1, attempts=1, label="blip",
                   when=lambda p: start_s <= sim.elapsed < start_s + 180)


def _arrivals(name: str, rng: random.Random, span_s: float) -> list[float]:
    """Steady arrivals, one a minute jittered; a normal day's rate rises from one every four
    minutes (quiet minutes, though never a quiet five) to one and a half a minute and falls
    back, with a burst of 10 orders in a minute."""
    times, t = [], 30.0
    while t < span_s:
        times.append(t + rng.uniform(-JITTER_S, JITTER_S))
        rate = ORDERS_PER_MINUTE
        if name == "normal day":
            rate *= 0.875 - 0.625 * math.cos(2 * math.pi * t / span_s)
        t += 60 / rate
    if name == "normal day":
        burst = rng.uniform(12, 25) * 60
        times += [burst + rng.uniform(0, 60) for _ in range(10)]
    return sorted(times)


STATE_COLOURS = {"OK": "#4c9f70", "ALARM": "#d1495b", "INSUFFICIENT_DATA": "#c9c9c9"}


def plot_alarm_timeline(run: ScenarioRun, ax: Any = None) -> Any:
    """Each alarm's state minute by minute (one row per alarm), the incident shaded and each
    page marked; returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 0.45 * len(run.alarm_names) + 1.2))
    for row, alarm in enumerate(run.alarm_names):  # one collection a row: a bar a minute costs a second
        states = run.states(alarm)
        ax.broken_barh([(minute, 1) for minute in range(len(states))], (row - 0.4, 0.8),
                       facecolors=[STATE_COLOURS[state] for state in states], edgecolor="white", linewidth=0.5)
    if run.incident is not None:
        end = run.incident.end_s if run.incident.end_s is not None else run.span_s
        ax.axvspan(run.incident.start_s / 60, min(end, run.span_s) / 60, color="#f4a259", alpha=0.15)
        ax.axvline((run.incident.start_s + run.incident.budget_s) / 60, color="#f4a259", linestyle="--")
    for page in run.pages:
        ax.plot(page.at_s / 60, run.alarm_names.index(page.alarm), marker="v", color="black")
    ax.set_yticks(range(len(run.alarm_names)), [_short(a) for a in run.alarm_names])
    ax.set_xlabel("virtual minutes (shaded: the incident; dashed: its detection budget; ▼ a page)")
    ax.legend(handles=[Patch(color=c, label=s) for s, c in STATE_COLOURS.items()],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return ax


def _short(alarm: str) -> str:
    """An alarm's name without the stack's generated resource prefix."""
    parts = alarm.split("-")
    return "-".join(parts[3:]) if len(parts) > 3 and parts[0] == "orders" else alarm


def _names(stack: Any) -> dict[str, str]:
    """The values of `ALARM_PARAMETERS`: what the pipeline's resources are called."""
    out = stack.outputs
    return {
        "ProcessorFunctionName": stack.function_name("ProcessorFunction"),
        "OrdersQueueName": out["QueueUrl"].rsplit("/", 1)[-1],
        "DeadLetterQueueName": out["DeadLetterQueueUrl"].rsplit("/", 1)[-1],
        "RedriveDeadLetterQueueName": out["RedriveDeadLetterQueueUrl"].rsplit("/", 1)[-1],
        "RuleDeadLetterQueueName": out["RuleDeadLetterQueueUrl"].rsplit("/", 1)[-1],
        "OrdersTableName": out["OrdersTableName"],
        "EventBusName": out["EventBusName"],
        "OrderPlacedRuleName": stack.physical_id("OrderPlacedRule").split("|")[-1],
    }


def _alarm_parameters(names: dict[str, str], template: dict[str, Any]) -> dict[str, str]:
    """The names the alarm template declares as parameters."""
    declared = template.get("Parameters") or {}
    return {k: v for k, v in names.items() if k in declared}


def _load_template(path: Path) -> dict[str, Any]:
    # SAM's reader, which understands CloudFormation's short forms (!Ref, !Sub...) as the
    # simulator's deploy does; cfn-lint's decoder would cost 0.6 s of imports a run.
    import yaml
    from samtranslator.yaml_helper import yaml_parse

    try:
        template = yaml_parse(path.read_text())
    except yaml.YAMLError as problem:
        raise ValueError(f"{path.name} does not parse as a template: {problem}") from None
    if not isinstance(template, dict):
        raise ValueError(f"{path.name} does not parse as a template: not a mapping")
    return template


def _log_lines(sim: Any, function: str) -> list[str]:
    logs = sim.client("logs")
    lines, kwargs = [], {"logGroupName": f"/aws/lambda/{function}"}
    while True:
        page = logs.filter_log_events(**kwargs)
        lines += [e["message"].rstrip("\n") for e in page["events"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    platform = ("START RequestId", "END RequestId", "REPORT RequestId", "INIT_START")
    return [line for line in lines if line and not line.startswith(platform)]


@dataclass(frozen=True)
class ScenarioRecording:
    """One run of a scenario's pipeline, with no alarm set: what alarm sets are judged against
    (`evaluate_alarms`). `names` are the values of `ALARM_PARAMETERS`; `metrics` the metric data
    as alarm evaluations every `metrics.every_s` seconds read it; `log_lines` the processor's."""

    scenario: str
    seed: int
    incident: Incident | None
    span_s: int
    orders_sent: int
    names: dict[str, str]
    metrics: MetricRecording
    log_lines: list[str]


def record_scenario(name: str, seed: int, *, processor: Path | None = REFERENCE_PROCESSOR,
                    isolation: Any = None, span_s: int = SPAN_S, until_budget_ends: bool = False,
                    every_s: int = 60) -> ScenarioRecording:
    """Run scenario `name` (a key of `SCENARIOS`) on `seed` with the processor `processor` (a
    file replacing `processor/app.py`; None: the pipeline's own), recording its metric data for
    alarm evaluations every `every_s` seconds. ``isolation`` (graders) runs a replaced
    processor in worker processes; ``span_s`` is the virtual time run (a lesson runs longer, to
    see the recovery). ``until_budget_ends`` (graders, who count only the pages within the
    budget) stops an incident's run when its detection budget ends: everything is scheduled as
    for ``span_s``, so the run up to then is the full run's, and the incident's recovery, most
    of a run's work, is not played."""
    with _playing(name, seed, processor, isolation, span_s, until_budget_ends) as play:
        metrics = play.sim.record_metrics(every_s)
        play.sim.run_for(play.run_s)
        return ScenarioRecording(name, seed, play.incident, play.run_s, play.orders_sent, _names(play.stack),
                                 metrics, _log_lines(play.sim, play.stack.function_name("ProcessorFunction")))


@dataclass(frozen=True)
class _Playing:
    """A scenario set up and scheduled, ready to run for `run_s`."""

    sim: Any
    stack: Any
    incident: Incident | None
    run_s: int
    orders_sent: int  # by the end of run_s


@contextlib.contextmanager
def _playing(name: str, seed: int, processor: Path | None, isolation: Any, span_s: int,
             until_budget_ends: bool) -> Iterator[_Playing]:
    from lambdasim import Simulator

    spec = SCENARIOS[name]
    rng = random.Random(f"{name}:{seed}")
    with _quiet(), Simulator(seed=seed) as sim:
        replace = {"ProcessorFunction": {"processor/app.py": processor}} if processor else None
        stack = pipeline.deploy(sim, replace=replace, validate=False, isolation=isolation)
        Durations().set_in(sim, stack.function_name("IngestFunction"), stack.function_name("ProcessorFunction"),
                           int(stack.parameters["ProcessorMemorySize"]))

        start_s = rng.randint(*WARM_UP_MINUTES) * 60.0
        incident = None
        if spec is None:
            _normal_day(sim, stack, start_s)
        else:
            incident = Incident(name, spec.stage, spec.keywords, start_s, spec.budget_s, start_s + INCIDENT_S)
            spec.inject(sim, stack, incident, rng)

        events, bus = sim.client("events"), stack.outputs["EventBusName"]
        arrivals = _arrivals(name, rng, span_s)
        for n, at in enumerate(arrivals):
            sim.schedule(at, lambda n=n: events.put_events(Entries=[_bus_entry(bus, _order_detail(sim, rng, n))]))

        run_s = span_s
        if until_budget_ends and incident is not None:
            run_s = min(span_s, math.ceil(incident.start_s + incident.budget_s))
        yield _Playing(sim, stack, incident, run_s, sum(at <= run_s for at in arrivals))


def evaluate_alarms(alarms: Path, recording: ScenarioRecording) -> ScenarioRun:
    """The alarm template `alarms` deployed in a simulation of its own (its parameters the
    names of what the recorded pipeline's resources were called) and evaluated for the
    recording's span against its metric data, written at the instants it was read: every
    transition and page as beside the recorded run. ValueError if the alarms are evaluated more
    often than the recording was read (an alarm with a period under a minute needs a recording
    made with ``every_s=10``)."""
    run = _evaluate(alarms, _load_template(alarms), recording)
    if isinstance(run, int):
        raise ValueError(f"{alarms.name} is evaluated every {run} s; the recording was read every "
                         f"{recording.metrics.every_s} s: record with every_s={run}")
    return run


def run_scenario(name: str, seed: int, *, alarms: Path = REFERENCE_ALARMS,
                 processor: Path | None = REFERENCE_PROCESSOR, isolation: Any = None,
                 span_s: int = SPAN_S, until_budget_ends: bool = False,
                 recordings: Path | None = None) -> ScenarioRun:
    """Scenario `name` on `seed` with the alarm template `alarms` beside the pipeline with the
    processor `processor`: `record_scenario`, then `evaluate_alarms`. The pipeline's run is
    recorded once per processor (by content), scenario, seed and span, and kept in this process;
    with ``recordings``, a folder, it is also kept there for other processes (a class's
    gradings), one process recording while the others wait. Arguments as `record_scenario`'s."""
    template = _load_template(alarms)  # a template that does not parse fails before any run
    every_s = 60
    while True:
        recording = _recording(name, seed, processor, isolation, span_s, until_budget_ends, every_s, recordings)
        run = _evaluate(alarms, template, recording)
        if not isinstance(run, int):
            return run
        every_s = run  # alarms with a period under a minute: read the run every 10 s


_RECORDINGS_KEPT = 32
_recordings: OrderedDict[str, ScenarioRecording] = OrderedDict()  # this process's, newest last


def _recording(name: str, seed: int, processor: Path | None, isolation: Any, span_s: int,
               until_budget_ends: bool, every_s: int, folder: Path | None) -> ScenarioRecording:
    code = hashlib.sha256(processor.read_bytes()).hexdigest() if processor is not None else "pipeline"
    key = hashlib.sha256(repr((code, name, seed, span_s, until_budget_ends, every_s)).encode()).hexdigest()
    recording = _recordings.get(key)
    if recording is None:
        def record() -> ScenarioRecording:
            return record_scenario(name, seed, processor=processor, isolation=isolation, span_s=span_s,
                                   until_budget_ends=until_budget_ends, every_s=every_s)
        recording = record() if folder is None else _kept_in(folder, key, record)
    _recordings[key] = recording
    _recordings.move_to_end(key)
    while len(_recordings) > _RECORDINGS_KEPT:
        _recordings.popitem(last=False)
    return recording


def _kept_in(folder: Path, key: str, record: Callable[[], ScenarioRecording]) -> ScenarioRecording:
    """The recording stored in `folder` under `key`, made by `record()` first if it is not
    there; a process that finds another making it waits for it (a lock file per key)."""
    import fcntl
    import pickle

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.pickle"
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            with path.open("rb") as f:
                recording: ScenarioRecording = pickle.load(f)
            return recording
        recording = record()
        partial = path.with_suffix(".partial")
        with partial.open("wb") as f:
            pickle.dump(recording, f, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)
        return recording


def _evaluate(alarms: Path, template: dict[str, Any], recording: ScenarioRecording) -> ScenarioRun | int:
    """`evaluate_alarms`, or the evaluation interval the alarms need if the recording was read
    less often."""
    from lambdasim import Simulator

    with _quiet(), Simulator(seed=recording.seed, start=recording.metrics.start) as sim:
        sim.replay_metrics(recording.metrics)
        sim.deploy(alarms, stack_name="orders-alarms", validate=False,
                   parameters=_alarm_parameters(recording.names, template))
        if not recording.metrics.serves(sim.alarms.interval_s):
            return sim.alarms.interval_s
        sim.run_for(recording.span_s)

        described = sim.client("cloudwatch").describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        descriptions = {a["AlarmName"]: a.get("AlarmDescription", "")
                        for a in described["MetricAlarms"] + described["CompositeAlarms"]}
        t0 = sim.now.timestamp() - sim.elapsed
        pages = [Page(n.at.timestamp() - t0, n.alarm, descriptions.get(n.alarm, ""))
                 for n in sim.alarms.notifications if n.message.get("NewStateValue") == "ALARM"]
        transitions = [Transition(tr.at.timestamp() - t0, tr.alarm, tr.old_state, tr.new_state)
                       for tr in sim.alarms.transitions]
    r = recording
    return ScenarioRun(r.scenario, r.seed, r.incident, r.span_s, r.orders_sent, transitions, pages,
                       r.log_lines, sorted(descriptions))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Without the pipeline's chatter: Powertools' warning of a batch with no metrics, and
    what handlers print."""
    with warnings.catch_warnings(), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        warnings.filterwarnings("ignore", message="No application metrics")
        yield
