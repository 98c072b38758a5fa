"""Module 3, lesson 05: calling downstream services from a Lambda handler.

- ``budgeted_config(time_left_s, mode=..., max_attempts=...)``: a botocore ``Config`` whose
  worst case (attempts x timeouts + backoff ceiling) fits in the invocation's time
  (``budget``); ``worst_case_s(config, service)`` checks any Config.
- ``dependency_breaker(name, fail_max=..., reset_timeout=...)``: a ``pybreaker`` circuit breaker
  that counts only the dependency's own failures (``breaker``).
- ``handlers``: the lesson's Lambda handlers (``put_items``, ``orders_writer``).

A dependency that never answers is ``lambdasim.NoAnswer``, a fault like any other:
``sim.faults.add("dynamodb", "PutItem", NoAnswer())``.
"""

from serverless_course.downstream.breaker import dependency_breaker, is_dependency_failure
from serverless_course.downstream.budget import (
    RetryMode,
    backoff_ceiling_s,
    budgeted_config,
    default_max_attempts,
    remaining_s,
    worst_case_s,
)

__all__ = [
    "RetryMode",
    "backoff_ceiling_s",
    "budgeted_config",
    "default_max_attempts",
    "dependency_breaker",
    "is_dependency_failure",
    "remaining_s",
    "worst_case_s",
]
