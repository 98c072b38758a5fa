"""A circuit breaker around a downstream dependency, with the maintained ``pybreaker`` library.

Retries help when a failure is brief. When a dependency is down, every SQS receive of every
message makes the SDK's full set of attempts against it (``attempts x maxReceiveCount`` calls per
message), adding load to a service that is already failing. A breaker counts the dependency's
failures; after ``fail_max`` in a row it *opens* and calls fail at once with
``pybreaker.CircuitBreakerError`` without reaching the dependency; after ``reset_timeout``
seconds it lets one trial call through (*half-open*): success closes it, failure opens it again.

In Lambda the breaker is a module-level object, so its state is **per execution environment**:
each concurrent environment trips on its own failures, and a new environment starts closed. It
cuts calls, not receives: a batch failed by an open breaker still counts a receive for each
message, so after ``maxReceiveCount`` receives SQS moves it to the dead-letter queue
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html);
redrive it once the dependency is back.

pybreaker reads the time with ``datetime.now``; in the simulator freezegun shows it the virtual
clock, so ``reset_timeout`` elapses in virtual time (``tests/errors/test_downstream.py``).
"""

from __future__ import annotations

from types import SimpleNamespace

import pybreaker
from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker, TransientRetryableChecker

__all__ = ["dependency_breaker", "is_dependency_failure"]

# "The service cannot serve you now", classified by botocore's own standard retry mode: throttling
# error codes, 500/502/503/504 and connection or timeout errors
# (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
_STANDARD_MODE_CHECKERS = (ThrottledRetryableChecker(), TransientRetryableChecker())


def is_dependency_failure(error: BaseException) -> bool:
    """True when ``error`` says the dependency is failing (throttled, 5xx, unreachable, timed
    out), False for an answer about the request itself (a validation error, a failed
    condition), which must not trip the breaker."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        context = RetryContext(attempt_number=1, parsed_response=error.response,
                               http_response=SimpleNamespace(status_code=status))
    else:
        context = RetryContext(attempt_number=1, caught_exception=error)
    return any(checker.is_retryable(context) for checker in _STANDARD_MODE_CHECKERS)


def dependency_breaker(name: str, *, fail_max: int = 5, reset_timeout: float = 30.0) -> pybreaker.CircuitBreaker:
    """A breaker that opens after ``fail_max`` dependency failures in a row (SDK retries
    already spent) and tries again after ``reset_timeout`` seconds. Other errors pass through
    without counting."""
    return pybreaker.CircuitBreaker(
        fail_max=fail_max,
        reset_timeout=reset_timeout,
        exclude=[lambda error: not is_dependency_failure(error)],
        name=name,
    )
