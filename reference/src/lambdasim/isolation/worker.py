"""The worker process: one execution environment's code, run apart from its host.

A worker is started by ``lambdasim.isolation.Isolation`` and speaks JSON over one pipe. It
confines itself before any untrusted code runs, then loads a module and runs calls the host
asks for. While code runs, everything that must be the host's is asked of the host:

* every AWS API call (botocore's ``before-call`` answers it with what the host's client got, so
  the host's moto, fault injector and simulator serve it, retries included);
* ``time.sleep`` (virtual time: the host's invocation frame spends it, and may time it out);
* the objects the host shares by name (``proxies``: a method call runs in the host).

After each answer the worker's clock (freezegun) shows the host's virtual time.

Confinement (``_confine``): its own session; its output captured and capped; a scratch folder
as its only writable place (an audit hook refuses writes elsewhere, signals to other processes,
ctypes, and reads of protected files such as a lab's reference solution); and, when the host
runs as root, the uid and gid of ``nobody`` with limits on processes and memory, so that the
worker cannot touch the host's files or processes at all.
https://docs.python.org/3/library/audit_events.html (audit hooks are not a sandbox by
themselves: the uid is the boundary; the hook makes mistakes and casual tricks fail clearly).
"""

from __future__ import annotations

import io
import os
import random
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from ..sdk_models import share_loaders
from . import codec

_PARAMS_KEY = "lambdasim.isolation.params"
# Services whose models the fork server loads once, so that a worker's first client is quick.
WARM_SERVICES = ("dynamodb", "sqs", "events", "sns", "s3", "lambda", "kinesis", "cloudwatch", "logs")
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1]) + os.sep
NOBODY = 65534

# Audit events that change the file system, each with the index of its path argument.
_WRITE_EVENTS = {
    "os.remove": 0, "os.rename": 0, "os.rmdir": 0, "os.mkdir": 0, "os.chmod": 0, "os.chown": 0,
    "os.truncate": 0, "os.symlink": 1, "os.link": 1, "os.utime": 0, "shutil.rmtree": 0,
    "shutil.move": 1, "shutil.copyfile": 1, "os.replace": 1,
}  # fmt: skip
_REFUSED_EVENTS = ("ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "os.forkpty", "pty.spawn")


class Connection:
    """The worker's end of the pipe: requests to the host wait for its answer."""

    def __init__(self, conn: Any):
        self.conn = conn
        self.output = CappedOutput(0)

    def send(self, message: dict[str, Any]) -> None:
        self.conn.send_bytes(codec.dumps(message))

    def receive(self) -> dict[str, Any]:
        message = codec.loads(self.conn.recv_bytes(codec.MESSAGE_LIMIT))
        if "now_us" in message:
            _clock.show(message["now_us"])
        return message

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        if threading.current_thread() is not threading.main_thread():
            # The host answers the thread running the call; a background thread (which Lambda
            # freezes between invocations anyway) has nobody to answer it.
            raise RuntimeError(f"{request.get('rpc')} from a background thread is not supported "
                               "by lambdasim's worker processes")
        self.send(request)
        return self.receive()


class CappedOutput(io.TextIOBase):
    """stdout and stderr of the code: kept up to ``limit`` characters per call, the rest counted."""

    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[str] = []
        self.kept = 0
        self.cut = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.cut += max(0, len(text) - max(room, 0))
        return len(text)

    def drain(self) -> str:
        text = "".join(self.parts)
        if self.cut:
            text += f"\n[lambdasim: {self.cut} more characters of output were cut]\n"
        self.parts, self.kept, self.cut = [], 0, 0
        return text


class _Clock:
    """The worker's view of virtual time: freezegun, moved to what the host says. The fork
    server starts it (0.1 s with everything loaded), so that workers start with it running."""

    def __init__(self) -> None:
        self.factory: Any = None

    def start(self) -> None:
        from freezegun import freeze_time

        self.factory = freeze_time(_datetime(0)).start()

    def show(self, now_us: int) -> None:
        self.factory.move_to(_datetime(now_us))


_clock = _Clock()
_host: Connection | None = None
PROTECTED_MESSAGE = "this file is protected (a lab's reference solution) and not available here"
refused: list[str] = []  # protected files the code tried to open, reported with each answer


def _datetime(us: int) -> Any:
    from datetime import datetime, timedelta

    return datetime(1970, 1, 1) + timedelta(microseconds=us)


def main(conn: Any, spec: dict[str, Any]) -> None:
    """The worker's entry point (a ``multiprocessing`` target)."""
    global _host
    _host = Connection(conn)
    try:
        _confine(spec, _host)
        _clock.show(spec["now_us"])
        _install(spec, _host)
    except BaseException as exc:  # noqa: BLE001 - the host must hear why, then we are gone
        _host.send({"done": {"crash": f"the worker could not start: {exc!r}"}})
        os._exit(70)
    _serve(_host, spec)
    os._exit(0)


def _confine(spec: dict[str, Any], host: Connection) -> None:
    import resource
    import signal

    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    host.output = CappedOutput(int(spec["output_limit"]))
    sys.stdout = sys.stderr = host.output  # type: ignore[assignment]
    sys.stdin = io.StringIO()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    scratch = spec["scratch_dir"]
    if spec.get("drop_privileges"):
        os.chown(scratch, NOBODY, NOBODY)
        resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
        memory = int(spec["memory_limit"])
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        _become_nobody()
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(spec["file_limit"]),) * 2)
    os.chdir(scratch)
    os.environ["TMPDIR"] = scratch
    import tempfile

    tempfile.tempdir = scratch
    protected = tuple(spec["protected"])
    scratch_prefix = os.path.realpath(scratch) + os.sep
    me = os.getpid()

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            if not isinstance(path, str | bytes):
                return
            real = os.path.realpath(os.fsdecode(path))
            if protected and any(real == p or real.startswith(p) for p in protected):
                refused.append(real)
                raise PermissionError(f"{real}: {PROTECTED_MESSAGE}")
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if writing and not (real + os.sep).startswith(scratch_prefix) and real != os.devnull:
                raise PermissionError(f"{real}: a function may write only under {scratch}")
        elif event in _WRITE_EVENTS:
            path = args[_WRITE_EVENTS[event]] if len(args) > _WRITE_EVENTS[event] else None
            if isinstance(path, str | bytes):
                real = os.path.realpath(os.fsdecode(path))
                if not (real + os.sep).startswith(scratch_prefix):
                    raise PermissionError(f"{real}: a function may change files only under {scratch}")
        elif event in ("os.kill", "os.killpg"):
            if args[0] not in (me, 0) or event == "os.killpg":
                raise PermissionError("a function may not signal other processes")
        elif event in _REFUSED_EVENTS:
            raise PermissionError(f"{event} is not available to a function here")

    sys.addaudithook(audit)


def _become_nobody() -> None:
    """uid and gid ``nobody``, keeping only CAP_DAC_READ_SEARCH: the worker can still read the
    interpreter and the code (which may sit in folders only root can enter), but cannot write a
    file of the host's or signal a process of the host's (capabilities(7), prctl(2))."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_keepcaps, pr_set_no_new_privs = 8, 38
    cap_dac_read_search, version_3 = 2, 0x20080522

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    if libc.prctl(pr_set_keepcaps, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    data = (Data * 2)()
    data[0].effective = data[0].permitted = 1 << cap_dac_read_search
    if libc.capset(ctypes.byref(Header(version_3, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def _install(spec: dict[str, Any], host: Connection) -> None:
    import time

    import botocore.handlers

    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if threading.current_thread() is not threading.main_thread():
            return real_sleep(seconds)  # a background thread's time is not the invocation's
        host.ask({"rpc": "sleep", "seconds": float(seconds)})

    time.sleep = sleep  # type: ignore[assignment]
    rng = random.Random(f"{spec['seed']}/uuid")
    random.seed(spec["seed"])
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)  # type: ignore[assignment]
    botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _remember_params))
    botocore.handlers.BUILTIN_HANDLERS.append(
        ("before-call", _forward_api_call, botocore.handlers.REGISTER_FIRST))
    import boto3

    # Every session made from now on has the handlers above, and shares the models the fork
    # server loaded (its `share_loaders`, inherited): libraries such as Powertools make sessions
    # of their own.
    boto3.DEFAULT_SESSION = None
    os.environ.clear()
    os.environ.update(spec["environ"])
    os.environ["TMPDIR"] = spec["scratch_dir"]
    if spec.get("code_dir"):
        sys.path.insert(0, spec["code_dir"])
    for name, methods in spec.get("proxies", {}).items():
        module_name, _, attribute = name.rpartition(".")
        module = __import__(module_name, fromlist=[attribute])
        setattr(module, attribute, _Proxy(name, frozenset(methods)))


def prepare() -> None:
    """What the fork server does once for all its workers: models loaded, the clock frozen."""
    _warm_models()
    _clock.start()


def _warm_models() -> None:
    """Load the common services' models into the loader the workers' sessions share, and
    remember which handlers take keyword arguments (botocore checks every handler of every new
    session with ``inspect``: 40 ms a session, and libraries such as Powertools make their own)."""
    import functools

    import boto3
    import botocore.hooks

    botocore.hooks.accepts_kwargs = functools.lru_cache(maxsize=None)(botocore.hooks.accepts_kwargs)
    share_loaders()
    session = boto3.Session(region_name="us-east-1",
                            aws_access_key_id="warm", aws_secret_access_key="warm")
    for service in WARM_SERVICES:
        try:
            session.client(service)
        except Exception:  # noqa: BLE001 - a model that cannot load is loaded (or not) on use
            pass
    session.resource("dynamodb")


def _remember_params(params: Any, context: Any, **_: Any) -> None:
    # Runs after boto3's resource transformations (registered on more specific events).
    if isinstance(context, dict):
        context[_PARAMS_KEY] = params


def _forward_api_call(model: Any, params: Any, context: Any, **_: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    assert _host is not None
    config = context.get("client_config")
    retries = dict(getattr(config, "retries", None) or {})
    reply = _host.ask({
        "rpc": "aws", "service": model.service_model.service_name,
        "region": context.get("client_region"), "operation": model.name,
        "params": codec.encode(context.get(_PARAMS_KEY, {})),
        "config": {"retries": retries, "read_timeout": getattr(config, "read_timeout", None),
                   "connect_timeout": getattr(config, "connect_timeout", None)},
    })  # fmt: skip
    if "exception" in reply:
        raise _rebuild_exception(reply["exception"])
    if "client_error" in reply:
        status = int(reply["status"])
        return AWSResponse("", status, {}, None), codec.decode(reply["client_error"])
    return AWSResponse("", 200, {}, None), codec.decode(reply["ok"])


def _rebuild_exception(description: dict[str, Any]) -> BaseException:
    """An exception the host's call raised, as the same botocore class where it is one."""
    import botocore.exceptions

    cls = getattr(botocore.exceptions, str(description.get("name")), None)
    kwargs = description.get("kwargs") or {}
    if isinstance(cls, type) and issubclass(cls, botocore.exceptions.BotoCoreError):
        try:
            return cls(**kwargs)
        except Exception:  # noqa: BLE001 - a class whose fields changed: say it plainly
            pass
    return RuntimeError(description.get("message") or "the AWS call failed")


class _Proxy:
    """An object of the host's, by name: its allowed methods run in the host."""

    def __init__(self, name: str, methods: frozenset[str]):
        self._name, self._methods = name, methods

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_") or method not in self._methods:
            raise AttributeError(f"{self._name}.{method} is not available to a function here")

        def call(*args: Any, **kwargs: Any) -> Any:
            assert _host is not None
            reply = _host.ask({"rpc": "proxy", "target": self._name, "method": method,
                               "args": codec.encode(list(args)), "kwargs": codec.encode(kwargs)})
            if "raise" in reply:
                raise _host_exception(reply["raise"])
            return codec.decode(reply.get("ok"))

        return call


def _host_exception(description: dict[str, Any]) -> BaseException:
    module, _, qualname = str(description.get("class")).partition(":")
    try:
        cls: Any = __import__(module, fromlist=["_"])
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if isinstance(cls, type) and issubclass(cls, Exception):
            return cls(description.get("message", ""))
    except Exception:  # noqa: BLE001 - fall back to a plain error with the message
        pass
    return RuntimeError(description.get("message", ""))


# -- serving the host ------------------------------------------------------------------------


def _serve(host: Connection, spec: dict[str, Any]) -> None:
    from ..rules import runtime as rt

    module: Any = None
    while True:
        try:
            request = host.receive()
        except (EOFError, OSError):
            return
        op = request.get("op")
        if op == "stop":
            return
        if request.get("environ") is not None:
            os.environ.update(request["environ"])
        try:
            if op == "load":
                module, done = _load(request, rt)
            elif op == "call":
                done = _call(module, request, rt)
            else:
                done = {"crash": f"unknown request {op!r}"}
        except SystemExit as exc:
            code = exc.code
            status = 0 if code is None else (code if isinstance(code, int) else 1)
            done = {"exit": status}
        except BaseException as exc:  # noqa: BLE001 - the code's error, reported as Lambda does
            done = {"exception": rt.exception_payload(exc, exc.__traceback__, None, (_PACKAGE_DIR,))}
        done["output"] = host.output.drain()
        if refused:
            done["refused"] = sorted(set(refused))
        host.send({"done": done})


def _load(request: dict[str, Any], rt: Any) -> tuple[Any, dict[str, Any]]:
    """Import the module. For a handler (``function`` given), import problems are the Lambda
    runtime's faults (Runtime.ImportModuleError...); for a plain module, the exception itself."""
    import importlib

    module_name = request["module"]
    function = request.get("function")
    if function is None:
        module = importlib.import_module(module_name)
    else:
        try:
            if module_name.split(".")[0] in sys.builtin_module_names:
                raise rt.builtin_module_conflict(module_name)
            try:
                module = importlib.import_module(module_name)
            except SyntaxError as exc:
                raise rt.syntax_error(module_name, exc) from None
            except ImportError as exc:
                raise rt.import_module_error(module_name, exc) from None
            if not callable(getattr(module, function, None)):
                raise rt.handler_not_found(function, module_name)
        except rt.FaultError as fault:
            return None, {"fault": {"errorType": fault.error_type, "errorMessage": fault.message,
                                    "stackTrace": fault.stack_trace}}
    names = {name: ("callable" if callable(value) else "value")
             for name, value in vars(module).items() if not name.startswith("_")}
    return module, {"names": names}


def _call(module: Any, request: dict[str, Any], rt: Any) -> dict[str, Any]:
    if module is None:
        return {"crash": "no module is loaded"}
    function = getattr(module, request["function"])
    args = codec.decode(request.get("args") or [])
    kwargs = codec.decode(request.get("kwargs") or {})
    if request.get("context") is not None:
        args = [*args, _context(request["context"])]
    result = function(*args, **kwargs)
    if request.get("marshal"):
        try:
            return {"payload": rt.marshal_response(result, request.get("runtime")).decode("utf-8")}
        except rt.FaultError as fault:
            return {"fault": {"errorType": fault.error_type, "errorMessage": fault.message,
                              "stackTrace": []}}
    try:
        return {"result": codec.encode(result)}
    except codec.CodecError as exc:
        return {"crash": f"{request['function']} returned what the grader cannot read: {exc}"}


def _context(fields: dict[str, Any]) -> Any:
    import time

    from ..context import LambdaContext

    return LambdaContext(**fields, now_ms=lambda: int(time.time() * 1000))
