"""Rules of API Gateway REST APIs that the front door (`lambdasim.apigateway`) plays.

Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html and
https://docs.aws.amazon.com/apigateway/latest/api/API_Integration.html (the integration
timeout: 50 ms to 29 s, 29 s by default; since June 2024 a Regional or private REST API can
raise it above 29 s through a quota increase,
https://aws.amazon.com/about-aws/whats-new/2024/06/amazon-api-gateway-integration-timeout-limit-29-seconds/,
which the simulator does not model);
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html
(path parameters, the greedy `{proxy+}`, and `ANY`, which matches every method).
"""

from __future__ import annotations

from typing import Final, TypeVar

INTEGRATION_TIMEOUT_S: Final = 29.0

Integration = TypeVar("Integration")


def route(routes: dict[str, dict[str, Integration]], path: str,
          method: str) -> tuple[str, dict[str, str], Integration] | None:
    """The resource path template, path parameters and integration that ``method path`` reaches:
    a resource's own method before its `ANY`; among resources, a literal segment before a
    `{param}`, which comes before `{proxy+}`, from the left."""
    best: tuple[tuple[int, ...], str, dict[str, str], Integration] | None = None
    for template, methods in routes.items():
        integration = methods.get(method) or methods.get("ANY")
        parameters = match(template, path) if integration is not None else None
        if parameters is None or integration is None:
            continue
        rank = tuple(0 if not s.startswith("{") else 2 if s.endswith("+}") else 1
                     for s in template.strip("/").split("/"))
        if best is None or rank < best[0]:
            best = (rank, template, parameters, integration)
    return None if best is None else (best[1], best[2], best[3])


def match(template: str, path: str) -> dict[str, str] | None:
    """The path parameters if ``path`` fits the resource path ``template``, else None."""
    wanted = [s for s in template.strip("/").split("/") if s]
    got = [s for s in path.strip("/").split("/") if s]
    parameters: dict[str, str] = {}
    for i, segment in enumerate(wanted):
        if i >= len(got):
            return None
        if segment.startswith("{") and segment.endswith("+}"):
            parameters[segment[1:-2]] = "/".join(got[i:])
            return parameters
        if segment.startswith("{") and segment.endswith("}"):
            parameters[segment[1:-1]] = got[i]
        elif segment != got[i]:
            return None
    return parameters if len(got) == len(wanted) else None
