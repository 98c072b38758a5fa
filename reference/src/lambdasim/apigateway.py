"""The API Gateway front door: HTTP requests to a deployed REST API or HTTP API reach its Lambda
functions.

moto keeps REST APIs and HTTP APIs but does not run a request through a Lambda integration.
`Simulator.http` sends one here (a `FrontDoor`), on the virtual clock. The URL names the API
(`https://{api-id}.execute-api.{region}.amazonaws.com/...`, as a stack's outputs write it).

REST APIs (`/{stage}/path`): the path and the method pick the API's resource and method as API
Gateway does (a literal path segment before a `{param}`, `{proxy+}` last; a method before
`ANY`); a Lambda authorizer (TOKEN or REQUEST) runs first when the method has one; an
`AWS_PROXY` integration with a Lambda function invokes it synchronously with the proxy event
(`sources.apigateway`) and answers with the response the function returned. Errors as API
Gateway answers them: 403 "Missing Authentication Token" for a stage, path or method the API
does not have (https://repost.aws/knowledge-center/api-gateway-authentication-token-errors);
502 "Internal server error" when the function fails or returns a malformed response
(https://repost.aws/knowledge-center/malformed-502-api-gateway); 504 "Endpoint request timed
out" past the integration timeout, 29 s by default
(https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).

HTTP APIs (`/path` on the `$default` stage, `/{stage}/path` on another): routed as HTTP APIs route
(`rules.http_api_route`: the most specific route, then `$default`), the event in the
integration's payload format version (2.0 or 1.0), a Lambda authorizer (payload format 2.0 with
simple or IAM-policy responses, or 1.0 with the REST REQUEST input and an IAM policy) first when
the route has one. Errors: 404 "Not Found" for no
stage or no route (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html);
500 "Internal Server Error" when the function fails or a 1.0 response is malformed
(https://repost.aws/knowledge-center/api-gateway-status-codes-http-api); 503 "Service
Unavailable" past the 30 s integration timeout (the quota:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html; the status
and message AWS sends are not documented, they are what clients receive, e.g.
https://github.com/cortexlabs/cortex/issues/1225).

Lambda authorizers (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-output.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html):
an identity source that is missing or empty is 401 "Unauthorized" without calling the
authorizer; the result is cached per identity for the TTL on the virtual clock (REST: 300 s
unless `authorizerResultTtlInSeconds` says otherwise; 0 turns it off), and a cached policy is
evaluated again against each request's method ARN; an explicit Deny is 403 "User is not
authorized to access this resource with an explicit deny", no Allow 403 "User is not authorized
to access this resource" (https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer);
an authorizer that raises `Exception("Unauthorized")` is 401, one that fails otherwise or
returns a malformed result is 500 with a null message (REST) or "Internal Server Error" (HTTP
APIs). The context reaches the integration's `requestContext.authorizer`.

IAM authorization of a REST method (authorizationType AWS_IAM): the request must carry a
Signature Version 4 signature for `execute-api` that `rules.sigv4_problem` computes again with
the key's secret (moto's IAM users, or the simulation's own credentials), else 403 with API
Gateway's message; the caller's IAM policies are not evaluated
(https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html).

REST non-proxy (`AWS`) integrations: the request's mapping template (`sources.apigateway_mapping`,
Velocity) or passthrough (`rules.request_template`, 415 Unsupported Media Type when refused), then
a Lambda function invoked or an AWS API called (`SERVICE_ACTIONS`: SQS SendMessage, EventBridge
PutEvents, Step Functions StartExecution), or, for a mock integration (SAM's CORS preflight
methods), the template's statusCode; then the integration response its selection pattern or
the default picks (`rules.integration_response`), its template mapping the result and its static
header values set (`rules.static_response_headers`)
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html).

Throttling (`rules.apigateway_throttling`, token buckets of `rules.throughput`): a REST method
that requires an API key takes it from the `x-api-key` header (403 Forbidden without one that a
usage plan of the stage holds) and meets the usage plan's throttle and quota (429 "Limit
Exceeded" past it) first; a routed request takes a token from its REST method's stage setting
(MethodSettings) or its HTTP API route's (RouteSettings, else the stage's DefaultRouteSettings),
then from the account's bucket for the Region (10,000 requests per second, burst 5,000 by
default); without one it is answered 429 `{"message": "Too Many Requests"}` and recorded in
`throttles`
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).

An API id that does not exist answers 404 (on AWS its host name does not resolve). Not
modelled yet (a request that needs one is answered 500 with a message saying so): other AWS
service actions, HTTP integrations, parameter mappings, JWT authorizers, API keys and usage
plans declared in a template (SAM's `ApiKeyRequired`, `UsagePlan`).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from . import moto_state
from .moto_state import ApiAuthorizer, ApiTarget
from .rules import apigateway as rules
from .rules import apigateway_throttling as throttling
from .rules.throughput import Quota, RateLimit, RateThrottle, TokenBucket
from .sources import apigateway_mapping as mapping
from .sources.apigateway import (
    HttpRequest,
    HttpResponse,
    error_response,
    http_api_event_v1,
    http_api_event_v2,
    http_api_response,
    proxy_response,
    rest_proxy_event,
)

_HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_LAMBDA_URI = re.compile(r":lambda:path/2015-03-31/functions/(?P<function>.+)/invocations$"
                         # HTTP APIs also take the function's own ARN as the integration URI
                         r"|^(?P<arn>arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[^/]+)$")
_SERVICE_URI = re.compile(r"^arn:aws:apigateway:(?P<region>[a-z0-9-]+):(?P<service>[a-z0-9-]+):"
                          r"(?P<kind>action|path)/(?P<rest>.+)$")

#: What the front door needs of the simulation: invoke a function synchronously with a payload
#: (its result and whether it failed; None when there is no such function), call an AWS API (service, operation, parameters) -> the
#: answer or `botocore.exceptions.ClientError`, and read the virtual clock.
Invoke = Callable[[str, bytes], tuple[bytes, bool] | None]
CallAws = Callable[[str, str, dict[str, Any]], dict[str, Any]]

#: The AWS service integrations the front door runs: (service in the URI, action) -> (boto3's
#: service name, the API operation). SQS takes the query protocol's form-encoded parameters (its
#: `path/{account}/{queue}` URI names the queue), the others a JSON body.
SERVICE_ACTIONS = {("sqs", "SendMessage"): ("sqs", "SendMessage"), ("events", "PutEvents"): ("events", "PutEvents"),
                   ("states", "StartExecution"): ("stepfunctions", "StartExecution"),
                   ("states", "StartSyncExecution"): ("stepfunctions", "StartSyncExecution")}
_SQS_PARAMETERS = {"MessageBody": str, "DelaySeconds": int, "MessageGroupId": str, "MessageDeduplicationId": str,
                   "QueueUrl": str}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)
#: A throttling level a request meets: (scope, what it is for, its limit or None when unset).
_Level = tuple[str, str, RateLimit | None]

EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
NOT_ALLOWED = "User is not authorized to access this resource"


@dataclass(frozen=True)
class _Authorized:
    """An authorizer's verdict as it is cached: the policy (or the simple answer) and context."""

    principal_id: str | None
    policy: Any  # the policyDocument; None for an HTTP API simple response
    is_authorized: bool  # the simple response's isAuthorized
    context: dict[str, Any]


class FrontDoor:
    """API Gateway's request path for the simulation's APIs, with the authorizers' result cache."""

    def __init__(self, account_id: str, invoke: Invoke, now: Callable[[], datetime], call_aws: CallAws):
        self._account_id = account_id
        self._invoke = invoke
        self._now = now
        self._call_aws = call_aws
        # (api id, authorizer name, identity) -> (verdict, expiry on the virtual clock)
        self._cache: dict[tuple[str, str, tuple[str, ...]], tuple[_Authorized, datetime]] = {}
        self.authorizer_calls = 0  # invocations of authorizer functions (cache hits make none)
        # Throttling: False turns it off; the account's limit is AWS's default for the request's
        # Region unless `account_throttle` sets one (for every Region, each with its own bucket).
        self.throttling = True
        self.account_throttle: RateLimit | None = None
        self.throttles: list[RateThrottle] = []  # the requests answered 429
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._quota_use: dict[str, tuple[datetime, int]] = {}  # usage plan/key -> (period start, requests)
        # X-Ray (telemetry.tracing.Tracing): a REST stage with TracingEnabled starts or continues
        # the trace; `trace_header` is what the request being served sends to Lambda.
        self.tracing: Any = None
        self.trace_header: str | None = None

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                body: bytes | str | None = None) -> HttpResponse:
        """Send one HTTP request; the response the client receives."""
        parts = urlsplit(url)
        host = _HOST.match(parts.hostname or "")
        if host is None:
            raise ValueError(f"{url} is not an API Gateway URL (https://<api-id>.execute-api.<region>"
                             ".amazonaws.com/[<stage>/]<path>)")
        api_id, region = host["api"], host["region"]
        data = body.encode("utf-8") if isinstance(body, str) else body
        http = HttpRequest(method.upper(), parts.path or "/", "", {}, {k: [v] for k, v in (headers or {}).items()},
                           parse_qs(parts.query), data, parts.query)
        routes = moto_state.rest_api_routes(self._account_id, region, api_id)
        if routes is not None:
            stage = http.path.lstrip("/").partition("/")[0]
            if self.tracing is None or not moto_state.rest_api_stage_traced(self._account_id, region, api_id, stage):
                return self._rest(http, api_id, region, routes)
            return self._traced_rest(http, api_id, region, routes, stage)
        api = moto_state.http_api(self._account_id, region, api_id)
        if api is not None:
            return self._http_api(http, api_id, region, api)
        return error_response(404, "Not Found")

    # -- REST APIs -----------------------------------------------------------------------------
    def _traced_rest(self, http: HttpRequest, api_id: str, region: str, routes: dict[str, dict[str, ApiTarget]],
                     stage: str) -> HttpResponse:
        """A request to a stage with X-Ray tracing: the stage's segment (origin
        AWS::ApiGateway::Stage) starts the trace, sampled by X-Ray's default rule, or continues
        the client's X-Amzn-Trace-Id; its header goes to the Lambda integration
        (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-apigateway.html)."""
        at_us = _micros(self._now())
        upstream = next((v[0] for k, v in http.headers.items() if k.lower() == "x-amzn-trace-id"), None)
        span, self.trace_header = self.tracing.start_span(
            f"{api_id}/{stage}", "AWS::ApiGateway::Stage", upstream, at_us, f"apigateway:{api_id}/{stage}",
            {"http.request.method": http.method, "url.path": http.path, "aws.api_gateway.stage": stage})
        try:
            response = self._rest(http, api_id, region, routes)
        finally:
            self.trace_header = None
        if span is not None:
            span.set_attribute("http.response.status_code", response.status)
        self.tracing.end_span(span, _micros(self._now()), None if response.status < 500 else str(response.status))
        return response

    def _rest(self, http: HttpRequest, api_id: str, region: str,
              routes: dict[str, dict[str, ApiTarget]]) -> HttpResponse:
        stage, _, rest = http.path.lstrip("/").partition("/")
        variables = moto_state.rest_api_stage_variables(self._account_id, region, api_id, stage)
        path = "/" + rest
        match = rules.route(routes, path, http.method)
        if variables is None or match is None:
            return error_response(403, "Missing Authentication Token")
        resource, parameters, target = match
        account = self._account_limit(region)
        # the method that serves the request: its own, else the resource's ANY
        method = http.method if http.method in routes.get(resource, {}) else "ANY"
        levels: list[_Level] = []
        quota: tuple[str, Quota] | None = None
        if moto_state.rest_method_requires_api_key(self._account_id, region, api_id, resource, method):
            key = _header(http.headers, throttling.API_KEY_HEADER) or ""
            grant = moto_state.usage_plan_grant(self._account_id, region, api_id, stage, key) if key else None
            if grant is None:
                return error_response(throttling.FORBIDDEN_STATUS, throttling.FORBIDDEN_MESSAGE)
            client = f"{grant.plan_id}/{grant.key_id}"
            # a per-method throttle of the plan has a bucket per method; the plan's own one is
            # shared by all the key's requests to the plan's stages
            per_method = f"{resource}/{method}" in grant.method_throttles
            levels.append(("usage-plan", f"{client} {api_id}/{stage} {method} {resource}" if per_method else client,
                           throttling.usage_plan_throttle(grant.throttle, grant.method_throttles, resource, method,
                                                          account)))
            plan_quota = throttling.quota_of(grant.quota_limit, grant.quota_period)
            quota = None if plan_quota is None else (client, plan_quota)
        settings = moto_state.rest_api_method_throttling(self._account_id, region, api_id, stage)
        levels.append(("method", f"{api_id}/{stage} {method} {resource}",
                       throttling.rest_method_throttle(settings, resource, method, account)))
        refused = self._throttle(region, account, levels, quota)
        if refused is not None:
            return refused
        routed = HttpRequest(http.method, path, resource, parameters, http.headers, http.query, http.body,
                             http.raw_query)
        started = self._now()
        request_id = str(uuid.uuid4())
        signer: str | None = None
        if target.iam_auth:
            refused_signature = self._iam_refusal(http, api_id, region)
            if refused_signature is not None:
                return refused_signature
            signer = rules.sigv4_access_key({k: v[-1] for k, v in http.headers.items()})
        authorizer_context: dict[str, Any] | None = None
        if target.authorizer is not None:
            arn = rules.method_arn(region, self._account_id, api_id, stage, http.method, path)
            verdict = self._rest_authorize(target.authorizer, routed, arn, api_id=api_id, stage=stage, region=region,
                                           variables=variables, request_id=request_id)
            if isinstance(verdict, HttpResponse):
                return verdict
            authorizer_context = verdict
            authorizer_context["integrationLatency"] = int((self._now() - started).total_seconds() * 1000)
        # The method's request validator, after authorization (modelled: the order is not stated
        # on api-gateway-method-request-validation.html) and before the integration.
        invalid = rules.request_problem(
            validate_parameters=target.validate_parameters, validate_body=target.validate_body,
            required_parameters=target.required_parameters, models=target.models,
            content_type=_header(http.headers, "content-type"), body=http.body, path=parameters, query=http.query,
            headers=http.headers)
        if invalid is not None:
            return error_response(400, invalid)
        if target.integration_type in ("AWS", "MOCK"):
            context = {"requestId": request_id, "stage": stage, "httpMethod": http.method, "resourcePath": resource,
                       "apiId": api_id, "accountId": self._account_id, "authorizer": authorizer_context or {}}
            return self._rest_non_proxy(target, routed, context, variables)
        function = _LAMBDA_URI.search(rules.with_stage_variables(target.uri, variables))
        if target.integration_type != "AWS_PROXY" or function is None:
            return error_response(500, f"the simulator does not run {target.integration_type or 'no'} integrations "
                                       "yet (Lambda proxy and non-proxy, and some AWS service integrations)")
        event = rest_proxy_event(routed, api_id=api_id, stage=stage, account_id=self._account_id, region=region,
                                 request_id=request_id, when=started, stage_variables=variables,
                                 authorizer=authorizer_context, signer=signer)
        integration_started = self._now()
        invoked = self._invoke(function["function"] or function["arn"], json.dumps(event).encode("utf-8"))
        if invoked is None:  # no such function, or throttled by Lambda (api-gateway-internal-server-error)
            return error_response(500, "Internal server error")
        result, failed = invoked
        timeout_s = target.timeout_ms / 1000 if target.timeout_ms else rules.INTEGRATION_TIMEOUT_S
        if (self._now() - integration_started).total_seconds() > timeout_s:
            return error_response(504, "Endpoint request timed out")
        if failed:
            return error_response(502, "Internal server error")
        try:
            payload: Any = json.loads(result)
        except ValueError:
            return error_response(502, "Internal server error")
        return proxy_response(payload)

    def _iam_refusal(self, http: HttpRequest, api_id: str, region: str) -> HttpResponse | None:
        """API Gateway's 403 for a request to an IAM-authorized method that is not signed with
        SigV4 by a known key (rules.sigv4_problem), None when it is. Which IAM policies allow
        the signer execute-api:Invoke is not evaluated (moto enforces no IAM)."""
        headers = {k: v[-1] for k, v in http.headers.items()}
        key = rules.sigv4_access_key(headers)
        simulation_key = (os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
        secret = None if key is None else moto_state.access_key_secret(self._account_id, key, simulation_key)
        url = f"https://{api_id}.execute-api.{region}.amazonaws.com{http.path}" + (
            f"?{http.raw_query}" if http.raw_query else "")
        problem = rules.sigv4_problem(http.method, url, headers, http.body or b"", secret=secret, region=region,
                                      now_epoch_s=self._now().timestamp())
        return None if problem is None else error_response(403, problem)

    def _rest_non_proxy(self, target: ApiTarget, http: HttpRequest, context: dict[str, Any],
                        variables: dict[str, str]) -> HttpResponse:
        """A non-proxy (`aws`) integration: the request mapped by its template (or passed
        through), a Lambda function invoked or an AWS API called with it, the result mapped by the
        integration response it selects."""
        content_type = _header(http.headers, "Content-Type")
        template, refused = rules.request_template(target.request_templates, content_type, target.passthrough)
        if refused:
            return error_response(415, "Unsupported Media Type")
        body = (http.body or b"").decode("utf-8", errors="replace")
        try:
            payload = body if template is None else mapping.render(template, body=body, request=http, context=context,
                                                                   stage_variables=variables)
        except ValueError:
            return error_response(500, "Internal server error")
        uri = rules.with_stage_variables(target.uri, variables)
        function = _LAMBDA_URI.search(uri)
        service = _SERVICE_URI.search(uri)
        started = self._now()
        if target.integration_type == "MOCK":  # the request template's statusCode selects the response
            result, selector = "", str(_mock_status(payload))
        elif function is not None:
            invoked = self._invoke(function["function"] or function["arn"], payload.encode("utf-8"))
            if invoked is None:
                return error_response(500, "Internal server error")
            raw, failed = invoked
            timeout_s = target.timeout_ms / 1000 if target.timeout_ms else rules.INTEGRATION_TIMEOUT_S
            if (self._now() - started).total_seconds() > timeout_s:
                return error_response(504, "Endpoint request timed out")
            result = raw.decode("utf-8", errors="replace")
            selector = _error_message(result) if failed else None
        elif service is not None:
            answer = self._call_service(service, payload)
            if answer is None:
                return error_response(500, f"the simulator does not run {service['service']} "
                                           f"{service['rest']} integrations (only {_supported_services()})")
            status, result = answer
            selector = str(status)
        else:
            return error_response(500, "the simulator runs Lambda and some AWS service integrations only")
        chosen = rules.integration_response([r.selection_pattern for r in target.responses], selector)
        if chosen is None:
            return error_response(500, "Internal server error")
        response = target.responses[chosen]
        template = response.templates.get("application/json")
        try:
            out = result if template is None else mapping.render(template, body=result, request=http, context=context,
                                                                 stage_variables=variables)
        except ValueError:
            return error_response(500, "Internal server error")
        headers = {"Content-Type": "application/json", **rules.static_response_headers(response.parameters)}
        return HttpResponse(response.status_code, headers, out.encode("utf-8"))

    def _call_service(self, uri: re.Match[str], payload: str) -> tuple[int, str] | None:
        """(HTTP status, response body) of the AWS API call an integration makes; None when the
        simulator does not run that service's action."""
        from botocore.exceptions import ClientError

        service, kind, rest = uri["service"], uri["kind"], uri["rest"]
        if service == "sqs":
            form = dict(parse_qsl(payload, keep_blank_values=True))
            action = form.pop("Action", "") if kind == "path" else rest
            params: dict[str, Any] = {k: _SQS_PARAMETERS[k](v) for k, v in form.items() if k in _SQS_PARAMETERS}
            if kind == "path":
                params["QueueUrl"] = f"https://sqs.{uri['region']}.amazonaws.com/{rest}"
        else:
            action = rest
            try:
                params = json.loads(payload) if payload.strip() else {}
            except ValueError:
                return 400, json.dumps({"__type": "SerializationException", "message": "the body is not JSON"})
        client_operation = SERVICE_ACTIONS.get((service, action))
        if client_operation is None:
            return None
        try:
            answer = self._call_aws(*client_operation, params)
        except ClientError as error:
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            details = error.response.get("Error", {})
            return status, json.dumps({"__type": details.get("Code"), "message": details.get("Message")})
        answer.pop("ResponseMetadata", None)
        return 200, json.dumps(answer, default=_json_value)

    def _rest_authorize(self, authorizer: ApiAuthorizer, http: HttpRequest, arn: str, *, api_id: str, stage: str,
                        region: str, variables: dict[str, str], request_id: str) -> dict[str, Any] | HttpResponse:
        """The context for the integration, or the error response that ends the request."""
        identity = _identity(authorizer.identity_sources, http, variables)
        if identity is None:
            return error_response(401, "Unauthorized")
        if authorizer.type == "TOKEN" and authorizer.validation_expression and not re.fullmatch(
                authorizer.validation_expression, identity[0]):
            return error_response(401, "Unauthorized")

        def event() -> dict[str, Any]:
            if authorizer.type == "TOKEN":
                return {"type": "TOKEN", "methodArn": arn, "authorizationToken": identity[0]}
            proxy = rest_proxy_event(http, api_id=api_id, stage=stage, account_id=self._account_id, region=region,
                                     request_id=request_id, when=self._now(), stage_variables=variables)
            proxy.pop("body")
            proxy.pop("isBase64Encoded")
            return {"type": "REQUEST", "methodArn": arn, **proxy}

        verdict = self._authorized(api_id, authorizer, identity, event, simple=False,
                                   default_ttl_s=rules.AUTHORIZER_TTL_DEFAULT_S)
        if verdict is None:
            return error_response(500, None)
        if verdict == "Unauthorized":
            return error_response(401, "Unauthorized")
        try:
            decision = rules.policy_decision(verdict.policy, arn)
        except ValueError:
            return error_response(500, None)
        if decision == "Deny":
            return error_response(403, EXPLICIT_DENY)
        if decision == "NotAllowed":
            return error_response(403, NOT_ALLOWED)
        # context values reach a REST integration as strings
        context = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in verdict.context.items()}
        return {"principalId": verdict.principal_id, **context}

    # -- HTTP APIs -----------------------------------------------------------------------------
    def _http_api(self, http: HttpRequest, api_id: str, region: str, api: moto_state.HttpApi) -> HttpResponse:
        staged = rules.http_api_stage(api.stages, http.path)
        if staged is None:
            return error_response(404, "Not Found")
        stage, path = staged
        origin = _header(http.headers, "Origin")
        found = rules.http_api_route(api.routes, path, http.method)
        preflight = http.method == "OPTIONS" and origin is not None and \
            _header(http.headers, "Access-Control-Request-Method") is not None
        if api.cors is not None and preflight and (found is None or not found[2].integration_type):
            # API Gateway answers a preflight itself unless a route with an integration takes it
            return HttpResponse(204, rules.cors_headers(api.cors, origin, preflight=True), b"")
        if found is None:
            return error_response(404, "Not Found")
        response = self._http_api_route(http, api_id, region, api, stage, path, found)
        if api.cors is None:
            return response
        # the configured CORS headers replace any the integration returned
        kept = {k: v for k, v in response.headers.items() if not k.lower().startswith("access-control-")}
        return HttpResponse(response.status, {**kept, **rules.cors_headers(api.cors, origin, preflight=preflight)},
                            response.body, response.cookies)

    def _http_api_route(self, http: HttpRequest, api_id: str, region: str, api: moto_state.HttpApi, stage: str,
                        path: str, found: tuple[str, dict[str, str], ApiTarget]) -> HttpResponse:
        route_key, parameters, target = found
        account = self._account_limit(region)
        default, routes = moto_state.http_api_route_throttling(self._account_id, region, api_id, stage)
        refused = self._throttle(region, account, [("route", f"{api_id}/{stage} {route_key}",
                                                    throttling.http_route_throttle(default, routes, route_key, account))])
        if refused is not None:
            return refused
        variables = api.stages[stage]
        # "API Gateway decodes URL-encoded request parameters before passing them" (http-api-develop-routes.html)
        routed = HttpRequest(http.method, path, route_key, {k: unquote(v) for k, v in parameters.items()},
                             http.headers, http.query, http.body, http.raw_query)
        started = self._now()
        request_id = str(uuid.uuid4())
        authorizer_context: dict[str, Any] | None = None
        if target.authorizer is not None:
            verdict = self._http_api_authorize(target.authorizer, routed, route_key, api_id=api_id, stage=stage,
                                               region=region, variables=variables, request_id=request_id)
            if isinstance(verdict, HttpResponse):
                return verdict
            authorizer_context = verdict
        function = _LAMBDA_URI.search(rules.with_stage_variables(target.uri, variables))
        if target.integration_type != "AWS_PROXY" or function is None:
            return error_response(500, f"the simulator does not run {target.integration_type or 'no'} integrations "
                                       "of HTTP APIs yet (only Lambda proxy integrations)")
        version = target.payload_version or "2.0"
        build = http_api_event_v2 if version == "2.0" else http_api_event_v1
        event = build(routed, route_key=route_key, api_id=api_id, stage=stage, account_id=self._account_id,
                      region=region, request_id=request_id, when=started, stage_variables=variables,
                      authorizer=authorizer_context)
        integration_started = self._now()
        invoked = self._invoke(function["function"] or function["arn"], json.dumps(event).encode("utf-8"))
        if invoked is None:
            return error_response(500, "Internal Server Error")
        result, failed = invoked
        timeout_s = target.timeout_ms / 1000 if target.timeout_ms else rules.HTTP_API_INTEGRATION_TIMEOUT_S
        if (self._now() - integration_started).total_seconds() > timeout_s:
            return error_response(503, "Service Unavailable")
        response = None if failed else http_api_response(result, version)
        return response if response is not None else error_response(500, "Internal Server Error")

    def _http_api_authorize(self, authorizer: ApiAuthorizer, http: HttpRequest, route_key: str, *, api_id: str,
                            stage: str, region: str, variables: dict[str, str],
                            request_id: str) -> dict[str, Any] | HttpResponse:
        identity = _identity(authorizer.identity_sources, http, variables)
        if identity is None:
            return error_response(401, "Unauthorized")
        arn = rules.method_arn(region, self._account_id, api_id, stage, http.method, http.path)
        version_1 = authorizer.payload_version == "1.0"

        def event() -> dict[str, Any]:
            build = http_api_event_v1 if version_1 else http_api_event_v2
            request = build(http, route_key=route_key, api_id=api_id, stage=stage, account_id=self._account_id,
                            region=region, request_id=request_id, when=self._now(), stage_variables=variables)
            request.pop("body", None)
            request.pop("isBase64Encoded", None)
            if version_1:  # the REST REQUEST authorizer's input, for compatibility with REST APIs
                joined = ",".join(identity)
                return {**request, "type": "REQUEST", "methodArn": arn, "identitySource": joined,
                        "authorizationToken": joined}
            return {**request, "type": "REQUEST", "routeArn": arn, "identitySource": list(identity)}

        # simple responses exist in payload format 2.0 only; 1.0 authorizers return IAM policies
        simple = authorizer.simple_responses and not version_1
        verdict = self._authorized(api_id, authorizer, identity, event, simple=simple,
                                   default_ttl_s=rules.HTTP_API_AUTHORIZER_TTL_DEFAULT_S)
        if verdict is None or verdict == "Unauthorized":
            return error_response(500, "Internal Server Error")
        if simple:
            allowed = verdict.is_authorized
        else:
            try:
                allowed = rules.policy_decision(verdict.policy, arn) == "Allow"
            except ValueError:
                return error_response(500, "Internal Server Error")
        if not allowed:
            return error_response(403, "Forbidden")
        return dict(verdict.context)

    # -- throttling ----------------------------------------------------------------------------
    def _account_limit(self, region: str) -> RateLimit:
        return self.account_throttle or throttling.account_throttle(region)

    def _throttle(self, region: str, account: RateLimit, levels: list[_Level],
                  quota: tuple[str, Quota] | None = None) -> HttpResponse | None:
        """None when the request may go on: a token taken from the bucket of each level that has
        a limit (a usage plan's, the method's or route's, in that order), then from the account's,
        and one request counted against the usage plan's quota; else the 429 the client gets,
        recorded. Nothing is taken or counted when one of them refuses."""
        if not self.throttling:
            return None
        now = self._now()
        now_us = (now - _EPOCH) // timedelta(microseconds=1)
        checks = [(scope, resource, limit) for scope, resource, limit in levels if limit is not None]
        checks.append(("account", f"{self._account_id}/{region}", account))
        buckets = []
        for level_scope, level_resource, level_limit in checks:
            bucket = self._buckets.get((level_scope, level_resource))
            if bucket is None or bucket.limit != level_limit:
                bucket = self._buckets[(level_scope, level_resource)] = TokenBucket(level_limit)
            if bucket.available(now_us) < 1:
                self.throttles.append(RateThrottle(now_us, "apigateway", level_scope, level_resource, level_limit))
                return error_response(throttling.THROTTLED_STATUS, throttling.THROTTLED_MESSAGE)
            buckets.append(bucket)
        if quota is not None:
            client, allowed = quota
            period = throttling.quota_period_start(now, allowed.period)
            counted_period, used = self._quota_use.get(client, (period, 0))
            used = used if counted_period == period else 0
            if used >= allowed.limit:
                self.throttles.append(RateThrottle(now_us, "apigateway", "quota", client, allowed))
                return error_response(throttling.THROTTLED_STATUS, throttling.QUOTA_EXCEEDED_MESSAGE)
            self._quota_use[client] = (period, used + 1)
        for bucket in buckets:
            bucket.try_take(now_us)
        return None

    # -- authorizers, both kinds ---------------------------------------------------------------
    def _authorized(self, api_id: str, authorizer: ApiAuthorizer, identity: tuple[str, ...],
                    event: Callable[[], dict[str, Any]], *, simple: bool,
                    default_ttl_s: int) -> _Authorized | str | None:
        """The authorizer's verdict for this identity: from the cache while its TTL lasts, else
        from the authorizer function. "Unauthorized": it raised Exception("Unauthorized");
        None: it failed or its result is malformed. Only valid verdicts are cached."""
        key = (api_id, authorizer.name, identity)
        cached = self._cache.get(key)
        if cached is not None and self._now() < cached[1]:
            return cached[0]
        function = _LAMBDA_URI.search(authorizer.uri)
        if function is None:
            return None
        self.authorizer_calls += 1
        invoked = self._invoke(function["function"] or function["arn"], json.dumps(event()).encode("utf-8"))
        if invoked is None:
            return None
        result, failed = invoked
        try:
            output: Any = json.loads(result)
        except ValueError:
            return None
        if failed:
            return "Unauthorized" if isinstance(output, dict) and output.get("errorMessage") == "Unauthorized" else None
        verdict = _verdict(output, simple=simple)
        ttl = default_ttl_s if authorizer.ttl_s is None else authorizer.ttl_s
        if verdict is not None and ttl > 0:
            self._cache[key] = (verdict, self._now() + timedelta(seconds=ttl))
        return verdict


def _header(headers: dict[str, list[str]], name: str) -> str | None:
    """A request header's (last) value, by case-insensitive name."""
    return next((values[-1] for key, values in headers.items() if key.lower() == name.lower() and values), None)


def _mock_status(payload: str) -> int:
    """The status code a mock integration's rendered request template names (200 without one)."""
    try:
        document = json.loads(payload) if payload.strip() else {}
    except ValueError:
        return 200
    status = document.get("statusCode", 200) if isinstance(document, dict) else 200
    return int(status) if isinstance(status, int | str) and str(status).isdigit() else 200


def _error_message(result: str) -> str:
    """A failed Lambda function's errorMessage (what selection patterns match)."""
    try:
        document = json.loads(result)
    except ValueError:
        return result
    return str(document.get("errorMessage", "")) if isinstance(document, dict) else result


def _json_value(value: Any) -> Any:
    """An AWS answer's timestamp as JSON sends it: epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _supported_services() -> str:
    return ", ".join(f"{service} {action}" for service, action in SERVICE_ACTIONS)


def _verdict(output: Any, *, simple: bool) -> _Authorized | None:
    """An authorizer's output as a verdict; None when it is not the documented shape."""
    if not isinstance(output, dict):
        return None
    context = output.get("context") or {}
    if simple:
        if not isinstance(output.get("isAuthorized"), bool) or not isinstance(context, dict):
            return None
        return _Authorized(None, None, output["isAuthorized"], context)
    if "policyDocument" not in output or not rules.context_is_valid(output.get("context")):
        return None
    return _Authorized(str(output.get("principalId", "")), output["policyDocument"], False, context)


def _identity(sources: tuple[str, ...], http: HttpRequest, variables: dict[str, str]) -> tuple[str, ...] | None:
    """The values of an authorizer's identity sources (REST `method.request.header.X`,
    `method.request.querystring.X`, `stageVariables.X`; HTTP APIs `$request.header.X`,
    `$request.querystring.X`, `$stageVariables.X`), None if one is missing or empty."""
    values: list[str] = []
    for source in sources:
        where, _, name = source.removeprefix("$").removeprefix("method.").rpartition(".")
        if where == "request.header":
            found = [v for k, vs in http.headers.items() if k.lower() == name.lower() for v in vs]
        elif where == "request.querystring":
            found = list(http.query.get(name, []))
        elif where == "stageVariables":
            found = [variables[name]] if name in variables else []
        else:  # context variables: API Gateway's own, always present
            found = [source]
        if not found or not found[-1]:
            return None
        values.append(",".join(found))
    return tuple(values)
