"""The warm kernels nbval runs the notebooks in (`labgrader.kernels`): each is what a fresh
`python -m ipykernel_launcher` would be (the notebook's folder, the kernel's environment, its own
process group, interrupted and shut down as Jupyter does it), only forked from a server that has
made the imports; a kernel the server cannot stand for is started afresh."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

pytestmark = pytest.mark.xdist_group("warm-kernels")  # one server for all of them

PROBE = ("import json, os, sys; print(json.dumps({'cwd': os.getcwd(), 'path0': sys.path[0], "
         "'seed': os.environ.get('PYTHONHASHSEED'), 'marker': os.environ.get('WARM_KERNEL_TEST'), "
         "'warm': 'lambdasim' in sys.modules, 'pid': os.getpid(), 'pgid': os.getpgid(0), "
         "'parent': os.getppid()}))")


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernel spec like tests/kernels/course-warm, warming the imports of one notebook."""
    root = tmp_path_factory.mktemp("warm-kernels")
    (root / "notebooks").mkdir()
    notebook = {"cells": [{"cell_type": "code", "source": "from lambdasim import Simulator",
                           "metadata": {}, "outputs": [], "execution_count": None}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "notebooks" / "probe.ipynb").write_text(json.dumps(notebook))
    spec = json.loads((Path(__file__).parent / "kernels" / "course-warm" / "kernel.json").read_text())
    spec["metadata"]["kernel_provisioner"]["config"]["notebook_folders"] = ["../../notebooks"]
    (root / "kernels" / "warm").mkdir(parents=True)
    (root / "kernels" / "warm" / "kernel.json").write_text(json.dumps(spec))
    return root


def start(kernels: Path, cwd: Path, env: dict[str, str], **launch: Any) -> tuple[KernelManager, Any]:
    specs = KernelSpecManager(kernel_dirs=[str(kernels / "kernels")])
    manager = KernelManager(kernel_name="warm", kernel_spec_manager=specs)
    manager.start_kernel(cwd=str(cwd), env=env, **launch)
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client


def run(client: Any, code: str, timeout: float = 30) -> dict[str, Any]:
    """The cell's reply, with its printed text and error name (if any)."""
    printed, error = [], None
    reply = client.execute_interactive(
        code, timeout=timeout,
        output_hook=lambda msg: printed.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)
    if reply["content"]["status"] == "error":
        error = reply["content"]["ename"]
    return {"text": "".join(printed), "error": error}


def probe(client: Any) -> dict[str, Any]:
    return json.loads(run(client, PROBE)["text"])


def test_a_warm_kernel_is_a_fresh_one_with_the_imports_done(kernels: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WARM_KERNEL_TEST": "yes"}
    manager, client = start(kernels, tmp_path, env)
    try:
        seen = probe(client)
        assert seen["cwd"] == str(tmp_path) and seen["marker"] == "yes"
        assert seen["seed"] == os.environ.get("PYTHONHASHSEED")
        assert seen["warm"], "forked from the server: lambdasim already imported"
        assert seen["pid"] == seen["pgid"] == manager.provisioner.pid  # its own process group
        assert seen["parent"] != os.getpid()  # the server's child, not this process's
        assert run(client, "import lambdasim; print(lambdasim.__name__)")["text"].strip() == "lambdasim"
        assert run(client, "1 / 0")["error"] == "ZeroDivisionError"

        # Jupyter's interrupt (SIGINT to the kernel's process group) stops a running cell.
        sent = client.execute("import time; time.sleep(60)")
        while not (msg := client.get_iopub_msg(timeout=20))["msg_type"] == "execute_input" \
                or msg["parent_header"].get("msg_id") != sent:
            pass
        time.sleep(0.2)  # real time: the cell is inside its sleep
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=20)
        assert reply["content"]["ename"] == "KeyboardInterrupt"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    assert not manager.is_alive()
    with pytest.raises(ProcessLookupError):
        os.kill(seen["pid"], 0)


@pytest.mark.parametrize("afresh", ["another hash seed", "output to a pipe"])
def test_a_kernel_the_server_cannot_stand_for_is_started_afresh(kernels: Path, tmp_path: Path, afresh: str) -> None:
    """A kernel whose interpreter must start with another hash seed, or whose output the caller
    reads from a pipe, is launched as Jupyter launches it: not warm, this process's child."""
    other_seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    env = {**os.environ, "PYTHONHASHSEED": other_seed} if afresh == "another hash seed" else dict(os.environ)
    launch = {"stdout": subprocess.PIPE} if afresh == "output to a pipe" else {}
    manager, client = start(kernels, tmp_path, env, **launch)
    try:
        seen = probe(client)
        assert seen["seed"] == env.get("PYTHONHASHSEED")
        assert not seen["warm"] and seen["parent"] == os.getpid()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_killed_kernel_is_seen_dead(kernels: Path, tmp_path: Path) -> None:
    manager, client = start(kernels, tmp_path, dict(os.environ))
    try:
        pid = probe(client)["pid"]
        os.kill(pid, signal.SIGKILL)
        manager.provisioner.process.wait(timeout=10)
        assert not manager.is_alive()
        assert manager.provisioner.process.returncode == -signal.SIGKILL
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_course_kernel_spec_names_the_provisioner_and_the_notebook_folders() -> None:
    from importlib.metadata import entry_points

    from labgrader.kernels import WarmForkProvisioner

    spec_dir = Path(__file__).parent / "kernels" / "course-warm"
    spec = json.loads((spec_dir / "kernel.json").read_text())
    provisioner = spec["metadata"]["kernel_provisioner"]
    (entry,) = [e for e in entry_points(group="jupyter_client.kernel_provisioners")
                if e.name == provisioner["provisioner_name"]]
    assert entry.load() is WarmForkProvisioner
    folders = [(spec_dir / f).resolve() for f in provisioner["config"]["notebook_folders"]]
    root = Path(__file__).resolve().parents[1]
    assert folders == [root / "notebooks", root / "labs"]
    assert spec["argv"][:3] == ["python", "-m", "ipykernel_launcher"]
