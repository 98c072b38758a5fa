"""Conformance: IAM authorization of REST API methods through the API Gateway front door
(`Simulator.http`, `lambdasim.rules.apigateway.sigv4_problem`).

The fixture fixtures/sam/api_iam/template.yaml is an ordinary SAM template whose API's `Auth`
makes AWS_IAM the default authorizer; SAM writes it into the OpenAPI body as a security scheme
of type `awsSigv4`, where the simulator reads it. Requests are signed by botocore's own
Signature Version 4 signer, as an AWS SDK client signs them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lambdasim import Simulator
from lambdasim.rules import apigateway as rules
from lambdasim.sam import deploy

API_IAM = Path(__file__).parent / "fixtures" / "sam" / "api_iam"


@pytest.fixture
def url(sim: Simulator) -> str:
    return deploy(sim, API_IAM, stack_name="iam", validate=False).outputs["ApiUrl"]


def signed(url: str, body: str, key: str, secret: str) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body.encode(), headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_an_iam_authorized_method_takes_only_requests_signed_by_a_known_key(sim: Simulator, url: str) -> None:
    """https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html and
    https://repost.aws/knowledge-center/api-gateway-iam-sigv4-mismatch: a method with IAM
    authorization takes a request signed with Signature Version 4 (service execute-api) by a
    known access key, and the function sees the key in `identity.accessKey`; an unsigned request
    is 403 "Missing Authentication Token", a key nobody issued 403 "The security token included
    in the request is invalid.", a wrong secret or a changed body 403 "The request signature we
    calculated does not match..."; a method without authorization takes any request."""
    body = json.dumps({"order": "o-1"})
    user = sim.client("iam")
    user.create_user(UserName="caller")
    key = user.create_access_key(UserName="caller")["AccessKey"]
    answer = sim.http("POST", url + "orders", headers=signed(url + "orders", body, key["AccessKeyId"],
                                                             key["SecretAccessKey"]), body=body)
    assert answer.status == 200, answer.text
    assert answer.json()["requestContext"]["identity"]["accessKey"] == key["AccessKeyId"]

    refusals = {
        "unsigned": sim.http("POST", url + "orders", body=body),
        "unknown key": sim.http("POST", url + "orders", headers=signed(url + "orders", body, "AKIANOBODY", "x"),
                                body=body),
        "wrong secret": sim.http("POST", url + "orders", headers=signed(url + "orders", body, key["AccessKeyId"],
                                                                        "not-the-secret"), body=body),
        "changed body": sim.http("POST", url + "orders", headers=signed(url + "orders", body, key["AccessKeyId"],
                                                                        key["SecretAccessKey"]), body=body + " "),
    }
    assert {name: (r.status, r.json()["message"]) for name, r in refusals.items()} == {
        "unsigned": (403, rules.UNSIGNED_MESSAGE),
        "unknown key": (403, rules.UNKNOWN_KEY_MESSAGE),
        "wrong secret": (403, rules.SIGNATURE_MISMATCH_MESSAGE),
        "changed body": (403, rules.SIGNATURE_MISMATCH_MESSAGE),
    }
    assert sim.http("GET", url + "open").status == 200
    assert [r.function_name.split("-")[1] for r in sim.invocations] == ["EchoFunction", "EchoFunction"]


def test_a_signature_is_valid_for_five_minutes(sim: Simulator, url: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html: a
    signature is refused once its X-Amz-Date is more than 5 minutes old ("Signature expired");
    the simulation's own credentials sign like any key."""
    body = "{}"
    headers = signed(url + "orders", body, "testing", "testing")
    sim.run_for(299)
    assert sim.http("POST", url + "orders", headers=headers, body=body).status == 200
    sim.run_for(2)
    late = sim.http("POST", url + "orders", headers=headers, body=body)
    assert late.status == 403 and late.json()["message"].startswith("Signature expired: ")
