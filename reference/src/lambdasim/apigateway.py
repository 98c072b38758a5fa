"""The API Gateway front door: HTTP requests to a deployed REST API reach its Lambda functions.

moto keeps REST APIs but does not run a request through a Lambda integration. `Simulator.http`
sends one here, on the virtual clock. The URL names the API and the stage
(`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}/...`, as a stack's outputs
write it); the path and the method pick the API's resource and method as API Gateway does (a
literal path segment before a `{param}`, `{proxy+}` last; a method before `ANY`); an
`AWS_PROXY` integration with a Lambda function invokes it synchronously with the proxy event
(`sources.apigateway`) and answers with the response the function returned.

Errors are answered as API Gateway answers them: 403 "Missing Authentication Token" for a
stage, path or method the API does not have
(https://repost.aws/knowledge-center/api-gateway-authentication-token-errors); 502 "Internal
server error" when the function fails or returns a malformed response
(https://repost.aws/knowledge-center/malformed-502-api-gateway); 504 "Endpoint request timed
out" when it runs past the integration timeout, 29 s by default
(https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). An API id that
does not exist answers 404 (on AWS its host name does not resolve).

Not modelled yet (a request that needs one is answered 500 with a message saying so): non-proxy
Lambda integrations (mapping templates), AWS service and HTTP integrations, HTTP APIs (payload
format 2.0), authorizers, API keys and throttling.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import moto_state
from .rules import apigateway as rules
from .sources.apigateway import (
    HttpRequest,
    HttpResponse,
    error_response,
    proxy_response,
    rest_proxy_event,
)

_HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_LAMBDA_URI = re.compile(r":lambda:path/2015-03-31/functions/(?P<function>.+)/invocations$")

#: What the front door needs of the simulation: invoke a function synchronously with a payload
#: (its result and whether it failed) and read the virtual clock.
Invoke = Callable[[str, bytes], tuple[bytes, bool]]


def request(method: str, url: str, *, account_id: str, invoke: Invoke, now: Callable[[], datetime],
            headers: dict[str, str] | None = None, body: bytes | str | None = None) -> HttpResponse:
    """Send one HTTP request to a REST API; the response the client receives."""
    parts = urlsplit(url)
    host = _HOST.match(parts.hostname or "")
    if host is None:
        raise ValueError(f"{url} is not an API Gateway URL (https://<api-id>.execute-api.<region>"
                         ".amazonaws.com/<stage>/<path>)")
    api_id, region = host["api"], host["region"]
    stage, _, rest = parts.path.lstrip("/").partition("/")
    routes = moto_state.rest_api_routes(account_id, region, api_id)
    if routes is None:
        return error_response(404, "Not Found")
    variables = moto_state.rest_api_stage_variables(account_id, region, api_id, stage)
    path = "/" + rest
    match = rules.route(routes, path, method.upper())
    if variables is None or match is None:
        return error_response(403, "Missing Authentication Token")
    resource, parameters, (kind, uri) = match
    function = _LAMBDA_URI.search(uri)
    if kind != "AWS_PROXY" or function is None:
        return error_response(500, f"the simulator does not run {kind or 'no'} integrations yet "
                                   "(only Lambda proxy integrations)")
    data = body.encode("utf-8") if isinstance(body, str) else body
    http = HttpRequest(method.upper(), path, resource, parameters,
                       {k: [v] for k, v in (headers or {}).items()}, parse_qs(parts.query), data)
    started = now()
    event = rest_proxy_event(http, api_id=api_id, stage=stage, account_id=account_id, region=region,
                             request_id=str(uuid.uuid4()), when=started, stage_variables=variables)
    result, failed = invoke(function["function"], json.dumps(event).encode("utf-8"))
    if (now() - started).total_seconds() > rules.INTEGRATION_TIMEOUT_S:
        return error_response(504, "Endpoint request timed out")
    if failed:
        return error_response(502, "Internal server error")
    try:
        payload: Any = json.loads(result)
    except ValueError:
        return error_response(502, "Internal server error")
    return proxy_response(payload)

