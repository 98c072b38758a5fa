"""Conformance: the API Gateway front door (`Simulator.http`, `lambdasim.apigateway`).

The fixture fixtures/sam/api/template.yaml is an ordinary SAM template: functions with `Api`
events on the implicit REST API and on an explicit `AWS::Serverless::Api`. SAM writes both as
`AWS::ApiGateway::RestApi` with a Swagger 2.0 `Body`, a deployment and a stage; the simulator
deploys them and a request to the invoke URL reaches the function as a Lambda proxy
integration does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel
from lambdasim.sam import deploy

API = Path(__file__).parent / "fixtures" / "sam" / "api"


@pytest.fixture
def api(sim):
    return deploy(sim, API, stack_name="api", validate=False)


def event_of(response) -> dict:
    assert response.status == 200, response.text
    return response.json()


def test_a_request_reaches_the_function_with_the_proxy_event(sim, api) -> None:
    """The proxy event's shape
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html):
    the resource template, the path, path and query parameters, headers, the stage; Powertools'
    model of it parses it unchanged."""
    url = api.outputs["ApiUrl"]
    event = event_of(sim.http("GET", url + "orders/42?expand=items&expand=customer",
                              headers={"Accept": "application/json"}))
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/orders/{id}", "/orders/42", "GET")
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"expand": "customer"}
    assert event["multiValueQueryStringParameters"] == {"expand": ["items", "customer"]}
    assert event["headers"]["Accept"] == "application/json"
    assert event["requestContext"]["stage"] == "Prod"
    assert event["requestContext"]["path"] == "/Prod/orders/42"
    assert event["body"] is None and event["isBase64Encoded"] is False
    parsed = APIGatewayProxyEventModel.model_validate(event)
    assert parsed.requestContext.apiId == url.split("//")[1].split(".")[0]


def test_routes_match_as_api_gateway_matches_them(sim, api) -> None:
    """A literal path segment beats a {param}; {proxy+} takes the rest of the path; ANY takes
    every method
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html)."""
    url = api.outputs["ApiUrl"]
    assert event_of(sim.http("GET", url + "orders/today"))["resource"] == "/orders/today"
    event = event_of(sim.http("DELETE", url + "files/reports/2026/q4.csv"))
    assert (event["resource"], event["pathParameters"], event["httpMethod"]) == (
        "/files/{proxy+}", {"proxy": "reports/2026/q4.csv"}, "DELETE")


def test_an_explicit_api_has_its_stage_and_stage_variables(sim, api) -> None:
    event = event_of(sim.http("POST", api.outputs["VersionedApiUrl"] + "orders", body='{"n": 1}'))
    assert event["requestContext"]["stage"] == "v1"
    assert event["stageVariables"] == {"table": "orders-v1"}
    assert event["body"] == '{"n": 1}'


@pytest.mark.parametrize("method, path", [("POST", "orders/42"), ("GET", "no/such/path"),
                                          ("GET", "orders")])
def test_a_route_the_api_does_not_have_is_403_missing_authentication_token(sim, api, method, path) -> None:
    """https://repost.aws/knowledge-center/api-gateway-authentication-token-errors"""
    response = sim.http(method, api.outputs["ApiUrl"] + path)
    assert (response.status, response.json()) == (403, {"message": "Missing Authentication Token"})


def test_a_stage_the_api_does_not_have_is_403(sim, api) -> None:
    response = sim.http("GET", api.outputs["ApiUrl"].replace("/Prod/", "/Beta/") + "orders/1")
    assert response.status == 403


@pytest.mark.parametrize("how", ["raise", "malformed"])
def test_a_failing_function_or_a_malformed_response_is_502(sim, api, how) -> None:
    """https://repost.aws/knowledge-center/malformed-502-api-gateway"""
    response = sim.http("GET", api.outputs["ApiUrl"] + f"fail/{how}")
    assert (response.status, response.json()) == (502, {"message": "Internal server error"})


def test_a_throttled_function_is_500_after_one_invoke(sim, api) -> None:
    """Lambda's 429 is not passed on: a proxy integration answers 500 Internal server error
    (https://repost.aws/knowledge-center/api-gateway-internal-server-error); API Gateway calls
    Lambda once, so one throttle is recorded."""
    function = api.function_name("EchoFunction")
    sim.client("lambda").put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)
    response = sim.http("GET", api.outputs["ApiUrl"] + "orders/1")
    assert (response.status, response.json()) == (500, {"message": "Internal server error"})
    assert [t.function_name for t in sim.throttles] == [function]


def test_the_function_sets_status_headers_and_body(sim, api) -> None:
    response = sim.http("GET", api.outputs["ApiUrl"] + "fail/not-at-all")
    assert (response.status, response.text) == (201, "created")


def test_past_the_integration_timeout_the_client_gets_504(sim, api) -> None:
    """The integration timeout is 29 s by default
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html): a function that
    runs 35 s (its own timeout is 60 s) is still running when API Gateway answers 504."""
    sim.set_duration(api.function_name("EchoFunction"), 35_000)
    started = sim.now
    response = sim.http("GET", api.outputs["ApiUrl"] + "orders/1")
    assert (response.status, response.json()) == (504, {"message": "Endpoint request timed out"})
    assert (sim.now - started).total_seconds() >= 35


def test_a_url_that_is_not_an_api_is_refused(sim) -> None:
    with pytest.raises(ValueError, match="not an API Gateway URL"):
        sim.http("GET", "https://example.com/Prod/orders")


def test_the_api_is_named_by_its_definition(sim, api) -> None:
    """CloudFormation's RestApi takes its name from the OpenAPI body when `Name` is absent
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-restapi.html);
    SAM titles the definitions of a stack's APIs with the stack's name."""
    names = [a["name"] for a in sim.client("apigateway").get_rest_apis()["items"]]
    assert names == ["api", "api"]


def test_a_method_with_a_request_validator_refuses_a_bad_request_with_400_before_the_function_runs(sim) -> None:
    """A method's request validator checks its required request parameters (present, not blank)
    and its body against the model of its content type (JSON Schema draft 4); a request that fails
    gets a 400 and never reaches the integration
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html).
    SAM writes RequestModel and RequestParameters as the OpenAPI body's validator, model and
    parameters
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-requestmodel.html)."""
    url = deploy(sim, API.parent / "validated_api", stack_name="validated", validate=False).outputs["ApiUrl"]
    good = '{"orderId": "o-1", "quantity": 2}'
    cases = [("orders?channel=web", good, 200, None),
             ("orders", good, 400, "Missing required request parameters: [channel]"),
             ("orders?channel=", good, 400, "Missing required request parameters: [channel]"),
             ("orders?channel=web", '{"orderId": "o-1", "quantity": 0}', 400, "Invalid request body"),
             ("orders?channel=web", '{"orderId": "o-1"}', 400, "Invalid request body"),
             ("orders?channel=web", "not json", 400, "Invalid request body")]
    for path, body, status, message in cases:
        before = len(sim.invocations)
        response = sim.http("POST", url + path, headers={"Content-Type": "application/json"}, body=body)
        assert (response.status, len(sim.invocations) - before) == (status, 1 if status == 200 else 0), path + body
        if message is not None:
            assert response.json() == {"message": message}
