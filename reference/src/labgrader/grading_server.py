"""The grading server: a class's grading processes forked from one warm process.

Each submission is graded by a pytest process of its own (``cli.run_limited``), and a fresh
``python -m pytest`` spends its first two to three seconds importing pytest, moto and botocore
and reading AWS's service models before the first test runs: for a class of 100, several
minutes of the same work. ``labgrader class`` starts this server once (``serve_gradings``); it
imports and warms all that, then forks one grading process per request. The child starts a
session of its own, moves to the request's folder, takes its environment and output, and runs
pytest with its arguments: the same as a fresh process, except that the imports are done.

Started as ``python -m labgrader.grading_server FD LAB``: FD is one end of a Unix socket pair,
the server's lifeline (it ends, killing its gradings, when that closes); LAB the lab folder,
whose tests' imports are made ahead too. A request is JSON ``{"argv", "cwd", "env"}`` with three
descriptors (SCM_RIGHTS): the child's stdout and stderr, and a socket on which the server sends
the child's pid (4 bytes) at once and its wait status (4 bytes) when it has ended.

The serving loop (``serve``), the child's run (``run_child``) and the client (``ForkServer``) are
not about grading: ``labgrader.kernels`` forks nbval's notebook kernels with them.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REQUEST_LIMIT = 1024 * 1024
CHILD_FAILED = 70  # the child's status when pytest could not even be started
# Read-only calls that make moto import each service's backend and botocore read its model.
WARM_UP_CALLS = (
    ("sqs", "list_queues"), ("dynamodb", "list_tables"), ("dynamodbstreams", "list_streams"),
    ("events", "list_event_buses"), ("lambda", "list_functions"), ("sns", "list_topics"),
    ("logs", "describe_log_groups"), ("cloudwatch", "list_metrics"), ("iam", "list_roles"),
    ("sts", "get_caller_identity"), ("s3", "list_buckets"), ("kinesis", "list_streams"),
    ("cloudformation", "list_stacks"),
)  # fmt: skip
WARM_UP_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Function:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: app.handler
      Runtime: python3.12
      Events:
        Messages:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
"""


def warm_up(lab: Path) -> None:
    """Import what a grading imports, then ``warm_up_simulator``."""
    import _pytest.config

    # Not the plugins a grading names with -p: pytest rewrites their asserts as it imports them.
    for name in ("pytest", "labgrader.submission",
                 *(f"_pytest.{plugin}" for plugin in _pytest.config.default_plugins),
                 *_imports_of(lab / "tests")):
        with contextlib.suppress(Exception):  # a grading that needs it reports the error
            importlib.import_module(name)
    warm_up_simulator()


def warm_up_simulator() -> None:
    """Run each service once in a throwaway simulation, so that moto has imported its backends
    and botocore has read their models before any child is forked."""
    from lambdasim import Simulator
    from lambdasim.sdk_models import share_loaders

    # For the server's whole life, not only while a simulation runs: every botocore session a
    # grading makes (moto's mock_aws drops boto3's default session at each start, so a lab's
    # tests make one per test) then finds the models the warm-up parsed, instead of reading
    # them from disk again.
    share_loaders()
    with tempfile.TemporaryDirectory(prefix="labgrader-warm-up-") as folder:
        template = Path(folder) / "template.yaml"
        template.write_text(WARM_UP_TEMPLATE)
        (Path(folder) / "app.py").write_text("def handler(event, context):\n    return {}\n")
        with Simulator(logs=False, metrics=False) as sim:
            for service, call in WARM_UP_CALLS:
                with contextlib.suppress(Exception):
                    getattr(sim.client(service), call)()
            with contextlib.suppress(Exception):  # loads the template parser and SAM's transform
                sim.deploy(template, validate=False)


def _imports_of(folder: Path) -> Iterator[str]:
    """The absolute imports at the top of the test modules in ``folder``."""
    for path in sorted(folder.glob("*.py")):
        with contextlib.suppress(OSError, SyntaxError, ValueError):
            for node in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(node, ast.Import):
                    yield from (alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    yield node.module


def main(fd: int, lab: str) -> None:
    warm_up(Path(lab))
    serve(fd, _grade)


def serve(fd: int, run: Callable[[dict[str, Any], int, int], None]) -> None:
    """Fork a child for each request on the lifeline ``fd`` until it closes; the child calls
    ``run(request, stdout, stderr)``, which must not return (it ends with ``os._exit``)."""
    lifeline = socket.socket(fileno=fd)
    # What the warm-up made is never garbage: out of the collector's sight, a grading's
    # collections do not walk it (with it in sight, they take long enough to be felt, and
    # touching it copies the shared pages into each child).
    gc.freeze()
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through the pipe
    selector = selectors.DefaultSelector()
    selector.register(lifeline, selectors.EVENT_READ)
    selector.register(wakeup_read, selectors.EVENT_READ)
    lifeline.sendall(b"R")  # ready
    gradings: dict[int, socket.socket] = {}  # pid -> where its wait status goes
    def close_servers_descriptors() -> None:  # in a child: it must not keep them
        signal.set_wakeup_fd(-1)
        selector.close()
        lifeline.close()
        os.close(wakeup_read)
        os.close(wakeup_write)
        for reply in gradings.values():
            reply.close()

    try:
        while True:
            for key, _ in selector.select():
                if key.fileobj is lifeline:
                    if not _fork(lifeline, gradings, close_servers_descriptors, run):
                        return
                else:
                    os.read(wakeup_read, 4096)
            _reap(gradings)
    finally:
        for pid in gradings:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def _fork(lifeline: socket.socket, gradings: dict[int, socket.socket],
          close_servers_descriptors: Callable[[], None],
          run: Callable[[dict[str, Any], int, int], None]) -> bool:
    """Fork one child for the request on ``lifeline``; False once it has closed."""
    try:
        data, fds, _, _ = socket.recv_fds(lifeline, REQUEST_LIMIT, 3)
    except OSError:
        return False
    if not data:
        return False
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return True
    stdout, stderr, status = fds[0], fds[1], socket.socket(fileno=fds[2])
    request = json.loads(data)
    pid = os.fork()
    if pid == 0:
        try:
            status.close()
            close_servers_descriptors()
            run(request, stdout, stderr)
        finally:
            os._exit(CHILD_FAILED)
    os.close(stdout)
    os.close(stderr)
    status.sendall(struct.pack("!i", pid))
    gradings[pid] = status
    return True


def _become(request: dict[str, Any], stdout: int, stderr: int) -> list[str]:
    """In a forked child: take the request's folder, environment and output, as a process
    started there with them would have (``python -m MODULE``); its arguments."""
    os.setsid()  # its own process group, so that all it starts can be killed with it
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    sys.path[0] = os.getcwd()  # as `python -m` sets it
    return [str(a) for a in request["argv"]]


def run_child(request: dict[str, Any], stdout: int, stderr: int, program: Callable[[list[str]], int]) -> None:
    """In a forked child: become the request's process, then exit with what
    ``program(argv)`` returns (a traceback and CHILD_FAILED if it raises); never returns."""
    code = CHILD_FAILED
    try:
        code = program(_become(request, stdout, stderr))
    except BaseException:  # noqa: BLE001 - the status says it failed; the traceback is in the log
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _grade(request: dict[str, Any], stdout: int, stderr: int) -> None:
    """In the child: what ``python -m pytest ARGV`` started in CWD would be; never returns."""
    run_child(request, stdout, stderr, _pytest_main)


def _pytest_main(argv: list[str]) -> int:
    sys.argv = ["pytest", *argv]
    import pytest

    return int(pytest.main(argv))


def _reap(gradings: dict[int, socket.socket]) -> None:
    while gradings:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        reply = gradings.pop(pid, None)
        if reply is not None:
            with contextlib.suppress(OSError):
                reply.sendall(struct.pack("!i", status))
            reply.close()


class Forked:
    """A process forked by a server: the part of `subprocess.Popen` graders and kernel managers use."""

    def __init__(self, pid: int, status: socket.socket, stdout: object = None) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stdin = self.stderr = None
        self._status = status
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._status.settimeout(timeout)
            try:
                data = self._status.recv(4)
            except (TimeoutError, BlockingIOError):  # BlockingIOError: timeout 0, not ended yet
                raise subprocess.TimeoutExpired("forked", timeout or 0) from None
            # The server gone without an answer: the child is gone with it.
            self.returncode = (os.waitstatus_to_exitcode(struct.unpack("!i", data)[0])
                               if len(data) == 4 else -signal.SIGKILL)
            self._status.close()
        return self.returncode

    def poll(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.wait(timeout=0)
        return None

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkServer:
    """The client's end of a server started as ``python -m MODULE FD ARGS...`` that ``serve``s
    (started again if it has died)."""

    def __init__(self, module: str, args: list[str]) -> None:
        self.module, self.args = module, args
        self._lock = threading.Lock()
        self._launch()

    def _launch(self) -> None:
        # Packets: the requests of parallel clients never run together.
        here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, str(there.fileno()), *self.args],
            pass_fds=[there.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
        there.close()
        self._lifeline = here
        if here.recv(1) != b"R":
            self.close()
            raise RuntimeError(f"the {self.module} server did not start")

    def fork(self, argv: list[str], cwd: Path, env: dict[str, str], stdout: int, stderr: int) -> Forked:
        """A child that runs ``argv`` in ``cwd`` with ``env``, its output on the descriptors
        ``stdout`` and ``stderr`` (the caller keeps and closes them)."""
        request = json.dumps({"argv": argv, "cwd": str(cwd), "env": env}).encode()
        here, there = socket.socketpair()
        try:
            with self._lock:
                if self.process.poll() is not None:
                    self._lifeline.close()
                    self._launch()
                socket.send_fds(self._lifeline, [request], [stdout, stderr, there.fileno()])
        finally:
            there.close()
        answer = here.recv(4)
        if len(answer) != 4:
            here.close()
            raise RuntimeError(f"the {self.module} server did not fork")
        return Forked(struct.unpack("!i", answer)[0], here)

    def close(self) -> None:
        self._lifeline.close()  # the server kills what is left and ends
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class GradingServer(ForkServer):
    """The class command's end of the grading server."""

    def __init__(self, lab: Path) -> None:
        self.lab = lab
        super().__init__("labgrader.grading_server", [str(lab)])

    def start(self, command: list[str], cwd: Path, env: dict[str, str]) -> Forked:
        """Fork ``python -m pytest ...`` (``command``) in ``cwd`` with ``env``."""
        if command[1:3] != ["-m", "pytest"]:
            raise ValueError(f"the grading server runs pytest only, not {command}")
        read, write = os.pipe()
        try:
            forked = self.fork(command[3:], cwd, env, write, write)
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        forked.stdout = os.fdopen(read, "rb")
        return forked


@contextlib.contextmanager
def serve_gradings(lab: Path) -> Iterator[GradingServer | None]:
    """A server for the gradings of ``lab``, or None (with a warning on stderr) if it cannot
    start: the class is then graded by fresh processes, slower but the same."""
    try:
        server = GradingServer(lab)
    except (OSError, RuntimeError) as exc:
        print(f"labgrader: no warm grading server ({exc}); each submission starts a fresh process",
              file=sys.stderr, flush=True)
        yield None
        return
    try:
        yield server
    finally:
        server.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
