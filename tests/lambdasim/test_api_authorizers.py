"""Conformance: Lambda authorizers of REST APIs through the API Gateway front door
(`Simulator.http`, `lambdasim.apigateway`).

The fixture fixtures/sam/api_auth/template.yaml is an ordinary SAM template: an
`AWS::Serverless::Api` whose `Auth` declares a TOKEN authorizer (the default) and a REQUEST
authorizer; SAM writes them into the OpenAPI body (`securityDefinitions` with
`x-amazon-apigateway-authorizer`, each operation's `security`), where the simulator reads them.
One simulation serves the module: each test uses its own tokens and paths, and cache lifetimes
are measured from the test's own requests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    ApiGatewayAuthorizerRequest,
    ApiGatewayAuthorizerToken,
)
from lambdasim import Simulator
from lambdasim.rules.cold_start import NO_PLATFORM_INIT
from lambdasim.sam import deploy

API_AUTH = Path(__file__).parent / "fixtures" / "sam" / "api_auth"

pytestmark = pytest.mark.xdist_group("api_authorizers")


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=7, init_model=NO_PLATFORM_INIT) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def url(sim) -> str:
    return deploy(sim, API_AUTH, stack_name="auth", validate=False).outputs["ApiUrl"]


def get(sim, url: str, path: str, token: str | None = None, **headers: str):
    if token is not None:
        headers["Authorization"] = token
    return sim.http("GET", url + path, headers=headers)


def test_a_missing_token_is_401_without_calling_the_authorizer(sim, url) -> None:
    """"If the call to your API has a token or identity sources that are missing, null, or not
    validated, then you get a 401 Unauthorized error"; the authorizer is not called
    (https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html)."""
    calls = sim.api_gateway.authorizer_calls
    response = get(sim, url, "orders/1")
    assert (response.status, response.json()) == (401, {"message": "Unauthorized"})
    assert sim.api_gateway.authorizer_calls == calls


def test_a_token_the_validation_expression_refuses_is_401_without_calling_the_authorizer(sim, url) -> None:
    """A TOKEN authorizer's identityValidationExpression is matched against the token before
    the authorizer is called; a token that does not match is 401 Unauthorized
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization.html)."""
    calls = sim.api_gateway.authorizer_calls
    response = get(sim, url, "orders/1", "Bearer ABC")
    assert (response.status, response.json()) == (401, {"message": "Unauthorized"})
    assert sim.api_gateway.authorizer_calls == calls


def test_an_allow_policy_lets_the_request_through_with_the_context(sim, url) -> None:
    """The TOKEN authorizer receives `type`, `authorizationToken` (the identity source header)
    and `methodArn` (arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path})
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-input.html);
    a policy that allows the method ARN lets the request through, and the integration's
    `requestContext.authorizer` carries the principalId and the context's values, as strings
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-output.html)."""
    event = get(sim, url, "orders/1", "allow-all").json()
    authorizer = event["requestContext"]["authorizer"]
    assert {k: authorizer[k] for k in ("principalId", "user", "admin", "level")} == {
        "principalId": "alice-id", "user": "alice", "admin": "true", "level": "3"}
    request = ApiGatewayAuthorizerToken.model_validate(json.loads(authorizer["event"]))
    api_id = event["requestContext"]["apiId"]
    assert request.authorizationToken == "allow-all"
    assert request.methodArn == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/v1/GET/orders/1"


@pytest.mark.parametrize("token, message", [
    ("deny", "User is not authorized to access this resource with an explicit deny"),
    ("elsewhere", "User is not authorized to access this resource"),
])
def test_a_deny_or_a_policy_that_does_not_allow_the_method_is_403(sim, url, token, message) -> None:
    """An explicit Deny, or a policy with no statement allowing the method ARN (an implicit
    deny), is 403 with API Gateway's message
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-output.html,
    https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer)."""
    response = get(sim, url, "orders/1", token)
    assert (response.status, response.json()) == (403, {"message": message})


@pytest.mark.parametrize("token, status, message", [
    ("unauthorized", 401, "Unauthorized"), ("malformed", 500, None), ("nested", 500, None)])
def test_an_unauthorized_error_is_401_and_a_malformed_result_500(sim, url, token, status, message) -> None:
    """An authorizer that raises `Exception("Unauthorized")` makes API Gateway answer 401
    Unauthorized; an output without a policy document, or a context with an object or array
    value ("You cannot set a JSON object or array as a valid value of any key in the context
    map"), is an authorizer configuration error: 500 with a null message
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-output.html)."""
    response = get(sim, url, "orders/1", token)
    assert (response.status, response.json()) == (status, {"message": message})


def test_a_cached_policy_is_evaluated_against_each_method_arn(sim, url) -> None:
    """The authorizer's result is cached for the TTL (300 s by default) per token, and the cached
    policy applies to every request with that token: a policy that allows only
    `.../GET/orders/2` lets that request in and refuses `.../GET/orders/3` with 403 without a
    new call; after the TTL the authorizer is called again
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html,
    https://repost.aws/knowledge-center/api-gateway-lambda-authorization-errors)."""
    calls = sim.api_gateway.authorizer_calls
    assert get(sim, url, "orders/2", "allow").status == 200
    refused = get(sim, url, "orders/3", "allow")
    assert (refused.status, refused.json()) == (403, {"message": "User is not authorized to access this resource"})
    assert sim.api_gateway.authorizer_calls == calls + 1
    sim.run_for(299)
    assert get(sim, url, "orders/3", "allow").status == 403
    sim.run_for(2)
    assert get(sim, url, "orders/3", "allow").status == 200
    assert sim.api_gateway.authorizer_calls == calls + 2


def test_a_wildcard_resource_allows_every_method(sim, url) -> None:
    """Resources in the policy take IAM's wildcards: `{api-id}/*` allows every stage, method and
    path of the API (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-output.html)."""
    assert [get(sim, url, f"orders/{n}", "allow-all").status for n in (4, 5)] == [200, 200]


def test_a_request_authorizer_needs_every_identity_source_and_caching_can_be_off(sim, url) -> None:
    """A REQUEST authorizer is called only when every identity source (here a header and a query
    string) is present; it receives the request's headers, query strings, path and `methodArn`
    (Powertools' ApiGatewayAuthorizerRequest parses it); with a TTL of 0 every request calls it
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-input.html)."""
    missing = get(sim, url, "req", **{"X-User": "alice"})
    assert (missing.status, missing.json()) == (401, {"message": "Unauthorized"})
    calls = sim.api_gateway.authorizer_calls
    events = [get(sim, url, "req?token=t1", **{"X-User": "alice"}).json() for _ in range(2)]
    assert sim.api_gateway.authorizer_calls == calls + 2
    request = ApiGatewayAuthorizerRequest.model_validate(json.loads(events[0]["requestContext"]["authorizer"]["event"]))
    assert (request.type, request.headers["X-User"], request.queryStringParameters) == ("REQUEST", "alice",
                                                                                      {"token": "t1"})
    assert get(sim, url, "req?token=t1", **{"X-User": "mallory"}).status == 403


def test_a_method_with_authorizer_none_is_open(sim, url) -> None:
    """SAM's `Auth: Authorizer: NONE` leaves a method of an API with a default authorizer open
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-apifunctionauth.html)."""
    event = get(sim, url, "open").json()
    assert "authorizer" not in event["requestContext"]
