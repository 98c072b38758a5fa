"""Rules of API Gateway (REST APIs and HTTP APIs) that the front door (`lambdasim.apigateway`)
plays.

Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (the REST
integration timeout: 50 ms to 29 s, 29 s by default);
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html
(path parameters, the greedy `{proxy+}`, and `ANY`, which matches every method);
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html (HTTP
API routes: the most specific match, `{proxy+}`, `ANY`, the `$default` route and stage);
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html (the HTTP API
integration timeout: 30 s, not adjustable; the Lambda authorizer's 10 s);
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
(payload format 2.0: duplicate headers and query strings joined with commas, cookies, and the
response a function may return without a `statusCode`);
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-output.html
and https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html
(a Lambda authorizer's IAM policy, evaluated against the method ARN; the result cached for
`authorizerResultTtlInSeconds`, 300 s by default for REST APIs);
https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
and https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html
(REST non-proxy integrations: which mapping template or passthrough applies to a request, and
which integration response to a result);
https://docs.aws.amazon.com/apigateway/latest/developerguide/aws-api-gateway-stage-variables-reference.html
(`${stageVariables.name}` in an integration's URI, e.g. the Lambda function it invokes);
https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html (a mock
integration's request template gives the status code that selects the integration response)
and https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html
(a response header mapped from a static value, `'value'`);
https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html (IAM authorization:
requests signed with Signature Version 4, their 403s at the end of this module);
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html (an HTTP API's CORS
configuration: preflights answered by API Gateway, its headers added to integration responses
and the backend's own CORS headers ignored).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Final, TypeVar

INTEGRATION_TIMEOUT_S: Final = 29.0
HTTP_API_INTEGRATION_TIMEOUT_S: Final = 30.0
DEFAULT_ROUTE: Final = "$default"  # HTTP APIs: the route of requests no other route matches
DEFAULT_STAGE: Final = "$default"  # HTTP APIs: the stage served at the API's root
AUTHORIZER_TTL_DEFAULT_S: Final = 300  # REST APIs
#: HTTP APIs: "If it equals 0, authorization caching is disabled"; the API sets no default, so an
#: authorizer without a TTL caches nothing
#: (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html).
HTTP_API_AUTHORIZER_TTL_DEFAULT_S: Final = 0

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


def http_api_route(route_keys: dict[str, Integration], path: str,
                   method: str) -> tuple[str, dict[str, str], Integration] | None:
    """The route key (`GET /pets/{id}`, `ANY /{proxy+}`, `$default`), path parameters and target
    an HTTP API picks for ``method path``: a full match of route and method, then a route with
    path variables, then a greedy one, and `$default` when nothing else matches; a route's own
    method before its `ANY`. None: API Gateway answers 404 Not Found."""
    by_path: dict[str, dict[str, Integration]] = {}
    for key, target in route_keys.items():
        if key != DEFAULT_ROUTE:
            verb, _, template = key.partition(" ")
            by_path.setdefault(template, {})[verb.upper()] = target
    found = route(by_path, path, method)
    if found is not None:
        template, parameters, target = found
        verb = method if method in by_path[template] else "ANY"
        return f"{verb} {template}", parameters, target
    if DEFAULT_ROUTE in route_keys:
        return DEFAULT_ROUTE, {}, route_keys[DEFAULT_ROUTE]
    return None


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


def http_api_stage(stages: Iterable[str], path: str) -> tuple[str, str] | None:
    """(stage, path within it) of a request to an HTTP API: the stage the path's first segment
    names, else the `$default` stage with the whole path; None when there is neither (API
    Gateway answers 404 Not Found)."""
    names = set(stages)
    first, _, rest = path.lstrip("/").partition("/")
    if first and first != DEFAULT_STAGE and first in names:
        return first, "/" + rest
    if DEFAULT_STAGE in names:
        return DEFAULT_STAGE, path if path.startswith("/") else "/" + path
    return None


def infer_v2_response(result: Any) -> bool:
    """Whether a function's result for a payload format 2.0 integration is the structured
    response (``statusCode``, ``headers``, ``cookies``, ``body``, ``isBase64Encoded``); if not,
    API Gateway assumes status 200, ``content-type: application/json``, and the whole result as
    the body."""
    return isinstance(result, dict) and "statusCode" in result


def method_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    """The ARN a Lambda authorizer's policy is evaluated against:
    ``arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{resource path}``."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method}{path}"


def policy_decision(policy: Any, arn: str) -> str:
    """"Allow", "Deny" (a statement denies the ARN: an explicit deny wins) or "NotAllowed" (no
    statement allows it) for an authorizer's policy document and a method ARN. Resources match
    with IAM's wildcards (`*` any run of characters, `?` one); the action must be
    `execute-api:Invoke` (or a wildcard of it). A document that is not a policy raises
    ValueError."""
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list | dict):
        raise ValueError("policyDocument has no Statement list")
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            raise ValueError(f"policy statement {statement!r} has no Effect Allow or Deny")
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if not any(_wildcard(a).fullmatch("execute-api:Invoke") for a in actions):
            continue
        if any(_wildcard(r).fullmatch(arn) for r in resources):
            if statement["Effect"] == "Deny":
                return "Deny"
            allowed = True
    return "Allow" if allowed else "NotAllowed"


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def context_is_valid(context: Any) -> bool:
    """A REST authorizer's `context` is a map of strings, numbers and booleans only: "You cannot
    set a JSON object or array as a valid value of any key in the context map"."""
    return context is None or (isinstance(context, dict) and all(
        isinstance(v, str | int | float | bool) for v in context.values()))


def request_template(templates: dict[str, str], content_type: str | None,
                     passthrough: str) -> tuple[str | None, bool]:
    """(the mapping template for a request's Content-Type (application/json when it has none),
    whether the request is refused with 415 Unsupported Media Type). Without a template for the
    content type the body passes through unchanged: always with WHEN_NO_MATCH, only when the
    integration has no template at all with WHEN_NO_TEMPLATES, never with NEVER."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    template = templates.get(media)
    if template is not None:
        return template, False
    refused = passthrough == "NEVER" or (passthrough == "WHEN_NO_TEMPLATES" and bool(templates))
    return None, refused


def integration_response(patterns: list[str | None], selector: str | None) -> int | None:
    """The index of the integration response a non-proxy integration's result selects: the
    first whose selection pattern (a regular expression) matches the whole selector (a Lambda
    function's errorMessage, None when it succeeded; an AWS service's HTTP status code), else
    the default one (no pattern); None when there is neither (API Gateway answers 500)."""
    if selector is not None:
        for index, pattern in enumerate(patterns):
            if pattern and re.fullmatch(pattern, selector, re.DOTALL):
                return index
    return next((index for index, pattern in enumerate(patterns) if pattern is None), None)


_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


def with_stage_variables(uri: str, variables: dict[str, str]) -> str:
    """An integration URI with its `${stageVariables.name}` references replaced by the stage's
    values (an undefined variable becomes empty: the URI then names no function)."""
    return _STAGE_VARIABLE.sub(lambda m: variables.get(m.group(1), ""), uri)


def static_response_headers(parameters: dict[str, str]) -> dict[str, str]:
    """The response headers an integration response sets from static values
    (`method.response.header.X: "'value'"`); mappings from the integration's response are not
    modelled and set nothing."""
    headers = {}
    for target, source in parameters.items():
        name = target.removeprefix("method.response.header.")
        if name != target and len(source) >= 2 and source.startswith("'") and source.endswith("'"):
            headers[name] = source[1:-1]
    return headers


def cors_headers(config: dict[str, Any], origin: str | None, *, preflight: bool) -> dict[str, str]:
    """The CORS headers an HTTP API with ``config`` adds for a request from ``origin``: none
    without an Origin header or for an origin `allowOrigins` does not allow (`*` allows every
    origin, `https://*` every one starting with `https://`); a preflight also gets the allowed
    methods, headers and max age, another request the exposed headers."""
    allowed = [str(o) for o in config.get("allowOrigins") or []]
    if not origin or not any(o == "*" or o == origin or (o.endswith("*") and origin.startswith(o[:-1]))
                             for o in allowed):
        return {}
    headers = {"access-control-allow-origin": "*" if "*" in allowed else origin}
    if config.get("allowCredentials"):
        headers["access-control-allow-credentials"] = "true"
    lists = (("allowMethods", "access-control-allow-methods"), ("allowHeaders", "access-control-allow-headers")) \
        if preflight else (("exposeHeaders", "access-control-expose-headers"),)
    for key, header in lists:
        if config.get(key):
            headers[header] = ",".join(str(v) for v in config[key])
    if preflight and config.get("maxAge") is not None:
        headers["access-control-max-age"] = str(config["maxAge"])
    return headers


# IAM authorization of a REST method (https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html):
# the request must be signed with Signature Version 4 for the service `execute-api`; API
# Gateway recomputes the signature and answers 403 with these messages
# (https://repost.aws/knowledge-center/api-gateway-iam-sigv4-mismatch).
UNSIGNED_MESSAGE: Final = "Missing Authentication Token"
UNKNOWN_KEY_MESSAGE: Final = "The security token included in the request is invalid."
SIGNATURE_MISMATCH_MESSAGE: Final = ("The request signature we calculated does not match the signature you provided. "
                                     "Check your AWS Secret Access Key and signing method. Consult the service "
                                     "documentation for details.")
# A signature is valid for 5 minutes from its X-Amz-Date
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html).
SIGNATURE_VALID_S: Final = 300
_SIGV4: Final = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+),\s*"
                           r"SignedHeaders=(?P<headers>[^,]+),\s*Signature=(?P<signature>[0-9a-f]+)")


def sigv4_access_key(headers: dict[str, str]) -> str | None:
    """The access key id a SigV4-signed request names, None if it is not signed."""
    signed = _SIGV4.fullmatch(_first(headers, "authorization") or "")
    return signed["key"] if signed else None


def sigv4_problem(method: str, url: str, headers: dict[str, str], body: bytes, *, secret: str | None,
                  region: str, now_epoch_s: float) -> str | None:
    """Why API Gateway refuses a request to an IAM-authorized method (the 403's message), or
    None when its SigV4 signature is right: recomputed with the signing key's secret over the
    headers the request says it signed, within 5 minutes of its X-Amz-Date."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = _SIGV4.fullmatch(_first(headers, "authorization") or "")
    if signed is None:
        return UNSIGNED_MESSAGE
    if secret is None:
        return UNKNOWN_KEY_MESSAGE
    stamp = _first(headers, "x-amz-date") or ""
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return SIGNATURE_MISMATCH_MESSAGE
    if abs(now_epoch_s - signed_at) > SIGNATURE_VALID_S:
        def at(epoch_s: float) -> str:
            return datetime.fromtimestamp(epoch_s, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        if signed_at < now_epoch_s:
            return (f"Signature expired: {stamp} is now earlier than {at(now_epoch_s - SIGNATURE_VALID_S)} "
                    f"({at(now_epoch_s)} - 5 min.)")
        return (f"Signature not yet current: {stamp} is still later than {at(now_epoch_s + SIGNATURE_VALID_S)} "
                f"({at(now_epoch_s)} + 5 min.)")
    names = signed["headers"].split(";")
    # `host` is signed from the URL when the client sent none (botocore's signer does the same)
    request = AWSRequest(method=method, url=url, data=body,
                         headers={name: value for name in names if (value := _first(headers, name)) is not None})
    request.context["timestamp"] = stamp
    token = _first(headers, "x-amz-security-token")
    auth = SigV4Auth(Credentials(signed["key"], secret, token), "execute-api", region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return None if expected == signed["signature"] else SIGNATURE_MISMATCH_MESSAGE


def _first(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


# -- request validation (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html)
# A method's validator checks that its required request parameters are present and not blank
# (their existence only), and that the body matches the method's model for the request's content
# type (or `$default`) as JSON Schema draft 4; no model for the content type: no body check. A
# failed check is a 400 before the integration runs. The messages are what API Gateway answers
# (BAD_REQUEST_PARAMETERS, BAD_REQUEST_BODY gateway responses); they are not quoted on an AWS page
# read here.
INVALID_BODY_MESSAGE: Final = "Invalid request body"
_PARAMETER_LOCATIONS: Final = ("path", "querystring", "header")


def request_problem(*, validate_parameters: bool, validate_body: bool, required_parameters: Iterable[str],
                    models: dict[str, dict[str, Any]], content_type: str | None, body: bytes | None,
                    path: dict[str, str], query: dict[str, list[str]], headers: dict[str, list[str]]) -> str | None:
    """Why a request fails its method's validator (the 400's message), or None when it passes.
    `required_parameters` are `method.request.<path|querystring|header>.<name>` keys."""
    if validate_parameters:
        found = {"path": {k: [v] for k, v in path.items()}, "querystring": query,
                 "header": {k.lower(): v for k, v in headers.items()}}
        missing = []
        for key in required_parameters:
            _, _, location, name = key.split(".", 3)
            if location not in _PARAMETER_LOCATIONS:
                continue
            values = found[location].get(name.lower() if location == "header" else name) or []
            if not any(value.strip() for value in values):
                missing.append(name)
        if missing:
            return f"Missing required request parameters: [{', '.join(missing)}]"
    if validate_body:
        media = (content_type or "application/json").split(";")[0].strip().lower()
        schema = models.get(media, models.get("$default"))
        if schema is not None and not _matches(schema, body):
            return INVALID_BODY_MESSAGE
    return None


def _matches(schema: dict[str, Any], body: bytes | None) -> bool:
    import jsonschema

    try:
        document = json.loads(body or b"")
    except ValueError:
        return False
    return jsonschema.Draft4Validator(schema).is_valid(document)
