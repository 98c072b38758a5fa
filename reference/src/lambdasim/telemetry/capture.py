"""What handler code writes, per invocation: stdout, stderr and Python `logging`.

On AWS the runtime's stdout and stderr go to the function's log stream, one log event per line,
and the Python runtime (awslambdaric `bootstrap.py`, `_setup_logging`) puts a handler on the
root logger that writes each record as ONE event (multi-line messages stay one event) in the
format ``[LEVEL]\\t2026-01-01T00:00:00.000Z\\t<request id>\\t<message>``; the request id is
empty during INIT. The root logger keeps Python's default level (WARNING) unless the function
sets one, as on AWS, and because a handler is already there, `logging.basicConfig()` in function
code does nothing, as on AWS.

How it is captured here: while an invocation's INIT or handler runs (`OutputCapture.capture`),
`sys.stdout`/`sys.stderr` are process-wide proxy streams and the root logger has the Lambda
handler; lines are stamped with the virtual clock when they complete. The proxies are
singletons that outlive the invocation: a library that kept a reference to `sys.stdout` at
INIT (Powertools Logger's StreamHandler does) keeps writing through them into whichever
invocation runs later, and outside invocations they pass everything to the real stream.
On AWS a new execution environment is a new process, so no logger exists before its INIT; here
`logging`'s registry is the host process's, and Powertools reuses the handler of a logger of the
same service built earlier (a test that built `Logger(service=...)` outside any invocation), whose
stream is whatever `sys.stdout` was then. So each INIT first points every plain `StreamHandler`
of a named logger at the proxies (`adopt_stream_handlers`), as the new process would have it.
For the same reason the runtime's root handler gets the filter Powertools puts on the root's
handlers when it first configures a logger (`SuppressFilter`: the logger's records are not
written a second time by the root's handler, in the runtime's format): a logger configured
earlier, while that handler was not on the root (outside any invocation), is skipped by
Powertools' "preconfigured" check and its records reached the root's handler too, each line
written twice (`suppress_powertools_loggers_at_root`).
Nested synchronous invocations capture into their own lines.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..clock import from_micros

# Timestamp format of Lambda's text log lines: 2026-01-01T00:00:00.000Z (awslambdaric uses
# "%Y-%m-%dT%H:%M:%S" + ".%(msecs)03dZ").


def iso_millis(us: int) -> str:
    """`2026-01-01T00:00:00.123Z` for a virtual time in microseconds."""
    t = from_micros(us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


@dataclass
class CapturedLine:
    """One log event written by function code: when (virtual us), what, and in which phase;
    `level`, the Python logging level name of a record the runtime's handler wrote (None for
    a stdout or stderr line)."""

    at_us: int
    text: str
    phase: str  # "init" or "invoke"
    level: str | None = None


@dataclass
class _Frame:
    capture: OutputCapture
    request_id: str
    phase: str
    lines: list[CapturedLine]
    json_format: bool = False  # LoggingConfig LogFormat JSON: the runtime's JSON formatter
    partial: dict[str, str] = field(default_factory=dict)

    def write(self, stream: str, text: str) -> None:
        if "\n" not in text:
            self.partial[stream] = self.partial.get(stream, "") + text
            return
        now = self.capture.clock.micros
        pieces = (self.partial.pop(stream, "") + text).split("\n")
        rest = pieces.pop()
        self.lines.extend(CapturedLine(now, piece, self.phase) for piece in pieces)
        if rest:
            self.partial[stream] = rest

    def event(self, text: str, level: str) -> None:
        self.lines.append(CapturedLine(self.capture.clock.micros, text, self.phase, level))

    def close(self) -> None:
        now = self.capture.clock.micros
        for stream in ("stdout", "stderr"):
            rest = self.partial.pop(stream, "")
            if rest:
                self.lines.append(CapturedLine(now, rest, self.phase))


_ACTIVE: list[_Frame] = []  # the invocations whose code runs now (nested sync calls stack up)


class _LambdaStream(io.TextIOBase):
    """`sys.stdout` / `sys.stderr` while function code runs (a process-wide singleton each)."""

    def __init__(self, name: str):
        super().__init__()
        self._name = name
        self._outside: Any = None  # the stream to use outside invocations, while installed

    def _target(self) -> Any:
        current = getattr(sys, self._name)
        if current is not self:
            return current
        return self._outside if self._outside is not None else getattr(sys, f"__{self._name}__")

    def write(self, text: str) -> int:
        if _ACTIVE:
            _ACTIVE[-1].write(self._name, text)
            return len(text)
        return self._target().write(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not _ACTIVE:
            target = self._target()
            if target is not None:
                target.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def fileno(self) -> int:
        return self._target().fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


STDOUT = _LambdaStream("stdout")
STDERR = _LambdaStream("stderr")


def adopt_stream_handlers() -> None:
    """Point each plain `logging.StreamHandler` of a named logger that writes to another stream
    at the proxies: `STDERR` for a handler on the process's stderr, `STDOUT` otherwise (the
    default of Powertools Logger and of `StreamHandler(sys.stdout)`). Subclasses (file handlers,
    pytest's capture) and the root logger's handlers are left alone; outside invocations the
    proxies pass writes on to the current stream."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger):
            continue
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and handler.stream not in (STDOUT, STDERR):
                on_stderr = handler.stream is sys.__stderr__ or getattr(handler.stream, "name", None) == "<stderr>"
                # Not setStream, which flushes the old stream: it may be closed by now (pytest's
                # capture of an earlier test).
                handler.stream = STDERR if on_stderr else STDOUT


def suppress_powertools_loggers_at_root() -> None:
    """Give `ROOT_HANDLER` Powertools' `SuppressFilter` for every logger Powertools has
    configured (its `init` mark), as Powertools does for the root's handlers when it configures
    one in a new process (unless POWERTOOLS_LOG_DEDUPLICATION_DISABLED is set)."""
    if os.environ.get("POWERTOOLS_LOG_DEDUPLICATION_DISABLED", "").lower() in ("1", "true", "yes", "on"):
        return
    configured = [name for name, logger in list(logging.Logger.manager.loggerDict.items())
                  if isinstance(logger, logging.Logger) and getattr(logger, "init", False) is True]
    if not configured:
        return
    from aws_lambda_powertools.logging.filters import SuppressFilter

    suppressed = {f.logger for f in ROOT_HANDLER.filters if isinstance(f, SuppressFilter)}
    for name in configured:
        if name not in suppressed:
            ROOT_HANDLER.addFilter(SuppressFilter(name))


class _LambdaLogHandler(logging.Handler):
    """The Python runtime's root-logger handler (awslambdaric LambdaLoggerHandler): the text
    format, or with LogFormat JSON the runtime's own `JsonFormatter` (awslambdaric
    lambda_runtime_log_utils.py: timestamp, level, message, logger, requestId, the exception's
    errorType, errorMessage, stackTrace and location, and the record's `extra` keys)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))
        self._json: logging.Formatter | None = None

    def _json_formatter(self) -> logging.Formatter:
        if self._json is None:
            from awslambdaric.lambda_runtime_log_utils import JsonFormatter

            class _LambdaJsonFormatter(JsonFormatter):  # type: ignore[misc]
                # The release on PyPI (4.2.2) writes whole seconds; python-logging.html's
                # example and the runtime's current source write milliseconds, in UTC.
                def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
                    return iso_millis(round(record.created * 1_000_000))

            self._json = _LambdaJsonFormatter()
        return self._json

    def emit(self, record: logging.LogRecord) -> None:
        if not _ACTIVE:
            return
        frame = _ACTIVE[-1]
        request_id = frame.request_id if frame.phase == "invoke" else ""
        try:
            if frame.json_format:
                # awslambdaric's LambdaLoggerFilter sets the request id on the record; the
                # formatter reads the time from `created`, which is virtual here (freezegun).
                record.aws_request_id = request_id
                text = self._json_formatter().format(record).rstrip("\n")
            else:
                text = f"[{record.levelname}]\t{iso_millis(frame.capture.clock.micros)}\t{request_id}\t{self.format(record)}"
        except Exception:
            self.handleError(record)
            return
        frame.event(text, record.levelname)


ROOT_HANDLER = _LambdaLogHandler()


class OutputCapture:
    """Collects each invocation's output lines until the telemetry picks them up (`pop`)."""

    def __init__(self, clock: Any):
        self.clock = clock
        self._lines: dict[str, list[CapturedLine]] = {}
        self._init_status: dict[str, str] = {}

    @contextmanager
    def capture(self, request_id: str, phase: str, json_log_level: str | None = None) -> Iterator[None]:
        """Capture what the code writes while the block runs (phase "init" or "invoke").

        `json_log_level`: the function's ApplicationLogLevel when its LogFormat is JSON (None:
        the text format). The runtime then formats logging records as JSON and sets the root
        logger to that level (awslambdaric `_setup_logging`; TRACE is DEBUG to Python); the
        process's own root level is restored afterwards.

        An exception out of an INIT block marks the invocation's INIT as failed ("timeout" for
        the runtime's InvocationTimeout, "error" otherwise) and propagates unchanged.
        """
        lines = self._lines.setdefault(request_id, [])
        frame = _Frame(self, request_id, phase, lines, json_format=json_log_level is not None)
        outermost = not _ACTIVE
        saved_out, saved_err = sys.stdout, sys.stderr
        root = logging.getLogger()
        saved_level = root.level
        if json_log_level is not None:
            root.setLevel("DEBUG" if json_log_level == "TRACE" else json_log_level)
        if outermost:
            if saved_out is not STDOUT:
                STDOUT._outside = saved_out
                sys.stdout = STDOUT
            if saved_err is not STDERR:
                STDERR._outside = saved_err
                sys.stderr = STDERR
            if ROOT_HANDLER not in root.handlers:
                root.addHandler(ROOT_HANDLER)
        if phase == "init":
            adopt_stream_handlers()
            suppress_powertools_loggers_at_root()
        _ACTIVE.append(frame)
        try:
            yield
        except BaseException as exc:
            if phase == "init":
                self._init_status[request_id] = "timeout" if type(exc).__name__ == "InvocationTimeout" else "error"
            raise
        finally:
            frame.close()
            _ACTIVE.pop()
            root.setLevel(saved_level)
            if outermost:
                root.removeHandler(ROOT_HANDLER)
                if sys.stdout is STDOUT:
                    sys.stdout = saved_out
                if sys.stderr is STDERR:
                    sys.stderr = saved_err
                STDOUT._outside = STDERR._outside = None

    def pop(self, request_id: str) -> tuple[list[CapturedLine], str | None]:
        """The invocation's captured lines and its INIT failure status (None: no failure)."""
        return self._lines.pop(request_id, []), self._init_status.pop(request_id, None)
