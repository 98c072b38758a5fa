"""Client timeouts that fit the SDK's worst case inside the time a Lambda invocation has left.

botocore's defaults are 60 s to connect and 60 s per socket read (botocore Config reference,
https://botocore.amazonaws.com/v1/documentation/api/latest/reference/config.html), and it retries
a timed-out attempt. A 10 s function calling an unresponsive dependency with those defaults
times out inside the first attempt: its own error handling never runs. The worst case of one
SDK call is::

    worst_case = attempts x (connect_timeout + read_timeout) + backoff_ceiling

and ``budgeted_config`` chooses the two timeouts so that ``worst_case + reserve`` equals the time
left, the reserve being what the handler keeps for itself (reporting the failure, logging).

The backoff ceiling is the sum of the largest delay botocore may sleep before each retry
(retry modes: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html and
https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html; the figures are
those of botocore's code, which the SDK reference page defers to):

* ``standard`` and ``adaptive``: retry ``i`` (from 0) sleeps ``rand(0, 1) x min(base x 2**i, 20 s)``
  with ``base`` 1 s for throttling errors (the largest; 50 ms or 25 ms for other errors,
  ``botocore/retries/standard.py``); an ``x-amz-retry-after`` header can raise a delay by up
  to 5 s more (``retry_after=True`` counts it).
* ``adaptive`` also waits for a send token before every attempt, the initial one included; at
  botocore's lowest fill rate (0.5 token/s, ``botocore/retries/bucket.py``) that is at most 2 s
  per attempt for a client used by one thread, as a Lambda handler uses it.
* ``legacy``: retry ``i`` sleeps ``rand(0, 1) x 2**i`` s (``botocore/data/_retry.json``; DynamoDB
  ``0.05 x 2**i``), with no cap: a bound for every service.

``read_timeout`` bounds each socket read, not the whole response: a server trickling bytes can
hold an attempt longer. The formula bounds the failures that matter here, a dependency that
accepts the connection and never answers, or never accepts it.
"""

from __future__ import annotations

from typing import Literal, Protocol

from botocore.config import Config

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_READ_TIMEOUT_S",
    "RetryMode",
    "backoff_ceiling_s",
    "budgeted_config",
    "default_max_attempts",
    "remaining_s",
    "worst_case_s",
]

RetryMode = Literal["legacy", "standard", "adaptive"]

#: botocore's timeouts when a Config sets none (Config reference, above).
DEFAULT_CONNECT_TIMEOUT_S = 60.0
DEFAULT_READ_TIMEOUT_S = 60.0

_MAX_BACKOFF_S = 20.0  # standard/adaptive: no single delay above 20 s
_THROTTLING_BASE_S = 1.0  # standard/adaptive: the largest base scale
_RETRY_AFTER_EXTRA_S = 5.0  # an x-amz-retry-after header adds at most this per retry
_ADAPTIVE_MIN_RATE = 0.5  # tokens per second: botocore's TokenBucket never fills slower
_LEGACY_BASE_S = 1.0  # legacy: "base": "rand", "growth_factor": 2, no cap

# Attempts (the first one included) when a Config sets none, as botocore 1.44.0 and later
# resolve them: standard/adaptive 3 (the SDK reference) and 4 for DynamoDB and DynamoDB Streams
# (the SDKs' 2026 retry behaviour, opt-in from May 2026 and the default since Nov 10 2026, when
# botocore 1.44.0 removed the opt-in: aws.amazon.com/blogs/developer/updated-default-retry-
# behavior-for-aws-sdks-and-tools/); legacy 5 (boto3 retries guide) and 10 for DynamoDB
# (_retry.json).
_DEFAULT_ATTEMPTS: dict[str, dict[str, int]] = {
    "standard": {"dynamodb": 4, "dynamodbstreams": 4},
    "adaptive": {"dynamodb": 4, "dynamodbstreams": 4},
    "legacy": {"dynamodb": 10},
}
_GENERAL_ATTEMPTS = {"standard": 3, "adaptive": 3, "legacy": 5}


class _LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def default_max_attempts(mode: RetryMode, service: str) -> int:
    """Attempts botocore makes when the client's Config does not set them."""
    return _DEFAULT_ATTEMPTS[mode].get(service.replace("-", ""), _GENERAL_ATTEMPTS[mode])


def backoff_ceiling_s(mode: RetryMode, max_attempts: int, *, retry_after: bool = False) -> float:
    """The longest botocore can spend between the attempts of one call (and, in adaptive mode,
    waiting for send tokens)."""
    if max_attempts < 1:
        raise ValueError("max_attempts counts the first attempt: at least 1")
    retries = range(max_attempts - 1)
    if mode == "legacy":
        return sum(_LEGACY_BASE_S * 2**i for i in retries)
    ceiling = sum(min(_THROTTLING_BASE_S * 2**i, _MAX_BACKOFF_S) for i in retries)
    if retry_after:
        ceiling += _RETRY_AFTER_EXTRA_S * len(retries)
    if mode == "adaptive":
        ceiling += max_attempts / _ADAPTIVE_MIN_RATE
    return ceiling


def worst_case_s(config: Config | None, service: str, *, retry_after: bool = False) -> float:
    """The longest one call of ``service`` made with ``config`` can take when the dependency
    never answers: every attempt waits out its timeouts, every retry its longest backoff."""
    config = config or Config()
    retries = config.retries or {}
    mode: RetryMode = retries.get("mode", "standard")
    if "total_max_attempts" in retries:
        attempts = retries["total_max_attempts"]
    elif "max_attempts" in retries:  # botocore's older key counts retries, not attempts
        attempts = retries["max_attempts"] + 1
    else:
        attempts = default_max_attempts(mode, service)
    connect = config.connect_timeout if config.connect_timeout is not None else DEFAULT_CONNECT_TIMEOUT_S
    read = config.read_timeout if config.read_timeout is not None else DEFAULT_READ_TIMEOUT_S
    return attempts * (connect + read) + backoff_ceiling_s(mode, attempts, retry_after=retry_after)


def budgeted_config(
    time_left_s: float,
    *,
    mode: RetryMode = "standard",
    max_attempts: int = 3,
    reserve_s: float = 1.0,
    connect_share: float = 0.25,
    retry_after: bool = False,
) -> Config:
    """A botocore Config whose worst case plus ``reserve_s`` fits in ``time_left_s``.

    ``time_left_s`` is the function's timeout (for clients created at init) or
    ``remaining_s(context)``. Each attempt gets an equal share of what the backoff ceiling
    leaves; ``connect_share`` of it goes to connecting (a connection in the same Region opens
    fast, so most of the share is left for the answer). Raises ``ValueError`` when not even the
    retries' backoff fits: make fewer attempts or give the function more time.
    """
    if not 0 < connect_share < 1:
        raise ValueError("connect_share is the part of an attempt spent connecting: 0 < share < 1")
    available = time_left_s - reserve_s - backoff_ceiling_s(mode, max_attempts, retry_after=retry_after)
    if available <= 0:
        raise ValueError(
            f"{max_attempts} {mode} attempts cannot fit in {time_left_s:g} s "
            f"(keeping {reserve_s:g} s): fewer attempts or a longer timeout")
    per_attempt = available / max_attempts
    return Config(
        connect_timeout=per_attempt * connect_share,
        read_timeout=per_attempt * (1 - connect_share),
        retries={"mode": mode, "total_max_attempts": max_attempts},
    )


def remaining_s(context: _LambdaContext) -> float:
    """The invocation's time left, in seconds, from the Lambda context."""
    return context.get_remaining_time_in_millis() / 1000
