"""API Gateway Lambda proxy integrations and Lambda authorizers: the events a function receives
and the responses it must return, in AWS's documented shapes.

REST APIs: https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
("Input format of a Lambda function for proxy integration", "Output format of a Lambda function
for proxy integration"). HTTP APIs, payload format versions 1.0 and 2.0:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html.
Lambda authorizers' input:
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-input.html
(REST) and https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
(HTTP APIs). Powertools' ``APIGatewayProxyEventModel``, ``APIGatewayProxyEventV2Model``,
``ApiGatewayAuthorizerToken``, ``ApiGatewayAuthorizerRequest`` and
``ApiGatewayAuthorizerRequestV2`` parse them unchanged (tests/lambdasim/test_apigateway.py,
tests/lambdasim/test_http_api.py).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SOURCE_IP = "203.0.113.10"  # documentation range (RFC 5737): the client's address


@dataclass
class HttpRequest:
    """A request as the client sent it, routed to one resource and method of an API."""

    method: str
    path: str  # after the stage: "/orders/42"
    resource: str  # the resource's path template: "/orders/{id}"
    path_parameters: dict[str, str]
    headers: dict[str, list[str]] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)
    body: bytes | None = None
    raw_query: str = ""  # the query string as sent: "a=1&a=2"


def rest_proxy_event(request: HttpRequest, *, api_id: str, stage: str, account_id: str, region: str,
                     request_id: str, when: datetime, stage_variables: dict[str, str] | None,
                     authorizer: dict[str, Any] | None = None, signer: str | None = None) -> dict[str, Any]:
    """The proxy integration's input for ``request``; ``authorizer``: what a Lambda authorizer
    let through (`requestContext.authorizer`: its principalId and context); ``signer``: the
    access key that signed a request to an IAM-authorized method (`identity.accessKey`, with
    the account)."""
    host = f"{api_id}.execute-api.{region}.amazonaws.com"
    headers = {"Host": [host], "X-Forwarded-For": [SOURCE_IP], "X-Forwarded-Port": ["443"],
               "X-Forwarded-Proto": ["https"], **request.headers}
    body, encoded = _body(request)
    user_agent = _last(headers, "User-Agent")
    event: dict[str, Any] = {
        "resource": request.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {k: v[-1] for k, v in request.query.items()} or None,
        "multiValueQueryStringParameters": dict(request.query) or None,
        "pathParameters": dict(request.path_parameters) or None,
        "stageVariables": stage_variables or None,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": api_id,
            "extendedRequestId": request_id[:16],
            "httpMethod": request.method,
            "identity": {
                "accessKey": signer, "accountId": account_id if signer else None, "caller": None,
                "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                "sourceIp": SOURCE_IP, "user": None, "userAgent": user_agent, "userArn": None,
            },
            "path": f"/{stage}{request.path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(when.timestamp() * 1000),
            "resourceId": request.resource,
            "resourcePath": request.resource,
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


def http_api_event_v2(request: HttpRequest, *, route_key: str, api_id: str, stage: str, account_id: str,
                      region: str, request_id: str, when: datetime, stage_variables: dict[str, str],
                      authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """An HTTP API's payload format 2.0 event: header names in lower case, duplicate headers and
    query strings joined with commas, the Cookie headers as `cookies`, `rawPath` and
    `rawQueryString` as sent (the stage's name in the path unless it is `$default`);
    ``authorizer``: a Lambda authorizer's context (`requestContext.authorizer.lambda`)."""
    host = f"{api_id}.execute-api.{region}.amazonaws.com"
    headers: dict[str, list[str]] = {}
    for name, values in {"host": [host], "x-forwarded-for": [SOURCE_IP], "x-forwarded-port": ["443"],
                         "x-forwarded-proto": ["https"], **request.headers}.items():
        headers.setdefault(name.lower(), []).extend(values)
    cookies = [c.strip() for value in headers.pop("cookie", []) for c in value.split(";") if c.strip()]
    body, encoded = _body(request)
    raw_path = request.path if stage == "$default" else f"/{stage}{request.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": request.raw_query,
        "headers": {name: ",".join(values) for name, values in headers.items()},
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": api_id,
            "http": {"method": request.method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": SOURCE_IP,
                     "userAgent": ",".join(headers.get("user-agent", []))},
            "requestId": request_id,
            "routeKey": route_key,
            "stage": stage,
            "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(when.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if request.query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in request.query.items()}
    if body is not None:
        event["body"] = body
    if request.path_parameters:
        event["pathParameters"] = dict(request.path_parameters)
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = {"lambda": authorizer}
    return event


def http_api_event_v1(request: HttpRequest, *, route_key: str, api_id: str, stage: str, account_id: str,
                      region: str, request_id: str, when: datetime, stage_variables: dict[str, str],
                      authorizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """An HTTP API's payload format 1.0 event: the REST proxy event's shape with `version`
    "1.0", the route key as resource (a route's path, or `$default`), the path as sent."""
    resource = route_key if route_key == "$default" else route_key.partition(" ")[2]
    raw_path = request.path if stage == "$default" else f"/{stage}{request.path}"
    routed = HttpRequest(request.method, raw_path, resource, request.path_parameters, request.headers,
                         request.query, request.body, request.raw_query)
    event = rest_proxy_event(routed, api_id=api_id, stage=stage, account_id=account_id, region=region,
                             request_id=request_id, when=when, stage_variables=stage_variables or None)
    event["requestContext"].update(path=raw_path, resourceId=route_key, resourcePath=resource)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = {"lambda": authorizer}
    return {"version": "1.0", **event}


def _body(request: HttpRequest) -> tuple[str | None, bool]:
    if request.body is None:
        return None, False
    try:
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode("ascii"), True


def _last(headers: dict[str, list[str]], name: str) -> str | None:
    for key, values in headers.items():
        if key.lower() == name.lower() and values:
            return values[-1]
    return None


@dataclass
class HttpResponse:
    """What the client receives."""

    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)  # HTTP APIs: one Set-Cookie header each

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


def proxy_response(payload: Any) -> HttpResponse:
    """The client's response from the function's result; a result that is not the documented
    shape is a 502 "Internal server error", as API Gateway answers it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("statusCode", 200), int):
        return error_response(502, "Internal server error")
    headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ",".join(str(v) for v in values)
    body = payload.get("body")
    if body is None:
        data = b""
    elif payload.get("isBase64Encoded"):
        data = base64.b64decode(str(body))
    else:
        data = str(body).encode("utf-8")
    headers.setdefault("Content-Type", "application/json")
    return HttpResponse(int(payload.get("statusCode", 200)), headers, data)


def http_api_response(result: bytes, payload_version: str) -> HttpResponse | None:
    """The client's response from a function's result for an HTTP API: with payload format 2.0
    a result without `statusCode` is the body of a 200 `application/json` response, and the
    structured response's `cookies` become Set-Cookie headers; with 1.0 the result must be the
    REST proxy response. None: the result is malformed (API Gateway answers 500)."""
    try:
        payload: Any = json.loads(result)
    except ValueError:
        return None
    if payload_version == "1.0":
        return proxy_response(payload) if _is_proxy_shape(payload) else None
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return HttpResponse(200, {"content-type": "application/json"}, result)
    if not isinstance(payload["statusCode"], int):
        return None
    headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
    body = payload.get("body")
    if body is None:
        data = b""
    elif payload.get("isBase64Encoded"):
        data = base64.b64decode(str(body))
    else:
        data = str(body).encode("utf-8")
    return HttpResponse(payload["statusCode"], headers, data, [str(c) for c in payload.get("cookies") or []])


def _is_proxy_shape(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("statusCode"), int)


def error_response(status: int, message: str | None) -> HttpResponse:
    """API Gateway's own error answer (a JSON ``message``; null for an authorizer's failure)."""
    return HttpResponse(status, {"Content-Type": "application/json"},
                        json.dumps({"message": message}).encode("utf-8"))
