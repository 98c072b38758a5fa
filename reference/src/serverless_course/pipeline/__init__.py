"""The orders pipeline of modules 1-5: one SAM template (``template.yaml``), two handlers
(``ingest/``, ``processor/``), the event contract (``orders_contract``) and the PutEvents sender
(``event_sender``) they share. Both functions deploy this folder (``CodeUri: .``).

``deploy(sim)`` is ``sim.deploy(TEMPLATE)``; with ``replace`` it first maps a function to a copy
of this folder in which some files are replaced (lab 01 runs the ingest function with the
learner's ``event_sender.py``; each simulated execution environment imports its own folder's
modules, so the processor keeps the reference one). With ``isolation`` (graders), the functions
whose files were replaced run their code in worker processes (``lambdasim.isolation``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from serverless_course.code_folders import copy_with

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "template.yaml"


def deploy(sim: Any, *, stack_name: str = "orders",
           replace: dict[str, dict[str, Path]] | None = None, validate: bool = True,
           isolation: Any = None, parameters: dict[str, str] | None = None) -> Any:
    """Deploy the pipeline into ``sim``; return the ``lambdasim.sam.Stack``.

    ``replace`` maps a function's logical id to files replaced in its code folder, e.g.
    ``{"IngestFunction": {"event_sender.py": Path("starter/event_sender.py")}}``;
    ``validate=False`` skips the cfn-lint check (the project's tests run it); ``isolation``
    (a ``lambdasim.isolation.Isolation``) runs the replaced functions in worker processes;
    ``parameters`` override the template's (module 2's load tests and lab 02 tune them:
    ``serverless_course.scaling.settings.PipelineSettings.template_parameters``).
    """
    stack = sim.deploy(TEMPLATE, stack_name=stack_name, validate=validate, parameters=parameters)
    for logical_id, files in (replace or {}).items():
        sim.map_handler(stack.function_name(logical_id), code_dir=code_folder(files),
                        isolation=isolation)
    return stack


def code_folder(files: dict[str, Path]) -> Path:
    """A new copy of this code folder (``CodeUri: .``) with ``files`` replaced."""
    return copy_with(HERE, files, prefix="orders-code-")
