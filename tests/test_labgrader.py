"""Tests of the lab grader (reference/src/labgrader).

The plugin is exercised the way it is used: pytest subprocesses grading the tiny fixture lab
``tests/fixtures/labgrader/mini`` against the submissions in ``.../submissions/`` (one folder
per kind of broken code). ``Submission.load`` and ``lab.toml`` parsing are tested in-process.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from labgrader import Lab, LabConfigError, SubmissionError, grading_server
from labgrader.cli import LOG_LIMIT, child_env, grade_class, pytest_command
from labgrader.grading_server import serve_gradings
from labgrader.submission import SubmissionRaised, copy_student_files
from lambdasim.isolation import Isolation

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "labgrader"
MINI = FIXTURES / "mini"
SUBMISSIONS = FIXTURES / "submissions"
CLASS_TIME_LIMIT = 8  # seconds for one whole submission in the class run


def lab_files(lab: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lab)): p.read_bytes() for p in sorted(lab.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


MINI_FILES = lab_files(MINI)


def grade(
    tmp_path: Path, lab_dir: Path, submission: Path | None = None, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Grade ``submission`` (None: the starter) in a pytest subprocess; output and results."""
    results = tmp_path / "results.json"
    command = pytest_command(Lab.load(lab_dir), submission, results, *extra)
    env = {**child_env(), "COLUMNS": "100"}  # the score table's width
    process = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=60)
    assert results.is_file(), f"no results.json written:\n{process.stdout}\n{process.stderr}"
    return process, json.loads(results.read_text())


def outputs(results: dict[str, Any]) -> str:
    return "\n".join([results["output"], *(t["output"] for t in results["tests"])])


# -- the plugin, in subprocesses -----------------------------------------------------------


def test_solution_earns_full_marks(tmp_path: Path) -> None:
    process, results = grade(tmp_path, MINI, Lab.load(MINI).solution_dir)
    assert process.returncode == 0, process.stdout
    assert results["score"] == results["max_score"] == 4
    assert [t["status"] for t in results["tests"]] == ["passed"] * 3
    assert results["visibility"] == "visible"
    fields = {"name", "score", "max_score", "status", "output", "visibility"}
    assert fields <= set(results["tests"][0])


def test_starter_is_graded_by_default_with_a_score_table(tmp_path: Path) -> None:
    process, results = grade(tmp_path, MINI)
    assert (results["score"], results["max_score"]) == (2, 4)
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["max_score"] == 2 and failed[0]["score"] == 0
    assert failed[0]["name"].startswith("test_reports_only_failed_messages: Only the messages")
    assert failed[0]["output"].startswith("only m2 failed, but the handler reported []")
    table = process.stdout.split("lab grade")[-1]
    assert "Lab: Mini lab" in table
    assert "  0/2  test_reports_only_failed_messages\n" in table
    assert "\n         Only the messages that failed are reported.\n" in table
    assert "\n         -> only m2 failed, but the handler reported [] ...\n" in table
    assert "Score: 2 / 4" in table


def test_test_without_points_is_a_collection_error(tmp_path: Path) -> None:
    process, results = grade(tmp_path, FIXTURES / "unmarked")
    assert process.returncode != 0
    message = "test_forgot_points: every graded lab test needs @pytest.mark.points(n)"
    assert message in process.stdout
    assert results["score"] == 0
    assert "could not be collected" in results["output"] and message in results["output"]


def test_missing_submission_folder_still_writes_results(tmp_path: Path) -> None:
    process, results = grade(tmp_path, MINI, tmp_path / "nowhere")
    assert process.returncode == pytest.ExitCode.USAGE_ERROR
    assert results["score"] == 0 and "no such folder" in results["output"]


def test_grade_command_stops_a_grading_at_its_time_limit(tmp_path: Path) -> None:
    """The whole-submission limit is the backstop: a grading still running then is killed
    (here a correct one, given too little time) and earns 0 with the reason."""
    results = tmp_path / "results.json"
    command = [sys.executable, "-m", "labgrader", "grade", str(MINI), "--time-limit", "0.3",
               "--submission", str(SUBMISSIONS / "good"), "--results-json", str(results)]
    process = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert process.returncode != 0
    data = json.loads(results.read_text())
    assert (data["score"], data["max_score"]) == (0, 4)
    assert data["output"].startswith("killed after 0.3 s")


# -- the class command ---------------------------------------------------------------------


def test_a_class_is_graded_by_fresh_processes_when_the_server_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def cannot_start(self: object, lab: Path) -> None:
        raise RuntimeError("the grading server did not start")

    monkeypatch.setattr(grading_server.GradingServer, "__init__", cannot_start)
    students = tmp_path / "students"
    shutil.copytree(SUBMISSIONS / "good", students / "good")
    (outcome,) = grade_class(Lab.load(MINI), students, tmp_path / "out", jobs=1)
    assert (outcome.status, outcome.points) == ("graded", 4)
    assert "no warm grading server" in capsys.readouterr().err


def test_a_grading_forked_by_the_server_is_graded_as_a_fresh_one(tmp_path: Path) -> None:
    """The class command's gradings are forked from a warm server: the same results as a fresh
    pytest process, and a server that died is started again for the next grading."""
    _, fresh = grade(tmp_path, MINI, SUBMISSIONS / "good")
    with serve_gradings(MINI) as server:
        assert server is not None
        for attempt in ("first", "after the server was killed"):
            results = tmp_path / attempt / "results.json"
            results.parent.mkdir()
            command = pytest_command(Lab.load(MINI), SUBMISSIONS / "good", results)
            forked = server.start(command, tmp_path / attempt, child_env())
            output = forked.stdout.read().decode()
            assert forked.wait(timeout=60) == 0, output
            data = json.loads(results.read_text())
            assert (data["score"], [t["status"] for t in data["tests"]]) == \
                (fresh["score"], [t["status"] for t in fresh["tests"]])
            server.process.kill()
            server.process.wait()



# The tests that read the class run stay on one xdist worker (`--dist loadgroup`, Makefile), so
# that the class is graded once.
CLASS_RUN = pytest.mark.xdist_group("class_run")


@pytest.fixture(scope="module")
def class_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Grade every fixture submission at once (from an unrelated working folder)."""
    out = tmp_path_factory.mktemp("class") / "out"
    command = [sys.executable, "-m", "labgrader", "class", str(MINI), str(SUBMISSIONS),
               "--out", str(out), "--jobs", "6", "--time-limit", str(CLASS_TIME_LIMIT)]
    process = subprocess.run(command, cwd=out.parent, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stdout + process.stderr
    return process.stdout, out


STARTER_LOGIC = "only m2 failed, but the handler reported []"
EXPECTED = {  # student: (points, status, text expected in the results' outputs)
    "exits_at_import": (0, "graded", "handler.py called sys.exit(1) while being imported"),
    "exits_in_handler": (0, "graded", "the code called sys.exit(0)"),
    "good": (4, "graded", "Score: 4 / 4"),
    # Loops at import with the per-test alarm ignored: the worker's import limit stops it, and
    # every later test is told the same reason at once.
    "ignores_alarm": (0, "graded", "importing handler.py did not finish within 1 s"),
    "infinite_loop": (0, "graded", "(an endless loop?)"),
    "kills_itself": (0, "graded", "the worker process ended in the middle of a call"),
    # Correct, and leaves a thread sleeping: the thread dies with its worker.
    "lingering_thread": (4, "graded", "Score: 4 / 4"),
    # Its conftest.py, tests/ and lab.toml are ignored: graded like the starter it contains.
    "malicious": (2, "graded", STARTER_LOGIC),
    "missing": (0, "graded", "handler.py is missing from the submission"),
    "raises_at_import": (0, "graded", "handler.py could not be imported: "
                         "KeyError: 'table_name' (handler.py, line 2)"),
    "syntax_error": (0, "graded", "handler.py could not be imported: "
                     "SyntaxError: expected ':' (handler.py, line 1)"),
    # Attacks on the grader, each with the starter's logic: they earn what that logic earns.
    "attack_atexit": (2, "graded", STARTER_LOGIC),
    "attack_pytest_plugin": (2, "graded", STARTER_LOGIC),
    "attack_patches_labgrader": (2, "graded", STARTER_LOGIC),
    "attack_exits_hard": (0, "graded", "the worker process ended in the middle of a call"),
    "attack_ini_conftest": (2, "graded", STARTER_LOGIC),
    "attack_kills_parent": (2, "graded", STARTER_LOGIC),
    "attack_rewrites_tests": (2, "graded", STARTER_LOGIC),
    "attack_detached": (2, "graded", STARTER_LOGIC),
    "attack_imports_solution": (2, "graded", "FLAGGED: the submission tried to open the lab's "
                                "reference solution"),
    "attack_sleep_loop": (0, "graded", "(an endless loop?)"),
    "attack_huge_output": (2, "graded", STARTER_LOGIC),
}


@CLASS_RUN
def test_class_gradebook(class_run: tuple[str, Path]) -> None:
    stdout, out = class_run
    with (out / "gradebook.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["student", "points", "max_points", "status", "flags"]
    assert [row[:4] for row in rows[1:]] == [
        [s, str(p), "4", status] for s, (p, status, _) in sorted(EXPECTED.items())]
    flagged = [row[0] for row in rows[1:] if row[4]]
    assert flagged == ["attack_imports_solution"]
    assert f"{len(EXPECTED)} submissions in" in stdout
    assert f"{len(EXPECTED)} graded, 0 timed out, 0 crashed, 0 tampered" in stdout


@CLASS_RUN
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_class_results(class_run: tuple[str, Path], student: str) -> None:
    points, _, text = EXPECTED[student]
    results = json.loads((class_run[1] / student / "results.json").read_text())
    assert (results["score"], results["max_score"]) == (points, 4)
    assert text in outputs(results)
    assert (class_run[1] / student / "grading.log").is_file()


@CLASS_RUN
def test_class_run_leaves_the_lab_and_no_process_behind(class_run: tuple[str, Path]) -> None:
    assert lab_files(MINI) == MINI_FILES, "a submission changed the lab's files"
    markers = []
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if "labgrader-detached-marker" in os.readlink(fd):
                markers.append(fd)
        except OSError:
            continue
    assert not markers, f"a process started by a submission outlived its grading: {markers}"


@CLASS_RUN
def test_huge_output_is_capped(class_run: tuple[str, Path]) -> None:
    log = class_run[1] / "attack_huge_output" / "grading.log"
    assert log.stat().st_size <= LOG_LIMIT + 1000


def test_a_stale_results_file_never_counts(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"score": 4, "max_score": 4, "tests": []}))
    command = [sys.executable, "-m", "labgrader", "grade", str(MINI), "--results-json", str(results),
               "--submission", str(SUBMISSIONS / "attack_exits_hard")]
    subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "ended in the middle of a call" in outputs(data)


@pytest.mark.parametrize("student", ["attack_atexit", "attack_rewrites_tests"])
def test_attacks_that_read_the_graders_command_line_fail_on_a_fresh_grading(tmp_path: Path, student: str) -> None:
    """These attacks look for the results file and the lab's tests on the command lines of
    the machine. A class's gradings are forked from the warm grading server, whose command line
    names neither, so the class run does not put them to the test: `labgrader grade` starts a
    fresh pytest process that names both, and the attack still earns only its logic's points
    and leaves the lab as it was."""
    results = tmp_path / "results.json"
    command = [sys.executable, "-m", "labgrader", "grade", str(MINI), "--results-json", str(results),
               "--submission", str(SUBMISSIONS / student)]
    subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    data = json.loads(results.read_text())
    assert (data["score"], data["max_score"]) == (2, 4)
    assert STARTER_LOGIC in outputs(data)
    assert lab_files(MINI) == MINI_FILES


def test_a_pytest_ini_in_the_submission_voids_a_plain_pytest_run(tmp_path: Path) -> None:
    """Run as the README once said (``pytest ... --submission DIR``), pytest reads the
    submission's pytest.ini and loads its plugin: the grade is void, never full marks."""
    results = tmp_path / "results.json"
    lab, folder = tmp_path / "lab", tmp_path / "submission"  # no ini file above either
    shutil.copytree(MINI, lab)
    shutil.copytree(SUBMISSIONS / "attack_ini_conftest", folder)
    command = [sys.executable, "-m", "pytest", str(lab / "tests"), "-p", "labgrader.plugin",
               "-p", "no:cacheprovider", "--submission", str(folder), "--results-json", str(results)]
    process = subprocess.run(command, cwd=tmp_path, env=child_env(), capture_output=True,
                             text=True, timeout=60)
    assert "evil_plugin" in process.stdout + process.stderr or "pytest.ini" in results.read_text()
    data = json.loads(results.read_text())
    assert data["score"] == 0 and "the grade is void" in data["output"]


# -- in-process: Submission.load and lab.toml ----------------------------------------------


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text)
    return folder


def test_load_gives_a_fresh_module_each_time(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", handler="import helpers\nCALLS = []\n\n"
                   "def count():\n    CALLS.append(1)\n    helpers.STATE.append(1)\n"
                   "    return len(CALLS), len(helpers.STATE)\n", helpers="STATE = []\n")
    submission = copy_student_files(("handler.py", "helpers.py"), folder, tmp_path / "copy")
    path_before = list(sys.path)
    first, second = submission.load("handler"), submission.load("handler.py")
    assert first.count() == [1, 1] and first.count() == [2, 2]
    assert second.count() == [1, 1], "two loads share their modules' state"
    assert "handler" not in sys.modules and "helpers" not in sys.modules
    assert sys.path == path_before
    submission.close()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (None, "handler.py is missing from the submission"),
        ("def handler(:\n", "handler.py could not be imported: SyntaxError: "),
        ("\nimport no_such_module_xyz\n",
         "handler.py could not be imported: ModuleNotFoundError: No module named "
         "'no_such_module_xyz' (handler.py, line 2)"),
        ("raise RuntimeError('boom')\n",
         "handler.py could not be imported: RuntimeError: boom (handler.py, line 1)"),
        ("import sys\nsys.exit(3)\n", "handler.py called sys.exit(3) while being imported"),
    ],
    ids=["missing", "syntax", "import", "raises", "exits"],
)
def test_load_errors_are_explained(tmp_path: Path, source: str | None, message: str) -> None:
    folder = write(tmp_path / "s", **({"handler": source} if source is not None else {}))
    submission = copy_student_files(("handler.py",), folder, tmp_path / "copy")
    with pytest.raises(SubmissionError) as error:
        submission.load("handler")
    assert str(error.value).startswith(message)
    with pytest.raises(SubmissionError) as again:  # remembered: not imported a second time
        submission.load("handler")
    assert str(again.value) == str(error.value)


def test_the_code_runs_in_another_process(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", handler="import os, signal\n"
                   "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                   "def pid():\n    return os.getpid()\n")
    submission = copy_student_files(("handler.py",), folder, tmp_path / "copy")
    before = signal.getsignal(signal.SIGALRM)
    module = submission.load("handler")
    assert module.pid() != os.getpid()
    assert signal.getsignal(signal.SIGALRM) is before
    submission.close()


def test_the_code_cannot_open_protected_files(tmp_path: Path) -> None:
    secret = write(tmp_path / "solution", handler="ANSWER = 42\n") / "handler.py"
    folder = write(tmp_path / "s", handler=f"def peek():\n    return open({str(secret)!r}).read()\n")
    submission = copy_student_files(("handler.py",), folder, tmp_path / "copy",
                                    Isolation(protected=(secret,)))
    with pytest.raises(SubmissionRaised, match="protected") as error:
        submission.load("handler").peek()
    assert type(error.value).__name__ == "PermissionError"
    assert submission.isolation.refused == {str(secret.resolve())}
    submission.close()


def test_symbolic_links_are_not_copied(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    os.symlink(MINI / "solution" / "handler.py", folder / "handler.py")
    submission = copy_student_files(("handler.py",), folder, tmp_path / "copy")
    with pytest.raises(SubmissionError, match="handler.py is a symbolic link"):
        submission.load("handler")


def test_lab_toml(tmp_path: Path) -> None:
    mini = Lab.load(MINI)
    assert (mini.title, mini.student_files, mini.timeout_seconds) == (
        "Mini lab", ("handler.py", "helpers.py"), 2.0)
    assert mini.solution_dir == MINI / "solution"
    (tmp_path / "lab.toml").write_text('title = "T"\nstudent_files = ["h.py"]\nsolution = "s"\n')
    assert Lab.load(tmp_path).timeout_seconds == 10
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "lab.toml").write_text('title = "T"\nstudent_files = "h.py"\n')
    with pytest.raises(LabConfigError, match="student_files must be a non-empty list"):
        Lab.load(tmp_path / "bad")


CLASS_CACHE_TEST = '''
import pytest


@pytest.mark.points(1)
def test_the_class_cache_is_shared(class_cache, submission):
    assert class_cache is not None, "no class cache: one submission graded alone"
    name = (submission.path / "helpers.py").read_text().strip()
    (class_cache / name).write_text(name)
    seen = sorted(p.name for p in class_cache.iterdir())
    assert seen == (["A"] if name == "A" else ["A", "B"]), seen
    assert submission.load("handler").peek(str(class_cache / "A")) == "refused"
'''
# The learner's code, which must not read what other learners' gradings kept.
PEEK = """\
def peek(path):
    try:
        with open(path) as f:
            f.read()
    except PermissionError:
        return "refused"
    return "read"
"""


def test_a_classs_gradings_share_one_cache_folder(tmp_path: Path) -> None:
    """``labgrader class`` gives every grading the same scratch folder (the ``class_cache``
    fixture: students graded one at a time see what those before them kept), which the
    learners' code cannot open; one submission graded alone has none."""
    lab = tmp_path / "lab"
    shutil.copytree(MINI, lab)
    (lab / "tests" / "test_mini.py").write_text(CLASS_CACHE_TEST)
    students = tmp_path / "students"
    for name in ("A", "B"):
        (students / name).mkdir(parents=True)
        (students / name / "helpers.py").write_text(name)
        (students / name / "handler.py").write_text(PEEK)
    outcomes = grade_class(Lab.load(lab), students, tmp_path / "out", jobs=1)
    assert [(o.student, o.points) for o in outcomes] == [("A", 1), ("B", 1)], outcomes
    assert all("class's shared folder" in o.flags and "reference solution" not in o.flags for o in outcomes)
    _, alone = grade(tmp_path, lab, students / "A")
    assert alone["score"] == 0 and "no class cache" in outputs(alone)
