"""How long grading takes (issue 11's figures): one submission per lab, and a class.

    .venv/bin/python reference/benchmarks/grading.py [lab] [class size] [jobs]
        (default: 00-partial-batch-responses 100 2)

First grades each lab's reference solution with the instructors' command (`python -m labgrader
grade`) and prints its wall time and score. Then grades a class of `class size` students of the
chosen lab with `python -m labgrader class --jobs <jobs>`: the students cycle through the lab's
reference solution, its starter and every case of tests/lab_cases.py for it (wrong solutions,
do-nothing and broken submissions), and prints the class's wall time and the gradebook's counts.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from lab_cases import cases  # noqa: E402

from labgrader import Lab  # noqa: E402


def grade_one(lab: Lab, submission: Path, results: Path) -> tuple[float, str]:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "labgrader", "grade", str(lab.path), "--submission",
                    str(submission), "--results-json", str(results)],
                   capture_output=True, check=False)
    score = results.read_text().split('"score": ', 1)[1].split(",", 1)[0] if results.is_file() else "-"
    return time.perf_counter() - started, score


def main(lab_name: str = "00-partial-batch-responses", size: int = 100, jobs: int = 2) -> int:
    labs = sorted(Lab.load(p.parent) for p in (REPO / "labs").glob("*/lab.toml"))
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        work = Path(tmp)
        print(f"{'lab':<34} {'reference solution':>18}")
        for lab in labs:
            assert lab.solution_dir is not None
            wall, score = grade_one(lab, lab.solution_dir, work / f"{lab.path.name}.json")
            print(f"{lab.path.name:<34} {wall:>9.1f} s, score {score}", flush=True)

        lab = next(lab for lab in labs if lab.path.name == lab_name)
        assert lab.solution_dir is not None
        sources = [("reference", lambda d, s=lab.solution_dir: shutil.copytree(s, d)),
                   ("starter", lambda d, s=lab.starter_dir: shutil.copytree(s, d))]
        sources += [(case.name, case.write) for case in cases() if case.lab == lab_name]
        students = work / "class"
        for n in range(size):
            name, write = sources[n % len(sources)]
            write(students / f"s{n:03d}-{name}")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "labgrader", "class", str(lab.path), str(students),
                        "--out", str(work / "out"), "--jobs", str(jobs)],
                       capture_output=True, check=False)
        wall = time.perf_counter() - started
        with (work / "out" / "gradebook.csv").open(newline="") as f:
            statuses = Counter(row["status"] for row in csv.DictReader(f))
    print(f"class of {size} ({len(sources)} kinds of submission) of {lab_name}, {jobs} jobs: "
          f"{wall:.0f} s wall ({wall / size:.1f} s per submission); {dict(statuses)}")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(*(args[:1]), *(int(a) for a in args[1:3])))
