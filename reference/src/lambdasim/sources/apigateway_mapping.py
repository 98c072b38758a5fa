"""API Gateway mapping templates (REST APIs' non-proxy integrations): Velocity (VTL) templates
with API Gateway's variables, rendered with airspeed-ext (LocalStack's Velocity engine for
Python, written for AWS's templates).

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html:
`$input.body` (the payload as a string), `$input.json(path)` (a JSONPath's value as JSON text),
`$input.path(path)` (its value as an object), `$input.params()` (path, querystring and header
maps) and `$input.params(name)` (a parameter's value, looked up in the path, then the query
string, then the headers), `$util.escapeJavaScript/parseJson/urlEncode/urlDecode/base64Encode/
base64Decode`, `$context` (requestId, stage, httpMethod, resourcePath, identity.sourceIp,
authorizer...) and `$stageVariables`.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from .apigateway import SOURCE_IP, HttpRequest


class _Input:
    """`$input`: the request payload (or the integration's response) and the request's parameters."""

    def __init__(self, body: str, request: HttpRequest):
        self.body = body
        self._params = {
            "path": dict(request.path_parameters),
            "querystring": {k: v[-1] for k, v in request.query.items()},
            "header": {k: v[-1] for k, v in request.headers.items()},
        }

    def json(self, path: str = "$") -> str:
        return json.dumps(self.path(path))

    def path(self, path: str = "$") -> Any:
        from jsonpath_ng import parse

        try:
            document = json.loads(self.body) if self.body else {}
        except ValueError:
            return None
        found = [match.value for match in parse(path).find(document)]
        if not found:
            return None
        return found[0] if len(found) == 1 else found

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for kind in ("path", "querystring"):
            if name in self._params[kind]:
                return self._params[kind][name]
        headers = {k.lower(): v for k, v in self._params["header"].items()}
        return headers.get(name.lower(), "")


class _Util:
    """`$util`."""

    @staticmethod
    def escapeJavaScript(text: Any) -> str:  # noqa: N802 - AWS's name
        return json.dumps(str(text))[1:-1].replace("'", "\\'")

    @staticmethod
    def parseJson(text: str) -> Any:  # noqa: N802
        return json.loads(text)

    @staticmethod
    def urlEncode(text: str) -> str:  # noqa: N802
        return quote_plus(str(text))

    @staticmethod
    def urlDecode(text: str) -> str:  # noqa: N802
        return unquote_plus(str(text))

    @staticmethod
    def base64Encode(text: str) -> str:  # noqa: N802
        return base64.b64encode(str(text).encode("utf-8")).decode("ascii")

    @staticmethod
    def base64Decode(text: str) -> str:  # noqa: N802
        return base64.b64decode(str(text)).decode("utf-8")


def render(template: str, *, body: str, request: HttpRequest, context: dict[str, Any],
           stage_variables: dict[str, str]) -> str:
    """A mapping template rendered for ``request`` with ``body`` as `$input.body`. A template
    that does not parse raises ValueError naming the problem."""
    import airspeed

    full_context = {"identity": {"sourceIp": SOURCE_IP}, **context}
    try:
        return str(airspeed.Template(template).merge({
            "input": _Input(body, request), "util": _Util(), "context": full_context,
            "stageVariables": dict(stage_variables)}))
    except airspeed.TemplateSyntaxError as error:
        raise ValueError(f"mapping template does not parse: {error}") from error
