"""API Gateway REST API (v1) Lambda proxy events for calling the ingest function directly.

The pipeline's tests and lesson send HTTP requests through the simulator's API Gateway front
door (`Simulator.http`), which builds the event. Lab 01's grader invokes the ingest function
directly instead, so that a learner's exception reaches the feedback (through API Gateway it
would be a bare 502): it builds the same event here, with the front door's own builder
(`lambdasim.sources.apigateway`, AWS's documented shape:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from lambdasim.sources.apigateway import HttpRequest, rest_proxy_event

ACCOUNT = "123456789012"
API_ID = "a1b2c3d4e5"


def proxy_event(body: Any, *, request_id: str, correlation_id: str | None = None,
                when: datetime | None = None, path: str = "/orders", method: str = "POST",
                stage: str = "Prod") -> dict[str, Any]:
    """A REST API proxy event for ``method path`` with ``body`` (a str, or JSON-encoded)."""
    text = body if isinstance(body, str) else json.dumps(body)
    headers = {"Accept": ["application/json"], "Content-Type": ["application/json"],
               "User-Agent": ["orders-client/1.0"]}
    if correlation_id:
        headers["X-Correlation-Id"] = [correlation_id]
    request = HttpRequest(method, path, path, {}, headers, {}, text.encode("utf-8"))
    return rest_proxy_event(request, api_id=API_ID, stage=stage, account_id=ACCOUNT, region="us-east-1",
                            request_id=request_id, when=when or datetime(2026, 1, 1, tzinfo=timezone.utc),
                            stage_variables=None)
