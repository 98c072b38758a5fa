"""What each module adds to `make test`, against its budget (BLUEPRINT "Speed": <= 30 s a module).

    .venv/bin/python reference/benchmarks/module_shares.py [--repeat N] [MODULE ...]
        (default: every module, once)

A module's share is everything `make test` runs because the module exists: its own tests, the
simulator's conformance tests of what it added to the simulator, its labs' self-check (each lab
graded as a class: reference, starter and every case) and nbval over its lesson and lab notebooks.
Each part runs as `make test` runs it (pytest-xdist on 2 workers); the script reports its wall
time and its CPU time (the pytest processes and everything they start). On a busy 2-core run of
the whole suite, where both workers are always occupied, what a module adds is about its CPU
time over 2, less what each pytest run costs before its first test (its workers' start and the
tests' conftest: measured on an empty selection of each kind of run; for the notebooks, each
worker's warm kernel server's warm-up too), which the whole suite pays once, not once a module:
that is the column to hold against the budget.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BUDGET_S = 30.0
CORES = 2


@dataclass(frozen=True)
class Module:
    tests: tuple[str, ...]  # test files and folders, relative to the repository
    labs: tuple[str, ...]  # lab folder names under labs/
    notebooks: str  # the lessons' folder under notebooks/


SIM = "tests/lambdasim/"
MODULES = {
    "0": Module(("tests/realities", "tests/capacity/test_model.py", "tests/capacity/test_agreement.py",
                 "tests/capacity/test_noisy_lab.py", SIM + "test_cold_start.py", SIM + "test_concurrency.py"),
                ("00-partial-batch-responses", "00b-noisy-neighbour"), "00-lambda-realities"),
    "1": Module(("tests/pipeline",), ("01-putevents-partial-failures",), "01-event-pipeline"),
    "2": Module(("tests/scaling", "tests/capacity/test_pipeline_agreement.py",
                 "tests/capacity/test_pipeline_model.py", "tests/capacity/test_slo_lab.py",
                 SIM + "test_kinesis_limits.py", SIM + "test_dynamodb_limits.py",
                 SIM + "test_sqs_fifo_limits.py", SIM + "test_throughput_limits.py"),
                ("02-meet-the-slo",), "02-scaling"),
    "3": Module(("tests/chaos", "tests/errors"), ("03-chaos-proof-processor",), "03-error-handling"),
    "4": Module(("tests/observability", SIM + "test_alarms.py", SIM + "test_logs_insights.py",
                 SIM + "test_service_metrics.py", SIM + "test_tracing.py", SIM + "test_json_logs.py",
                 SIM + "test_metric_recording.py"),
                ("04-alarms-that-page",), "04-observability"),
    "5": Module(("tests/hardening", SIM + "test_iam_enforcement.py", SIM + "test_deployments.py",
                 SIM + "test_recursion.py"), ("05-harden-the-stack",), "05-hardening"),
    "6": Module(("tests/location", SIM + "test_iot_rules.py", SIM + "test_location.py"),
                ("06-position-consumer",), "06-location"),
    "7": Module(("tests/analytics", SIM + "test_firehose.py", SIM + "test_athena.py"),
                ("07-analytics-lake",), "07-iot-analytics"),
    "8": Module(("tests/cdc", SIM + "test_pipes.py", SIM + "test_dynamodb_kinesis.py",
                 SIM + "test_stream_lineage.py"), ("08-customer-projection",), "08-cdc"),
}

PYTEST = [PYTHON, "-m", "pytest", "-c", "tests/pytest.ini", "--rootdir=.", "-q", "-p", "no:cacheprovider"]


def measure(command: list[str], *, ran_nothing: bool = False) -> tuple[float, float, bool]:
    """Wall and CPU seconds of `command` (its children included), and whether it passed (with
    `ran_nothing`: whether it selected no test, pytest's exit code 5)."""
    adopt_orphans()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONHASHSEED": "0", "AWS_DEFAULT_REGION": "us-east-1",
                               "MPLBACKEND": "Agg", "JUPYTER_PATH": str(ROOT / "tests")})
    wall = time.perf_counter() - start
    reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    passed = done.returncode == (5 if ran_nothing else 0)
    if not passed:
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
    return wall, cpu, passed


TESTS_RUN = PYTEST + ["-n", "2", "--dist", "loadgroup"]
NOTEBOOKS_RUN = PYTEST + ["--noconftest", "-n", "2", "--dist", "loadscope", "--nbval",
                          "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "--nbval-kernel-name", "course-warm"]
NOTHING = ["tests/test_display.py", "-k", "no_test_has_this_name"]


def adopt_orphans() -> None:
    """Become the subreaper of what the command starts (Linux): a process left running by a
    test worker that ended without waiting for it (a warm kernel server ends when its worker's
    lifeline closes) is then reaped here, and its CPU time counted, not lost to init."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap_orphans(patience_s: float = 30.0) -> None:
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.05)


def start_up_cpu() -> float:
    """CPU seconds a module's three pytest runs spend before their first test."""
    tests = measure(TESTS_RUN + NOTHING, ran_nothing=True)[1]
    notebooks = measure(NOTEBOOKS_RUN + NOTHING, ran_nothing=True)[1]
    # Each worker's kernel server warms up once, at its first notebook (labgrader.kernels).
    warm_up = "from labgrader import kernels; kernels.warm_up([kernels.Path('notebooks'), kernels.Path('labs')])"
    notebooks += CORES * measure([PYTHON, "-c", warm_up])[1]
    return 2 * tests + notebooks


def parts(module: Module) -> dict[str, list[str]]:
    # A lab's class grading is parametrised by its folder name; its own checks are named
    # test_lab<number>_... (test_lab03_reference_retries_are_current).
    selfcheck = " or ".join([*module.labs, *(f"lab{lab.split('-')[0]}_" for lab in module.labs)])
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks" / module.notebooks).glob("*.ipynb"))
    notebooks += [f"labs/{lab}/lab.ipynb" for lab in module.labs if (ROOT / "labs" / lab / "lab.ipynb").is_file()]
    return {
        "tests": TESTS_RUN + list(module.tests),
        "self-check": TESTS_RUN + ["tests/test_labs_selfcheck.py", "-k", selfcheck],
        "notebooks": NOTEBOOKS_RUN + notebooks,
    }


def main(names: list[str], repeat: int) -> int:
    failed = False
    start_up = min(start_up_cpu() for _ in range(repeat))
    print(f"Start-up of a module's three pytest runs: {start_up:.1f} s CPU (left out of the share)\n")
    rounds = f", least of {repeat} rounds (their range)" if repeat > 1 else ""
    print(f"| Module | Tests wall / CPU | Self-check wall / CPU | Notebooks wall / CPU | "
          f"(CPU - start-up) / {CORES}{rounds} (budget {BUDGET_S:.0f} s) |")
    print("|---|---|---|---|---|")
    for name in names or list(MODULES):
        cells, least_cpu, round_cpu = [], 0.0, [0.0] * repeat
        for part, command in parts(MODULES[name]).items():
            runs = [measure(command) for _ in range(repeat)]
            failed |= not all(passed for _, _, passed in runs)
            for i, (_, cpu, _) in enumerate(runs):
                round_cpu[i] += cpu
            wall, cpu, passed = min(runs, key=lambda run: run[1])
            least_cpu += cpu
            cells.append(f"{wall:.0f} / {cpu:.0f} s" + ("" if all(r[2] for r in runs) else f" ({part} FAILED)"))
        share = (least_cpu - start_up) / CORES
        spread = ""
        if repeat > 1:
            shares = [(cpu - start_up) / CORES for cpu in round_cpu]
            spread = f" ({min(shares):.0f}-{max(shares):.0f})"
        mark = "" if share <= BUDGET_S else " **over**"
        print(f"| {name} | {' | '.join(cells)} | {share:.0f} s{spread}{mark} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    repeat = 1
    if arguments[:1] == ["--repeat"]:
        repeat, arguments = int(arguments[1]), arguments[2:]
    sys.exit(main(arguments, repeat))
