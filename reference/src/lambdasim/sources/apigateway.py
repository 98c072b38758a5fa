"""API Gateway REST API (v1) Lambda proxy integration: the event a function receives and the
response it must return, in AWS's documented shapes.

https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
("Input format of a Lambda function for proxy integration", "Output format of a Lambda function
for proxy integration"). Powertools' ``APIGatewayProxyEventModel`` parses the event unchanged
(tests/lambdasim/test_apigateway.py).
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


def rest_proxy_event(request: HttpRequest, *, api_id: str, stage: str, account_id: str, region: str,
                     request_id: str, when: datetime, stage_variables: dict[str, str] | None) -> dict[str, Any]:
    """The proxy integration's input for ``request``."""
    host = f"{api_id}.execute-api.{region}.amazonaws.com"
    headers = {"Host": [host], "X-Forwarded-For": [SOURCE_IP], "X-Forwarded-Port": ["443"],
               "X-Forwarded-Proto": ["https"], **request.headers}
    body, encoded = _body(request)
    user_agent = _last(headers, "User-Agent")
    return {
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
                "accessKey": None, "accountId": None, "caller": None,
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


def error_response(status: int, message: str) -> HttpResponse:
    """API Gateway's own error answer (a JSON ``message``)."""
    return HttpResponse(status, {"Content-Type": "application/json"},
                        json.dumps({"message": message}).encode("utf-8"))
