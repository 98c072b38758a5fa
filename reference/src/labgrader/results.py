"""Graded results: one record per test, the score table and Gradescope's ``results.json``.

``results.json`` follows Gradescope's autograder specification: a top-level ``score`` (plus
``max_score``, ``output``, ``visibility``, ``execution_time``) and a ``tests`` list whose
entries have ``name``, ``score``, ``max_score``, ``status`` ("passed"/"failed"), ``output``
and ``visibility``. Nothing here imports pytest, so the class command can use it too.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FEEDBACK_LIMIT = 2000  # characters of feedback per test kept in results.json
SHORT_LIMIT = 110  # characters of a one-line summary
DESCRIPTION_LINES = 2  # lines of a test's description in the terminal table
FEEDBACK_LINES = 3  # lines of a test's feedback in the terminal table
NOTE_LINES = 6  # lines of each note about the whole run in the terminal table


@dataclass
class GradedTest:
    """One graded test. Anything but a pass earns nothing."""

    nodeid: str
    name: str  # the test's name, with its parameters: test_x[case]
    description: str  # its docstring's first paragraph, on one line ("" if it has none)
    max_points: float
    lab: str  # the lab's title
    status: str = "not run"  # "passed", "failed", "skipped" or "not run"
    feedback: str = ""

    @property
    def points(self) -> float:
        return self.max_points if self.status == "passed" else 0.0

    @property
    def title(self) -> str:
        return f"{self.name}: {self.description}" if self.description else self.name


def fmt(points: float) -> str:
    """2.0 -> "2", 1.5 -> "1.5"."""
    return f"{points:g}"


def totals(results: list[GradedTest]) -> tuple[float, float]:
    return sum(r.points for r in results), sum(r.max_points for r in results)


def short(feedback: str, limit: int = SHORT_LIMIT) -> str:
    """The first line of some text, cut to ``limit`` characters ("..." says there is more)."""
    limit = max(limit, 20)
    lines = [line.strip() for line in feedback.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(lines) > 1 or len(first) > limit:
        first = first[: limit - 4].rstrip() + " ..."
    return first


def table(results: list[GradedTest], notes: list[str], width: int = 100) -> list[str]:
    """The score table printed at the end of a run, as plain lines at most ``width`` wide."""
    lines: list[str] = []
    indent = " " * 9
    for lab in dict.fromkeys(r.lab for r in results):
        lines.append(f"Lab: {lab}")
        for r in (r for r in results if r.lab == lab):
            points = f"{fmt(r.points)}/{fmt(r.max_points)}"
            lines.append(f"  {points:>5}  {r.name}")
            if r.description:
                lines += _wrap(r.description, indent, indent, width, DESCRIPTION_LINES)
            if r.status != "passed":
                first = short(r.feedback or r.status, FEEDBACK_LIMIT)
                lines += _wrap(first, indent + "-> ", indent + "   ", width, FEEDBACK_LINES)
    for note in notes:  # pytest printed the details already: a few lines are enough here
        note_lines = note.strip().splitlines()
        lines.extend(note_lines[:NOTE_LINES] + (["  ..."] if len(note_lines) > NOTE_LINES else []))
    score, max_score = totals(results)
    lines.append(f"Score: {fmt(score)} / {fmt(max_score)}")
    return lines


def gradescope(
    results: list[GradedTest], notes: list[str], execution_time: float | None = None
) -> dict[str, Any]:
    """Gradescope's results.json for these results."""
    score, max_score = totals(results)
    output = "\n".join([*notes, f"Score: {fmt(score)} / {fmt(max_score)}"])
    data: dict[str, Any] = {
        "score": score,
        "max_score": max_score,
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": r.title,
                "score": r.points,
                "max_score": r.max_points,
                "status": "passed" if r.status == "passed" else "failed",
                "output": _clip(r.feedback if r.status != "passed" else ""),
                "visibility": "visible",
            }
            for r in results
        ],
    }
    if execution_time is not None:
        data["execution_time"] = round(execution_time)  # whole seconds, as in the spec
    return data


def failure_results(max_score: float, reason: str) -> dict[str, Any]:
    """results.json for a submission that could not be graded at all (score 0)."""
    return {
        "score": 0,
        "max_score": max_score,
        "output": reason,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically, so a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _wrap(text: str, first: str, rest: str, width: int, max_lines: int) -> list[str]:
    return textwrap.wrap(text, max(width, 40), initial_indent=first, subsequent_indent=rest,
                         max_lines=max_lines, placeholder=" ...")


def _clip(text: str) -> str:
    return text if len(text) <= FEEDBACK_LIMIT else text[: FEEDBACK_LIMIT - 15] + "\n... (cut)"
