"""Conformance: HTTP APIs through the API Gateway front door (`Simulator.http`,
`lambdasim.apigateway`).

The fixture fixtures/sam/http_api/template.yaml is an ordinary SAM template: `HttpApi` events on
the implicit HTTP API (stage `$default`) and on an `AWS::Serverless::HttpApi` with a named stage,
stage variables and a Lambda authorizer. SAM writes them as `AWS::ApiGatewayV2::Api` with an
OpenAPI 3 `Body` and `AWS::ApiGatewayV2::Stage`, which moto's CloudFormation lacks; the simulator
deploys them and routes requests as HTTP APIs do. One simulation serves the module (the tests
change nothing another reads: authorizer tokens are unique per test, durations are reset).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
)
from aws_lambda_powertools.utilities.parser.models.apigwv2 import ApiGatewayAuthorizerRequestV2
from lambdasim import Simulator
from lambdasim.rules.cold_start import NO_PLATFORM_INIT
from lambdasim.sam import deploy

HTTP_API = Path(__file__).parent / "fixtures" / "sam" / "http_api"

pytestmark = pytest.mark.xdist_group("http_api")


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=7, init_model=NO_PLATFORM_INIT) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def api(sim):
    return deploy(sim, HTTP_API, stack_name="http", validate=False)


@pytest.fixture
def url(api) -> str:
    return api.outputs["ApiUrl"]


@pytest.fixture
def staged(api) -> str:
    return api.outputs["StagedApiUrl"]


def event_of(response) -> dict:
    assert response.status == 200, response.text
    return response.json()


def test_a_request_reaches_the_function_with_the_payload_2_0_event(sim, url) -> None:
    """Payload format 2.0
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
    header names in lower case; duplicate query strings joined with commas; `rawQueryString` as
    sent; every Cookie header in `cookies`; `routeKey`, `rawPath`, `requestContext.http`. The
    response's `cookies` each become a Set-Cookie header. Powertools' APIGatewayProxyEventV2Model
    parses the event unchanged."""
    response = sim.http("GET", url + "orders/42?expand=items&expand=customer",
                        headers={"Accept": "application/json", "Cookie": "a=1; b=2", "User-Agent": "tests/1"})
    event = event_of(response)
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "GET /orders/{id}", "/orders/42")
    assert event["rawQueryString"] == "expand=items&expand=customer"
    assert event["queryStringParameters"] == {"expand": "items,customer"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["accept"] == "application/json" and "cookie" not in event["headers"]
    context = event["requestContext"]
    assert (context["stage"], context["routeKey"]) == ("$default", "GET /orders/{id}")
    assert context["http"]["method"] == "GET" and context["http"]["userAgent"] == "tests/1"
    assert "body" not in event and "stageVariables" not in event
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    assert parsed.requestContext.apiId == url.split("//")[1].split(".")[0]
    assert response.cookies == ["session=abc; Secure", "theme=dark"]


@pytest.mark.parametrize("method, path, route_key, parameters", [
    ("GET", "orders/today", "GET /orders/today", None),
    ("DELETE", "files/reports/2026/q4.csv", "ANY /files/{proxy+}", {"proxy": "reports/2026/q4.csv"}),
    ("POST", "orders/42", "$default", None),
    ("GET", "no/such/route", "$default", None),
])
def test_routes_pick_the_most_specific_match_then_default(sim, url, method, path, route_key, parameters) -> None:
    """HTTP API routing
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html):
    a full match of route and method first, then path variables, then a greedy `{proxy+}` (at
    the end of the path), and the `$default` route for requests no other route matches (a
    method the path has no route for included)."""
    event = event_of(sim.http(method, url + path))
    assert (event["routeKey"], event.get("pathParameters")) == (route_key, parameters)
    assert event["rawPath"] == "/" + path


def test_no_route_and_no_default_route_is_404_not_found(sim, staged) -> None:
    """Without a `$default` route, a request no route matches is answered
    `{"message":"Not Found"}`
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html)."""
    response = sim.http("GET", staged + "nowhere")
    assert (response.status, response.json()) == (404, {"message": "Not Found"})


def test_a_stage_the_api_does_not_have_is_404_not_found(sim, staged) -> None:
    """A request that names no stage goes to the `$default` stage; without one, API Gateway
    answers `{"message":"Not Found"}`
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html)."""
    response = sim.http("GET", staged.replace("/v1/", "/beta/") + "open")
    assert (response.status, response.json()) == (404, {"message": "Not Found"})


def test_a_named_stage_is_in_the_path_and_its_variables_in_the_event(sim, staged) -> None:
    """On a stage other than `$default` the invoke URL and `rawPath` carry the stage's name;
    its stage variables are in `stageVariables`
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html)."""
    event = event_of(sim.http("GET", staged + "open"))
    assert (event["routeKey"], event["rawPath"], event["requestContext"]["stage"]) == ("GET /open", "/v1/open", "v1")
    assert event["stageVariables"] == {"table": "orders-v1"}


def test_payload_format_1_0_sends_the_rest_shaped_event(sim, url) -> None:
    """Payload format 1.0
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html): the REST proxy event's
    fields with `version` 1.0, multi-value headers and query strings; Powertools'
    APIGatewayProxyEventModel parses it unchanged."""
    event = event_of(sim.http("GET", url + "v1/orders/7?a=1&a=2"))
    assert (event["version"], event["resource"], event["path"]) == ("1.0", "/v1/orders/{id}", "/v1/orders/7")
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["pathParameters"] == {"id": "7"}
    APIGatewayProxyEventModel.model_validate(event)


@pytest.mark.parametrize("what, body", [("object", b'{"orders": [1, 2]}'), ("text", b'"just text"')])
def test_a_2_0_result_without_status_code_is_the_body_of_a_200_json_response(sim, url, what, body) -> None:
    """Payload format 2.0: when the function's valid JSON result has no `statusCode`, API
    Gateway assumes status 200, content-type application/json and the result as the body
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
    "Lambda function response format";
    https://repost.aws/knowledge-center/api-gateway-status-codes-http-api)."""
    response = sim.http("GET", url + f"plain/{what}")
    assert (response.status, response.headers, response.body) == (200, {"content-type": "application/json"}, body)


@pytest.mark.parametrize("path", ["plain1/object", "plain/raise", "plain/bad-status"])
def test_a_failed_function_or_a_malformed_response_is_500(sim, url, path) -> None:
    """With payload format 1.0 the function must return the proxy response shape, API Gateway
    makes no assumptions (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
    https://repost.aws/knowledge-center/api-gateway-status-codes-http-api);
    a function error or a malformed response is answered 500 `Internal Server Error`."""
    response = sim.http("GET", url + path)
    assert (response.status, response.json()) == (500, {"message": "Internal Server Error"})


def test_past_the_30_s_integration_timeout_the_client_gets_503(sim, api, url) -> None:
    """An HTTP API's integration timeout is 30 s, not adjustable
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html): a
    function that runs 29.5 s is answered (a REST API would have given up at 29 s), one that
    runs 31 s is cut off with 503 Service Unavailable (what clients receive:
    https://github.com/cortexlabs/cortex/issues/1225) while it runs on."""
    function = api.function_name("PlainFunction")
    try:
        sim.set_duration(function, 29_500)
        assert sim.http("GET", url + "plain/object").status == 200
        sim.set_duration(function, 31_000)
        response = sim.http("GET", url + "plain/object")
        assert (response.status, response.json()) == (503, {"message": "Service Unavailable"})
    finally:
        sim.set_duration(function, 1.0)


def test_a_missing_identity_source_is_401_without_calling_the_authorizer(sim, staged) -> None:
    """"Only when [the identity sources are present, not null and non-empty] does the authorizer
    invoke the authorizer Lambda function. Otherwise, it returns a 401 Unauthorized response"
    (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html)."""
    calls = sim.api_gateway.authorizer_calls
    response = sim.http("GET", staged + "me")
    assert (response.status, response.json()) == (401, {"message": "Unauthorized"})
    assert sim.api_gateway.authorizer_calls == calls


def test_a_simple_response_authorizer_lets_in_denies_or_fails(sim, staged) -> None:
    """Simple responses (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html):
    `isAuthorized` true lets the request through with the context in
    `requestContext.authorizer.lambda`; false is 403 Forbidden; an authorizer that fails is
    500. The authorizer's event is the payload 2.0 request with `type` REQUEST, `routeArn` and
    `identitySource` (Powertools' ApiGatewayAuthorizerRequestV2 parses it)."""
    event = event_of(sim.http("GET", staged + "me", headers={"Authorization": "allow-simple"}))
    context = event["requestContext"]["authorizer"]["lambda"]
    assert (context["user"], context["tier"]) == ("alice", 2)
    request = ApiGatewayAuthorizerRequestV2.model_validate(context["authorizerEvent"])
    assert request.identitySource == ["allow-simple"]
    assert request.routeArn.endswith(f"{event['requestContext']['apiId']}/v1/GET/me")
    denied = sim.http("GET", staged + "me", headers={"Authorization": "nope"})
    assert (denied.status, denied.json()) == (403, {"message": "Forbidden"})
    failed = sim.http("GET", staged + "me", headers={"Authorization": "broken"})
    assert (failed.status, failed.json()) == (500, {"message": "Internal Server Error"})


def test_the_authorizer_result_is_cached_per_identity_for_its_ttl(sim, staged) -> None:
    """"If it is greater than 0, API Gateway caches authorizer responses" for
    authorizerResultTtlInSeconds
    (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html;
    SAM's ReauthorizeEvery, 300 s here), per identity source value: a second request with the
    same token within 300 virtual seconds does not call the authorizer, another token does, and
    after the TTL it is called again."""
    calls = sim.api_gateway.authorizer_calls
    for _ in range(2):
        assert sim.http("GET", staged + "me", headers={"Authorization": "allow-cached"}).status == 200
    assert sim.api_gateway.authorizer_calls == calls + 1
    assert sim.http("GET", staged + "me", headers={"Authorization": "allow-other"}).status == 200
    assert sim.api_gateway.authorizer_calls == calls + 2
    sim.run_for(301)
    assert sim.http("GET", staged + "me", headers={"Authorization": "allow-cached"}).status == 200
    assert sim.api_gateway.authorizer_calls == calls + 3


def test_an_iam_policy_authorizer_without_a_ttl_is_called_for_every_request(sim, staged) -> None:
    """Without simple responses an HTTP API's Lambda authorizer returns an IAM policy evaluated
    against the route ARN: Allow lets the request through with the context in
    `requestContext.authorizer.lambda`, Deny is 403 Forbidden
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).
    Caching needs authorizerResultTtlInSeconds greater than 0
    (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html);
    with none set the simulator caches nothing (modelled: the API gives no default)."""
    calls = sim.api_gateway.authorizer_calls
    events = [event_of(sim.http("GET", staged + "admin", headers={"Authorization": "allow"})) for _ in range(2)]
    assert events[0]["requestContext"]["authorizer"]["lambda"] == {"user": "bob"}
    assert sim.api_gateway.authorizer_calls == calls + 2
    denied = sim.http("GET", staged + "admin", headers={"Authorization": "deny"})
    assert (denied.status, denied.json()) == (403, {"message": "Forbidden"})


def test_a_payload_1_0_authorizer_gets_the_rest_request_input_and_returns_a_policy(sim, staged) -> None:
    """"If you need compatibility with REST APIs, use version 1.0": the authorizer receives the
    REST REQUEST authorizer's input (`methodArn`, the identity sources joined in
    `identitySource` and `authorizationToken`) and returns an IAM policy
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html)."""
    event = event_of(sim.http("GET", staged + "legacy", headers={"Authorization": "t-1"}))
    assert event["requestContext"]["authorizer"]["lambda"] == {"token": "t-1", "type": "REQUEST", "version": "1.0"}


def test_a_route_with_authorizer_none_is_open(sim, staged) -> None:
    """SAM's `Auth: Authorizer: NONE` leaves a route of an API with a default authorizer open
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-httpapiauth.html).
    """
    event = event_of(sim.http("GET", staged + "open"))
    assert "authorizer" not in event["requestContext"]


def test_the_http_api_is_named_by_its_definition(sim, api) -> None:
    """CloudFormation's AWS::ApiGatewayV2::Api with a `Body` takes its name from the
    definition's title
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-api.html);
    SAM titles its definitions with the stack's name. Both APIs and their stages are there for
    the ApiGatewayV2 API."""
    client = sim.client("apigatewayv2")
    ours = {api.physical_id("ServerlessHttpApi"), api.physical_id("StagedApi")}
    apis = [a for a in client.get_apis()["Items"] if a["ApiId"] in ours]
    assert sorted(a["Name"] for a in apis) == ["http", "http"]
    stages = {a["ApiId"]: [s["StageName"] for s in client.get_stages(ApiId=a["ApiId"])["Items"]] for a in apis}
    assert sorted(stages.values()) == [["$default"], ["v1"]]


def test_an_http_api_of_hand_written_resources_routes_and_authorizes(sim) -> None:
    """An HTTP API declared as AWS::ApiGatewayV2::Api, ::Integration (a Lambda function's own ARN
    as IntegrationUri), ::Route (`Target` integrations/{id}; CUSTOM with an AuthorizerId),
    ::Authorizer and ::Stage deploys and serves as SAM's does
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-route.html,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-integration.html);
    `Target` on the Api quick-creates a proxy integration, the `$default` route and stage
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-api.html)."""
    stack = deploy(sim, HTTP_API.parent / "http_api_resources", stack_name="hand", validate=False)
    url = stack.outputs["ApiUrl"] + "/"
    assert event_of(sim.http("GET", url + "hello")) == {"route": "GET /hello", "authorizer": None}
    assert sim.http("GET", url + "secret").status == 401
    assert sim.http("GET", url + "secret", headers={"Authorization": "no"}).status == 403
    assert event_of(sim.http("GET", url + "secret", headers={"Authorization": "ok"}))["authorizer"] == {
        "lambda": {"who": "gate"}}
    assert event_of(sim.http("POST", stack.outputs["QuickUrl"] + "any/path"))["route"] == "$default"


def test_cors_preflights_are_answered_and_the_configured_headers_added(sim, staged) -> None:
    """With a CORS configuration "API Gateway automatically sends a response to preflight OPTIONS
    requests, even if there isn't an OPTIONS route" (no authorizer runs), and adds the configured
    CORS headers to an integration's response for a request with an allowed Origin; another
    origin gets none
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html)."""
    calls = sim.api_gateway.authorizer_calls
    preflight = sim.http("OPTIONS", staged + "me", headers={"Origin": "https://app.example.com",
                                                            "Access-Control-Request-Method": "GET"})
    assert (preflight.status, preflight.headers) == (204, {
        "access-control-allow-origin": "https://app.example.com", "access-control-allow-methods": "GET",
        "access-control-allow-headers": "authorization", "access-control-max-age": "600"})
    assert sim.api_gateway.authorizer_calls == calls
    response = sim.http("GET", staged + "open", headers={"Origin": "https://app.example.com"})
    assert (response.status, response.headers["access-control-allow-origin"],
            response.headers["access-control-expose-headers"]) == (200, "https://app.example.com", "x-request-id")
    other = sim.http("GET", staged + "open", headers={"Origin": "https://elsewhere.example"})
    assert not [name for name in other.headers if name.startswith("access-control-")]
