"""API Gateway's request throttling: which token buckets a request to a REST or HTTP API meets.

Pure functions and constants (the buckets: `rules.throughput`). Sources:

- https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html : "Throttle quota per
  account, per Region across HTTP APIs, REST APIs, WebSocket APIs, and WebSocket callback APIs":
  10,000 requests per second with a bucket of 5,000 requests; 2,500 RPS and a burst of 1,250 in
  Africa (Cape Town), Europe (Milan), Asia Pacific (Jakarta), Middle East (UAE), Asia Pacific
  (Hyderabad), Asia Pacific (Melbourne), Europe (Spain), Europe (Zurich), Israel (Tel Aviv),
  Canada West (Calgary), Asia Pacific (Malaysia), Asia Pacific (Thailand) and Mexico (Central).
- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html :
  REST APIs apply, in this order, a usage plan's per-client limits, the stage's per-method
  limits ("applied at the API method level for a stage. You can configure the same settings for
  all methods, or configure different throttle settings for each method"), the account's limit
  per Region, and AWS's regional limit; a refused request gets "429 Too Many Requests".
- https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html :
  a usage plan's throttle and quota "apply to requests for individual API keys that are
  aggregated across all API stages within a usage plan"; its throttle can be set per method of
  an API stage (`/{resource path}/{method}` keys); a method requires an API key when its
  `apiKeyRequired` is set. The key comes in the `x-api-key` header; without it, or with a key not
  in a usage plan of the API's stage, the answer is 403 Forbidden
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-usage-plan-test-with-postman.html);
  past the quota 429 "Limit Exceeded"
  (https://repost.aws/knowledge-center/api-gateway-429-limit). Quotas count per calendar DAY,
  WEEK or MONTH (https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html); where
  a period starts is not documented (modelled: 00:00 UTC, Monday, the 1st).
- https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html : HTTP
  APIs have the account's limit and route-level limits set for a stage (its default route
  settings) or for individual routes (`RouteSettings` keyed by route key).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from .throughput import Quota, RateLimit

ACCOUNT_THROTTLE: Final = RateLimit(10_000, 5_000)
SMALLER_REGIONS_ACCOUNT_THROTTLE: Final = RateLimit(2_500, 1_250)
#: The Regions limits.html names with the smaller default, by Region code.
SMALLER_REGIONS: Final = frozenset({
    "af-south-1", "eu-south-1", "ap-southeast-3", "me-central-1", "ap-south-2", "ap-southeast-4", "eu-south-2",
    "eu-central-2", "il-central-1", "ca-west-1", "ap-southeast-5", "ap-southeast-7", "mx-central-1"})

THROTTLED_STATUS: Final = 429
THROTTLED_MESSAGE: Final = "Too Many Requests"
API_KEY_HEADER: Final = "x-api-key"
FORBIDDEN_STATUS: Final = 403
FORBIDDEN_MESSAGE: Final = "Forbidden"
QUOTA_EXCEEDED_MESSAGE: Final = "Limit Exceeded"

#: A throttling setting as the APIs keep it: (rate, burst), either possibly unset.
Setting = tuple[float | None, int | None]


def account_throttle(region: str) -> RateLimit:
    """The account's default throttle quota in `region` (limits.html)."""
    return SMALLER_REGIONS_ACCOUNT_THROTTLE if region in SMALLER_REGIONS else ACCOUNT_THROTTLE


def _limit(setting: Setting | None, account: RateLimit) -> RateLimit | None:
    """A setting as a limit; a part left unset is the account's (it cannot be higher anyway)."""
    if setting is None or setting == (None, None):
        return None
    rate, burst = setting
    return RateLimit(account.rate_per_s if rate is None else rate, account.burst if burst is None else burst)


def rest_method_throttle(method_settings: Mapping[str, Setting], resource: str, method: str,
                         account: RateLimit) -> RateLimit | None:
    """The stage's limit for one method of a REST API: its own method setting, else the one for
    its HTTP method on every resource (`*/GET`), else the one for all methods (`*/*`); None when
    the stage sets none. Keys are the API's
    `{resource path}/{method}`, slashes in the path escaped as `~1` (`~1orders~1{id}/GET`)."""
    own = wildcard = None
    for key, setting in method_settings.items():
        path, _, name = key.rpartition("/")
        if name != method:
            continue
        if path == "*":
            wildcard = setting
        elif (path.replace("~1", "/") or "/") == resource:
            own = setting
    for setting in (own, wildcard, method_settings.get("*/*")):
        limit = _limit(setting, account)
        if limit is not None:
            return limit
    return None


def http_route_throttle(default: Setting | None, routes: Mapping[str, Setting], route_key: str,
                        account: RateLimit) -> RateLimit | None:
    """An HTTP API stage's limit for one route: its route setting, else the stage's default
    route setting; None when neither sets a throttle."""
    own = _limit(routes.get(route_key), account)
    return own if own is not None else _limit(default, account)


def usage_plan_throttle(plan: Setting | None, methods: Mapping[str, Setting], resource: str, method: str,
                        account: RateLimit) -> RateLimit | None:
    """A usage plan's throttle for one method of an API stage: the stage's setting for the method
    (`/orders/{id}/GET`), else the plan's; None when neither sets one."""
    own = _limit(methods.get(f"{resource}/{method}"), account)
    return own if own is not None else _limit(plan, account)


def quota_period_start(now: datetime, period: str) -> datetime:
    """The start of the quota period `now` falls in (modelled: DAY at 00:00 UTC, WEEK on Monday,
    MONTH on the 1st)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "WEEK":
        return day - timedelta(days=day.weekday())
    if period == "MONTH":
        return day.replace(day=1)
    return day


def quota_of(limit: int | None, period: str | None) -> Quota | None:
    """A usage plan's quota setting; None when it sets no limit."""
    return None if limit is None else Quota(int(limit), str(period or "DAY").upper())
