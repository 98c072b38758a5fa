"""Module 8: change data capture on the orders table with DynamoDB Streams.

One SAM template (``template.yaml``) and its handlers in one code folder (``CodeUri: .``):
``summary/`` (the customer summaries: the read model, lab 08's solution), ``search/`` (the search
projection, in a SQLite stand-in for OpenSearch), ``outbox/`` (the outbox pipe's enrichment),
sharing ``orders.py`` (the two item schemas, the read model recomputed from the table).
``workload`` makes seeded writes (creates, updates, cancels that Time to Live later purges,
erasures, unreadable items, across interleaved customers); ``harness.run_cdc`` deploys the stack,
plays a workload with injected failures (transient errors, batches delivered again) and audits
every projection against a recomputation from the table. ``wrong/`` holds the wrong consumers
the lessons and lab 08's selfcheck run.

``deploy(sim)`` is ``sim.deploy(TEMPLATE)``; ``replace`` maps a function to a copy of this folder
in which some files are replaced (lab 08 runs ``SummaryFunction`` with the learner's
``summary/app.py``), ``isolation`` (graders) runs those in worker processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serverless_course.code_folders import copy_with

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "template.yaml"


def deploy(sim: Any, *, stack_name: str = "cdc", replace: dict[str, dict[str, Path]] | None = None,
           validate: bool = True, isolation: Any = None, parameters: dict[str, str] | None = None) -> Any:
    """Deploy the CDC stack into ``sim``; return the ``lambdasim.sam.Stack``.

    ``replace``: {function logical id: {path in the code folder: file}}; ``validate=False``
    skips cfn-lint (the project's tests run it once); ``parameters`` override the template's.
    """
    stack = sim.deploy(TEMPLATE, stack_name=stack_name, validate=validate, parameters=parameters)
    for logical_id, files in (replace or {}).items():
        sim.map_handler(stack.function_name(logical_id), code_dir=code_folder(files),
                        isolation=isolation)
    return stack


def code_folder(files: dict[str, Path]) -> Path:
    """A new copy of this code folder with ``files`` replaced."""
    return copy_with(HERE, files, prefix="cdc-code-", leave_out=("wrong",))
