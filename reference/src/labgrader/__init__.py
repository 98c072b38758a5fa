"""Grading of the course's labs: a pytest plugin plus a command that grades a whole class.

* ``labgrader.plugin``: the pytest plugin (points per test, the ``submission`` fixture,
  ``--submission DIR``, ``--results-json FILE``, per-test time limits, the score table).
* ``python -m labgrader class LAB SUBMISSIONS --out OUT``: grade every student's folder, each
  in its own process with a wall-clock limit, and write a gradebook.
* ``python -m labgrader grade LAB [--submission DIR] [--results-json FILE]``: grade one.

Graded tests raise nothing of their own; ``Submission.load`` raises SubmissionError when the
learner's file cannot be imported, and its message is the learner's feedback. A test that
checks an absence ("nothing lost") calls ``require_work`` first: doing nothing earns nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labgrader.guards import NothingDone, require_work
from labgrader.lab import Lab, LabConfigError, find_lab

if TYPE_CHECKING:
    from labgrader.submission import Submission, SubmissionError

__all__ = ["Lab", "LabConfigError", "NothingDone", "Submission", "SubmissionError", "find_lab",
           "require_work"]


def __getattr__(name: str) -> Any:
    # `labgrader.submission` imports the simulator's package (boto3 and more: about half a second
    # of CPU). Only the pytest process that grades needs it, not `python -m labgrader`'s own,
    # which starts that process: it is imported when first asked for.
    if name in ("Submission", "SubmissionError"):
        from labgrader import submission

        return getattr(submission, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
