"""Conformance: REST API non-proxy integrations through the API Gateway front door
(`Simulator.http`, `lambdasim.apigateway`): a Lambda custom integration with mapping templates
and integration responses, and AWS service integrations (SQS SendMessage, EventBridge PutEvents,
Step Functions StartExecution), as the OpenAPI definition of fixtures/sam/api_integrations
(SAM's DefinitionBody) declares them. One simulation serves the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lambdasim import Simulator
from lambdasim.rules.cold_start import NO_PLATFORM_INIT
from lambdasim.sam import deploy

INTEGRATIONS = Path(__file__).parent / "fixtures" / "sam" / "api_integrations"

pytestmark = pytest.mark.xdist_group("api_integrations")


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=7, init_model=NO_PLATFORM_INIT) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def stack(sim):
    return deploy(sim, INTEGRATIONS, stack_name="integrations", validate=False)


def post(sim, stack, path: str, body: object, content_type: str = "application/json"):
    text = body if isinstance(body, str) else json.dumps(body)
    return sim.http("POST", stack.outputs["ApiUrl"] + path, headers={"Content-Type": content_type}, body=text)


def test_a_mapping_template_makes_the_event_and_the_default_response_maps_the_result(sim, stack) -> None:
    """A Lambda custom integration receives what the request's mapping template renders
    (`$input.params`, `$input.json`, `$stageVariables`, `$context`), and a successful result
    goes through the default integration response's template
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-custom-integrations.html)."""
    response = post(sim, stack, "shout/hey", {"n": 2})
    assert response.status == 200, response.text
    assert response.json() == {"shouted": "HEY!HEY!", "event": {"word": "hey", "n": 2, "greeting": "hello",
                                                                "method": "POST"}}


def test_an_error_selects_the_response_whose_pattern_matches_its_message(sim, stack) -> None:
    """A function error's errorMessage is matched against the integration responses' selection
    patterns (regular expressions); the matching one sets the status and maps the error
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html)."""
    response = post(sim, stack, "shout/hey", {"n": 0})
    assert (response.status, response.json()) == (400, {"error": "too quiet to shout"})


def test_an_error_no_pattern_matches_goes_to_the_default_response(sim, stack) -> None:
    """An error no selection pattern matches gets the default integration response: the client
    sees its status (200 here) and the error document mapped by its template
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html)."""
    response = post(sim, stack, "shout/hey", {"n": "two"})
    assert (response.status, response.json()) == (200, {"shouted": None, "event": None})


def test_passthrough_never_refuses_a_content_type_without_a_template_with_415(sim, stack) -> None:
    """With passthroughBehavior NEVER a request whose Content-Type has no mapping template is
    refused, 415 Unsupported Media Type
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html)."""
    response = post(sim, stack, "shout/hey", "n=2", content_type="text/plain")
    assert (response.status, response.json()) == (415, {"message": "Unsupported Media Type"})


def test_an_sqs_integration_sends_the_mapped_message(sim, stack) -> None:
    """An AWS service integration calls the service's API with what the mapping template renders:
    SQS SendMessage with the form-encoded query parameters, the queue named by the
    `sqs:path/{account}/{queue}` URI
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/integrating-api-with-aws-services-sqs.html)."""
    response = post(sim, stack, "orders", {"id": 7})
    assert response.status == 200 and "MessageId" in response.json()
    messages = sim.client("sqs").receive_message(QueueUrl=stack.outputs["QueueUrl"])["Messages"]
    assert [m["Body"] for m in messages] == ['{"id": 7}']


def test_an_eventbridge_integration_puts_the_mapped_event(sim, stack) -> None:
    """EventBridge PutEvents through an AWS service integration (action/PutEvents, a JSON body
    from the mapping template): the client gets the API's answer
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/integrating-api-with-aws-services-eventbridge.html)."""
    answer = post(sim, stack, "events", {"id": 8}).json()
    assert answer["FailedEntryCount"] == 0 and len(answer["Entries"]) == 1


def test_a_step_functions_integration_starts_an_execution(sim, stack) -> None:
    """Step Functions StartExecution through an AWS service integration: the execution starts with
    the mapped input, and the client gets its ARN
    (https://docs.aws.amazon.com/step-functions/latest/dg/tutorial-api-gateway.html)."""
    answer = post(sim, stack, "flows", {"id": 9}).json()
    executions = sim.client("stepfunctions").list_executions(stateMachineArn=stack.outputs["FlowArn"])["executions"]
    assert [e["executionArn"] for e in executions] == [answer["executionArn"]]


def test_a_stage_variable_in_the_integration_uri_names_the_function(sim, stack) -> None:
    """`${stageVariables.name}` in an integration's URI is replaced by the stage's value, so a
    stage variable can name the Lambda function a method invokes
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/aws-api-gateway-stage-variables-reference.html)."""
    response = sim.http("GET", stack.outputs["ApiUrl"] + "staged")
    assert response.status == 200, response.text
    assert response.json()["fn"] == stack.function_name("EchoFunction")


def test_an_integration_naming_no_function_is_500(sim, stack) -> None:
    """A Lambda integration whose URI names a function that does not exist cannot be invoked:
    API Gateway answers 500 Internal server error
    (https://repost.aws/knowledge-center/api-gateway-internal-server-error)."""
    response = sim.http("GET", stack.outputs["ApiUrl"] + "ghost")
    assert (response.status, response.json()) == (500, {"message": "Internal server error"})


def test_an_integration_timeout_set_below_29_s_applies(sim, stack) -> None:
    """An integration's timeoutInMillis (50 ms to 29 s; 29 s by default) is how long API Gateway
    waits for it: a function running 2 s behind a 1 s timeout is answered 504
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html)."""
    function = stack.function_name("EchoFunction")
    try:
        sim.set_duration(function, 2_000)
        response = sim.http("GET", stack.outputs["ApiUrl"] + "slow")
        assert (response.status, response.json()) == (504, {"message": "Endpoint request timed out"})
        sim.set_duration(function, 900)
        assert sim.http("GET", stack.outputs["ApiUrl"] + "slow").status == 200
    finally:
        sim.set_duration(function, 1.0)


def test_a_mock_integration_answers_a_cors_preflight_with_static_headers(sim, stack) -> None:
    """SAM's `Cors` gives each path an OPTIONS method with a mock integration: its request
    template's statusCode selects the integration response, whose static header values
    (`method.response.header.X: "'value'"`) the client receives
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-mock-integration.html,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html,
    https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-corsconfiguration.html)."""
    response = sim.http("OPTIONS", stack.outputs["ApiUrl"] + "orders",
                        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"})
    assert response.status == 200
    assert (response.headers["Access-Control-Allow-Origin"], response.headers["Access-Control-Max-Age"]) == (
        "https://example.com", "600")
