"""A lab's configuration, read from the ``lab.toml`` at the top of its folder.

A lab folder holds ``lab.toml``, ``starter/`` (the learner's working copy), ``tests/`` (the
graded tests) and the rest. ``lab.toml`` says which files make up a submission, where the
reference solution lives and how long one test may run::

    title = "Partial batch responses for SQS"
    student_files = ["handler.py"]
    solution = "reference/src/serverless_course/solutions/lab00_partial_batch"
    timeout_seconds = 10   # optional: one test's time limit
    real_time_limit_seconds = 2   # optional: one call of the learner's code (a loop is killed)
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

LAB_FILE = "lab.toml"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Real time one call of the learner's code may use (their code does little: a loop is a bug).
DEFAULT_REAL_TIME_LIMIT_SECONDS = 2.0


class LabConfigError(Exception):
    """``lab.toml`` is missing or says something the grader can't use (a lab author's mistake)."""


@dataclass(frozen=True, order=True)
class Lab:
    """One lab: its folder and what its ``lab.toml`` says."""

    path: Path
    title: str
    student_files: tuple[str, ...]
    solution: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    real_time_limit_seconds: float = DEFAULT_REAL_TIME_LIMIT_SECONDS

    @property
    def starter_dir(self) -> Path:
        """The learner's working copy, graded when no ``--submission`` is given."""
        return self.path / "starter"

    @property
    def tests_dir(self) -> Path:
        return self.path / "tests"

    @property
    def solution_dir(self) -> Path | None:
        """The reference solution's folder, or None if it can't be found.

        ``solution`` is relative to the repository root. Rather than guess where the root is
        (labs and the grader's own test fixtures sit at different depths), take the nearest
        ancestor of the lab under which the path exists.
        """
        for base in self.path.parents:
            candidate = base / self.solution
            if candidate.is_dir():
                return candidate
        return None

    @classmethod
    def load(cls, path: Path) -> Lab:
        """Read ``path/lab.toml``; raise LabConfigError with a message for the lab's author."""
        return _load(Path(path).resolve())


@functools.cache
def _load(path: Path) -> Lab:
    where = path / LAB_FILE
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabConfigError(f"{where} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LabConfigError(f"{where} could not be read: {exc}") from None

    def bad(key: str, expected: str) -> LabConfigError:
        return LabConfigError(f"{where}: {key} must be {expected}, found {data.get(key)!r}")

    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise bad("title", "a non-empty string")
    files = data.get("student_files")
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise bad("student_files", 'a non-empty list of file names, e.g. ["handler.py"]')
    for name in files:
        # These names are joined to a student's folder: keep them inside it.
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise bad("student_files", "relative paths inside the submission folder")
    solution = data.get("solution")
    if not isinstance(solution, str) or not solution.strip():
        raise bad("solution", "the solution folder's path relative to the repository root")
    seconds = {}
    for key, default in (("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
                         ("real_time_limit_seconds", DEFAULT_REAL_TIME_LIMIT_SECONDS)):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise bad(key, "a positive number of seconds")
        seconds[key] = float(value)
    return Lab(path, title.strip(), tuple(files), solution, seconds["timeout_seconds"],
               seconds["real_time_limit_seconds"])


def find_lab(path: Path) -> Path | None:
    """The lab folder containing ``path`` (the nearest ancestor with a lab.toml), or None."""
    path = Path(path).resolve()
    start = path if path.is_dir() else path.parent
    return _find_lab_dir(start)


@functools.cache
def _find_lab_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / LAB_FILE).is_file():
            return folder
    return None
