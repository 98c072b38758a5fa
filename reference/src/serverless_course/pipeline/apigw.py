"""API Gateway REST API (v1) Lambda proxy integration events, in AWS's documented shape.

https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
("Input format of a Lambda function for proxy integration"). Powertools'
``APIGatewayProxyEventModel`` parses them unchanged (tested).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

ACCOUNT = "123456789012"
API_ID = "a1b2c3d4e5"


def proxy_event(body: Any, *, request_id: str, correlation_id: str | None = None,
                when: datetime | None = None, path: str = "/orders", method: str = "POST",
                stage: str = "Prod") -> dict[str, Any]:
    """A REST API proxy event for ``method path`` with ``body`` (a str, or JSON-encoded)."""
    when = when or datetime(2026, 1, 1, tzinfo=timezone.utc)
    text = body if isinstance(body, str) else json.dumps(body)
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Host": f"{API_ID}.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "orders-client/1.0",
        "X-Amzn-Trace-Id": f"Root=1-{int(when.timestamp()):08x}-{request_id.replace('-', '')[:24]}",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if correlation_id:
        headers["X-Correlation-Id"] = correlation_id
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": headers["Host"],
            "domainPrefix": API_ID,
            "extendedRequestId": request_id[:16],
            "httpMethod": method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None,
                "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                "sourceIp": "203.0.113.10", "user": None, "userAgent": "orders-client/1.0",
                "userArn": None,
            },
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(when.timestamp() * 1000),
            "resourceId": "abc123",
            "resourcePath": path,
            "stage": stage,
        },
        "body": text,
        "isBase64Encoded": False,
    }
