"""The fork server: imports what workers need once, then forks a worker per request.

Started by a host as ``python -m lambdasim.isolation.server FD [PATH]``, FD being one end of a
Unix socket pair (the host's connection, and the server's lifeline: the server ends when it
closes). With PATH, the server also listens on a Unix socket there, so that other processes
(the pytest processes of a class's gradings) share it instead of each starting its own.

Each request on a connection is a worker's spec (JSON) with the worker's end of its own socket
pair passed along (SCM_RIGHTS); the server forks, the child becomes the worker, and the server
answers with the child's pid. When a connection closes, the workers forked for it are killed:
a host that died (killed at a time limit) leaves none behind.
"""

from __future__ import annotations

import importlib
import json
import os
import selectors
import signal
import socket
import struct
import sys

PRELOAD = (
    "lambdasim.isolation.worker", "boto3", "botocore.client", "freezegun",
    "aws_lambda_powertools", "aws_lambda_powertools.logging", "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.data_classes", "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.typing", "pydantic", "decimal", "uuid", "json", "hashlib",
    "encodings.idna",
)  # fmt: skip
SPEC_LIMIT = 1024 * 1024


def main(fd: int, path: str | None = None) -> None:
    lifeline = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped as they end
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a worker that needs it reports the import error
            pass
    from . import worker

    worker.prepare()
    selector = selectors.DefaultSelector()
    selector.register(lifeline, selectors.EVENT_READ)
    if path is not None:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(64)
        selector.register(listener, selectors.EVENT_READ)
    lifeline.sendall(b"R")  # ready
    workers: dict[socket.socket, list[int]] = {lifeline: []}
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if path is not None and sock is listener:
                connection, _ = listener.accept()
                selector.register(connection, selectors.EVENT_READ)
                workers[connection] = []
                continue
            pid = _serve(sock, worker)
            if pid is None:  # the connection closed: its workers go with it
                for child in workers.pop(sock, []):
                    _kill(child)
                selector.unregister(sock)
                sock.close()
                if sock is lifeline:
                    for children in workers.values():
                        for child in children:
                            _kill(child)
                    return
            else:
                workers[sock] = [p for p in workers[sock] if _alive(p)] + [pid]


def _serve(sock: socket.socket, worker: object) -> int | None:
    """Fork one worker for a request on ``sock``; its pid, or None when ``sock`` closed."""
    from multiprocessing.connection import Connection

    try:
        data, fds, _, _ = socket.recv_fds(sock, SPEC_LIMIT, 1)
    except OSError:
        return None
    if not data or not fds:
        return None
    spec = json.loads(data)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sys.path[:] = spec.get("sys_path") or sys.path
        worker.main(Connection(fds[0]), spec)  # type: ignore[attr-defined]
        os._exit(0)
    os.close(fds[0])
    sock.sendall(struct.pack("!i", pid))
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # the worker's own session (group), and itself
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
