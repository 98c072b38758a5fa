"""Code in worker processes: a function's code runs apart from the process that hosts it.

On AWS each execution environment is its own sandbox. In-process (the simulator's default, and
what lessons use: it is fastest) a function's code shares the host's memory, so code under test
could change what the host records. With an ``Isolation``, each environment's code runs in a
worker process instead (see ``worker.py`` for how a worker confines itself) and the host keeps
everything that decides an outcome: moto's state, the virtual clock, the fault injector, the
records. A worker is forked from a server that has the heavy imports done (``server.py``), so
a new environment costs about a tenth of a second.

A worker that uses more than ``real_time_limit_s`` of real time in one call (a busy loop: virtual
time never moves) is killed, and the call times out, as a function that runs past its timeout
does on AWS. With ``runaway_after``, once that many calls of the same code were killed, later
calls of that code time out at once (a grader's choice: a loop costs seconds, not minutes).

    iso = Isolation(protected=[Path("solution/handler.py")])
    worker = iso.start(code_dir=folder, environ={"AWS_DEFAULT_REGION": "us-east-1"},
                       services=Services(now_us=..., sleep=...))
    worker.load("handler")
    worker.call("lambda_handler", [event, None])
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from multiprocessing.connection import Connection
from typing import Any

from . import codec

__all__ = [
    "share_fork_server",
    "start_fork_server",
    "FunctionExited",
    "FunctionRaised",
    "Isolation",
    "Services",
    "SharedObject",
    "Worker",
    "WorkerCrashed",
    "WorkerError",
    "WorkerTimedOut",
]

WALL_FACTOR = 10  # a call's whole time, host's included, in units of its real-time limit


class WorkerError(Exception):
    """A call into a worker did not return normally."""


class WorkerTimedOut(WorkerError):
    """The worker used up its real time (a loop that never lets virtual time move) and was killed."""


class WorkerCrashed(WorkerError):
    """The worker process ended or broke the protocol; it is gone."""


class FunctionRaised(WorkerError):
    """The code raised: ``payload`` is Lambda's error document."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__(f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        self.payload = payload


class FunctionExited(WorkerError):
    """The code called ``sys.exit`` (or raised SystemExit) with ``status``."""

    def __init__(self, status: int):
        super().__init__(f"exited with status {status}")
        self.status = status


@dataclass(frozen=True)
class SharedObject:
    """A host object a worker's code may call by name: only ``methods``, with arguments of the
    dataclasses in ``accepts`` (and plain JSON values)."""

    target: Any
    methods: frozenset[str]
    accepts: tuple[type, ...] = ()


@dataclass
class Services:
    """What the host serves a worker while its code runs."""

    now_us: Callable[[], int]
    sleep: Callable[[float], None]
    shared: Mapping[str, SharedObject] = field(default_factory=dict)
    aws: bool = True  # False: the code's AWS calls fail (no simulation to serve them)


@dataclass
class Isolation:
    """Settings for running code in workers, and the workers' shared bookkeeping."""

    real_time_limit_s: float = 2.0
    init_time_limit_s: float = 10.0
    # A call's whole time, the host's serving included (a loop of sleeps or AWS calls keeps the
    # host busy, not the worker): WALL_FACTOR times its real-time limit, or this if it is less.
    wall_time_limit_s: float | None = None
    runaway_after: int | None = None
    protected: tuple[Path, ...] = ()
    drop_privileges: bool = field(default_factory=lambda: os.geteuid() == 0)
    output_limit: int = 64 * 1024
    memory_limit: int = 2 * 1024**3
    file_limit: int = 8 * 1024**2
    seed: int = 0
    strikes: Counter[str] = field(default_factory=Counter)
    refused: set[str] = field(default_factory=set)  # protected files that code tried to open

    def __post_init__(self) -> None:
        self.protected = tuple(Path(p).resolve() for p in self.protected)
        self.clients: dict[tuple[Any, ...], Any] = {}  # the host's clients that serve workers
        self._workers_started = itertools.count()

    def fingerprint(self, code_dir: Path | None, extra: str = "") -> str:
        """The identity of some code for ``runaway_after``: its files' content."""
        digest = hashlib.sha256(extra.encode())
        if code_dir is not None:
            for path in sorted(Path(code_dir).rglob("*.py")):
                if "__pycache__" not in path.parts:
                    digest.update(str(path.relative_to(code_dir)).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def runaway(self, fingerprint: str) -> bool:
        return self.runaway_after is not None and self.strikes[fingerprint] >= self.runaway_after

    def start(self, *, code_dir: Path | None, environ: Mapping[str, str], services: Services,
              fingerprint: str = "") -> Worker:
        """A new worker for code in ``code_dir`` (None: only installed packages)."""
        if self.runaway(fingerprint):
            raise WorkerTimedOut(self.runaway_message())
        scratch = Path(tempfile.mkdtemp(prefix="lambdasim-worker-"))
        spec = {
            "code_dir": str(Path(code_dir).resolve()) if code_dir is not None else None,
            "scratch_dir": str(scratch), "environ": dict(environ), "now_us": services.now_us(),
            # Each worker its own random and uuid4 streams (on AWS, environments never share
            # one), the same ones on every run of the same sequence of environments.
            "seed": f"{self.seed}/{next(self._workers_started)}",
            "protected": [str(p) for p in self._protected_prefixes()],
            "drop_privileges": self.drop_privileges, "output_limit": self.output_limit,
            "memory_limit": self.memory_limit, "file_limit": self.file_limit,
            "proxies": {name: sorted(shared.methods) for name, shared in services.shared.items()},
        }  # fmt: skip
        spec["sys_path"] = list(sys.path)
        here, there = socket.socketpair()
        try:
            pid = _fork_server().fork(spec, there.fileno())
        finally:
            there.close()
        return Worker(self, pid, Connection(here.detach()), services, scratch, fingerprint)

    def runaway_message(self) -> str:
        return (f"not run: this code already ran past {self.real_time_limit_s:g} s of real time "
                f"{self.runaway_after} times (an endless loop?), so its later calls time out at once")

    def _protected_prefixes(self) -> Iterable[Path]:
        for path in self.protected:
            yield path
            if path.suffix == ".py":
                yield path.parent / "__pycache__" / f"{path.stem}."


class Worker:
    """The host's handle on one worker process."""

    def __init__(self, isolation: Isolation, pid: int, conn: Any, services: Services,
                 scratch: Path, fingerprint: str):
        self.isolation = isolation
        self.pid = pid
        self.conn = conn
        self.services = services
        self.scratch = scratch
        self.fingerprint = fingerprint
        self.output = ""  # what the code printed during the last request
        self.alive = True

    # -- requests ---------------------------------------------------------------------------
    def load(self, module: str, function: str | None = None) -> dict[str, str]:
        """Import ``module`` in the worker; its public names ("callable" or "value").
        Raises FunctionRaised (the module's init raised, or a runtime fault such as
        Runtime.ImportModuleError), FunctionExited, WorkerTimedOut or WorkerCrashed; the worker
        is gone after any of them (a module that did not import has nothing left to run)."""
        try:
            done = self._request({"op": "load", "module": module, "function": function},
                                 self.isolation.init_time_limit_s)
        except FunctionRaised:
            self.close()
            raise
        return dict(done.get("names") or {})

    def call(self, function: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None,
             *, context: dict[str, Any] | None = None, marshal: bool = False,
             runtime: str | None = None, environ: Mapping[str, str] | None = None,
             accepts: Iterable[type] = ()) -> Any:
        """Call ``function`` of the loaded module. With ``marshal``, return the response payload
        (bytes) as the Lambda runtime serialises it; otherwise the decoded result, whose
        dataclasses must be of ``accepts``."""
        if self.isolation.runaway(self.fingerprint):
            self.close()
            raise WorkerTimedOut(self.isolation.runaway_message())
        request = {"op": "call", "function": function, "args": codec.encode(list(args or [])),
                   "kwargs": codec.encode(kwargs or {}), "context": context, "marshal": marshal,
                   "runtime": runtime, "environ": dict(environ) if environ is not None else None}
        done = self._request(request, self.isolation.real_time_limit_s)
        if marshal:
            return str(done["payload"]).encode("utf-8")
        try:
            return codec.decode(done.get("result"), {codec.class_path(c): c for c in accepts})
        except (codec.CodecError, TypeError) as exc:
            raise WorkerCrashed(f"{function} returned what the host cannot accept: {exc}") from None

    def close(self) -> None:
        """Stop the worker (killing it and all it started) and remove its scratch folder."""
        if self.alive:
            self.alive = False
            for kill in (os.killpg, os.kill):  # its own session (group), and itself
                try:
                    kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
            self.conn.close()
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- the exchange -----------------------------------------------------------------------
    def _request(self, request: dict[str, Any], limit_s: float) -> dict[str, Any]:
        if not self.alive:
            raise WorkerCrashed("the worker is gone")
        request["now_us"] = self.services.now_us()
        self._send(request)
        # The worker's own time counts against the limit, not the host's serving its requests;
        # a call that keeps the host busy (a loop of sleeps or AWS calls) has ten times as long.
        budget = limit_s
        wall = WALL_FACTOR * limit_s
        if self.isolation.wall_time_limit_s is not None:
            wall = min(wall, self.isolation.wall_time_limit_s)
        ends = _real_now() + wall
        while True:
            waited = _real_now()
            ready = self.conn.poll(max(min(budget, ends - waited), 0))
            now = _real_now()
            budget -= now - waited
            if not ready or now >= ends:
                self.isolation.strikes[self.fingerprint] += 1
                self.close()
                raise WorkerTimedOut(f"killed after {limit_s:g} s of real time (an endless loop?)")
            try:
                message = codec.loads(self.conn.recv_bytes(codec.MESSAGE_LIMIT))
            except (EOFError, OSError, codec.CodecError) as exc:
                self.close()
                how = "ended" if isinstance(exc, EOFError) else f"broke the protocol ({exc})"
                raise WorkerCrashed(f"the worker process {how} in the middle of a call "
                                    "(os._exit, a crash, or killed)") from None
            if "done" in message:
                return self._finish(message["done"])
            try:
                reply = self._serve(message)
            except BaseException:
                # The host's side gave up mid-call (an invocation timing out on the virtual
                # clock): on AWS the runtime is stopped at once; so is the worker.
                self.close()
                raise
            self._send(reply)

    def _finish(self, done: Any) -> dict[str, Any]:
        if not isinstance(done, dict):
            self.close()
            raise WorkerCrashed("the worker sent a malformed answer")
        self.output = str(done.get("output") or "")
        refused = done.get("refused")
        if isinstance(refused, list):
            self.isolation.refused.update(str(path) for path in refused)
        if "crash" in done:
            self.close()
            raise WorkerCrashed(str(done["crash"]))
        if "exit" in done:
            self.close()
            status = done["exit"]
            raise FunctionExited(status if isinstance(status, int) else 1)
        for kind in ("exception", "fault"):
            if kind in done:
                payload = done[kind]
                if not isinstance(payload, dict):
                    payload = {"errorType": "Unknown", "errorMessage": str(payload), "stackTrace": []}
                raise FunctionRaised(payload)
        return done

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.conn.send_bytes(codec.dumps(message))
        except (OSError, ValueError) as exc:
            self.close()
            raise WorkerCrashed(f"the worker is gone ({exc})") from None

    # -- serving the worker's requests --------------------------------------------------------
    def _serve(self, message: dict[str, Any]) -> dict[str, Any]:
        kind = message.get("rpc")
        try:
            if kind == "sleep":
                seconds = float(message["seconds"])
                if not seconds >= 0:
                    raise ValueError("sleep length must be non-negative")
                self.services.sleep(seconds)
                reply: dict[str, Any] = {}
            elif kind == "aws":
                reply = self._aws(message)
            elif kind == "proxy":
                reply = self._shared(message)
            else:
                raise WorkerCrashed(f"the worker asked for {kind!r}")
        except (KeyError, TypeError, ValueError, codec.CodecError) as exc:
            raise WorkerCrashed(f"the worker sent a malformed request: {exc!r}") from None
        reply["now_us"] = self.services.now_us()
        return reply

    def _aws(self, message: dict[str, Any]) -> dict[str, Any]:
        from botocore import xform_name
        from botocore.exceptions import ClientError

        if not self.services.aws:
            return {"exception": {"name": "RuntimeError", "kwargs": {},
                                  "message": "no AWS calls here: this code runs outside a simulation"}}
        client = self._client(str(message["service"]), message.get("region"), message.get("config") or {})
        operation = str(message["operation"])
        method = xform_name(operation)  # how botocore names a client's method for an operation
        if client.meta.method_to_api_mapping.get(method) != operation:
            raise ValueError(f"no operation {operation}")
        params = codec.decode(message.get("params") or {}, {})
        try:
            response = getattr(client, method)(**params)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            return {"client_error": codec.encode(exc.response), "status": status}
        except Exception as exc:  # noqa: BLE001 - what the worker's botocore would have raised
            kwargs = getattr(exc, "kwargs", None)
            safe = {k: str(v) for k, v in kwargs.items()} if isinstance(kwargs, dict) else {}
            return {"exception": {"name": type(exc).__name__, "kwargs": safe, "message": str(exc)}}
        try:
            return {"ok": codec.encode(response)}
        except codec.CodecError as exc:
            return {"exception": {"name": "CodecError", "kwargs": {}, "message": str(exc)}}

    def _client(self, service: str, region: Any, config: dict[str, Any]) -> Any:
        import boto3
        from botocore.config import Config

        retries = config.get("retries") if isinstance(config.get("retries"), dict) else None
        options = {k: config[k] for k in ("read_timeout", "connect_timeout")
                   if isinstance(config.get(k), int | float)}
        session = boto3.DEFAULT_SESSION or boto3.Session()
        key = (id(session), service, region, repr(sorted((retries or {}).items())),
               repr(sorted(options.items())))
        client = self.isolation.clients.get(key)
        if client is None:
            client = session.client(service, region_name=region if isinstance(region, str) else None,
                                    config=Config(retries=retries, **options))
            self.isolation.clients[key] = client
        return client

    def _shared(self, message: dict[str, Any]) -> dict[str, Any]:
        shared = self.services.shared.get(str(message["target"]))
        method = str(message["method"])
        if shared is None or method not in shared.methods:
            raise ValueError(f"{message['target']}.{method} is not shared")
        accepts = {codec.class_path(c): c for c in shared.accepts}
        args = codec.decode(message.get("args") or [], accepts)
        kwargs = codec.decode(message.get("kwargs") or {}, accepts)
        try:
            result = getattr(shared.target, method)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - raised again in the worker, same class
            return {"raise": {"class": codec.class_path(type(exc)), "message": str(exc)}}
        return {"ok": codec.encode(result)}


def _real_now() -> float:
    # Not time.monotonic: the host's clock may be frozen on virtual time (freezegun).
    return time.clock_gettime(time.CLOCK_MONOTONIC)


#: A fork server's socket to share (set by ``share_fork_server`` for the processes it starts).
SHARED_SERVER_VARIABLE = "LAMBDASIM_FORK_SERVER"


class _ForkServer:
    """The host's end of the fork server (``server.py``): its own, started on first use, or
    the one named by the environment variable SHARED_SERVER_VARIABLE."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.control: socket.socket | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def fork(self, spec: dict[str, Any], fd: int) -> int:
        data = json.dumps(spec).encode()
        with self.lock:
            for _attempt in (1, 2):  # a server that died (a worker killed it?) is started again
                if not self._running():
                    self._start()
                assert self.control is not None
                try:
                    socket.send_fds(self.control, [data], [fd])
                    answer = self.control.recv(4)
                    if len(answer) == 4:
                        return int(struct.unpack("!i", answer)[0])
                except OSError:
                    pass
                self.control = None
            raise WorkerCrashed("the fork server is not answering")

    def start(self) -> None:
        """Connect to (or start) the server now, and wait until it is ready."""
        with self.lock:
            if not self._running():
                self._start()

    def _running(self) -> bool:
        if self.control is None:
            return False
        return self.process is None or self.process.poll() is None

    def _start(self) -> None:
        shared = os.environ.get(SHARED_SERVER_VARIABLE)
        if shared:
            try:
                control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                control.connect(shared)
                self.control, self.process = control, None
                return
            except OSError:
                pass  # gone: start one of our own
        self.control, self.process = _launch(None)


def _launch(path: str | None) -> tuple[socket.socket, subprocess.Popen[bytes]]:
    """Start a fork server (listening on ``path`` too, if given); our connection and process."""
    here, there = socket.socketpair()
    # A session of its own: the lifeline ends it with its host, and a host that signals its
    # process group at exit (a Jupyter kernel terminates its group's children, then waits
    # seconds for them to be reaped) neither signals nor waits for it.
    process = subprocess.Popen(
        [sys.executable, "-m", "lambdasim.isolation.server", str(there.fileno()),
         *([path] if path else [])],
        pass_fds=[there.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        start_new_session=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    there.close()
    if here.recv(1) != b"R":
        raise WorkerCrashed("the fork server did not start")
    return here, process


_FORK_SERVER = _ForkServer()


def _fork_server() -> _ForkServer:
    return _FORK_SERVER


@contextlib.contextmanager
def share_fork_server() -> Iterator[subprocess.Popen[bytes]]:
    """Start a fork server that the processes started meanwhile share (through the environment
    variable SHARED_SERVER_VARIABLE): a grader starts one for a whole class, instead of one per
    submission (each costs a second or two of imports). Yields the server's process."""
    folder = tempfile.mkdtemp(prefix="lambdasim-forks-")  # 0700: only this user may connect
    path = os.path.join(folder, "server")
    control, process = _launch(path)
    os.environ[SHARED_SERVER_VARIABLE] = path
    try:
        yield process
    finally:
        os.environ.pop(SHARED_SERVER_VARIABLE, None)
        control.close()  # its lifeline: the server and its workers end
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def start_fork_server() -> None:
    """Start the server that forks workers now, rather than at the first worker (it takes a
    second or two to import what workers need): graders call it before their timed tests."""
    _FORK_SERVER.start()
