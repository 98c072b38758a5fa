"""Every lab is gradable, and its grade means something.

Each lab under labs/ (a folder with a lab.toml) is graded the way instructors grade it
(``python -m labgrader grade``): its reference solution earns full marks, its untouched starter
does not, a submission that does nothing or does not import earns 0 on every test, and each
wrong solution of ``lab_cases`` (wrong partial batch responses, retries without backoff or
bound, a processor that is not idempotent...) earns less than full marks, and each right one
written another way earns full marks. The reference is also
graded the way a learner checks their work (``pytest labs/<lab>``, through labs/conftest.py).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab_cases import Case, cases
from labgrader import Lab
from labgrader.cli import child_env
from lambdasim.isolation import share_fork_server

REPO = Path(__file__).resolve().parents[1]
LABS = sorted(path.parent for path in (REPO / "labs").glob("*/lab.toml"))
# No lab yet must fail, not pass quietly.
LAB_PARAMS = [pytest.param(lab, id=lab.name) for lab in LABS] or [pytest.param(None, id="no-labs")]
CASES = cases()


@pytest.fixture(scope="module", autouse=True)
def one_fork_server() -> Iterator[None]:
    """The gradings of this module share a fork server, as a class's do."""
    with share_fork_server():
        yield


def grade(lab: Path, submission: Path | None, tmp_path: Path, *extra: str) -> dict[str, Any]:
    """Grade with the instructors' command; its results.json."""
    results = tmp_path / "results.json"
    command = [sys.executable, "-m", "labgrader", "grade", str(lab), "--results-json", str(results),
               *(["--submission", str(submission)] if submission is not None else []), *extra]
    process = subprocess.run(command, cwd=tmp_path, env=child_env(), capture_output=True,
                             text=True, timeout=600)
    assert results.is_file(), f"no results.json:\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    data: dict[str, Any] = json.loads(results.read_text())
    return data


def failures(results: dict[str, Any]) -> str:
    return "\n".join([results["output"]] + [f"{t['name']}: {t['output']}"
                                            for t in results["tests"] if t["status"] != "passed"])


def load(lab_dir: Path | None) -> tuple[Lab, Path]:
    assert lab_dir is not None, "no lab found: expected labs/*/lab.toml"
    lab = Lab.load(lab_dir)
    solution = lab.solution_dir
    assert solution is not None, f"{lab_dir}/lab.toml: solution folder {lab.solution} not found"
    missing = [f for f in lab.student_files if not (solution / f).is_file()]
    assert not missing, f"the solution {solution} lacks {missing}"
    return lab, solution


@pytest.mark.parametrize("lab_dir", LAB_PARAMS)
def test_solution_earns_full_marks(lab_dir: Path | None, tmp_path: Path) -> None:
    lab, solution = load(lab_dir)
    data = grade(lab.path, solution, tmp_path)
    assert data["max_score"] > 0
    assert data["score"] == data["max_score"], failures(data)


@pytest.mark.parametrize("lab_dir", LAB_PARAMS)
def test_starter_does_not(lab_dir: Path | None, tmp_path: Path) -> None:
    lab, _ = load(lab_dir)
    data = grade(lab.path, None, tmp_path)
    assert data["max_score"] > 0
    assert data["score"] < data["max_score"], "the untouched starter already earns full marks"


@pytest.mark.parametrize("lab_dir", LAB_PARAMS)
def test_every_lab_has_wrong_nothing_and_broken_cases(lab_dir: Path | None) -> None:
    lab, _ = load(lab_dir)
    kinds = [c.kind for c in CASES if c.lab == lab.path.name]
    assert kinds.count("wrong") >= 3 and "nothing" in kinds and "broken" in kinds, (
        f"{lab.path.name}: needs 3 wrong solutions, a do-nothing and a broken one; has {kinds}")


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_case_is_graded_for_what_it_does(case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "submission"
    case.write(folder)
    extra = ("-k", case.must_fail) if case.kind == "wrong" and case.must_fail else ()
    data = grade(REPO / "labs" / case.lab, folder, tmp_path, *extra)
    assert data["max_score"] > 0 and data["tests"], failures(data)
    if case.kind == "wrong":
        assert data["score"] < data["max_score"], f"{case.id} earned full marks"
    elif case.kind == "right":
        assert data["score"] == data["max_score"], failures(data)
    else:
        assert case.kind in ("nothing", "broken"), f"unknown kind of case {case.id}"
        earned = [t["name"] for t in data["tests"] if t["score"] > 0]
        assert data["score"] == 0 and not earned, f"{case.id} earned points for {earned}"


def test_solution_through_labs_conftest(tmp_path: Path) -> None:
    """The learner's own check goes through labs/conftest.py, the same for every lab: the
    quickest lab shows it."""
    lab, solution = load(REPO / "labs" / "00-partial-batch-responses")
    results = tmp_path / "results.json"
    env = child_env()
    del env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]  # as a learner runs it: installed plugins load
    command = [sys.executable, "-m", "pytest", str(lab.path.relative_to(REPO)),
               "-p", "no:cacheprovider", f"--submission={solution}",
               "--results-json", str(results)]
    subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    data = json.loads(results.read_text())
    assert data["max_score"] > 0
    assert data["score"] == data["max_score"], failures(data)


def test_lab03_reference_retries_are_current() -> None:
    """Lab 03 grades retries against the reference's, stored for its graded seeds."""
    from serverless_course.chaos import run_chaos

    path = REPO / "labs" / "03-chaos-proof-processor" / "tests" / "test_processor.py"
    constants = {target.id: ast.literal_eval(node.value)
                 for node in ast.parse(path.read_text()).body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)
                 and target.id in ("MESSAGES", "REFERENCE_RETRIES")}
    stored = constants["REFERENCE_RETRIES"]
    fresh = {seed: run_chaos(None, seed=seed, messages=constants["MESSAGES"]).retries
             for seed in stored}
    assert fresh == stored
