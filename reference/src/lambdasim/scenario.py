"""The events file of `python -m lambdasim run`: what to send into a deployed stack, and when.

A JSON list; each entry names one target by the logical id the template gives it, and may say
when to send it (`"at"`: seconds or "90s", "10m", "2h" of virtual time after the deploy;
default 0). Entries due at the same time are sent in the file's order.

    [
      {"at": "0s",  "invoke": "OrderWriterFunction", "payload": {"Records": []}},
      {"at": "10s", "invoke": "AuditFunction", "payload": {}, "type": "Event"},
      {"at": "30s", "sqs": "OrdersQueue", "body": {"orderId": "o-1"}},
      {"at": "1m",  "sns": "Topic", "message": "hello", "subject": "hi", "attributes": {"kind": "order"}},
      {"at": "1m",  "eventbridge": {"EventBusName": "OrdersBus", "Source": "course.orders",
                                    "DetailType": "OrderPlaced", "Detail": {"orderId": "o-2"}}},
      {"at": "2m",  "http": {"method": "POST", "path": "/orders", "headers": {}, "body": {"n": 1}}},
      {"at": "3m",  "s3": {"bucket": "Bucket", "key": "uploads/a.csv", "body": "a,b\\n1,2"}}
    ]

- `invoke`: a function; `payload` (JSON, default {}); `type` "RequestResponse" (default) or
  "Event" (asynchronous: retries, destinations and DLQ apply).
- `sqs`: a queue; `body` (text, or JSON written as text); FIFO queues take `group` and
  `deduplication_id` (default: the entry's number).
- `sns`: a topic; `message` (text or JSON), optional `subject` and `attributes` (name: text,
  String message attributes, which filter policies read).
- `eventbridge`: one PutEvents entry; `EventBusName` may be a bus's logical id (default: the
  default bus); `Detail` may be JSON.
- `http`: a request to the stack's REST or HTTP API through the API Gateway front door; `path` with the
  stage (`/Prod/orders`) or without it (the first API that routes it, as `sam local start-api`
  serves); `method` (default GET), `headers`, `body` (text or JSON).
- `s3`: an object written to a bucket (`bucket` a logical id, `key`, `body` text or JSON):
  the bucket's notifications fire.

`load_events` checks the file's shape before anything is deployed; `schedule` resolves the
logical ids against the deployed stack and schedules each entry on the virtual clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import local_api

if TYPE_CHECKING:
    from .sam import Stack
    from .simulator import Simulator

#: An entry's target key -> the other keys it may have.
TARGETS: dict[str, frozenset[str]] = {
    "invoke": frozenset({"payload", "type"}),
    "sqs": frozenset({"body", "group", "deduplication_id"}),
    "sns": frozenset({"message", "subject", "attributes"}),
    "eventbridge": frozenset(),
    "http": frozenset(),
    "s3": frozenset(),
}
_HTTP_KEYS = frozenset({"method", "path", "headers", "body"})
_S3_KEYS = frozenset({"bucket", "key", "body"})
_INVOCATION_TYPES = ("RequestResponse", "Event")
_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class EventsFileError(ValueError):
    """The events file is wrong: its message says where and how, in one line."""


def parse_duration(value: str | int | float) -> float:
    """Seconds from `90`, `"90s"`, `"10m"`, `"2h"` or `"250ms"`."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"invalid duration {value!r}: write seconds (90 or \"90s\"), minutes (\"10m\") "
                         "or hours (\"2h\")")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: it cannot be negative")
        return float(value)
    found = _DURATION.fullmatch(value.strip())
    if found is None:
        raise ValueError(f"invalid duration {value!r}: write seconds (90 or 90s), minutes (10m) or hours (2h)")
    return float(found["number"]) * _UNIT_SECONDS[found["unit"]]


def format_duration(seconds: float) -> str:
    """`90` -> "1m30s": the shortest exact way to write a duration for people."""
    if seconds < 1 and seconds != 0:
        return f"{seconds * 1000:g}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours:g}h" if hours else "", f"{minutes:g}m" if minutes else "", f"{secs:g}s" if secs else ""]
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class Entry:
    """One entry of the events file, checked: its 1-based number, when and what to send."""

    number: int
    at_s: float
    kind: str  # a key of TARGETS
    target: Any  # a logical id, or the entry's mapping for eventbridge/http/s3
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """What the entry sends, for people: "sqs OrdersQueue", "http POST /orders"."""
        if self.kind == "http":
            return f"http {str(self.target.get('method', 'GET')).upper()} {self.target['path']}"
        if self.kind == "s3":
            return f"s3 {self.target['bucket']}/{self.target['key']}"
        if self.kind == "eventbridge":
            return f"eventbridge {self.target.get('DetailType', '?')} on {self.target.get('EventBusName', 'default')}"
        return f"{self.kind} {self.target}"


@dataclass
class Sent:
    """What became of an entry: `outcome` is "sent", the answer ("200", "HTTP 201",
    "202 queued") or "refused: <why>" (the API refused it); None until it is due."""

    entry: Entry
    outcome: str | None = None
    at: str | None = None  # virtual time it was sent (ISO 8601)

    @property
    def refused(self) -> bool:
        return self.outcome is not None and self.outcome.startswith("refused")


def load_events(path: str | Path) -> list[Entry]:
    """The entries of an events file, checked (`EventsFileError` says what is wrong)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EventsFileError(f"events file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EventsFileError(f"events file {p} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventsFileError(f"events file {p} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, list):
        raise EventsFileError(f"events file {p} must hold a JSON list of entries, not {type(data).__name__}")
    return [_entry(p, number, item) for number, item in enumerate(data, start=1)]


def _entry(path: Path, number: int, item: Any) -> Entry:
    where = f"{path} entry {number}"
    if not isinstance(item, dict):
        raise EventsFileError(f"{where}: an entry is a JSON object, not {type(item).__name__}")
    kinds = [key for key in item if key in TARGETS]
    if len(kinds) != 1:
        raise EventsFileError(f"{where}: name exactly one target of {', '.join(TARGETS)} (found "
                              f"{', '.join(kinds) or 'none'})")
    kind = kinds[0]
    unknown = sorted(set(item) - {kind, "at"} - TARGETS[kind])
    if unknown:
        raise EventsFileError(f"{where}: unknown key(s) {', '.join(unknown)} for a {kind} entry "
                              f"(it takes: at, {', '.join(sorted(TARGETS[kind] | {kind}))})")
    try:
        at_s = parse_duration(item.get("at", 0))
    except ValueError as exc:
        raise EventsFileError(f"{where}: \"at\": {exc}") from None
    target = item[kind]
    options = {k: v for k, v in item.items() if k not in (kind, "at")}
    problem = _problem(kind, target, options)
    if problem:
        raise EventsFileError(f"{where}: {problem}")
    return Entry(number, at_s, kind, target, options)


def _problem(kind: str, target: Any, options: dict[str, Any]) -> str | None:
    """What is wrong with an entry's target and options, if anything."""
    if kind in ("invoke", "sqs", "sns"):
        if not isinstance(target, str) or not target:
            return f"\"{kind}\" names a logical id of the template (text)"
        if kind == "invoke" and options.get("type", "RequestResponse") not in _INVOCATION_TYPES:
            return f"\"type\" is one of {', '.join(_INVOCATION_TYPES)}"
        if kind == "sqs" and "body" not in options:
            return "an sqs entry needs a \"body\""
        if kind == "sns" and "message" not in options:
            return "an sns entry needs a \"message\""
        if kind == "sns" and not _text_mapping(options.get("attributes", {})):
            return "\"attributes\" maps names to text"
        return None
    if not isinstance(target, dict):
        return f"\"{kind}\" is a JSON object"
    if kind == "eventbridge":
        missing = [key for key in ("Source", "DetailType", "Detail") if key not in target]
        return f"the PutEvents entry needs {', '.join(missing)}" if missing else None
    allowed, required = (_HTTP_KEYS, ("path",)) if kind == "http" else (_S3_KEYS, ("bucket", "key"))
    unknown = sorted(set(target) - allowed)
    if unknown:
        return f"unknown key(s) {', '.join(unknown)} in \"{kind}\" (it takes: {', '.join(sorted(allowed))})"
    missing = [key for key in required if not isinstance(target.get(key), str) or not target[key]]
    if missing:
        return f"\"{kind}\" needs {', '.join(missing)} (text)"
    if kind == "http" and not target["path"].startswith("/"):
        return "the http path starts with /"
    if kind == "http" and not _text_mapping(target.get("headers", {})):
        return "\"headers\" maps names to text"
    return None


def _text_mapping(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _text(value: Any) -> str:
    """A body as text: text stays as written, anything else is written as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def schedule(sim: Simulator, stack: Stack, entries: list[Entry]) -> list[Sent]:
    """Resolve every entry's logical ids against `stack` (`EventsFileError` before anything is
    scheduled, if one does not exist) and schedule each at its virtual time after now.
    Returns the entries' `Sent` records, filled in as they are sent."""
    senders = [_sender(sim, stack, entry) for entry in entries]
    records = [Sent(entry) for entry in entries]
    start = sim.now
    for record, send in zip(records, senders):
        sim.schedule(start + timedelta(seconds=record.entry.at_s), _send, sim, record, send)
    return records


def _send(sim: Simulator, record: Sent, send: Callable[[], str]) -> None:
    record.at = sim.now.isoformat().replace("+00:00", "Z")
    try:
        record.outcome = send()
    except Exception as exc:  # noqa: BLE001 - an API's refusal is the entry's outcome, shown in the summary
        record.outcome = f"refused: {_one_line(exc)}"


def _one_line(exc: Exception) -> str:
    # An AWS error as its code and message (botocore's ClientError repeats the code and names
    # the operation around them); anything else (botocore's parameter validation) as its type
    # and its lines joined.
    response = getattr(exc, "response", None)
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    if error.get("Code"):
        return f"{error['Code']}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {' '.join(line.strip() for line in str(exc).splitlines())}".rstrip(": ")


def _sender(sim: Simulator, stack: Stack, entry: Entry) -> Callable[[], str]:
    """A call that sends the entry (its outcome as text), with its logical ids resolved now."""
    return _SENDERS[entry.kind](sim, stack, entry, f"entry {entry.number} ({entry.label})")


def _invoke(sim: Simulator, stack: Stack, entry: Entry, where: str) -> Callable[[], str]:
    if entry.target not in stack.functions:
        raise EventsFileError(f"{where}: no function {entry.target!r} in the stack; its functions: "
                              f"{_names(stack.functions)}")
    name = stack.functions[entry.target].name
    payload = json.dumps(entry.options.get("payload", {})).encode("utf-8")
    invocation_type = entry.options.get("type", "RequestResponse")

    def invoke() -> str:
        answer = sim.client("lambda").invoke(FunctionName=name, InvocationType=invocation_type, Payload=payload)
        error = answer.get("FunctionError")
        return f"{answer['StatusCode']}" + (f" {error}" if error else "") + (" queued" if invocation_type == "Event" else "")
    return invoke


def _sqs(sim: Simulator, stack: Stack, entry: Entry, where: str) -> Callable[[], str]:
    options = entry.options
    message: dict[str, Any] = {"QueueUrl": _resource(stack, entry.target, "AWS::SQS::Queue", "queue", where),
                               "MessageBody": _text(options["body"])}
    if "group" in options:
        message["MessageGroupId"] = str(options["group"])
        message["MessageDeduplicationId"] = str(options.get("deduplication_id", entry.number))

    def send_message() -> str:
        sim.client("sqs").send_message(**message)
        return "sent"
    return send_message


def _sns(sim: Simulator, stack: Stack, entry: Entry, where: str) -> Callable[[], str]:
    options = entry.options
    publish: dict[str, Any] = {"TopicArn": _resource(stack, entry.target, "AWS::SNS::Topic", "topic", where),
                               "Message": _text(options["message"])}
    if "subject" in options:
        publish["Subject"] = str(options["subject"])
    if options.get("attributes"):
        publish["MessageAttributes"] = {name: {"DataType": "String", "StringValue": value}
                                        for name, value in options["attributes"].items()}

    def publish_message() -> str:
        sim.client("sns").publish(**publish)
        return "sent"
    return publish_message


def _eventbridge(sim: Simulator, stack: Stack, entry: Entry, where: str) -> Callable[[], str]:
    event = {**entry.target, "Detail": _text(entry.target["Detail"])}
    buses = stack.of_type("AWS::Events::EventBus")
    if event.get("EventBusName") in buses:
        event["EventBusName"] = buses[event["EventBusName"]]

    def put_events() -> str:
        answer = sim.client("events").put_events(Entries=[event])
        if answer.get("FailedEntryCount"):
            failed = answer["Entries"][0]
            return f"refused: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
        return "sent"
    return put_events


def _http(sim: Simulator, stack: Stack, entry: Entry, where: str) -> Callable[[], str]:
    apis = local_api.stack_apis(sim, stack)
    if not apis:
        raise EventsFileError(f"{where}: the stack has no API to send it to")
    method = str(entry.target.get("method", "GET")).upper()
    url = local_api.invoke_url(apis, method, entry.target["path"])
    headers = dict(entry.target.get("headers", {}))
    body = _text(entry.target["body"]) if "body" in entry.target else None
    return lambda: f"HTTP {sim.http(method, url, headers=headers, body=body).status}"


def _s3(sim: Simulator, stack: Stack, entry: Entry, where: str) -> Callable[[], str]:
    put = {"Bucket": _resource(stack, entry.target["bucket"], "AWS::S3::Bucket", "bucket", where),
           "Key": entry.target["key"], "Body": _text(entry.target.get("body", "")).encode("utf-8")}

    def put_object() -> str:
        sim.client("s3").put_object(**put)
        return "sent"
    return put_object


_SENDERS: dict[str, Callable[[Simulator, Stack, Entry, str], Callable[[], str]]] = {
    "invoke": _invoke, "sqs": _sqs, "sns": _sns, "eventbridge": _eventbridge, "http": _http, "s3": _s3}


def _resource(stack: Stack, logical_id: str, resource_type: str, what: str, where: str) -> str:
    found = stack.of_type(resource_type)
    if logical_id not in found:
        raise EventsFileError(f"{where}: no {what} {logical_id!r} in the stack; its {what}s: {_names(found)}")
    return found[logical_id]


def _names(resources: dict[str, Any]) -> str:
    return ", ".join(sorted(resources)) or "none"
