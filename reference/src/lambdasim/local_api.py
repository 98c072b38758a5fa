"""A deployed stack's APIs as a local server sees them: which API and stage a local path
(`/Prod/orders/42`, or `/orders/42` without the stage, as `sam local start-api` serves it)
reaches, and the API Gateway invoke URL `Simulator.http` takes for it.

REST APIs (`AWS::ApiGateway::RestApi`) and HTTP APIs (`AWS::ApiGatewayV2::Api`, protocol HTTP)
are read through API Gateway's own APIs (boto3 against moto): their stages, and their resources
or routes, matched with the front door's routing rule (`rules.apigateway.route`), so the
command line picks the API the front door routes. An HTTP API's `$default` stage is served at
the API's root and its `$default` route takes any path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .rules import apigateway as rules

if TYPE_CHECKING:
    from .sam import Stack
    from .simulator import Simulator

REST_API_TYPE = "AWS::ApiGateway::RestApi"
HTTP_API_TYPE = "AWS::ApiGatewayV2::Api"
# A stage resource's type -> the property naming its API.
_STAGE_TYPES = {"AWS::ApiGateway::Stage": "RestApiId", "AWS::ApiGatewayV2::Stage": "ApiId"}
DEFAULT = "$default"  # an HTTP API's stage served at its root, and its route for any request


@dataclass(frozen=True)
class Api:
    """One API of a stack: its stages (the template's own first, so the first is the one a path
    without a stage goes to) and its routes, {path template: {method: what it reaches}} (a
    function's logical id, or the integration's type in brackets); `catch_all`: what an HTTP
    API's `$default` route reaches, if it has one."""

    logical_id: str
    api_id: str
    kind: str  # "REST API" or "HTTP API"
    region: str
    stages: tuple[str, ...]
    routes: dict[str, dict[str, str]]
    catch_all: str | None = None

    def invoke_url(self, stage: str) -> str:
        """The stage's invoke URL, with a trailing slash (as SAM's outputs write it)."""
        root = f"https://{self.api_id}.execute-api.{self.region}.amazonaws.com/"
        return root if stage == DEFAULT else f"{root}{stage}/"

    def routes_to(self, method: str, path: str) -> bool:
        """True if a route other than `$default` takes ``method path`` (after the stage)."""
        return rules.route(self.routes, path, method.upper()) is not None


def stack_apis(sim: Simulator, stack: Stack) -> list[Api]:
    """The stack's REST and HTTP APIs that have a stage, REST APIs first, each kind in the order
    of their logical ids."""
    functions = {fn.arn: logical_id for logical_id, fn in stack.functions.items()}
    own_stages: dict[str, list[str]] = {}
    for logical_id, resource in stack.template.get("Resources", {}).items():
        api_ref = (resource.get("Properties") or {}).get(_STAGE_TYPES.get(resource.get("Type"), ""))
        if isinstance(api_ref, dict) and "Ref" in api_ref and logical_id in stack.resources:
            own_stages.setdefault(api_ref["Ref"], []).append(stack.resources[logical_id])
    apis = [_rest_api(sim, logical_id, api_id, own_stages.get(logical_id, []), functions)
            for logical_id, api_id in sorted(stack.of_type(REST_API_TYPE).items())]
    apis += [_http_api(sim, logical_id, api_id, own_stages.get(logical_id, []), functions)
             for logical_id, api_id in sorted(stack.of_type(HTTP_API_TYPE).items())]
    return [api for api in apis if api is not None and api.stages]


def _ordered(own: list[str], deployed: list[str]) -> tuple[str, ...]:
    first = [s for s in own if s in deployed]
    return tuple(first + sorted(s for s in deployed if s not in first))


def _rest_api(sim: Simulator, logical_id: str, api_id: str, own: list[str], functions: dict[str, str]) -> Api:
    client = sim.client("apigateway")
    stages = _ordered(own, [s["stageName"] for s in client.get_stages(restApiId=api_id).get("item", [])])
    routes: dict[str, dict[str, str]] = {}
    for page in client.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"]):
        for item in page["items"]:
            routes[item["path"]] = {method: _target(details.get("methodIntegration") or {}, "uri", "type", functions)
                                    for method, details in (item.get("resourceMethods") or {}).items()}
    return Api(logical_id, api_id, "REST API", sim.region, stages, routes)


def _http_api(sim: Simulator, logical_id: str, api_id: str, own: list[str], functions: dict[str, str]) -> Api | None:
    client = sim.client("apigatewayv2")
    if client.get_api(ApiId=api_id).get("ProtocolType") != "HTTP":
        return None  # a WebSocket API: nothing a local HTTP server can reach
    stages = _ordered(own, [s["StageName"] for s in client.get_stages(ApiId=api_id).get("Items", [])])
    integrations = {i["IntegrationId"]: _target(i, "IntegrationUri", "IntegrationType", functions)
                    for i in client.get_integrations(ApiId=api_id).get("Items", [])}
    routes: dict[str, dict[str, str]] = {}
    catch_all = None
    for route in client.get_routes(ApiId=api_id).get("Items", []):
        target = integrations.get(str(route.get("Target", "")).removeprefix("integrations/"), "(no integration)")
        if route["RouteKey"] == DEFAULT:
            catch_all = target
        else:
            method, _, path = route["RouteKey"].partition(" ")
            routes.setdefault(path, {})[method.upper()] = target
    return Api(logical_id, api_id, "HTTP API", sim.region, stages, routes, catch_all)


def _target(integration: dict[str, Any], uri_key: str, type_key: str, functions: dict[str, str]) -> str:
    # A Lambda integration's URI names the function's ARN
    # (arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations, or the
    # ARN itself for an HTTP API). Never empty: the routing rule takes an empty target for a
    # missing method.
    uri = str(integration.get(uri_key) or "")
    found = next((logical_id for arn, logical_id in functions.items()
                  if uri == arn or f"/functions/{arn}/" in uri), None)
    if found:
        return found
    kind = str(integration.get(type_key) or "no integration")
    # An AWS service integration's URI names the service: arn:aws:apigateway:{region}:{service}:...
    parts = uri.split(":")
    service = f" {parts[4]}" if uri.startswith("arn:aws:apigateway:") and len(parts) > 4 else ""
    return f"({kind}{service})"


def invoke_url(apis: list[Api], method: str, target: str) -> str:
    """The invoke URL for a local request target (path and query).

    `/{stage}/rest` goes to an API with that stage whose routes take `rest`; otherwise the
    whole path goes to the first API whose routes take it, under its first stage; then to an
    HTTP API with a `$default` route; then to an API with that stage. A path nothing takes goes
    to the first API's first stage, whose front door answers it as API Gateway does (403
    Missing Authentication Token, or 404 for an HTTP API)."""
    if not apis:
        raise ValueError("the stack has no API with a stage")
    path, question, query = target.partition("?")
    path = "/" + path.lstrip("/")
    suffix = question + query
    stage, _, rest = path[1:].partition("/")
    for api in apis:
        if stage in api.stages and api.routes_to(method, "/" + rest):
            return api.invoke_url(stage) + rest + suffix
    for api in apis:
        if api.routes_to(method, path):
            return api.invoke_url(api.stages[0]) + path[1:] + suffix
    for api in apis:
        if api.catch_all is not None:
            if stage in api.stages:
                return api.invoke_url(stage) + rest + suffix
            return api.invoke_url(api.stages[0]) + path[1:] + suffix
    for api in apis:
        if stage in api.stages:
            return api.invoke_url(stage) + rest + suffix
    return apis[0].invoke_url(apis[0].stages[0]) + path[1:] + suffix
