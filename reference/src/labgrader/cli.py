"""``python -m labgrader``: grade one submission, or a whole class in parallel.

    python -m labgrader class labs/00-x SUBMISSIONS --out OUT [--jobs N] [--time-limit S]
    python -m labgrader grade labs/00-x [--submission DIR] [--results-json FILE] [pytest args]

Each submission is graded by its own ``python -m pytest`` process in its own process group,
killed as a whole once the wall-clock limit is over: a learner's code can loop with the
per-test alarm ignored, or kill its interpreter, and the class run still finishes. The pytest
command is hermetic (``-c /dev/null``, ``--confcutdir`` at the lab, ``-p labgrader.plugin``):
no ini file or conftest from the repository or from wherever it is started applies.

``class`` takes every sub-folder of SUBMISSIONS (except hidden ones) as one student, named by
the folder; it writes ``OUT/<student>/results.json`` (Gradescope's format), the pytest output
``OUT/<student>/grading.log`` and ``OUT/gradebook.csv`` (student,points,max_points,status with
status graded, timed out or crashed).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from labgrader.lab import Lab, LabConfigError
from labgrader.results import failure_results, fmt, write_json

DEFAULT_TIME_LIMIT = 120.0
STATUSES = ("graded", "timed out", "crashed")


@dataclass(frozen=True)
class Outcome:
    """How grading one student's folder went."""

    student: str
    status: str  # one of STATUSES
    points: float
    max_points: float
    reason: str = ""


def pytest_command(
    lab: Lab, submission: Path | None, results_json: Path | None, *extra: str
) -> list[str]:
    """The pytest command line grading ``submission`` (None: the lab's starter/)."""
    command = [
        sys.executable, "-m", "pytest", str(lab.tests_dir),
        # No ini file and no conftest above the lab: only the lab's own tests/ apply.
        "-c", os.devnull, "--rootdir", str(lab.path), "--confcutdir", str(lab.path),
        # Plugins are not auto-loaded (see child_env): just these two.
        "-p", "pytest_timeout", "-p", "labgrader.plugin", "-p", "no:cacheprovider",
    ]  # fmt: skip
    if submission is not None:
        command += ["--submission", str(submission)]
    if results_json is not None:
        command += ["--results-json", str(results_json)]
    return [*command, *extra]


def child_env() -> dict[str, str]:
    """The environment for a grading process: no pytest options or plugins from outside."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    # Installed plugins (nbval, xdist, ...) stay out: they could change how tests run, and
    # importing them costs about a second per submission.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # parallel runs: no __pycache__ left in the lab
    return env


_running: set[subprocess.Popen[bytes]] = set()
_running_lock = threading.Lock()


def run_limited(
    command: Sequence[str], cwd: Path, time_limit: float, output: IO[bytes] | int | None
) -> int | None:
    """Run ``command`` with a wall-clock limit; its exit code, or None if it was killed."""
    process = subprocess.Popen(
        command, cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL, stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,  # its own process group, so all it started can be killed
    )  # fmt: skip
    with _running_lock:
        _running.add(process)
    try:
        return process.wait(timeout=time_limit)
    except subprocess.TimeoutExpired:
        return None
    finally:
        # Also after a normal exit: nothing a learner's code started may outlive grading.
        _kill_group(process)
        process.wait()
        with _running_lock:
            _running.discard(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)


def collect(lab: Lab, time_limit: float = DEFAULT_TIME_LIMIT) -> tuple[float, int]:
    """The lab's total points and number of tests, from collecting them with the plugin."""
    with tempfile.TemporaryDirectory(prefix="labgrader-") as tmp:
        results = Path(tmp) / "results.json"
        command = pytest_command(lab, None, results, "--collect-only", "-q")
        code = run_limited(command, lab.path, time_limit, subprocess.DEVNULL)
        data = _read_results(results)
    if code != 0 or data is None:
        raise LabConfigError(
            f"the tests of {lab.path} could not be collected (pytest exit code {code}); "
            f"run `python -m labgrader grade {lab.path}` to see why"
        )
    return float(data.get("max_score", 0)), len(data.get("tests", []))


def default_time_limit(lab: Lab, tests: int) -> float:
    """DEFAULT_TIME_LIMIT, or more if every test may use up its own time limit."""
    return max(DEFAULT_TIME_LIMIT, tests * lab.timeout_seconds + 30)


def grade_student(
    lab: Lab, folder: Path, out: Path, time_limit: float, max_points: float
) -> Outcome:
    """Grade one student's folder into ``out/<student>/``; never raises."""
    student = folder.name
    target = out / student
    results = target / "results.json"
    try:
        target.mkdir(parents=True, exist_ok=True)
        results.unlink(missing_ok=True)  # a stale file from an earlier run must not count
        log_path = target / "grading.log"
        basetemp = Path(tempfile.mkdtemp(prefix="labgrader-"))
        try:
            with log_path.open("wb") as log:
                command = pytest_command(lab, folder, results, "--basetemp", str(basetemp / "t"))
                code = run_limited(command, lab.path, time_limit, log)
        finally:
            shutil.rmtree(basetemp, ignore_errors=True)
        data = _read_results(results)
        if data is not None:
            # Written at the end of the session: every test ran, even if the process then
            # hung on exit or crashed.
            return Outcome(student, "graded", float(data["score"]),
                           float(data.get("max_score", max_points)))
        if code is None:
            status = "timed out"
            reason = (f"killed after {fmt(time_limit)} s: grading this submission took too long "
                      "(an infinite loop the per-test time limit could not stop?)")
        else:
            status = "crashed"
            how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            reason = f"process {how} before writing results: {_tail(log_path)}"
    except Exception as exc:  # noqa: BLE001 - one student's trouble must not stop the class
        status, reason = "crashed", f"the grader failed on this submission: {exc!r}"
    with contextlib.suppress(Exception):  # the gradebook still records the student
        write_json(results, failure_results(max_points, reason))
    return Outcome(student, status, 0.0, max_points, reason)


def grade_class(
    lab: Lab, submissions: Path, out: Path, jobs: int, time_limit: float | None = None
) -> list[Outcome]:
    """Grade every sub-folder of ``submissions`` in parallel; write the gradebook."""
    students = sorted(
        (p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    max_points, tests = collect(lab)
    if time_limit is None:
        time_limit = default_time_limit(lab, tests)
    print(f"{len(students)} submissions, {fmt(max_points)} points, "
          f"{fmt(time_limit)} s at most for each", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(grade_student, lab, student, out, time_limit, max_points)
                   for student in students]
        for future in as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            print(f"  {outcome.student}: {fmt(outcome.points)} / {fmt(outcome.max_points)} "
                  f"({outcome.status})", flush=True)
    except BaseException:  # Ctrl-C above all: stop every grading process now
        pool.shutdown(wait=False, cancel_futures=True)
        with _running_lock:
            for process in _running:
                _kill_group(process)
        raise
    pool.shutdown()
    outcomes.sort(key=lambda o: o.student)
    with (out / "gradebook.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "points", "max_points", "status"])
        for o in outcomes:
            writer.writerow([o.student, fmt(o.points), fmt(o.max_points), o.status])
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labgrader", description="Grade one submission of a lab, or a whole class."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    klass = commands.add_parser("class", help="grade every student's folder of a class")
    klass.add_argument("lab", type=Path, help="the lab folder (holding lab.toml)")
    klass.add_argument("submissions", type=Path, help="one sub-folder per student")
    klass.add_argument("--out", type=Path, required=True, help="where results go")
    klass.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="submissions graded at once (default: the number of CPUs)")
    limit_help = ("wall-clock limit for one whole submission (default: the larger of "
                  f"{DEFAULT_TIME_LIMIT:g} and 30 + the number of tests x timeout_seconds)")
    klass.add_argument("--time-limit", type=float, metavar="SECONDS", help=limit_help)
    grade = commands.add_parser(
        "grade", help="grade one submission (other arguments go to pytest, e.g. -k or -v)")
    grade.add_argument("lab", type=Path, help="the lab folder (holding lab.toml)")
    grade.add_argument("--submission", type=Path, help="default: the lab's starter/ folder")
    grade.add_argument("--results-json", type=Path, help="write Gradescope's results.json here")
    grade.add_argument("--time-limit", type=float, metavar="SECONDS", help=limit_help)
    args, extra = parser.parse_known_args(argv)
    if args.command == "class" and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    try:
        lab = Lab.load(args.lab)
        if args.command == "class":
            if not args.submissions.is_dir():
                parser.error(f"{args.submissions} is not a folder")
            return _class(lab, args.submissions.resolve(), args.out.resolve(), args.jobs,
                          args.time_limit)
        return _grade(lab, args.submission, args.results_json, args.time_limit, extra)
    except LabConfigError as exc:
        print(f"labgrader: {exc}", file=sys.stderr)
        return 2


def _class(lab: Lab, submissions: Path, out: Path, jobs: int, time_limit: float | None) -> int:
    print(f"Grading {lab.title} ({lab.path.name}): submissions in {submissions}", flush=True)
    started = time.monotonic()
    outcomes = grade_class(lab, submissions, out, jobs, time_limit)
    counts = ", ".join(f"{sum(o.status == s for o in outcomes)} {s}" for s in STATUSES)
    print(f"{len(outcomes)} submissions in {time.monotonic() - started:.1f} s: {counts}.")
    print(f"Gradebook: {out / 'gradebook.csv'}")
    return 0


def _grade(
    lab: Lab, submission: Path | None, results_json: Path | None, time_limit: float | None,
    extra: Sequence[str],
) -> int:
    results = results_json.resolve() if results_json else None
    if results is not None:
        results.unlink(missing_ok=True)
    try:
        collected: tuple[float, int] = collect(lab)
    except LabConfigError:  # the run below shows pytest's collection errors
        collected = (0.0, 0)
    if time_limit is None:
        time_limit = default_time_limit(lab, collected[1])
    folder = submission.resolve() if submission else None
    code = run_limited(pytest_command(lab, folder, results, *extra), lab.path, time_limit, None)
    if code is None:
        print(f"labgrader: killed after {fmt(time_limit)} s", file=sys.stderr)
    if results is not None and _read_results(results) is None:
        reason = (f"killed after {fmt(time_limit)} s" if code is None
                  else f"process exited with code {code} before writing results")
        write_json(results, failure_results(collected[0], reason))
    return 1 if code is None else code


def _read_results(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("score"), int | float):
        return data
    return None


def _tail(log: Path, lines: int = 15, chars: int = 1500) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no output)"
    tail = "\n".join(text.strip().splitlines()[-lines:])[-chars:]
    return tail or "(no output)"
