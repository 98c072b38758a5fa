"""Rules of the AWS Lambda Python runtime: what the handler sees and what an error looks like.

Sources:
- Error documents: https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html and the
  runtime interface client AWS runs for Python, awslambdaric
  (https://github.com/aws/aws-lambda-python-runtime-interface-client, `bootstrap.py`:
  `_get_handler`, `make_error`, `handle_event_request`; `lambda_runtime_exception.py`;
  `lambda_runtime_marshaller.py`; `lambda_context.py`).
- Timeouts: the Invoke response AWS returns for a timed-out synchronous invocation
  (`{"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: <id> Error: Task timed out
  after 3.00 seconds"}`, as the console and CLI print it) and
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html (a timeout resets
  the execution environment).
- Reserved environment variables:
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
- The context object: https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
"""

from __future__ import annotations

import decimal
import json
import math
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Final

# Error types the Python runtime reports (awslambdaric lambda_runtime_exception.FaultException).
IMPORT_MODULE_ERROR: Final = "Runtime.ImportModuleError"
HANDLER_NOT_FOUND: Final = "Runtime.HandlerNotFound"
MALFORMED_HANDLER_NAME: Final = "Runtime.MalformedHandlerName"
USER_CODE_SYNTAX_ERROR: Final = "Runtime.UserCodeSyntaxError"
BUILT_IN_MODULE_CONFLICT: Final = "Runtime.BuiltInModuleConflict"
MARSHAL_ERROR: Final = "Runtime.MarshalError"
UNMARSHAL_ERROR: Final = "Runtime.UnmarshalError"
# Reported by the Lambda service rather than the runtime.
SANDBOX_TIMEDOUT: Final = "Sandbox.Timedout"
RUNTIME_EXIT_ERROR: Final = "Runtime.ExitError"
RESPONSE_SIZE_TOO_LARGE: Final = "Function.ResponseSizeTooLarge"

# The value of the FunctionError field/header for every error the simulator can produce: the
# Python runtime reports exceptions, timeouts and crashes as "Unhandled" (API_Invoke.html).
UNHANDLED: Final = "Unhandled"

# AWS_LAMBDA_INITIALIZATION_TYPE for environments started on demand.
INIT_TYPE_ON_DEMAND: Final = "on-demand"


class FaultError(Exception):
    """A runtime fault with AWS's error type, message and stack trace (awslambdaric FaultException)."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


def split_handler(handler: str) -> tuple[str, str]:
    """Split `module.function` as awslambdaric `_get_handler` does (rsplit on the last dot).

    A `/` in the module part means a folder (awslambdaric replaces it with `.`).
    """
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultError(MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {e}") from None
    return modname.replace("/", "."), fname


def import_module_error(modname: str, exc: BaseException) -> FaultError:
    """`Unable to import module 'x': No module named 'x'` (awslambdaric `_get_handler`)."""
    return FaultError(IMPORT_MODULE_ERROR, f"Unable to import module '{modname}': {exc}")


def syntax_error(modname: str, exc: SyntaxError) -> FaultError:
    """`Syntax error in module 'x': ...` with a one-frame trace (awslambdaric `_get_handler`)."""
    trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
    return FaultError(USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{modname}': {exc}", trace)


def handler_not_found(fname: str, modname: str) -> FaultError:
    """`Handler 'f' missing on module 'm'` (awslambdaric `_get_handler`)."""
    return FaultError(HANDLER_NOT_FOUND, f"Handler '{fname}' missing on module '{modname}'")


def builtin_module_conflict(modname: str) -> FaultError:
    """A handler module named like a built-in module (awslambdaric `_get_handler`)."""
    return FaultError(
        BUILT_IN_MODULE_CONFLICT, f"Cannot use built-in module {modname} as a handler module"
    )


def error_payload(
    message: str, error_type: str, stack_trace: list[str] | None, request_id: str | None
) -> dict[str, Any]:
    """The error document of the Python runtime, keys in AWS's order (awslambdaric `make_error`).

    Errors raised while the handler runs carry the request id; init errors carry `""`.
    """
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def exception_payload(
    exc: BaseException, tb: TracebackType | None, request_id: str | None, skip_files: Iterable[str] = ()
) -> dict[str, Any]:
    """The error document for an exception raised by user code.

    Like awslambdaric, the trace starts at the first frame that is not the runtime's own
    (`skip_files` are path prefixes of the simulator's modules) and each entry is a
    `traceback.format_list` line.
    """
    frames = traceback.extract_tb(tb)
    prefixes = tuple(skip_files)
    start = 0
    while start < len(frames) and prefixes and frames[start].filename.startswith(prefixes):
        start += 1
    stack = traceback.format_list(frames[start:])
    return error_payload(str(exc), type(exc).__name__, stack, request_id)


def timeout_payload(request_id: str, timeout_seconds: float) -> dict[str, Any]:
    """The Invoke response of a timed-out invocation: `Task timed out after 3.00 seconds`."""
    return {
        "errorType": SANDBOX_TIMEDOUT,
        "errorMessage": f"RequestId: {request_id} Error: {timeout_log_message(timeout_seconds)}",
    }


def timeout_log_message(timeout_seconds: float) -> str:
    """The log line Lambda writes when it stops a function at its timeout."""
    return f"Task timed out after {timeout_seconds:.2f} seconds"


def exit_error_payload(request_id: str, exit_code: int | str) -> dict[str, Any]:
    """The Invoke response when the runtime process exits (sys.exit in the handler)."""
    return {
        "errorType": RUNTIME_EXIT_ERROR,
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {exit_code}",
    }


def response_too_large_payload() -> dict[str, Any]:
    """A synchronous response over the 6 MB quota (API_Invoke.html; AWS's message text)."""
    from .invoke import SYNC_RESPONSE_LIMIT_BYTES

    return {
        "errorMessage": (
            "Response payload size exceeded maximum allowed payload size "
            f"({SYNC_RESPONSE_LIMIT_BYTES} bytes)."
        ),
        "errorType": RESPONSE_SIZE_TOO_LARGE,
    }


def _json_default(obj: Any) -> Any:
    # awslambdaric encodes Decimal as its exact decimal text (simplejson RawJSON) and NaN as NaN.
    # The standard library cannot emit raw text, so integral Decimals stay exact and others
    # become floats (equal for every value a float can hold).
    if isinstance(obj, decimal.Decimal):
        if obj.is_nan():
            return math.nan
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def marshal_response(result: Any, runtime: str | None) -> bytes:
    """Serialize a handler's return value as the runtime does (awslambdaric marshaller).

    `bytes` pass through untouched; everything else is JSON (`", "` and `": "` separators, as
    simplejson writes them). The python3.12 runtime writes non-ASCII characters as they are; the
    others escape them. A value JSON cannot encode is a Runtime.MarshalError.
    """
    if isinstance(result, bytes):
        return result
    try:
        text = json.dumps(result, default=_json_default, ensure_ascii=runtime != "python3.12")
    except (TypeError, ValueError, OverflowError) as e:
        raise FaultError(MARSHAL_ERROR, f"Unable to marshal response: {e}") from None
    return text.encode("utf-8")


def dumps_error(payload: dict[str, Any]) -> bytes:
    """Serialize an error document as the runtime does (ASCII-escaped JSON)."""
    return json.dumps(payload).encode("utf-8")


def reserved_environment(
    *,
    handler: str,
    region: str,
    runtime: str | None,
    function_name: str,
    memory_mb: int,
    version: str,
    log_group: str,
    log_stream: str,
    task_root: str,
    credentials: dict[str, str],
    trace_id: str | None,
    initialization_type: str = INIT_TYPE_ON_DEMAND,
    application_log_level: str | None = None,
) -> dict[str, str]:
    """The reserved environment variables Lambda sets in an execution environment.

    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
    Left out on purpose, because they change the whole local process rather than the function:
    TZ (":UTC"), LANG, PATH, LD_LIBRARY_PATH and PYTHONPATH.
    """
    env = {
        "_HANDLER": handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}" if runtime else "AWS_Lambda_python",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        **credentials,
    }
    if trace_id:
        env["_X_AMZN_TRACE_ID"] = trace_id
    if application_log_level is not None:
        # The JSON log format (monitoring-cloudwatchlogs-advanced.html): the runtime reads both
        # (awslambdaric bootstrap.py: the root logger's level, TRACE as DEBUG; the JSON
        # formatter), and so does Powertools Logger, whose level AWS_LAMBDA_LOG_LEVEL overrides.
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_LOG_LEVEL"] = application_log_level
    return env


def log_stream_name(date_prefix: str, version: str, instance_hex: str) -> str:
    """`2026/01/01/[$LATEST]0123...` : one log stream per execution environment."""
    return f"{date_prefix}/[{version}]{instance_hex}"
