"""Every lab is gradable, and its grade means something.

Each lab under labs/ (a folder with a lab.toml) is graded the way instructors grade a class
(``python -m labgrader class``), with one student for its reference solution, one for its
untouched starter and one for each case of ``lab_cases``: the reference earns full marks, the
starter does not (and earns 0 on every test where it does nothing: ``STARTER_DOES_NOTHING``), a
submission that does nothing or does not import earns 0 on every test,
each wrong solution (wrong partial batch responses, retries without backoff or bound, a
processor that is not idempotent...) earns less than full marks on the test it is wrong for,
and each right one written another way earns full marks. The reference is also graded the way
a learner checks their work (``pytest labs/<lab>``, through labs/conftest.py).
"""

from __future__ import annotations

import ast
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lab_cases import STARTER_DOES_NOTHING, Case, cases
from labgrader import Lab
from labgrader.cli import child_env

REPO = Path(__file__).resolve().parents[1]
LABS = sorted(path.parent for path in (REPO / "labs").glob("*/lab.toml"))
# No lab yet must fail, not pass quietly.
LAB_PARAMS = [pytest.param(lab, id=lab.name) for lab in LABS] or [pytest.param(None, id="no-labs")]
CASES = cases()


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


def grade_class(lab: Lab, solution: Path, tmp_path: Path) -> tuple[dict[str, dict[str, str]], Path]:
    """The lab's reference, starter and cases graded as one class: the gradebook's rows by
    student, and the folder of their results."""
    students, out = tmp_path / "students", tmp_path / "out"
    shutil.copytree(solution, students / "reference")
    shutil.copytree(lab.starter_dir, students / "starter")
    for case in CASES:
        if case.lab == lab.path.name:
            case.write(students / case.name)
    command = [sys.executable, "-m", "labgrader", "class", str(lab.path), str(students),
               "--out", str(out), "--jobs", "2"]
    process = subprocess.run(command, cwd=tmp_path, env=child_env(), capture_output=True,
                             text=True, timeout=600)
    book = out / "gradebook.csv"
    assert book.is_file(), f"no gradebook:\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    with book.open(newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}, out


def judge(lab: str, name: str, case: Case | None, results: dict[str, Any]) -> str:
    """What is wrong with the grade of student ``name`` of ``lab`` ("" if nothing)."""
    if not (results["max_score"] > 0 and results["tests"]):
        return f"{name}: no tests graded\n{failures(results)}"
    full = results["score"] == results["max_score"]
    kind = case.kind if case is not None else name
    if kind in ("reference", "right"):
        return "" if full else f"{name} did not earn full marks:\n{failures(results)}"
    if kind == "starter" and full:
        return f"{name}: the untouched starter already earns full marks"
    if kind == "starter" and lab not in STARTER_DOES_NOTHING:
        return ""
    if kind == "wrong":
        assert case is not None
        wrong_for = [t for t in results["tests"] if case.must_fail in t["name"]]
        lost = [t for t in wrong_for if t["score"] < t.get("max_score", 0)]
        return "" if lost else f"{case.id} earned full marks on every test named *{case.must_fail}*"
    assert kind in ("starter", "nothing", "broken"), f"unknown kind of case {lab}/{name}"
    earned = [t["name"] for t in results["tests"] if t["score"] > 0]
    return f"{lab}/{name} earned points for {earned}" if results["score"] or earned else ""


@pytest.mark.long_running
@pytest.mark.parametrize("lab_dir", LAB_PARAMS)
def test_lab_grades_mean_something(lab_dir: Path | None, tmp_path: Path) -> None:
    lab, solution = load(lab_dir)
    book, out = grade_class(lab, solution, tmp_path)
    by_name = {case.name: case for case in CASES if case.lab == lab.path.name}
    problems = []
    for name in ["reference", "starter", *by_name]:
        row = book.get(name)
        if row is None or row["status"] != "graded":
            problems.append(f"{name}: {row['status'] if row else 'not in the gradebook'}")
            continue
        results = json.loads((out / name / "results.json").read_text())
        problems.append(judge(lab.path.name, name, by_name.get(name), results))
    assert not any(problems), "\n".join(p for p in problems if p)


@pytest.mark.parametrize("lab_dir", LAB_PARAMS)
def test_every_lab_has_wrong_nothing_and_broken_cases(lab_dir: Path | None) -> None:
    lab, _ = load(lab_dir)
    kinds = [c.kind for c in CASES if c.lab == lab.path.name]
    assert kinds.count("wrong") >= 3 and "nothing" in kinds and "broken" in kinds, (
        f"{lab.path.name}: needs 3 wrong solutions, a do-nothing and a broken one; has {kinds}")


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
    from serverless_course.chaos import ChaosMix, run_chaos

    path = REPO / "labs" / "03-chaos-proof-processor" / "tests" / "test_processor.py"
    constants = {target.id: ast.literal_eval(node.value)
                 for node in ast.parse(path.read_text()).body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)
                 and target.id in ("MESSAGES", "MIX", "REFERENCE_RETRIES")}
    stored = constants["REFERENCE_RETRIES"]
    mix = ChaosMix(**constants["MIX"])
    fresh = {seed: run_chaos(None, seed=seed, messages=constants["MESSAGES"], faults=mix).retries
             for seed in stored}
    assert fresh == stored


def test_lab00b_cheapest_known_costs_are_current() -> None:
    """Lab 00b grades costs against the cheapest known configuration's, stored for the visible
    forecast and the graded seeds: each is played again here, as grading would play it."""
    import types

    path = REPO / "labs" / "00b-noisy-neighbour" / "tests" / "test_settings.py"
    # The module without its tests and fixtures (their markers are the grader's, unknown here).
    tree = ast.parse(path.read_text())
    tree.body = [node for node in tree.body if not (
        isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d).startswith("pytest.") for d in node.decorator_list))]
    module = types.SimpleNamespace()
    namespace: dict[str, Any] = {"__name__": "lab00b_graded_tests"}
    exec(compile(tree, str(path), "exec"), namespace)
    module.__dict__.update(namespace)
    stored = {"visible": module.VISIBLE_CHEAPEST_COST, **module.UNSEEN_CHEAPEST_COSTS}
    fresh = {"visible": module.played_cheapest_cost(module.VISIBLE),
             **{seed: module.played_cheapest_cost(module.variant(seed)) for seed in module.UNSEEN_CHEAPEST_COSTS}}
    assert fresh == stored
    assert set(module.UNSEEN_CHEAPEST_COSTS) <= set(module.UNSEEN), "a stored seed is no longer graded"
    assert all(module.cheapest_known_cost(module.variant(seed)) == cost
               for seed, cost in module.UNSEEN_CHEAPEST_COSTS.items())
