"""Concurrency rules of the Lambda service: the account pool, reserved and provisioned
concurrency, the per-function scaling rate, and the throttle they lead to.

Pure: no moto, no boto3, no clock. The simulator (`environments.EnvironmentPool`) and the
capacity model of issue 7 call these functions with their own counts, so each rule has one
source of truth.

Sources:

- https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html : concurrency is the
  number of in-flight requests; an execution environment handles one request at a time.
- https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html : 1,000 concurrent
  executions per account and Region by default (new accounts may start lower).
- https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html : reserved
  concurrency is both the function's guaranteed share and its cap; it is subtracted from the
  unreserved pool the other functions share; you can reserve up to the unreserved account
  concurrency minus 100; 0 throttles every invocation.
- https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html : provisioned
  concurrency counts towards the function's reserved concurrency and the account quota;
  it is configured on a published version or an alias, never on $LATEST.
- https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html : each function can add
  1,000 execution environments every 10 seconds (since 2023-11-27); Lambda refills this
  continuously and never banks more than 1,000; beyond it, requests fail with 429.
- https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html and the SDK's
  TooManyRequestsException shape (Reason, Type, message, Retry-After): the 429 body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

# gettingstarted-limits.html: the default Regional quota.
DEFAULT_ACCOUNT_CONCURRENCY: Final = 1000
# configuration-concurrency.html: "You can reserve up to the Unreserved account concurrency
# value minus 100". Accounts whose quota is below 100 report their whole quota as the minimum
# (AWS's error names "[10]" or "[50]" there), hence `minimum_unreserved`.
MIN_UNRESERVED_CONCURRENCY: Final = 100
# scaling-behavior.html (since 2023-11-27): 1,000 new environments per function every 10 s.
SCALING_RATE_ENVIRONMENTS: Final = 1000
SCALING_RATE_WINDOW_S: Final = 10.0

# The 429 answer of the Invoke API. The body AWS sends (observed on the wire, the SDK shape
# TooManyRequestsException has exactly these members):
#   {"Reason":"ConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}
THROTTLE_STATUS: Final = 429
THROTTLE_CODE: Final = "TooManyRequestsException"
THROTTLE_MESSAGE: Final = "Rate Exceeded."
THROTTLE_TYPE: Final = "User"
REASON_ACCOUNT: Final = "ConcurrentInvocationLimitExceeded"
REASON_RESERVED: Final = "ReservedFunctionConcurrentInvocationLimitExceeded"
# AWS does not document which Reason a scaling-rate throttle carries (UNCONFIRMED); the
# account-level reason is used, and the throttle's `limit` says which rule refused it.
REASON_SCALING_RATE: Final = REASON_ACCOUNT

ThrottleLimit = Literal["reserved", "account", "scaling-rate", "tenant-environments"]


@dataclass(frozen=True)
class Throttle:
    """A refused invocation: the `Reason` AWS reports and the rule (`limit`) that refused it."""

    reason: str
    limit: ThrottleLimit
    message: str = THROTTLE_MESSAGE

    def body(self) -> dict[str, str]:
        """The JSON body of the 429 answer."""
        return throttle_body(self.reason)


# Throttle is frozen: the rule answers with these two rather than a new one per refusal (the
# capacity model asks millions of times).
RESERVED_THROTTLE: Final = Throttle(REASON_RESERVED, "reserved")
ACCOUNT_THROTTLE: Final = Throttle(REASON_ACCOUNT, "account")


def throttle_body(reason: str) -> dict[str, str]:
    """The 429 TooManyRequestsException body, members in AWS's order."""
    return {"Reason": reason, "Type": THROTTLE_TYPE, "message": THROTTLE_MESSAGE}


def minimum_unreserved(account_limit: int) -> int:
    """The concurrency that must stay unreserved: 100, or the whole quota if it is lower."""
    return min(MIN_UNRESERVED_CONCURRENCY, account_limit)


def reserved_concurrency_error(
    account_limit: int, reserved: Mapping[str, int], function: str, value: int
) -> str | None:
    """Why PutFunctionConcurrency(function, value) fails, or None if it is allowed.

    `reserved` holds the current reservations (the function's own old value is replaced).
    AWS answers 400 InvalidParameterValueException with this message.
    """
    others = sum(v for name, v in reserved.items() if name != function)
    floor = minimum_unreserved(account_limit)
    if account_limit - others - value < floor:
        return (
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{floor}]."
        )
    return None


def provisioned_concurrency_error(
    account_limit: int,
    reserved: Mapping[str, int],
    provisioned: Mapping[str, int],
    function: str,
    total: int,
) -> str | None:
    """Why a provisioned concurrency request fails, or None if it is allowed.

    `total` is the function's provisioned concurrency over all its versions and aliases once
    the request applies; `provisioned` the current totals of every function. The rule
    (provisioned-concurrency.html): within the function's reserved concurrency if it has
    one; otherwise within the unreserved pool minus the minimum that stays unreserved. The
    wording of the messages is the simulator's (AWS's exact text is UNCONFIRMED).
    """
    if function in reserved:
        if total > reserved[function]:
            return (
                f"Requested Provisioned Concurrency ({total}) should not be greater than the "
                f"reservedConcurrentExecution for function ({reserved[function]})."
            )
        return None
    pool = account_limit - sum(reserved.values())
    others = sum(v for name, v in provisioned.items() if name != function and name not in reserved)
    floor = minimum_unreserved(account_limit)
    if pool - others - total < floor:
        return (
            "Specified ConcurrentExecutions for function is greater than account's unreserved "
            f"concurrency [{pool - others}] minus its minimum value of [{floor}]."
        )
    return None


@dataclass
class ConcurrencyLimits:
    """The account pool and the admission rule for one more on-demand execution.

    Concurrency is counted in execution environments busy at an instant. Provisioned
    environments are claimed all the time (busy or idle), so they count against the
    function's reservation or the unreserved pool whether they run or not; an invocation
    that finds an idle provisioned environment is always admitted.
    """

    account_limit: int = DEFAULT_ACCOUNT_CONCURRENCY

    def __post_init__(self) -> None:
        if self.account_limit < 0:
            raise ValueError("account concurrency must be >= 0")

    def unreserved_pool(self, reserved: Mapping[str, int]) -> int:
        """What the functions without reserved concurrency share (UnreservedConcurrentExecutions)."""
        return self.account_limit - sum(reserved.values())

    def check(
        self,
        function: str,
        *,
        busy: Mapping[str, int],
        reserved: Mapping[str, int],
        provisioned: Mapping[str, int] | None = None,
    ) -> Throttle | None:
        """May one more on-demand execution of `function` start now? None, or the throttle.

        `busy`: on-demand environments busy now, per function. `reserved`: reserved
        concurrency per function (functions without one are absent). `provisioned`: the
        provisioned concurrency of each function (all versions and aliases).
        """
        provisioned = provisioned or {}
        if function in reserved:
            claimed = busy.get(function, 0) + provisioned.get(function, 0)
            if claimed >= reserved[function]:
                return RESERVED_THROTTLE
            return None
        claimed = sum(n for name, n in busy.items() if name not in reserved) if reserved else sum(busy.values())
        if provisioned:
            claimed += sum(n for name, n in provisioned.items() if name not in reserved)
        if claimed >= self.unreserved_pool(reserved):
            return ACCOUNT_THROTTLE
        return None


@dataclass
class ScalingRate:
    """The per-function concurrency scaling rate as a token bucket (scaling-behavior.html).

    Every function may create `environments` new execution environments per `per_seconds`,
    refilled continuously, never holding more than `environments` (unused rate is not
    banked). A new environment takes one token; warm reuse and provisioned environments take
    none. Integer arithmetic in microseconds, so a run replays to the same decisions.
    """

    environments: int = SCALING_RATE_ENVIRONMENTS
    per_seconds: float = SCALING_RATE_WINDOW_S
    _state: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.environments < 1 or self.per_seconds <= 0:
            raise ValueError("scaling rate needs environments >= 1 and per_seconds > 0")
        self._window_us = round(self.per_seconds * 1_000_000)
        # One token is `window_us` units; the bucket holds at most `environments` tokens and
        # gains `environments` units per microsecond.
        self._capacity = self.environments * self._window_us

    def _level(self, function: str, now_us: int) -> tuple[int, int]:
        # Invocations nested in a handler run at the handler's time, which can be ahead of the
        # next scheduled event: time seen here may step back. The bucket then does not refill
        # and keeps its latest time (never refills twice for the same interval).
        level, at = self._state.get(function, (self._capacity, now_us))
        if now_us > at:
            level = min(self._capacity, level + (now_us - at) * self.environments)
            at = now_us
        return level, at

    def available(self, function: str, now_us: int) -> int:
        """Whole new environments `function` could create now."""
        return self._level(function, now_us)[0] // self._window_us

    def try_take(self, function: str, now_us: int) -> bool:
        """Take the token for one new environment of `function` at `now_us`; False if none is left."""
        level, at = self._level(function, now_us)
        if level < self._window_us:
            self._state[function] = (level, at)
            return False
        self._state[function] = (level - self._window_us, at)
        return True
