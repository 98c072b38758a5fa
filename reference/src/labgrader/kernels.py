"""Notebook kernels forked from one warm process, for executing the course's notebooks in tests.

nbval starts a fresh kernel for each notebook, and each one spends its first seconds starting
IPython, importing matplotlib, boto3, moto and the simulator, and having moto import its
service backends and botocore read their models: the same work for every notebook, about as much
CPU as a short lesson's own cells. ``WarmForkProvisioner`` (a Jupyter kernel provisioner) starts
a server per test process that does that work once (the imports of every notebook in the
folders it is given, and ``warm_up_simulator``), then forks a kernel for each notebook: the same
kernel as ``python -m ipykernel_launcher -f CONNECTION_FILE`` started in the notebook's folder
with the kernel's environment, except that the imports are done.

A kernel is launched the usual way (``LocalProvisioner``) when its command is not that, when
its environment differs from the server's in what an interpreter reads only when it starts
(``STARTUP_VARIABLES``), or when its output is to go anywhere but an open file or this
process's own (a pipe the caller reads, say). The tests use it through the kernel spec ``tests/kernels/course-warm``
(``make test``: ``JUPYTER_PATH=<repository>/tests pytest --nbval --nbval-kernel-name course-warm``); what a
learner runs, and the lessons' timings, use the ordinary kernel.

    python -m labgrader.kernels FD FOLDER...    (started by the provisioner, not by hand)
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import importlib
import json
import os
import runpy
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning import LocalProvisioner
from traitlets import List, Unicode

from labgrader.grading_server import ForkServer, run_child, serve, warm_up_simulator

# What an interpreter reads only as it starts (or a module reads as it is imported): a kernel
# whose environment differs from the server's in one of them is started afresh.
STARTUP_VARIABLES = ("PYTHONHASHSEED", "PYTHONPATH", "PYTHONSAFEPATH", "PYTHONWARNINGS", "PYTHONUTF8",
                     "PYTHONIOENCODING", "MPLBACKEND", "MPLCONFIGDIR", "PYTHONDEVMODE")
KERNEL_MODULE = "ipykernel_launcher"
KERNEL_IMPORTS = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                  "matplotlib_inline.backend_inline", "matplotlib.pyplot")


class WarmForkProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Launch kernels by forking them from a warm server (one per process that launches them).

    ``notebook_folders``: folders, relative to the kernel spec's own, whose notebooks' imports
    the server makes ahead."""

    notebook_folders = List(Unicode(), config=True)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        env = {str(k): str(v) for k, v in (kwargs.get("env") or os.environ).items()}
        outputs = [_descriptor(kwargs.get(name), default) for name, default in (("stdout", 1), ("stderr", 2))]
        server = _server(self._folders()) if _forkable(cmd, env) and None not in outputs else None
        if server is None:
            return await super().launch_kernel(cmd, **kwargs)
        cwd = Path(kwargs.get("cwd") or os.getcwd())
        self.process = server.fork(cmd[3:], cwd, env, *outputs)
        self.pid = self.pgid = self.process.pid  # its own session and process group
        return self.connection_info

    def _folders(self) -> tuple[str, ...]:
        base = Path(self.kernel_spec.resource_dir)
        return tuple(str((base / folder).resolve()) for folder in self.notebook_folders)


def _descriptor(target: Any, default: int) -> int | None:
    """Where a kernel's output goes, as Popen's ``stdout``/``stderr`` says: this process's own
    (None), an open file, or anything else (None here: not forkable)."""
    if target is None:
        return default
    return target.fileno() if hasattr(target, "fileno") else None


def _forkable(cmd: list[str], env: dict[str, str]) -> bool:
    return (cmd[:3] == [sys.executable, "-m", KERNEL_MODULE]
            and all(env.get(name) == os.environ.get(name) for name in STARTUP_VARIABLES))


_servers: dict[tuple[str, ...], ForkServer | None] = {}
_servers_lock = threading.Lock()


def _server(folders: tuple[str, ...]) -> ForkServer | None:
    """This process's server for ``folders``, started at the first kernel (None if it cannot
    start: kernels are then started afresh, slower but the same)."""
    with _servers_lock:
        if folders not in _servers:
            try:
                _servers[folders] = ForkServer("labgrader.kernels", list(folders))
            except (OSError, RuntimeError) as exc:
                print(f"labgrader.kernels: no warm kernel server ({exc}); each kernel starts afresh",
                      file=sys.stderr, flush=True)
                _servers[folders] = None
            else:
                atexit.register(_servers[folders].close)
        return _servers[folders]


def warm_up(folders: list[Path]) -> None:
    """Import what a kernel and the notebooks in ``folders`` import, then ``warm_up_simulator``."""
    for name in (*KERNEL_IMPORTS, *sorted(set(_notebook_imports(folders)))):
        with contextlib.suppress(Exception):  # a notebook that needs it shows the error
            importlib.import_module(name)
    warm_up_simulator()


def _notebook_imports(folders: list[Path]) -> Iterator[str]:
    """The absolute imports in the code cells of the notebooks in ``folders`` (and below)."""
    for folder in folders:
        for path in sorted(folder.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            with contextlib.suppress(OSError, ValueError, KeyError):
                cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
                for cell in cells:
                    if cell.get("cell_type") != "code":
                        continue
                    source = "".join(cell.get("source", ""))
                    # IPython's magics and shell escapes are not Python.
                    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
                    with contextlib.suppress(SyntaxError):
                        for node in ast.walk(ast.parse(code)):
                            if isinstance(node, ast.Import):
                                yield from (alias.name for alias in node.names)
                            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                                yield node.module


def _kernel(request: dict[str, Any], stdout: int, stderr: int) -> None:
    """In the child: what ``python -m ipykernel_launcher ARGV`` started in CWD would be; never
    returns."""
    run_child(request, stdout, stderr, _kernel_main)


def _kernel_main(argv: list[str]) -> int:
    sys.argv = [KERNEL_MODULE, *argv]
    try:
        runpy.run_module(KERNEL_MODULE, run_name="__main__", alter_sys=True)
    except SystemExit as exc:  # the kernel's own way to end
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def main(fd: int, folders: list[str]) -> None:
    warm_up([Path(folder) for folder in folders])
    serve(fd, _kernel)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
