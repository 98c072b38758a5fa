"""The orders pipeline of modules 1-5: one SAM template (``template.yaml``), two handlers
(``ingest/``, ``processor/``), the event contract (``orders_contract``) and the PutEvents sender
(``event_sender``) they share. Both functions deploy this folder (``CodeUri: .``).

``deploy(sim)`` is ``sim.deploy(TEMPLATE)``; with ``replace`` it first maps a function to a copy
of this folder in which some files are replaced (lab 01 runs the ingest function with the
learner's ``event_sender.py``; each simulated execution environment imports its own folder's
modules, so the processor keeps the reference one).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "template.yaml"


def deploy(sim: Any, *, stack_name: str = "orders",
           replace: dict[str, dict[str, Path]] | None = None, validate: bool = True) -> Any:
    """Deploy the pipeline into ``sim``; return the ``lambdasim.sam.Stack``.

    ``replace`` maps a function's logical id to files replaced in its code folder, e.g.
    ``{"IngestFunction": {"event_sender.py": Path("starter/event_sender.py")}}``;
    ``validate=False`` skips the cfn-lint check (the project's tests run it).
    """
    stack = sim.deploy(TEMPLATE, stack_name=stack_name, validate=validate)
    for logical_id, files in (replace or {}).items():
        folder = Path(tempfile.mkdtemp(prefix=f"orders-{logical_id}-"))
        shutil.copytree(HERE, folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.yaml"))
        for name, path in files.items():
            shutil.copyfile(path, folder / name)
        sim.map_handler(stack.function_name(logical_id), code_dir=folder)
    return stack
