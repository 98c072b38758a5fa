"""What a run of a deployed stack did, for `python -m lambdasim run`: a summary as plain JSON
data (`summarize`) and as text for people (`format_text`).

The summary has, per function of the stack (by logical id), its invocations, errors, cold
starts and throttles; per queue, the messages left in it (visible, in flight, delayed), dead-letter
queues marked; per function, what became of its asynchronous events (Lambda's conditions:
Success, RetriesExhausted, EventAgeExceeded; pending ones not settled yet); the last log lines
of each function's latest failed invocation, read back from CloudWatch Logs; and the stack's
outputs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import moto_state
from .clock import from_micros
from .scenario import Sent, format_duration

if TYPE_CHECKING:
    from .runtime import InvocationRecord
    from .sam import Stack
    from .simulator import Simulator

#: Log lines shown per failed invocation.
LOG_LINES = 10
_QUEUE_COUNTS = {"visible": "ApproximateNumberOfMessages", "in_flight": "ApproximateNumberOfMessagesNotVisible",
                 "delayed": "ApproximateNumberOfMessagesDelayed"}


def summarize(sim: Simulator, stack: Stack, sent: Sequence[Sent], ran_for_s: float) -> dict[str, Any]:
    """The run's summary as JSON-ready data (what `--json` prints)."""
    logical_ids = {fn.name: logical_id for logical_id, fn in stack.functions.items()}
    return {
        "stack": stack.name,
        "template": str(stack.template_path),
        "seed": sim.seed,
        "ran_for_s": ran_for_s,
        "ended_at": _iso_now(sim),
        "events": [{"entry": s.entry.number, "at_s": s.entry.at_s, "what": s.entry.label,
                    "sent_at": s.at, "outcome": s.outcome} for s in sent],
        "functions": _functions(sim, logical_ids),
        "queues": _queues(sim, stack),
        "async_events": _async_events(sim, logical_ids),
        "failures": _failures(sim, logical_ids),
        "outputs": dict(stack.outputs),
    }


def _iso_now(sim: Simulator) -> str:
    return sim.now.isoformat().replace("+00:00", "Z")


def _functions(sim: Simulator, logical_ids: dict[str, str]) -> dict[str, dict[str, Any]]:
    rows = {logical_id: {"name": name, "invocations": 0, "errors": 0, "cold_starts": 0, "throttles": 0}
            for name, logical_id in sorted(logical_ids.items(), key=lambda item: item[1])}
    for record in sim.invocations:
        row = rows.get(logical_ids.get(record.function_name, ""))
        if row is not None:
            row["invocations"] += 1
            row["errors"] += 0 if record.succeeded else 1
            row["cold_starts"] += 1 if record.cold_start else 0
    for throttle in sim.throttles:
        row = rows.get(logical_ids.get(throttle.function_name, ""))
        if row is not None:
            row["throttles"] += 1
    return rows


def _queues(sim: Simulator, stack: Stack) -> dict[str, dict[str, Any]]:
    sqs = sim.client("sqs")
    attributes = {logical_id: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                  for logical_id, url in sorted(stack.of_type("AWS::SQS::Queue").items())}
    dead_letter_arns = {json.loads(a["RedrivePolicy"]).get("deadLetterTargetArn")
                        for a in attributes.values() if a.get("RedrivePolicy")}
    lam = sim.client("lambda")
    for fn in stack.functions.values():
        target = lam.get_function_configuration(FunctionName=fn.name).get("DeadLetterConfig", {}).get("TargetArn")
        dead_letter_arns.add(target)
    return {logical_id: {"dead_letter_queue": a.get("QueueArn") in dead_letter_arns,
                         **{key: int(a.get(name, 0)) for key, name in _QUEUE_COUNTS.items()}}
            for logical_id, a in attributes.items()}


def _async_events(sim: Simulator, logical_ids: dict[str, str]) -> dict[str, dict[str, int]]:
    outcomes: dict[str, Counter[str]] = {}
    for event in sim.async_queue.received:
        logical_id = logical_ids.get(event.request.config.name)
        if logical_id is not None:
            counts = outcomes.setdefault(logical_id, Counter())
            counts["received"] += 1
            counts[event.condition or "pending"] += 1
    return {logical_id: dict(counts) for logical_id, counts in sorted(outcomes.items())}


def _failures(sim: Simulator, logical_ids: dict[str, str]) -> list[dict[str, Any]]:
    """Each function's latest failed invocation, with the last lines of its log."""
    latest: dict[str, InvocationRecord] = {}
    counts: Counter[str] = Counter()
    for record in sim.invocations:
        if not record.succeeded and record.function_name in logical_ids:
            latest[record.function_name] = record
            counts[record.function_name] += 1
    return [{"function": logical_ids[name], "failed_invocations": counts[name], "request_id": record.request_id,
             "started_at": from_micros(record.start_us).isoformat().replace("+00:00", "Z"),
             "error_type": record.error_type or record.function_error,
             "log": invocation_log(sim, record)[-LOG_LINES:]}
            for name, record in sorted(latest.items(), key=lambda item: logical_ids[item[0]])]


def invocation_log(sim: Simulator, record: InvocationRecord) -> list[str]:
    """An invocation's lines in its CloudWatch Logs stream, from its START line to its REPORT
    line (empty when the simulation keeps no logs)."""
    if record.log_stream is None:
        return []
    config, _ = moto_state.resolve_function(sim.account_id, sim.region, record.function_name, None)
    logs = sim.client("logs")
    messages: list[str] = []
    token = None
    while True:
        page = logs.get_log_events(logGroupName=config.log_group, logStreamName=record.log_stream,
                                   startFromHead=True, **({"nextToken": token} if token else {}))
        messages += [e["message"] for e in page["events"]]
        if not page["events"] or page.get("nextForwardToken") == token:
            break
        token = page.get("nextForwardToken")
    start = next((i for i, m in enumerate(messages) if m.startswith(f"START RequestId: {record.request_id}")), None)
    if start is None:
        return []
    end = next((i for i in range(start, len(messages))
                if messages[i].startswith(f"REPORT RequestId: {record.request_id}")), len(messages) - 1)
    return [line for message in messages[start:end + 1] for line in message.splitlines()]


def format_text(summary: dict[str, Any]) -> str:
    """The summary as text for a terminal."""
    out = [f"Stack {summary['stack']} ({summary['template']}), seed {summary['seed']}: "
           f"ran {format_duration(summary['ran_for_s'])} of virtual time, to {summary['ended_at']}"]
    if summary["events"]:
        out += ["", f"Events sent ({len(summary['events'])})"]
        out += _table(["#", "at", "what", "outcome"],
                      [[e["entry"], format_duration(e["at_s"]), e["what"], e["outcome"] or "not sent"]
                       for e in summary["events"]])
    out += ["", "Invocations"]
    out += _table(["function", "invocations", "errors", "cold starts", "throttles"],
                  [[lid, f["invocations"], f["errors"], f["cold_starts"], f["throttles"]]
                   for lid, f in summary["functions"].items()])
    if summary["queues"]:
        out += ["", "Messages left in queues"]
        out += _table(["queue", "visible", "in flight", "delayed"],
                      [[lid + (" (dead-letter queue)" if q["dead_letter_queue"] else ""), q["visible"],
                        q["in_flight"], q["delayed"]] for lid, q in summary["queues"].items()])
    if summary["async_events"]:
        out += ["", "Asynchronous events"]
        out += _table(["function", "received", "outcomes"],
                      [[lid, counts["received"], ", ".join(f"{n} {condition}" for condition, n in counts.items()
                                                         if condition != "received")]
                       for lid, counts in summary["async_events"].items()])
    for failure in summary["failures"]:
        out += ["", f"{failure['function']}: {failure['failed_invocations']} failed invocation(s); the latest, "
                    f"{failure['request_id']} at {failure['started_at']} ({failure['error_type']}), logged:"]
        out += [f"  {line}" for line in failure["log"]]
    if summary["outputs"]:
        out += ["", "Outputs"]
        out += [f"  {key} = {value}" for key, value in sorted(summary["outputs"].items())]
    return "\n".join(out)


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """Rows under headers: text columns left-aligned, numbers right-aligned, indented two spaces."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], int) for row in rows) for i in range(len(headers))] if rows else []

    def line(row: list[str]) -> str:
        return "  " + "  ".join(c.rjust(w) if numeric and numeric[i] else c.ljust(w)
                                for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    return [line(row) for row in cells]
