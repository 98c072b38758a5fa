"""Tests of the lab grader (reference/src/labgrader).

The plugin is exercised the way it is used: pytest subprocesses grading the tiny fixture lab
``tests/fixtures/labgrader/mini`` against the submissions in ``.../submissions/`` (one folder
per kind of broken code). ``Submission.load`` and ``lab.toml`` parsing are tested in-process.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labgrader import Lab, LabConfigError, SubmissionError
from labgrader.cli import child_env, pytest_command
from labgrader.submission import copy_student_files

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "labgrader"
MINI = FIXTURES / "mini"
SUBMISSIONS = FIXTURES / "submissions"
CLASS_TIME_LIMIT = 8  # seconds for one whole submission in the class run


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


def test_grade_command_kills_a_hung_submission(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    command = [sys.executable, "-m", "labgrader", "grade", str(MINI), "--time-limit", "2",
               "--submission", str(SUBMISSIONS / "ignores_alarm"), "--results-json", str(results)]
    process = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert process.returncode != 0
    data = json.loads(results.read_text())
    assert (data["score"], data["max_score"]) == (0, 4)
    assert data["output"].startswith("killed after 2 s")


# -- the class command ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def class_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Grade every fixture submission at once (from an unrelated working folder)."""
    out = tmp_path_factory.mktemp("class") / "out"
    command = [sys.executable, "-m", "labgrader", "class", str(MINI), str(SUBMISSIONS),
               "--out", str(out), "--jobs", "6", "--time-limit", str(CLASS_TIME_LIMIT)]
    process = subprocess.run(command, cwd=out.parent, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stdout + process.stderr
    return process.stdout, out


EXPECTED = {  # student: (points, status, text expected in the results' outputs)
    "exits_at_import": (0, "graded", "handler.py called sys.exit(1) while being imported"),
    "exits_in_handler": (0, "graded", "the code called sys.exit(0) (handler.py, line 5)"),
    "good": (4, "graded", "Score: 4 / 4"),
    "ignores_alarm": (0, "timed out", f"killed after {CLASS_TIME_LIMIT} s"),
    "infinite_loop": (0, "graded", "timed out after 1 s (infinite loop?) (handler.py, line 2)"),
    "kills_itself": (0, "crashed", "process exited with code 3 before writing results"),
    # Finished its tests, then hung on a thread at exit: its results stand.
    "lingering_thread": (4, "graded", "Score: 4 / 4"),
    # Its conftest.py, tests/ and lab.toml are ignored: graded like the starter it contains.
    "malicious": (2, "graded", "only m2 failed"),
    "missing": (0, "graded", "handler.py is missing from the submission"),
    "raises_at_import": (0, "graded", "handler.py could not be imported: "
                         "KeyError: 'table_name' (handler.py, line 2)"),
    "syntax_error": (0, "graded", "handler.py could not be imported: "
                     "SyntaxError: expected ':' (handler.py, line 1)"),
}


def test_class_gradebook(class_run: tuple[str, Path]) -> None:
    stdout, out = class_run
    with (out / "gradebook.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["student", "points", "max_points", "status"]
    assert rows[1:] == [[s, str(p), "4", status] for s, (p, status, _) in sorted(EXPECTED.items())]
    assert "11 submissions in" in stdout and "9 graded, 1 timed out, 1 crashed" in stdout


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_class_results(class_run: tuple[str, Path], student: str) -> None:
    points, _, text = EXPECTED[student]
    results = json.loads((class_run[1] / student / "results.json").read_text())
    assert (results["score"], results["max_score"]) == (points, 4)
    assert text in outputs(results)
    assert (class_run[1] / student / "grading.log").is_file()


# -- in-process: Submission.load and lab.toml ----------------------------------------------


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.py").write_text(text)
    return folder


def test_load_gives_a_fresh_module_each_time(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", handler="import helpers\nCALLS = []\n",
                   helpers="STATE = []\n")
    submission = copy_student_files(("handler.py", "helpers.py"), folder, tmp_path / "copy")
    path_before = list(sys.path)
    first, second = submission.load("handler"), submission.load("handler.py")
    first.CALLS.append(1)
    first.helpers.STATE.append(1)
    assert second.CALLS == [] and second.helpers.STATE == []
    assert first.__name__ != second.__name__
    assert "handler" not in sys.modules and "helpers" not in sys.modules
    assert sys.path == path_before


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


def test_load_puts_back_the_alarm_handler(tmp_path: Path) -> None:
    folder = write(tmp_path / "s", handler="import signal\n"
                   "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n")
    submission = copy_student_files(("handler.py",), folder, tmp_path / "copy")
    before = signal.getsignal(signal.SIGALRM)
    submission.load("handler")
    assert signal.getsignal(signal.SIGALRM) is before


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
        "Mini lab", ("handler.py", "helpers.py"), 1.0)
    assert mini.solution_dir == MINI / "solution"
    (tmp_path / "lab.toml").write_text('title = "T"\nstudent_files = ["h.py"]\nsolution = "s"\n')
    assert Lab.load(tmp_path).timeout_seconds == 10
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "lab.toml").write_text('title = "T"\nstudent_files = "h.py"\n')
    with pytest.raises(LabConfigError, match="student_files must be a non-empty list"):
        Lab.load(tmp_path / "bad")
