"""What each notebook and each test file costs, against the course's budgets (BLUEPRINT "Speed").

    .venv/bin/python reference/benchmarks/suite_times.py [notebooks] [tests] [-n 2]
        (default: both; -n is pytest-xdist's worker count for the tests)

Notebooks: each lesson notebook and lab notebook is executed on its own, one after another, as
`make notebooks` executes it (`jupyter nbconvert --execute`, into a scratch copy: the committed
file is not touched); the time is wall time including the kernel's start, the figure the
10-second budget is about. Tests: the project's tests run once (`pytest -n 2`, as `make test`
runs them) with a JUnit XML report, and each file's time is the sum of its tests' times
(set-up and tear-down included), so files compare even though two workers share them.
The slowest come first; a notebook over budget is marked.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NOTEBOOK_BUDGET_S = 10.0


def notebooks() -> list[Path]:
    return sorted(ROOT.glob("notebooks/*/*.ipynb")) + sorted(ROOT.glob("labs/*/lab.ipynb"))


def time_notebook(notebook: Path, scratch: Path) -> tuple[float, bool]:
    start = time.perf_counter()
    done = subprocess.run(
        [BIN / "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output-dir", str(scratch),
         "--ExecutePreprocessor.timeout=300", str(notebook.name)],
        cwd=notebook.parent, capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode == 0


def report_notebooks() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for notebook in notebooks():
            seconds, ok = time_notebook(notebook, Path(scratch))
            rows.append((seconds, notebook.relative_to(ROOT), ok))
            print(f"  {seconds:6.1f} s  {notebook.relative_to(ROOT)}", file=sys.stderr, flush=True)
    print(f"\nnotebooks (wall, kernel start included; budget {NOTEBOOK_BUDGET_S:.0f} s each)")
    for seconds, name, ok in sorted(rows, reverse=True):
        mark = "" if ok else "  FAILED"
        if ok and seconds > NOTEBOOK_BUDGET_S:
            mark = "  over budget"
        print(f"{seconds:8.1f} s  {name}{mark}")
    print(f"{sum(r[0] for r in rows):8.1f} s  in all, {len(rows)} notebooks")


def report_tests(workers: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "junit.xml"
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-c", "tests/pytest.ini", "--rootdir=.", "-q",
                               "-p", "no:cacheprovider", "-n", workers, "-o", "junit_family=xunit1",
                               f"--junitxml={report}", "tests"],
                              cwd=ROOT, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        per_file: dict[str, float] = defaultdict(float)
        tests: dict[str, int] = defaultdict(int)
        failed: dict[str, int] = defaultdict(int)
        for case in ET.parse(report).iter("testcase"):
            path = case.get("file", "?")
            per_file[path] += float(case.get("time", 0))
            tests[path] += 1
            if case.find("failure") is not None or case.find("error") is not None:
                failed[path] += 1
    print(f"\ntest files (sum of their tests' times; {workers} workers took {wall:.0f} s wall)")
    for path, seconds in sorted(per_file.items(), key=lambda item: -item[1]):
        mark = f", {failed[path]} FAILED" if failed[path] else ""
        print(f"{seconds:8.1f} s  {path} ({tests[path]} tests{mark})")
    print(f"{sum(per_file.values()):8.1f} s  in all, {sum(tests.values())} tests, {sum(failed.values())} failed"
          f" (pytest exit status {done.returncode})")


def main(args: list[str]) -> int:
    workers = "2"
    if "-n" in args:
        workers = args[args.index("-n") + 1]
        del args[args.index("-n"):args.index("-n") + 2]
    parts = set(args) or {"notebooks", "tests"}
    if "notebooks" in parts:
        report_notebooks()
    if "tests" in parts:
        report_tests(workers)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
