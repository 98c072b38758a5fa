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

Modelling choices and gaps (also in README.md): messages are stored without the trailing
newline some AWS lines carry; INIT_START (runtime version ARN), XRAY and extension lines are not
written; a failed INIT is reported once (AWS retries the INIT at the invocation and logs a
second INIT_REPORT with `Phase: invoke`); the JSON log format (LoggingConfig LogFormat=JSON) is
not modelled.

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
