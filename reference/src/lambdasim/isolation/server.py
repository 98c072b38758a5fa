"""The fork server: imports what workers need once, then forks a worker per request.

Started by the host as ``python -m lambdasim.isolation.server FD`` with one end of a Unix socket
pair as FD. Each request is a worker's spec (JSON) with the worker's end of its own socket pair
passed along (SCM_RIGHTS); the server forks, the child becomes the worker, and the server answers
with the child's pid. The server ends when the host closes its end.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import struct
import sys

PRELOAD = (
    "lambdasim.isolation.worker", "boto3", "botocore.client", "freezegun",
    "aws_lambda_powertools.utilities.batch", "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools", "aws_lambda_powertools.logging", "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.utilities.data_classes", "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.typing", "pydantic", "decimal", "uuid", "json", "hashlib",
    "encodings.idna",
)  # fmt: skip
SPEC_LIMIT = 1024 * 1024


def main(fd: int) -> None:
    control = socket.socket(fileno=fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped as they end
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a worker that needs it reports the import error
            pass
    from multiprocessing.connection import Connection

    from . import worker

    worker.prepare()
    control.sendall(b"R")  # ready

    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, SPEC_LIMIT, 1)
        except OSError:
            return
        if not data or not fds:
            return
        spec = json.loads(data)
        pid = os.fork()
        if pid == 0:
            control.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            sys.path[:] = spec.get("sys_path") or sys.path
            worker.main(Connection(fds[0]), spec)
            os._exit(0)
        os.close(fds[0])
        control.sendall(struct.pack("!i", pid))


if __name__ == "__main__":
    main(int(sys.argv[1]))
