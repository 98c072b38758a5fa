"""Chaos harness of module 3 (error handling and retry): drive seeded messages with injected
failures through the orders pipeline's processing path (SQS -> processor -> DynamoDB) and audit
that every message was applied exactly once or dead-lettered with its reason.

``run_chaos(seed=..., messages=..., faults=ChaosMix(...), processor=None) -> ChaosReport``.
``WRONG_PROCESSORS`` is the folder of deliberately wrong processors (``whole_batch.py``,
``no_idempotency.py``, ``swallow_errors.py``, ``end_of_batch_events.py``, ``delivery_key.py``)
that the audit catches.
"""

from pathlib import Path

from serverless_course.chaos.harness import ChaosMix, ChaosReport, run_chaos

WRONG_PROCESSORS = Path(__file__).parent / "wrong"

__all__ = ["WRONG_PROCESSORS", "ChaosMix", "ChaosReport", "run_chaos"]
