"""moto's request dispatch: the same answers, faster.

For every request moto matched the URL against ~200 services' patterns, rebuilt the matching
backend's route table and compiled its routes, then listed every member of the response class
with `inspect.getmembers` to find the action's method: 0.15 ms of a 0.9 ms call. The route is
now found once per URL (`_route`, cleared whenever patches are applied or removed, since they
change the route tables) and the method by its name (`_FunctionNames`).
reference/benchmarks/api_calls.py measures the call path.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

from . import _shared
from ._patching import Patch


@functools.lru_cache(maxsize=4096)
def _route(clean_url: str) -> tuple[tuple[str, ...], Callable[..., Any] | None]:
    """The services whose URL pattern matches `clean_url`, in moto's order, up to the one with a
    route for it, and that route's handler (None: no service routes it).

    moto's `BotocoreStubber.process_request` finds this on every request by matching the URL
    against ~200 services' patterns, then rebuilding the matching backend's `urls` dict and
    compiling each of its routes. The answer depends only on the URL and on the route tables,
    which change only when the patches are applied or removed (`apply`/`remove` clear this cache).
    """
    import moto.backend_index as backend_index
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.base_backend import BackendDict

    matched: list[str] = []
    for service, pattern in backend_index.backend_url_patterns:
        if not pattern.match(clean_url):
            continue
        matched.append(service)
        backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
        if isinstance(backend_dict, BackendDict):
            regions = backend_dict[DEFAULT_ACCOUNT_ID]
            backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
        else:
            backend = backend_dict["global"]
        for url, handler in backend.urls.items():
            if re.compile(url).match(clean_url):
                return tuple(matched), handler
    return tuple(matched), None


_AWS_URL = re.compile(r"https?://.+\.amazonaws.com/.*")


def _process_request(self: Any, request: Any) -> Any:
    """moto 5.2.5's `BotocoreStubber.process_request` with the route from `_route`; the
    passthrough and allow-list settings are still read on every request, as moto reads them."""
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
    from moto.core.exceptions import HTTPException, ServiceNotWhitelisted
    from moto.core.request import normalize_request
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api import recorder

    parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
    clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
    if passthrough_url(clean_url):
        return None
    services, handler = _route(clean_url)
    for service in services:
        if passthrough_service(service):
            return None
        if not service_whitelisted(service):
            raise ServiceNotWhitelisted(service)
    if handler is None:
        return (404, {}, "Not yet implemented") if _AWS_URL.match(clean_url) else None
    normalized_request = normalize_request(request)
    outer_trace = _shared.trace_header
    _shared.trace_header = normalized_request.headers.get("X-Amzn-Trace-Id")
    try:
        recorder._record_request(normalized_request)
        return handler(normalized_request, normalized_request.raw_url, normalized_request.headers)
    except HTTPException as e:
        return e.code, e.get_headers(), e.get_body()
    finally:
        _shared.trace_header = outer_trace


class _FunctionNames:
    """What `moto.core.utils.method_names_from_class` answers, without listing the class.

    moto's `BaseResponse.call_action` lists every member of the response class with
    `inspect.getmembers` on every request (~0.2 ms), only to ask whether the action's name is
    among its plain functions; this answers that question for the one name.
    """

    def __init__(self, cls: type):
        self.cls = cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.cls, name, None))


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.core import responses as core_responses
    from moto.core.botocore_stubber import BotocoreStubber

    return [
        Patch(BotocoreStubber, "process_request", _process_request, ("self", "request"),
              "speed: a route found once per URL"),
        Patch(core_responses, "method_names_from_class", _FunctionNames, ("clazz",),
              "speed: a response method found by name"),
    ]
