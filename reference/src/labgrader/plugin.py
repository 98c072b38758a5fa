"""pytest plugin that grades a lab: points per test, learner feedback, Gradescope output.

Loaded by ``labs/conftest.py`` (``pytest_plugins = ["labgrader.plugin"]``) or with
``-p labgrader.plugin``. It only acts on tests inside a lab folder (one holding a lab.toml):

* every such test must carry ``@pytest.mark.points(n)``; one without is a collection error;
* each gets pytest-timeout's ``timeout`` marker (signal method, the test function only) with
  the lab's ``timeout_seconds``, unless it sets its own;
* the ``submission`` fixture copies the lab's ``student_files`` from ``--submission DIR``
  (default: the lab's ``starter/``) into a fresh folder; ``submission.load("handler")``
  imports a file from it in a worker process (``lambdasim.isolation``): the learner's code
  never runs in this process, cannot open the lab's reference solution, and an import that
  fails is tried once per run;
* the ``class_cache`` fixture is the folder every grading of one class shares (``--class-cache
  DIR``, which ``labgrader class`` gives; None when one submission is graded), for what a test
  computes from its inputs alone and keys by their content (lab 04: a run of a processor file
  that several submissions hand in unchanged); the learner's code cannot open it;
* a pytest.ini or conftest.py of the submission's folder that pytest picked up (the folder
  given as ``--submission DIR`` looks like a test path to pytest) voids the run: score 0;
* at the end it prints a score table, and with ``--results-json FILE`` writes Gradescope's
  results.json, also when collection failed or pytest stopped early.

A passed test earns its points; anything else (failed, error, skipped, timed out) earns 0.
The feedback for a test is its failure's message, rewritten for learners where pytest's
wording would puzzle them (timeouts, sys.exit, errors raised in their own files).
"""

from __future__ import annotations

import inspect
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from labgrader.lab import Lab, LabConfigError, find_lab
from labgrader.results import (
    GradedTest,
    failure_results,
    fmt,
    gradescope,
    short,
    table,
    write_json,
)
from labgrader.submission import (
    Submission,
    SubmissionCrashed,
    SubmissionError,
    SubmissionRaised,
    SubmissionTimedOut,
    copy_student_files,
)
from lambdasim.isolation import Isolation, start_fork_server

# Must match the message pytest-timeout fails a test with: "Timeout (>10.0s) from pytest-timeout."
_TIMEOUT_MESSAGE = re.compile(r"Timeout \(>([0-9.]+)s\) from pytest-timeout")
_REPORT_ATTR = "labgrader"  # attribute carrying a test's grading data on its reports


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labgrader", "lab grading")
    group.addoption(
        "--submission",
        metavar="DIR",
        default=None,
        help="grade the lab's student files found in DIR (default: the lab's starter/ folder); "
        "only those files are copied, nothing else in DIR is used",
    )
    group.addoption(
        "--lab-origin",
        metavar="DIR",
        default=None,
        help="the lab folder the graded tests were copied from (the class command grades a "
        "private copy); its lab.toml names the reference solution that submissions may not open",
    )
    group.addoption(
        "--class-cache",
        metavar="DIR",
        default=None,
        help="a folder every grading of one class shares (the class command gives one): the "
        "class_cache fixture",
    )
    group.addoption(
        "--results-json",
        metavar="FILE",
        default=None,
        help="write Gradescope's results.json to FILE (always, even when grading fails)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "points(n): the points a graded lab test is worth (required in labs)"
    )
    grader = Grader(config)
    config.stash[_GRADER] = grader
    config.pluginmanager.register(grader, "labgrader-grader")


@pytest.fixture
def class_cache(request: pytest.FixtureRequest) -> Path | None:
    """The folder every grading of this class shares (``labgrader class``), None when one
    submission is graded. Keep there only what a test computes from inputs alone, named by
    their content: any grading of the class may read it."""
    found: Path | None = request.config.stash[_GRADER].class_cache
    return found


@pytest.fixture
def submission(request: pytest.FixtureRequest, tmp_path: Path) -> Submission:
    """The learner's files under test.

    ``submission.path`` is a fresh copy of the lab's ``student_files`` (from ``--submission``
    or the lab's ``starter/``); ``submission.load("handler")`` imports ``handler.py`` from it
    as a new module on every call, raising SubmissionError if that fails.
    """
    lab_dir = find_lab(request.path)
    if lab_dir is None:
        pytest.fail(f"the submission fixture is only for tests inside a lab folder "
                    f"(none of the folders above {request.path} has a lab.toml)", pytrace=False)
    lab = Lab.load(lab_dir)
    grader = request.config.stash[_GRADER]
    source = grader.submission_dir or lab.starter_dir
    copied = copy_student_files(lab.student_files, source, tmp_path / "submission",
                                grader.isolation(lab), grader.failed_imports)
    request.addfinalizer(copied.close)
    return copied


class Grader:
    """The plugin's state for one pytest run: the graded tests and notes for the report."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        submission = config.getoption("submission")
        results_json = config.getoption("results_json")
        self.submission_dir = Path(submission).resolve() if submission else None
        self.results_json = Path(results_json).resolve() if results_json else None
        origin = config.getoption("lab_origin")
        self.lab_origin = Path(origin).resolve() if origin else None
        class_cache = config.getoption("class_cache")
        self.class_cache = Path(class_cache).resolve() if class_cache else None
        self.results: dict[str, GradedTest] = {}
        self.notes: list[str] = []  # about the whole run, e.g. collection errors
        self.failed_imports: dict[str, str] = {}  # imports that failed, tried once per run
        self._isolations: dict[Path, Isolation] = {}
        self.started = time.monotonic()
        self.written = False
        self.void = False  # the run cannot be trusted: every test earns 0
        # With pytest-xdist, workers run tests and the controller reports.
        self.is_worker = hasattr(config, "workerinput")

    def isolation(self, lab: Lab) -> Isolation:
        """The run's worker settings for ``lab``: its reference solution's files protected, and
        code that loops past the real-time limit three times timing out at once afterwards."""
        found = self._isolations.get(lab.path)
        if found is None:
            origin = Lab.load(self.lab_origin) if self.lab_origin is not None else lab
            solution = origin.solution_dir
            protected = [solution / f for f in lab.student_files] if solution is not None else []
            if self.class_cache is not None:  # other learners' runs
                protected.append(self.class_cache)
            # A loop must be caught by these limits before the test's own time limit ends it:
            # then a failed import is remembered, and a looping call is killed.
            # A call that keeps the grader busy (a loop of sleeps) is stopped inside the test's
            # time limit too: pytest-timeout's alarm, which can land anywhere (even in the
            # middle of pytest's own reporting), stays the last resort.
            found = self._isolations[lab.path] = Isolation(
                protected=tuple(protected), runaway_after=3,
                real_time_limit_s=min(lab.real_time_limit_seconds, lab.timeout_seconds / 2),
                init_time_limit_s=min(10.0, lab.timeout_seconds / 2),
                wall_time_limit_s=0.6 * lab.timeout_seconds)
        return found

    # -- collection ---------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.submission_dir is not None and not self.submission_dir.is_dir():
            message = f"--submission {self.submission_dir}: no such folder"
            self.notes.append(message)
            raise pytest.UsageError(message)
        if not self.is_worker and self.config.getoption("collectonly") is False:
            start_fork_server()  # outside every test's time limit
        hijack = self._configured_from_submission()
        if hijack:
            self.notes.append(f"ERROR: {hijack} from the submission's folder was used by pytest: "
                              "the grade is void. Grade with `python -m labgrader grade`.")
            self.void = True

    def _configured_from_submission(self) -> str | None:
        """A pytest.ini or conftest.py of the submission's folder that pytest loaded."""
        if self.submission_dir is None:
            return None
        candidates = [self.config.inipath] if self.config.inipath else []
        candidates += [Path(getattr(m, "__file__", "") or "")
                       for m in self.config.pluginmanager.get_plugins()
                       if getattr(m, "__file__", None)]
        for path in candidates:
            if path is not None and path.resolve().is_relative_to(self.submission_dir):
                return path.name
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        # Turn a lab test without a points marker into its module's collection error, so
        # the lab's author sees it at once and nothing is graded with a wrong total.
        report = yield
        if report.passed:
            items = [x for x in report.result if isinstance(x, pytest.Item)]
            problems = [p for p in map(_problem, items) if p]
            if problems:
                return pytest.CollectReport(collector.nodeid, "failed", "\n".join(problems), [])
        return report

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            where = report.nodeid or "the test session"
            self.notes.append(f"ERROR: the lab's tests could not be collected ({where}); "
                              f"the grade is incomplete:\n{report.longreprtext}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # After deselection (-k, -m): these are the tests that will run.
        manager = self.config.pluginmanager
        timeouts = manager.hasplugin("timeout") or manager.hasplugin("pytest_timeout")
        for item in session.items:
            lab = _lab_of(item)
            marker = item.get_closest_marker("points")
            if lab is None or marker is None:
                continue
            if timeouts and item.get_closest_marker("timeout") is None:
                # The test function only: an alarm during set-up or pytest's own reporting of
                # a failure breaks pytest itself (an internal error, no score); set-up is
                # bounded by the workers' import limit.
                item.add_marker(pytest.mark.timeout(lab.timeout_seconds, method="signal", func_only=True))
            self.results.setdefault(item.nodeid, _graded_test(item, lab, marker))

    # -- running ------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        # Runs where the test runs (an xdist worker too): attach what the report needs.
        report = yield
        try:
            lab, marker = _lab_of(item), item.get_closest_marker("points")
            if lab is not None and marker is not None:
                info = vars(_graded_test(item, lab, marker)).copy()
                if not report.passed:
                    info["feedback"] = _feedback(item, call, report)
                setattr(report, _REPORT_ATTR, info)
        except Exception as exc:  # noqa: BLE001 - never lose a report over its feedback
            setattr(report, _REPORT_ATTR, {"feedback": f"(grader error: {exc!r})"})
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        info = getattr(report, _REPORT_ATTR, None)
        if not isinstance(info, dict):
            return
        graded = self.results.get(report.nodeid)
        if graded is None:
            # Not collected here (an xdist controller): the report says what the test is.
            fields = set(GradedTest.__dataclass_fields__) - {"status", "feedback"}
            known = {k: v for k, v in info.items() if k in fields}
            graded = GradedTest(**{"nodeid": report.nodeid, "name": report.nodeid,
                                   "description": "", "max_points": 0.0, "lab": "", **known})
            self.results[report.nodeid] = graded
        if report.passed:
            if report.when == "call" and graded.status == "not run":
                graded.status = "passed"
        elif graded.status in ("not run", "passed"):
            # The first failure is the one to explain (setup before call before teardown).
            graded.status = "skipped" if report.skipped else "failed"
            graded.feedback = str(info.get("feedback") or report.outcome)

    # -- reporting ----------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        refused = sorted({path for iso in self._isolations.values() for path in iso.refused})
        shared = [p for p in refused if self.class_cache is not None and Path(p).is_relative_to(self.class_cache)]
        solution = [p for p in refused if p not in shared]
        if solution:
            self.notes.append("FLAGGED: the submission tried to open the lab's reference solution "
                              f"({', '.join(solution)}); it was refused.")
        if shared:
            self.notes.append("FLAGGED: the submission tried to open what other submissions' gradings "
                              f"kept in the class's shared folder ({', '.join(shared)}); it was refused.")
        notes = {
            pytest.ExitCode.INTERRUPTED: "The grading was interrupted: tests not run earn 0.",
            pytest.ExitCode.INTERNAL_ERROR: "pytest hit an internal error: tests not run earn 0.",
            pytest.ExitCode.NO_TESTS_COLLECTED: "No graded tests were collected.",
        }
        if exitstatus in notes and not any(n.startswith("ERROR") for n in self.notes):
            self.notes.append(notes[pytest.ExitCode(exitstatus)])
        self._write_results()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not (self.results or self.notes):
            return
        try:
            terminalreporter.section("lab grade", sep="=")
            width = self.config.get_terminal_writer().fullwidth
            for line in table(list(self.results.values()), self.notes, width):
                terminalreporter.write_line(line, red=line.lstrip().startswith("->"),
                                            bold=line.startswith(("Score:", "Lab:")))
        except Exception as exc:  # noqa: BLE001 - the results.json matters more
            terminalreporter.write_line(f"labgrader: could not print the score table: {exc!r}")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # Reached even when the session never started or ended abnormally.
        if not self.written and not self.notes:
            self.notes.append("The grading stopped before the tests ran.")
        self._write_results()

    def _write_results(self) -> None:
        if self.results_json is None or self.is_worker or self.written:
            return
        self.written = True
        if self.void:
            for graded in self.results.values():
                graded.status, graded.feedback = "failed", "the grade is void (see above)"
        try:
            data = gradescope(list(self.results.values()), self.notes,
                              time.monotonic() - self.started)
        except Exception as exc:  # noqa: BLE001 - still leave a results.json behind
            data = failure_results(0, f"The grader could not build the results: {exc!r}")
        try:
            write_json(self.results_json, data)
        except Exception as exc:  # noqa: BLE001
            print(f"labgrader: could not write {self.results_json}: {exc!r}", file=sys.stderr)


_GRADER = pytest.StashKey[Grader]()


def _lab_of(item: pytest.Item) -> Lab | None:
    lab_dir = find_lab(item.path)
    return Lab.load(lab_dir) if lab_dir is not None else None


def _problem(item: pytest.Item) -> str | None:
    """What is wrong with a lab test for grading, or None (also for tests outside labs)."""
    try:
        lab = _lab_of(item)
    except LabConfigError as exc:
        return f"{item.nodeid}: {exc}"
    if lab is None:
        return None
    marker = item.get_closest_marker("points")
    if marker is None:
        return (f"{item.nodeid}: every graded lab test needs @pytest.mark.points(n), "
                "the number of points it is worth")
    value = marker.args[0] if len(marker.args) == 1 and not marker.kwargs else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return (f"{item.nodeid}: @pytest.mark.points takes one number >= 0, "
                f"found points(*{marker.args!r}, **{marker.kwargs!r})")
    return None


def _graded_test(item: pytest.Item, lab: Lab, marker: pytest.Mark) -> GradedTest:
    function = getattr(item, "obj", None)  # None for non-Python items
    doc = (inspect.getdoc(function) if function is not None else None) or ""
    description = " ".join(doc.strip().split("\n\n")[0].split())  # 1st paragraph, one line
    name = item.nodeid.split("::", 1)[-1]
    return GradedTest(item.nodeid, name, description, float(marker.args[0]), lab.title)


def _feedback(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> str:
    """The learner-facing explanation of a test that did not pass."""
    if report.skipped:
        reason = getattr(report, "wasxfail", None)
        if reason is not None:
            return f"expected to fail: {reason}".rstrip(": ")
        longrepr = report.longrepr
        text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        return f"skipped: {text.removeprefix('Skipped: ')}"
    excinfo = call.excinfo
    if excinfo is None:  # e.g. a strict xfail that passed
        return short(report.longreprtext, 500) or "failed"
    exc = excinfo.value
    text = _explain(exc)
    # Messages meant for the learner (often raised by a fixture that loads their code) stand
    # alone; other errors outside the test's body are the test's own trouble: say where.
    learner = (SubmissionError, SubmissionRaised, SubmissionTimedOut, SubmissionCrashed,
               AssertionError, SystemExit, pytest.fail.Exception)
    if isinstance(exc, learner):
        return text
    if call.when == "setup":
        return f"error while setting up the test: {text}"
    if call.when == "teardown":
        return f"error while cleaning up after the test: {text}"
    return text


def _explain(exc: BaseException) -> str:
    if isinstance(exc, SubmissionError | SubmissionTimedOut | SubmissionCrashed):
        return str(exc)
    if isinstance(exc, pytest.fail.Exception):
        timeout = _TIMEOUT_MESSAGE.search(str(exc))
        if timeout:
            return f"timed out after {fmt(float(timeout[1]))} s (infinite loop?)"
        return exc.msg or "failed"
    if isinstance(exc, SystemExit):
        return (f"the code called sys.exit({exc.code!r}): a Lambda handler must return "
                "a result or raise an exception, never exit the process")
    if isinstance(exc, AssertionError):
        return str(exc) or "assertion failed"  # the test's own assertion: its message
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
