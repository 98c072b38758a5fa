"""Execution environments as worker processes (``lambdasim.isolation``): the same invocation
results as in process, and the runtime's rules kept across the process boundary.

https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html: each execution
environment is its own sandbox; a function that runs past its timeout is stopped and its
environment reset.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from lambdasim.isolation import FunctionRaised, Isolation, Services, WorkerTimedOut

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def isolated(sim, basic):
    """Creates a function of the `basic` code folder whose environments are worker processes."""
    isolation = Isolation()

    def create(name: str, handler: str, **kwargs):
        basic(name, handler, **kwargs)
        sim.map_handler(name, code_dir=FIXTURES / "basic", isolation=isolation)
        return isolation

    return create


def test_an_isolated_environment_runs_in_another_process_and_stays_warm(sim, isolated, call):
    isolated("counter", "count")
    first = call("counter", {})[1]
    second = call("counter", {})[1]
    assert (first["calls"], second["calls"]) == (1, 2)  # one environment, reused warm
    env = sim.environments("counter")[0]
    assert env.code is not None and env.code.handler.worker.pid != os.getpid()


def test_errors_and_exits_are_reported_as_in_process(isolated, call):
    isolated("boom", "boom")
    response, body = call("boom", {"n": 3})
    assert response["FunctionError"] == "Unhandled"
    assert (body["errorType"], body["errorMessage"]) == ("ValueError", "boom: 3")
    isolated("exits", "exits")
    response, body = call("exits", {})
    assert body["errorType"] == "Runtime.ExitError"


def test_a_sleep_past_the_timeout_times_out_and_the_worker_is_stopped(sim, isolated, call):
    isolated("stubborn", "stubborn", Timeout=3)
    response, body = call("stubborn", {"sleep": 10})
    assert body["errorType"] == "Sandbox.Timedout"  # `except Exception` cannot swallow it
    retired = sim.retired_environments("stubborn")
    assert retired and not retired[0].code.handler.worker.alive


def test_virtual_time_and_aws_calls_cross_the_boundary(isolated, call):
    isolated("sleepy", "sleepy", Timeout=30)
    body = call("sleepy", {"sleep": 5})[1]
    assert body["slept"] == 5 and body["before"] - body["after"] == 5000
    isolated("caller", "call_other", Timeout=30)
    isolated("echo", "echo")
    body = call("caller", {"target": "echo", "payload": {"x": 1}})[1]
    assert body["inner"] == {"x": 1}


def test_each_environment_has_its_own_random_streams_reproducibly(tmp_path):
    """Environments never share a uuid4 stream (on AWS each has its own), yet the same
    sequence of environments draws the same values on every run (the seed)."""
    (tmp_path / "m.py").write_text("import uuid\ndef draw():\n    return str(uuid.uuid4())\n")

    def draws(isolation: Isolation) -> list[str]:
        found = []
        for _ in range(2):
            worker = isolation.start(code_dir=tmp_path, environ={},
                                     services=Services(now_us=lambda: 0, sleep=lambda s: None))
            worker.load("m")
            found.append(worker.call("draw"))
            worker.close()
        return found

    first = draws(Isolation())
    assert first[0] != first[1] and draws(Isolation()) == first


def test_a_busy_loop_is_killed_and_a_runaway_times_out_at_once(tmp_path):
    (tmp_path / "m.py").write_text("def spin():\n    while True:\n        pass\n")
    isolation = Isolation(real_time_limit_s=0.2, runaway_after=1)
    services = Services(now_us=lambda: 0, sleep=lambda s: None)
    fingerprint = isolation.fingerprint(tmp_path)
    worker = isolation.start(code_dir=tmp_path, environ={}, services=services, fingerprint=fingerprint)
    worker.load("m")
    with pytest.raises(WorkerTimedOut, match="killed after 0.2 s"):
        worker.call("spin")
    assert not worker.alive
    with pytest.raises(WorkerTimedOut, match="later calls time out at once"):
        isolation.start(code_dir=tmp_path, environ={}, services=services, fingerprint=fingerprint)


def test_a_loop_that_keeps_the_host_busy_is_stopped_at_the_wall_time_limit(tmp_path):
    """A loop of sleeps spends the host's time, not the worker's: the call's real-time limit
    would let it run ten times as long, the wall-time limit stops it."""
    import time

    (tmp_path / "m.py").write_text("import time\ndef nap():\n    while True:\n        time.sleep(1)\n")
    isolation = Isolation(real_time_limit_s=5, wall_time_limit_s=0.3)
    worker = isolation.start(code_dir=tmp_path, environ={},
                             services=Services(now_us=lambda: 0, sleep=lambda s: time.sleep(0.01)))
    worker.load("m")
    started = time.monotonic()
    with pytest.raises(WorkerTimedOut, match="an endless loop"):
        worker.call("nap")
    assert time.monotonic() - started < 2.0 and not worker.alive


def test_an_environment_whose_init_fails_leaves_no_worker(sim, basic, call, monkeypatch):
    """A failed INIT is reported to the invocation and the environment is gone
    (lambda-runtime-environment.html): so is its worker process."""
    isolation = Isolation()
    started = []
    start = isolation.start
    monkeypatch.setattr(isolation, "start", lambda **kw: started.append(start(**kw)) or started[-1])
    sim.create_function(FunctionName="broken", Handler="handlers.handler",
                        code_dir=FIXTURES / "broken_import")
    sim.map_handler("broken", code_dir=FIXTURES / "broken_import", isolation=isolation)
    response, body = call("broken", {})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ImportModuleError"
    assert started and not any(worker.alive for worker in started)


def test_writes_outside_the_scratch_folder_are_refused(tmp_path):
    target = Path(tempfile.gettempdir()) / f"lambdasim-isolation-test-{os.getpid()}"
    (tmp_path / "m.py").write_text(
        "import tempfile\n"
        "def write(path):\n    open(path, 'w').write('x')\n"
        "def scratch():\n    path = tempfile.gettempdir() + '/ok'\n"
        "    open(path, 'w').write('x')\n    return path\n")
    worker = Isolation().start(code_dir=tmp_path, environ={},
                               services=Services(now_us=lambda: 0, sleep=lambda s: None))
    worker.load("m")
    assert worker.call("scratch").startswith(str(worker.scratch))
    with pytest.raises(FunctionRaised, match="may write only under"):
        worker.call("write", [str(target)])
    assert not target.exists()
    worker.close()

