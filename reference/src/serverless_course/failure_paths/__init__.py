"""Module 3, lesson 04: failure paths beyond SQS. One SAM template (``template.yaml``) sends the
same order down three routes into Lambda, each with its own retry rules and its own place for
failures: an asynchronous invoke (``invoked/``), an EventBridge rule target (``rule_target/``)
and a Kinesis stream (``stream_consumer/``); ``orders.py`` is the check that makes an order
poison. ``deploy(sim)`` deploys it; ``trace`` reads back what happened on each path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "template.yaml"


def deploy(sim: Any, *, stack_name: str = "failure-paths", validate: bool = True) -> Any:
    """Deploy the template into ``sim``; return the ``lambdasim.sam.Stack``.

    ``validate=False`` skips the cfn-lint check (the project's tests run it).
    """
    return sim.deploy(TEMPLATE, stack_name=stack_name, validate=validate)
