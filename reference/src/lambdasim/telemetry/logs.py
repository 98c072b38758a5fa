"""The lines Lambda writes to a function's log stream for one invocation, as AWS writes them.

Sources: https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html (START / END /
REPORT, the REPORT fields, `LogType=Tail`), monitoring-cloudwatchlogs.html (group
`/aws/lambda/<function>`, one stream per execution environment, named
`YYYY/MM/DD/[$LATEST]<32 hex>`), API_Invoke.html (`LogResult`: the last 4 KB of the log,
base64), the Python runtime interface client awslambdaric (`bootstrap.py`: `log_error`, the
root-logger format, the init-failure warning) and the Telemetry API schema reference
(telemetry-schema-reference.html: a report's status is success, failure, timeout or error).

For one invocation, in order, at virtual timestamps (milliseconds):

    <output of the module's INIT, cold starts only>
    [ERROR] <type>: <message> + INIT_REPORT Init Duration: ... Phase: init Status: error ...   (failed INIT)
    START RequestId: <id> Version: $LATEST
    <the handler's stdout/stderr lines and logging records>
    [ERROR] <type>: <message>\\nTraceback ...            (unhandled exception; the runtime's log_error)
    <time> <id> Task timed out after 3.00 seconds       (timeout)
    RequestId: <id> Error: Runtime exited ...\\nRuntime.ExitError   (sys.exit: the runtime crashed)
    END RequestId: <id>
    REPORT RequestId: <id>\\tDuration: 12.34 ms\\tBilled Duration: 13 ms\\tMemory Size: 128 MB\\tMax Memory Used: 40 MB[\\tInit Duration: 123.45 ms][\\tStatus: timeout | \\tStatus: error\\tError Type: ...]

Billed Duration includes the Init Duration of a cold start (INIT billed since Aug 1 2025, see
`rules/pricing.py`). Status appears only when the platform ended the invocation (timeout, a
crashed runtime, a failed INIT); a handler exception leaves REPORT plain, as on AWS.

With LoggingConfig LogFormat JSON (`json_invocation_events`; monitoring-cloudwatchlogs-advanced.html,
monitoring-cloudwatchlogs-logformat.html, monitoring-cloudwatchlogs-log-level.html,
telemetry-schema-reference.html, python-logging.html), Lambda's own lines are JSON records
`{"time": ..., "type": "platform.start" | "platform.runtimeDone" | "platform.report" |
"platform.initReport", "record": {...}}`, filtered by SystemLogLevel (start, report and a
failed INIT's initReport at INFO, runtimeDone at DEBUG); the runtime formats `logging` records
as JSON (capture.py, awslambdaric's JsonFormatter) and writes an unhandled error as the JSON
error document with `timestamp` and `level`; `print` output stays plain text. ApplicationLogLevel
filters the function's output: a logging record by its level, a stdout/stderr line that is a
JSON object by its `"level"` key, any other line as INFO.

Modelling choices and gaps (also in README.md): messages are stored without the trailing
newline some AWS lines carry; INIT_START / platform.initStart (runtime version ARN), XRAY and
extension lines are not written; a failed INIT is reported once (AWS retries the INIT at the
invocation and logs a second INIT_REPORT with `Phase: invoke`). JSON format: a handler's
exception makes platform.report's status `failure` (the Telemetry API's value for an invocation
the function failed; the text REPORT shows no status for it), a timeout `timeout`, a crashed
runtime or a failed INIT `error` with its errorType; the timeout and runtime-exit text lines are
not written as records; a stdout line's `"level"` is read case-insensitively, Python's WARNING
and CRITICAL taken as WARN and FATAL (AWS lists TRACE...FATAL only).

Max Memory Used is a deterministic MODEL, not a measurement (real RSS would vary from run to
run): a Python runtime's baseline, capped at the memory size, or what
`Telemetry.set_max_memory_used` sets for a function.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any, Final

from ..rules import runtime as rt
from ..clock import from_micros
from .capture import CapturedLine, iso_millis

# A small Python function's Max Memory Used on AWS: AWS's own python-logging.html examples show
# 56 MB (128 MB functions); a function that imports only the standard library reports ~40 MB.
# A fixed baseline stands in for a measurement; set your own with set_max_memory_used.
PYTHON_BASELINE_MEMORY_MB: Final = 40
TAIL_BYTES: Final = 4 * 1024  # API_Invoke.html: LogResult holds the last 4 KB of the log
ERROR_LOG_INDENT: Final = "\u00a0"  # awslambdaric ERROR_LOG_IDENT: leading spaces of a trace

MemoryModel = int | Callable[[Any], int]

# awslambdaric lambda_literals.lambda_unhandled_exception_warning_message, logged with
# logging.warning before an INIT error.
INIT_ERROR_WARNING: Final = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with a change in the "
    "runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str,
    duration_ms: float,
    billed_duration_ms: int,
    memory_size_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """The REPORT line, tab-separated as Lambda writes it (python-logging.html)."""
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed_duration_ms} ms\tMemory Size: {memory_size_mb} MB\t"
        f"Max Memory Used: {max_memory_used_mb} MB"
    )
    if init_duration_ms is not None:
        line += f"\tInit Duration: {init_duration_ms:.2f} ms"
    if status is not None:
        line += f"\tStatus: {status}"
        if error_type:
            line += f"\tError Type: {error_type}"
    return line


def init_report_line(init_duration_ms: float, status: str, error_type: str | None) -> str:
    """`INIT_REPORT Init Duration: 150.79 ms\\tPhase: init\\tStatus: error\\tError Type: ...`."""
    line = f"INIT_REPORT Init Duration: {init_duration_ms:.2f} ms\tPhase: init\tStatus: {status}"
    if error_type:
        line += f"\tError Type: {error_type}"
    return line


def error_log_message(error: dict[str, Any]) -> str:
    """What the Python runtime logs for an error document (awslambdaric `log_error`, text
    format, one event: lines joined with newlines, leading spaces made no-break spaces)."""
    description = "[ERROR]"
    error_type = error.get("errorType")
    message = error.get("errorMessage")
    if error_type:
        description += " " + error_type
    if message:
        if error_type:
            description += ":"
        description += " " + message
    lines = [description, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        if element == "":
            lines.append("")
            continue
        for trace_line in element.splitlines():
            stripped = trace_line.lstrip(" ")
            lines.append(ERROR_LOG_INDENT * (len(trace_line) - len(stripped)) + stripped)
    return "\n".join(lines)


def max_memory_used_mb(memory_size_mb: int, model: MemoryModel | None, record: Any) -> int:
    """The modelled Max Memory Used of an invocation (see the module docstring)."""
    if model is None:
        used = PYTHON_BASELINE_MEMORY_MB
    elif callable(model):
        used = int(model(record))
    else:
        used = int(model)
    return max(1, min(memory_size_mb, used))


def invocation_events(
    record: Any,
    captured: list[CapturedLine],
    init_status: str | None,
    memory_size_mb: int,
    max_memory_mb: int,
) -> list[tuple[int, str]]:
    """Every log event of one invocation, as (timestamp in ms, message), in stream order."""
    request_id = record.request_id
    start_us = record.start_us
    init_us = round((record.init_duration_ms or 0.0) * 1000)
    handler_start_us = start_us + init_us
    end_us = start_us + record.total_us
    events: list[tuple[int, str]] = []
    add = events.append

    for line in captured:
        if line.phase == "init":
            add((line.at_us // 1000, line.text))
    error = _error_document(record)
    if init_status is not None:
        at = handler_start_us // 1000
        if init_status == "error":
            add((at, f"[WARNING]\t{iso_millis(handler_start_us)}\t\t{INIT_ERROR_WARNING}"))
            add((at, error_log_message(error)))
        add((at, init_report_line(record.init_duration_ms or 0.0, init_status,
                                  error.get("errorType") if init_status == "error" else None)))
    add((handler_start_us // 1000, start_line(request_id, record.version)))
    for line in captured:
        if line.phase == "invoke":
            add((line.at_us // 1000, line.text))

    end_ms = end_us // 1000
    status: str | None = None
    error_type = record.error_type
    if record.timed_out:
        status = "timeout"
        message = str(error.get("errorMessage", ""))
        detail = message.split(" Error: ", 1)[1] if " Error: " in message else message
        if init_status != "timeout":
            add((end_ms, f"{iso_millis(end_us)} {request_id} {detail}"))
        error_type = None
    elif init_status is not None:
        status = "error"
    elif error_type == rt.RUNTIME_EXIT_ERROR:
        status = "error"
        add((end_ms, f"{error.get('errorMessage', '')}\n{error_type}"))
    elif record.function_error:
        add((end_ms, error_log_message(error)))
    add((end_ms, end_line(request_id)))
    add((end_ms, report_line(
        request_id,
        record.duration_ms,
        record.billed_duration_ms,
        memory_size_mb,
        max_memory_mb,
        record.init_duration_ms if (record.cold_start and init_status is None) else None,
        status,
        error_type if status == "error" else None,
    )))
    return _monotonic(events)


# monitoring-cloudwatchlogs-log-level.html: application log levels, most detailed first (a
# chosen level lets through itself and everything after it), and the system log levels.
APPLICATION_LEVELS: Final = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SYSTEM_LEVELS: Final = ("DEBUG", "INFO", "WARN")
# Python's level names (the runtime's records; Powertools Logger's "level") as Lambda's.
_PYTHON_LEVELS: Final = {"WARNING": "WARN", "CRITICAL": "FATAL", "NOTSET": "TRACE"}
# The system level of each platform record (monitoring-cloudwatchlogs-log-level.html, "Event
# mapping for system log level"): INFO sends start and report.
PLATFORM_RECORD_LEVELS: Final = {
    "platform.initReport": "INFO",
    "platform.start": "INFO",
    "platform.runtimeDone": "DEBUG",
    "platform.report": "INFO",
}


def application_level(line: CapturedLine) -> str:
    """The level Lambda gives one line of the function's output (monitoring-cloudwatchlogs-log-level.html):
    a logging record's own level; a line that is a JSON object with a valid `"level"` that
    level; anything else INFO."""
    if line.level is not None:
        return _PYTHON_LEVELS.get(line.level, line.level)
    text = line.text
    if text.startswith("{") and '"level"' in text:
        try:
            document = json.loads(text)
        except ValueError:
            return "INFO"
        level = str(document.get("level", "")).upper() if isinstance(document, dict) else ""
        level = _PYTHON_LEVELS.get(level, level)
        if level in APPLICATION_LEVELS:
            return level
    return "INFO"


def passes(level: str, threshold: str, order: tuple[str, ...]) -> bool:
    """True if a line of `level` is sent under the `threshold` log level."""
    return order.index(level) >= order.index(threshold)


def application_lines(captured: list[CapturedLine], application_log_level: str | None) -> list[CapturedLine]:
    """The function's output that reaches CloudWatch Logs: all of it in the text format; with
    the JSON format, the lines at ApplicationLogLevel or above."""
    if application_log_level is None:
        return captured
    return [line for line in captured if passes(application_level(line), application_log_level, APPLICATION_LEVELS)]


def platform_record(at_us: int, record_type: str, record: dict[str, Any]) -> str:
    """One system log record in the JSON format (telemetry-schema-reference.html's event
    envelope: time, type, record)."""
    return json.dumps({"time": iso_millis(at_us), "type": record_type, "record": record}, separators=(",", ":"))


def json_error_message(error: dict[str, Any], at_us: int) -> str:
    """What the Python runtime logs for an error document in the JSON format (awslambdaric
    `log_error`: the document after a `timestamp` in whole seconds and `"level": "ERROR"`)."""
    from awslambdaric.lambda_runtime_marshaller import to_json

    stamp = from_micros(at_us).strftime("%Y-%m-%dT%H:%M:%S")
    return str(to_json({"timestamp": stamp, "level": "ERROR", **error}))


def json_invocation_events(
    record: Any,
    captured: list[CapturedLine],
    init_status: str | None,
    memory_size_mb: int,
    max_memory_mb: int,
    system_log_level: str,
    application_log_level: str,
    trace_header: str | None = None,
) -> list[tuple[int, str]]:
    """Every log event of one invocation in the JSON log format, as (timestamp in ms, message),
    in stream order; `captured` already filtered by ApplicationLogLevel (`application_lines`)."""
    request_id = record.request_id
    start_us = record.start_us
    handler_start_us = start_us + round((record.init_duration_ms or 0.0) * 1000)
    end_us = start_us + record.total_us
    events: list[tuple[int, str]] = []

    def platform(at_us: int, record_type: str, body: dict[str, Any]) -> None:
        if passes(PLATFORM_RECORD_LEVELS[record_type], system_log_level, SYSTEM_LEVELS):
            events.append((at_us // 1000, platform_record(at_us, record_type, body)))

    for line in captured:
        if line.phase == "init":
            events.append((line.at_us // 1000, line.text))
    error = _error_document(record)
    if init_status is not None:
        if init_status == "error":
            if passes("WARN", application_log_level, APPLICATION_LEVELS):
                warning = {"timestamp": iso_millis(handler_start_us), "level": "WARNING",
                           "message": INIT_ERROR_WARNING, "logger": "root", "requestId": ""}
                events.append((handler_start_us // 1000, json.dumps(warning, ensure_ascii=False)))
            events.append((handler_start_us // 1000, json_error_message(error, handler_start_us)))
        init_report: dict[str, Any] = {"initializationType": rt.INIT_TYPE_ON_DEMAND, "phase": "init",
                                       "status": init_status}
        if init_status == "error" and error.get("errorType"):
            init_report["errorType"] = error["errorType"]
        init_report["metrics"] = {"durationMs": round(record.init_duration_ms or 0.0, 3)}
        platform(handler_start_us, "platform.initReport", init_report)
    start: dict[str, Any] = {"requestId": request_id, "version": record.version}
    tracing = _tracing_of(trace_header)
    if tracing is not None:
        start["tracing"] = tracing
    platform(handler_start_us, "platform.start", start)
    for line in captured:
        if line.phase == "invoke":
            events.append((line.at_us // 1000, line.text))

    if record.timed_out:
        status, error_type = "timeout", None
    elif init_status is not None or record.error_type == rt.RUNTIME_EXIT_ERROR:
        status, error_type = "error", error.get("errorType") or record.error_type
    elif record.function_error:
        status, error_type = "failure", record.error_type
        events.append((end_us // 1000, json_error_message(error, end_us)))
    else:
        status, error_type = "success", None
    done: dict[str, Any] = {"requestId": request_id, "status": status}
    if error_type:
        done["errorType"] = error_type
    platform(end_us, "platform.runtimeDone", {**done, "metrics": {"durationMs": round(record.duration_ms, 3)}})
    metrics: dict[str, Any] = {
        "durationMs": round(record.duration_ms, 3),
        "billedDurationMs": record.billed_duration_ms,
        "memorySizeMB": memory_size_mb,
        "maxMemoryUsedMB": max_memory_mb,
    }
    if record.cold_start and init_status is None and record.init_duration_ms is not None:
        metrics["initDurationMs"] = round(record.init_duration_ms, 3)
    report: dict[str, Any] = {"requestId": request_id, "metrics": metrics, "status": status}
    if error_type:
        report["errorType"] = error_type
    if tracing is not None:
        report["tracing"] = tracing
    platform(end_us, "platform.report", report)
    return _monotonic(events)


def _tracing_of(trace_header: str | None) -> dict[str, Any] | None:
    """telemetry-schema-reference.html's TraceContext of a sampled invocation (type and value:
    the X-Ray header), None when the invocation is not traced."""
    if not trace_header or "Sampled=1" not in trace_header:
        return None
    return {"type": "X-Amzn-Trace-Id", "value": trace_header}


def _monotonic(events: list[tuple[int, str]]) -> list[tuple[int, str]]:
    # CloudWatch Logs takes a batch in time order. An INIT cut off at the 10 s limit and
    # retried (rules/cold_start.py) reports less INIT time than its output spans: keep the
    # stream's order and never let a timestamp go back.
    latest = 0
    for i, (ts, message) in enumerate(events):
        if ts < latest:
            events[i] = (latest, message)
        else:
            latest = ts
    return events


def tail(events: list[tuple[int, str]]) -> str:
    """`LogResult` of Invoke with LogType=Tail: the last 4 KB of the invocation's log, base64."""
    text = "".join(message + "\n" for _, message in events).encode("utf-8")
    return base64.b64encode(text[-TAIL_BYTES:]).decode("ascii")


def _error_document(record: Any) -> dict[str, Any]:
    if not record.function_error or not record.payload:
        return {}
    try:
        document = json.loads(record.payload)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
