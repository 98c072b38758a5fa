"""Request-rate ceilings as token buckets, and the record of a request one refused.

Pure: no clock of its own, time is passed in (integer microseconds, so a run replays to the same
decisions). The simulator's players (the API Gateway front door, EventBridge) enforce them; the
course's capacity model can call the same bucket.

- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html :
  "API Gateway throttles requests to your API using the token bucket algorithm, where a token
  counts for a request"; the rate is the steady-state requests per second (the refill) and the
  burst "the maximum bucket size". A bucket starts full.
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html : EventBridge's
  PutEvents and target invocation quotas are transactions per second per account and Region; the
  page names no burst, so the simulator's bucket holds one second of the rate (a modelling choice,
  listed in the manual's fidelity table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

#: One token, in bucket units: a microsecond of refill at 1 milli-request per second adds 1 unit,
#: so rates with three decimals (API Gateway's ThrottlingRateLimit is a double) stay integers.
_UNITS_PER_TOKEN: Final = 1_000_000_000


@dataclass(frozen=True)
class RateLimit:
    """A steady-state rate (requests per second) and a burst (the bucket's capacity)."""

    rate_per_s: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_s < 0 or self.burst < 0:
            raise ValueError("a rate limit needs rate_per_s >= 0 and burst >= 0")

    @classmethod
    def per_second(cls, rate: float) -> RateLimit:
        """A quota given as transactions per second only: a bucket of one second of the rate."""
        return cls(rate, max(1, math.ceil(rate)))


@dataclass
class TokenBucket:
    """One bucket: full at its first use, refilled continuously at `limit.rate_per_s` up to
    `limit.burst` tokens; a request takes one token or is refused."""

    limit: RateLimit
    _level: int | None = field(default=None, repr=False)  # None: full, not used yet
    _at_us: int = field(default=0, repr=False)

    def _refill(self, now_us: int) -> int:
        capacity = self.limit.burst * _UNITS_PER_TOKEN
        if self._level is None:
            self._level, self._at_us = capacity, now_us
        elif now_us > self._at_us:  # time seen here may step back (nested calls): no refill then
            gained = (now_us - self._at_us) * round(self.limit.rate_per_s * 1000)
            self._level, self._at_us = min(capacity, self._level + gained), now_us
        return self._level

    def available(self, now_us: int) -> int:
        """Whole tokens in the bucket at `now_us`."""
        return self._refill(now_us) // _UNITS_PER_TOKEN

    def try_take(self, now_us: int) -> bool:
        """Take one token at `now_us`; False (nothing taken) when the bucket has none."""
        level = self._refill(now_us)
        if level < _UNITS_PER_TOKEN:
            return False
        self._level = level - _UNITS_PER_TOKEN
        return True

    def next_token_us(self, now_us: int) -> int | None:
        """When the bucket will next hold a whole token (now if it does); None if never (rate 0
        or burst 0)."""
        level = self._refill(now_us)
        if level >= _UNITS_PER_TOKEN:
            return now_us
        per_us = round(self.limit.rate_per_s * 1000)
        if per_us == 0 or self.limit.burst == 0:
            return None
        return now_us + -(-(_UNITS_PER_TOKEN - level) // per_us)


@dataclass(frozen=True)
class Quota:
    """At most `limit` requests per calendar `period` (API Gateway usage plans: DAY, WEEK or MONTH)."""

    limit: int
    period: str


@dataclass(frozen=True)
class RateThrottle:
    """A request a rate ceiling refused: when, which service and ceiling (`scope`: API Gateway's
    "usage-plan" (a usage plan's throttle for an API key), "quota" (its request quota), "method"
    (REST stage method settings), "route" (HTTP API route settings) or "account"; EventBridge's
    "PutEvents" or "invocations"), what it was for (`resource`: the usage plan and key, the API,
    stage and method or route; the Region's account quota; the rule and target) and the limit it
    met."""

    at_us: int
    service: str
    scope: str
    resource: str
    limit: RateLimit | Quota
