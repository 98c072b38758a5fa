"""Chaos harness of module 3 (error handling and retry): drive seeded messages with injected
failures through the orders pipeline's processing path (SQS -> processor -> DynamoDB) and audit
that every message was applied exactly once or dead-lettered with its reason.

``run_chaos(seed=..., messages=..., faults=ChaosMix(...), processor=None) -> ChaosReport``.
"""

from serverless_course.chaos.harness import ChaosMix, ChaosReport, run_chaos

__all__ = ["ChaosMix", "ChaosReport", "run_chaos"]
