"""A deployed stack's REST APIs as a local server sees them: which API and stage a local path
(`/Prod/orders/42`, or `/orders/42` without the stage, as `sam local start-api` serves it)
reaches, and the API Gateway invoke URL `Simulator.http` takes for it.

The APIs, their stages and their resources are read through API Gateway's own API (boto3
against moto), and a path is matched against an API's resources with the front door's routing
rule (`rules.apigateway.route`), so the command line picks the API the front door would route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .rules import apigateway as rules

if TYPE_CHECKING:
    from .sam import Stack
    from .simulator import Simulator

REST_API_TYPE = "AWS::ApiGateway::RestApi"
STAGE_TYPE = "AWS::ApiGateway::Stage"


@dataclass(frozen=True)
class RestApi:
    """One REST API of a stack: its stages (the template's own first, so the first is the one a
    path without a stage goes to) and its routes, {resource path: {method: what it reaches}}
    (a function's logical id, or the integration's type in brackets)."""

    logical_id: str
    api_id: str
    region: str
    stages: tuple[str, ...]
    routes: dict[str, dict[str, str]]

    def invoke_url(self, stage: str) -> str:
        """The stage's invoke URL, with a trailing slash (as SAM's outputs write it)."""
        return f"https://{self.api_id}.execute-api.{self.region}.amazonaws.com/{stage}/"

    def routes_to(self, method: str, path: str) -> bool:
        """True if ``method path`` (after the stage) reaches one of the API's methods."""
        return rules.route(self.routes, path, method.upper()) is not None


def rest_apis(sim: Simulator, stack: Stack) -> list[RestApi]:
    """The stack's REST APIs that have a stage, in the order of their logical ids."""
    client = sim.client("apigateway")
    functions = {fn.arn: logical_id for logical_id, fn in stack.functions.items()}
    template_stages: dict[str, list[str]] = {}
    for logical_id, resource in stack.template.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        api_ref = properties.get("RestApiId")
        if resource.get("Type") == STAGE_TYPE and isinstance(api_ref, dict) and "Ref" in api_ref \
                and logical_id in stack.resources:
            template_stages.setdefault(api_ref["Ref"], []).append(stack.resources[logical_id])
    apis = []
    for logical_id, api_id in sorted(stack.of_type(REST_API_TYPE).items()):
        deployed = [s["stageName"] for s in client.get_stages(restApiId=api_id).get("item", [])]
        own = [s for s in template_stages.get(logical_id, []) if s in deployed]
        stages = tuple(own + sorted(s for s in deployed if s not in own))
        if not stages:
            continue
        routes: dict[str, dict[str, str]] = {}
        pages = client.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
        for page in pages:
            for item in page["items"]:
                methods = item.get("resourceMethods") or {}
                routes[item["path"]] = {method: _target_of(details, functions)
                                        for method, details in methods.items()}
        apis.append(RestApi(logical_id, api_id, sim.region, stages, routes))
    return apis


def _target_of(method: dict[str, Any], functions: dict[str, str]) -> str:
    # A Lambda integration's URI names the function's ARN
    # (arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations). Never
    # empty: the routing rule takes an empty target for a missing method.
    integration = method.get("methodIntegration") or {}
    uri = str(integration.get("uri") or "")
    found = next((logical_id for arn, logical_id in functions.items() if f"/functions/{arn}/" in uri), None)
    return found or f"({integration.get('type') or 'no integration'})"


def invoke_url(apis: list[RestApi], method: str, target: str) -> str:
    """The invoke URL for a local request target (path and query): `/{stage}/...` when the first
    segment is a stage of an API that routes the rest, else the first API that routes the whole
    path under its first stage. A path no API routes goes to the first API's first stage, whose
    front door answers 403 Missing Authentication Token, as API Gateway does."""
    if not apis:
        raise ValueError("the stack has no REST API with a stage")
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
        if stage in api.stages:
            return api.invoke_url(stage) + rest + suffix
    return apis[0].invoke_url(apis[0].stages[0]) + path[1:] + suffix
