"""``python -m labgrader``: grade one submission, or a whole class in parallel.

    python -m labgrader class labs/00-x SUBMISSIONS --out OUT [--jobs N] [--time-limit S]
    python -m labgrader grade labs/00-x [--submission DIR] [--results-json FILE] [pytest args]

Each submission is graded by its own ``python -m pytest`` process in its own process group,
killed as a whole once the wall-clock limit is over (for a class, the process is forked from a
warm one, ``labgrader.grading_server``, instead of started afresh). The learner's code never runs in that
process (``labgrader.submission``: worker processes), and this one, which writes the results,
trusts only what the pytest process wrote to a private file, read after the pytest process and
everything it started are gone:

* the lab's tests are graded from a private copy, and the lab's own folder is checked after
  each submission: one whose code changed it scores 0, and the folder is put back;
* this process is a child subreaper (Linux): a process that a learner's code started in a new
  session is adopted by it and killed when its grading ends;
* the grading log is capped (``LOG_LIMIT``): output past it is counted, not kept.

The pytest command is hermetic (``-c /dev/null``, ``--confcutdir`` at the lab, ``-p
labgrader.plugin``): no ini file or conftest from the repository, from wherever it is started or
from the submission applies.

``class`` takes every sub-folder of SUBMISSIONS (except hidden ones) as one student, named by
the folder; it writes ``OUT/<student>/results.json`` (Gradescope's format), the pytest output
``OUT/<student>/grading.log`` and ``OUT/gradebook.csv`` (student,points,max_points,status with
status graded, timed out or crashed). Its gradings share a scratch folder for the class
(``--class-cache``: the ``class_cache`` fixture), removed when the class is graded.
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

from labgrader.grading_server import Forked, GradingServer, serve_gradings
from labgrader.lab import Lab, LabConfigError
from labgrader.results import failure_results, fmt, write_json

DEFAULT_TIME_LIMIT = 120.0
GRADE_TIME_LIMIT = 600.0  # one submission with `grade` (the class command computes its own)
STATUSES = ("graded", "timed out", "crashed", "tampered")
LOG_LIMIT = 1024 * 1024  # bytes of a grading's output kept


@dataclass(frozen=True)
class Outcome:
    """How grading one student's folder went."""

    student: str
    status: str  # one of STATUSES
    points: float
    max_points: float
    reason: str = ""
    flags: str = ""  # what the grader noticed, e.g. an attempt to open the reference solution


def pytest_command(
    lab: Lab, submission: Path | None, results_json: Path | None, *extra: str,
    origin: Path | None = None,
) -> list[str]:
    """The pytest command line grading ``submission`` (None: the lab's starter/); ``origin``
    is the lab folder that ``lab`` is a private copy of."""
    command = [
        sys.executable, "-m", "pytest", str(lab.tests_dir),
        # No ini file and no conftest above the lab: only the lab's own tests/ apply.
        "-c", os.devnull, "--rootdir", str(lab.path), "--confcutdir", str(lab.path),
        # Plugins are not auto-loaded (see child_env): just these two.
        "-p", "pytest_timeout", "-p", "labgrader.plugin", "-p", "no:cacheprovider",
    ]  # fmt: skip
    if submission is not None:
        command.append(f"--submission={submission}")  # one argument: never a path to pytest
    if results_json is not None:
        command.append(f"--results-json={results_json}")
    if origin is not None:
        command.append(f"--lab-origin={origin}")
    return [*command, *extra]


def child_env() -> dict[str, str]:
    """The environment for a grading process: no pytest options or plugins from outside."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    # Installed plugins (nbval, xdist, ...) stay out: they could change how tests run, and
    # importing them costs about a second per submission.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # parallel runs: no __pycache__ left in the lab
    return env


_running: set[subprocess.Popen[bytes] | Forked] = set()
_running_lock = threading.Lock()
_grading_server: GradingServer | None = None  # set while a class is graded


def run_limited(
    command: Sequence[str], cwd: Path, time_limit: float, output: IO[bytes] | int | None
) -> int | None:
    """Run ``command`` with a wall-clock limit; its exit code, or None if it was killed.
    Its output goes to ``output`` (a binary file, or None: this process's stdout), at most
    LOG_LIMIT bytes of it."""
    _become_subreaper()
    with _running_lock:  # registered at once: a sweep for orphans must never take it for one
        process: Any
        if _grading_server is not None:  # a class: forked from the warm server, same setup
            process = _grading_server.start(list(command), cwd, child_env())
        else:
            process = subprocess.Popen(
                command, cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so all it started can be killed
            )  # fmt: skip
        _running.add(process)
    discard = isinstance(output, int)  # subprocess.DEVNULL: read it all the same, keep nothing
    sink: Any = open(os.devnull, "wb") if discard else (output or sys.stdout.buffer)  # noqa: SIM115
    copier = threading.Thread(target=_copy_capped, args=(process.stdout, sink), daemon=True)
    copier.start()
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
        _kill_orphans()
        copier.join(timeout=5)
        if discard:
            sink.close()


def _copy_capped(source: IO[bytes], sink: Any) -> None:
    kept = cut = 0
    while chunk := source.read1(65536) if hasattr(source, "read1") else source.read(65536):
        room = LOG_LIMIT - kept
        if room > 0:
            sink.write(chunk[:room])
            sink.flush()
        kept += min(room, len(chunk)) if room > 0 else 0
        cut += max(0, len(chunk) - max(room, 0))
    if cut:
        sink.write(f"\n[labgrader: {cut} more bytes of output were cut]\n".encode())
        sink.flush()


def _become_subreaper() -> None:
    """Adopt the orphans of our children (prctl PR_SET_CHILD_SUBREAPER), so that a process a
    learner's code started in a new session can still be found and killed. Linux only."""
    global _subreaper
    if _subreaper is None:
        _subreaper = False
        if sys.platform.startswith("linux"):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            _subreaper = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER


_subreaper: bool | None = None


def _kill_orphans() -> None:
    """Kill the processes adopted by this one (not the gradings still running), and what they
    started: each one killed makes its children ours, so sweep until nothing is left."""
    if not _subreaper:
        return
    me = os.getpid()
    for _ in range(40):  # at most about 2 s
        with _running_lock:  # no grading starts meanwhile
            running = {p.pid for p in _running}
            if _grading_server is not None:  # a class's: not an orphan
                running.add(_grading_server.process.pid)
            adopted = [pid for pid, ppid in _processes() if ppid == me and pid not in running]
            for pid in adopted:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    os.waitpid(pid, 0)  # reap it: it is our child now
        if not adopted:
            return
        time.sleep(0.05)


def _kill_group(process: subprocess.Popen[bytes] | Forked) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)


def _processes() -> list[tuple[int, int]]:
    """(pid, parent pid) of every process we can see."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            found.append((int(stat.parent.name), int(stat.read_text().rsplit(")", 1)[1].split()[1])))
        except (OSError, IndexError, ValueError):
            continue
    return found


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


@dataclass
class Graded:
    """One pytest run over a submission: its results (None if it wrote none) and exit code."""

    data: dict[str, Any] | None
    code: int | None  # None: killed at the time limit
    tampered: bool


def grade_once(lab: Lab, submission: Path | None, time_limit: float, log: IO[bytes] | int | None,
               *extra: str) -> Graded:
    """Grade ``submission`` from a private copy of the lab; read its results once the pytest
    process and all it started are gone; put the lab's folder back if the run changed it."""
    before = _snapshot(lab.path)
    with tempfile.TemporaryDirectory(prefix="labgrader-") as tmp:
        private = Path(tmp)
        copy = private / "lab" / lab.path.name
        shutil.copytree(lab.path, copy, ignore=shutil.ignore_patterns("__pycache__"))
        results = private / "results.json"
        command = pytest_command(Lab.load(copy), submission, results,
                                 "--basetemp", str(private / "t"), *extra, origin=lab.path)
        code = run_limited(command, copy, time_limit, log)
        data = _read_results(results)
    tampered = _snapshot(lab.path) != before
    if tampered:
        _restore(lab.path, before)
    return Graded(data, code, tampered)


def grade_student(
    lab: Lab, folder: Path, out: Path, time_limit: float, max_points: float, *extra: str
) -> Outcome:
    """Grade one student's folder into ``out/<student>/`` (``extra``: more pytest arguments);
    never raises."""
    student = folder.name
    target = out / student
    results = target / "results.json"
    try:
        target.mkdir(parents=True, exist_ok=True)
        results.unlink(missing_ok=True)  # a stale file from an earlier run must not count
        with (target / "grading.log").open("wb") as log:
            graded = grade_once(lab, folder, time_limit, log, *extra)
        status, reason = _judge(graded, time_limit, target / "grading.log")
        if status == "graded":
            assert graded.data is not None
            write_json(results, graded.data)
            return Outcome(student, status, float(graded.data["score"]),
                           float(graded.data.get("max_score", max_points)), flags=_flags(graded.data))
    except Exception as exc:  # noqa: BLE001 - one student's trouble must not stop the class
        status, reason = "crashed", f"the grader failed on this submission: {exc!r}"
    with contextlib.suppress(Exception):  # the gradebook still records the student
        write_json(results, failure_results(max_points, reason))
    return Outcome(student, status, 0.0, max_points, reason)


def _judge(graded: Graded, time_limit: float, log: Path | None) -> tuple[str, str]:
    """The status of a grading, and the reason when it earns nothing."""
    if graded.tampered:
        return "tampered", ("the submission's code changed the lab's own files during grading "
                            "(they were put back): score 0")
    if graded.data is not None:
        # Written at the end of the session: every test ran, even if the process then hung
        # on exit or crashed.
        return "graded", ""
    if graded.code is None:
        return "timed out", (f"killed after {fmt(time_limit)} s: grading this submission took "
                             "too long (an infinite loop the per-test time limit could not stop?)")
    how = f"killed by signal {-graded.code}" if graded.code < 0 else f"exited with code {graded.code}"
    tail = _tail(log) if log is not None else ""
    return "crashed", f"the grading process {how} before writing results{': ' + tail if tail else ''}"


def _flags(data: dict[str, Any]) -> str:
    return "; ".join(line for line in str(data.get("output", "")).splitlines()
                     if line.startswith("FLAGGED:"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


def _restore(folder: Path, snapshot: dict[str, bytes]) -> None:
    for path in folder.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and \
                str(path.relative_to(folder)) not in snapshot:
            path.unlink(missing_ok=True)
    for name, data in snapshot.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def grade_class(
    lab: Lab, submissions: Path, out: Path, jobs: int, time_limit: float | None = None
) -> list[Outcome]:
    """Grade every sub-folder of ``submissions`` in parallel; write the gradebook."""
    students = sorted(
        (p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )
    # Imported here: it imports the simulator's package (boto3 and more, about half a second of
    # CPU), which `grade` (one submission, whose pytest process starts its own server) never uses.
    from lambdasim.isolation import share_fork_server

    global _grading_server
    out.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    # One server of each kind for the class, not one per submission: the workers' (learners'
    # code) and the gradings' (pytest, moto and botocore imported and warmed once).
    with share_fork_server() as workers, serve_gradings(lab.path) as gradings, \
            tempfile.TemporaryDirectory(prefix="labgrader-class-") as class_cache:
        with _running_lock:
            _running.add(workers)  # not an orphan
            _grading_server = gradings
        try:
            max_points, tests = collect(lab)
            if time_limit is None:
                time_limit = default_time_limit(lab, tests)
            print(f"{len(students)} submissions, {fmt(max_points)} points, "
                  f"{fmt(time_limit)} s at most for each", flush=True)
            outcomes = _grade_all(lab, students, out, jobs, time_limit, max_points,
                                  f"--class-cache={class_cache}")
        finally:
            with _running_lock:
                _grading_server = None
                _running.discard(workers)
    outcomes.sort(key=lambda o: o.student)
    with (out / "gradebook.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "points", "max_points", "status", "flags"])
        for o in outcomes:
            writer.writerow([o.student, fmt(o.points), fmt(o.max_points), o.status, o.flags])
    return outcomes


def _grade_all(lab: Lab, students: list[Path], out: Path, jobs: int, time_limit: float,
               max_points: float, *extra: str) -> list[Outcome]:
    """Grade the students, ``jobs`` at a time; Ctrl-C stops every grading at once."""
    outcomes: list[Outcome] = []
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = [pool.submit(grade_student, lab, student, out, time_limit, max_points, *extra)
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
    grade.add_argument("--time-limit", type=float, metavar="SECONDS",
                       help=f"wall-clock limit for the submission (default: {GRADE_TIME_LIMIT:g})")
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
    limit = time_limit if time_limit is not None else GRADE_TIME_LIMIT
    folder = submission.resolve() if submission else None
    graded = grade_once(lab, folder, limit, None, *extra)
    status, reason = _judge(graded, limit, None)
    if status != "graded":
        print(f"labgrader: {reason}", file=sys.stderr)
    if results is not None:
        if status == "graded" and graded.data is not None:
            write_json(results, graded.data)
        else:
            try:  # the lab's total, for the record
                max_points = collect(lab)[0]
            except LabConfigError:
                max_points = 0.0
            write_json(results, failure_results(max_points, reason))
    if status == "graded" and graded.code is not None:
        return graded.code
    return 1


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
