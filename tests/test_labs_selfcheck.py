"""Every lab is gradable: its reference solution earns full marks, its untouched starter not.

Each lab under labs/ (a folder with a lab.toml) is graded in pytest subprocesses, the way
the class command grades (hermetic command line) and the way a learner or Gradescope runs it
(`python -m pytest labs/<lab> --submission DIR` from the repository root, through
labs/conftest.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labgrader import Lab
from labgrader.cli import child_env, pytest_command

REPO = Path(__file__).resolve().parents[1]
LABS = sorted(path.parent for path in (REPO / "labs").glob("*/lab.toml"))
# No lab yet must fail, not pass quietly.
LAB_PARAMS = [pytest.param(lab, id=lab.name) for lab in LABS] or [pytest.param(None, id="no-labs")]


def results_of(command: list[str], results: Path, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    process = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                             timeout=600)
    output = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    assert results.is_file(), f"no results.json:\n{output}"
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
    results = tmp_path / "results.json"
    data = results_of(pytest_command(lab, solution, results), results, lab.path, child_env())
    assert data["max_score"] > 0
    assert data["score"] == data["max_score"], failures(data)


@pytest.mark.parametrize("lab_dir", LAB_PARAMS)
def test_starter_does_not(lab_dir: Path | None, tmp_path: Path) -> None:
    lab, _ = load(lab_dir)
    results = tmp_path / "results.json"
    data = results_of(pytest_command(lab, None, results), results, lab.path, child_env())
    assert data["max_score"] > 0
    assert data["score"] < data["max_score"], "the untouched starter already earns full marks"


@pytest.mark.parametrize("lab_dir", LAB_PARAMS)
def test_solution_through_labs_conftest(lab_dir: Path | None, tmp_path: Path) -> None:
    lab, solution = load(lab_dir)
    results = tmp_path / "results.json"
    env = child_env()
    del env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]  # as a learner runs it: installed plugins load
    command = [sys.executable, "-m", "pytest", str(lab.path.relative_to(REPO)),
               "-p", "no:cacheprovider", "--submission", str(solution),
               "--results-json", str(results)]
    data = results_of(command, results, REPO, env)
    assert data["max_score"] > 0
    assert data["score"] == data["max_score"], failures(data)
