"""Conformance: Lambda-backed custom resources in a deploy (`lambdasim.custom_resources`,
`lambdasim._moto_patches.custom_resources`, `lambdasim.rules.custom_resources`).

fixtures/sam/custom_resource has a `Custom::Greeting` answered by inline code with AWS's
cfnresponse module; fixtures/sam/custom_resource_clients has custom resources of both spellings
answered by code-folder handlers with urllib.request, requests and http.client;
fixtures/sam/custom_resource_failure has a resource that succeeds and one that answers FAILED,
never answers, or raises.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from lambdasim import Simulator
from lambdasim.custom_resources import CustomResourceFailed
from lambdasim.rules import custom_resources as cr
from lambdasim.rules.cold_start import NO_PLATFORM_INIT
from lambdasim.sam import StackCreateError, deploy

SAM = Path(__file__).parent / "fixtures" / "sam"


@pytest.fixture
def stack(sim):
    return deploy(sim, SAM / "custom_resource", stack_name="greetings", validate=False)


@pytest.fixture(scope="class")
def deployed():
    """One simulation with the greeting stack, for the tests that only read it."""
    with Simulator(seed=7, init_model=NO_PLATFORM_INIT) as simulator:
        yield simulator, deploy(simulator, SAM / "custom_resource", stack_name="greetings", validate=False)


def requests_of(sim, logical_id: str) -> list:
    return [r for r in sim.custom_resources.requests if r.logical_id == logical_id]


class TestAGreetingStack:
    """Read-only tests of one deployed greeting stack."""

    def test_create_invokes_the_function_asynchronously_with_the_documented_request(self, deployed) -> None:
        """CloudFormation invokes the function asynchronously
        (https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html) with a Create
        request: RequestType, ResponseURL, StackId, RequestId, ResourceType, LogicalResourceId and
        ResourceProperties (ServiceToken included), no PhysicalResourceId or OldResourceProperties
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html)."""
        sim, stack = deployed
        [sent] = requests_of(sim, "Greeting")
        [invocation] = [i for i in sim.invocations if i.function_name == stack.function_name("Provider")]
        assert (invocation.invocation_type, invocation.source) == ("Event", "cloudformation")
        assert invocation.request_id == sent.async_event.request.request_id
        event = json.loads(sent.async_event.request.payload)
        assert event == sent.event
        assert event["RequestType"] == "Create"
        assert event["StackId"] == stack.stack_id
        assert event["LogicalResourceId"] == "Greeting" and event["ResourceType"] == "Custom::Greeting"
        assert event["ResponseURL"].startswith("https://") and event["RequestId"] == sent.request_id
        assert event["ResourceProperties"] == {"ServiceToken": stack.functions["Provider"].arn, "Name": "world"}
        assert event["ServiceToken"] == stack.functions["Provider"].arn
        assert "PhysicalResourceId" not in event and "OldResourceProperties" not in event

    def test_the_response_gives_the_physical_id_and_the_data_getatt_reads(self, deployed) -> None:
        """The response's PhysicalResourceId is the resource's (what Ref returns) and its Data
        name-value pairs are read with Fn::GetAtt, by outputs and other resources alike
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html)."""
        sim, stack = deployed
        assert stack.outputs["Greeting"] == "hello world"
        assert stack.outputs["GreetingId"] == stack.physical_id("Greeting") == "greeting-world"
        assert stack.physical_id("GreetingQueue").endswith("/hello-world")

    def test_cfnresponse_is_provided_to_inline_code_only(self, deployed) -> None:
        """The cfn-response module is available to ZipFile code that imports it with exactly
        `import cfnresponse`, not to code stored elsewhere
        (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-lambda-function-code-cfnresponsemodule.html)."""
        sim, stack = deployed
        assert (stack.functions["Provider"].code_dir / "cfnresponse.py").is_file()
        assert cr.CFNRESPONSE_IMPORT.search("import json\nimport cfnresponse\n")
        assert not cr.CFNRESPONSE_IMPORT.search("from cfnresponse import send\n")
        assert not cr.CFNRESPONSE_IMPORT.search("import cfnresponse as response\n")


def test_a_response_put_with_any_http_client_is_received(sim) -> None:
    """The provider PUTs its response to the presigned ResponseURL
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html):
    cfnresponse's urllib3, urllib.request, requests and http.client (crhelper's way) all reach
    it; both spellings of the type (AWS::CloudFormation::CustomResource, Custom::<Name>) work."""
    stack = deploy(sim, SAM / "custom_resource_clients", stack_name="clients", validate=False)
    assert stack.outputs["Clients"] == "urllib,requests,http.client"
    assert stack.resource_types["ByUrllib"] == "AWS::CloudFormation::CustomResource"
    assert stack.physical_id("ByUrllib") == "urllib-ByUrllib"
    assert [r.outcome for r in sim.custom_resources.requests] == ["SUCCESS"] * 3
    assert sim.custom_resources.stray_responses == []


def test_update_sends_old_properties_and_a_new_physical_id_replaces(sim, stack) -> None:
    """A stack update sends Update with PhysicalResourceId and OldResourceProperties; an answer
    with another PhysicalResourceId is a replacement, and the old resource gets a Delete
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html)."""
    cfn = boto3.client("cloudformation")
    cfn.update_stack(StackName="greetings", TemplateBody=json.dumps(stack.template),
                     Parameters=[{"ParameterKey": "Name", "ParameterValue": "moon"}])
    _, update, delete = requests_of(sim, "Greeting")
    assert update.event["RequestType"] == "Update"
    assert update.event["PhysicalResourceId"] == "greeting-world"
    assert update.event["OldResourceProperties"]["Name"] == "world"
    assert update.event["ResourceProperties"]["Name"] == "moon"
    assert (delete.event["RequestType"], delete.event["PhysicalResourceId"]) == ("Delete", "greeting-world")
    assert delete.event["ResourceProperties"]["Name"] == "world"
    resources = cfn.describe_stack_resources(StackName="greetings")["StackResources"]
    assert {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}["Greeting"] == "greeting-moon"


def test_delete_stack_sends_delete_before_the_functions_go(sim, stack) -> None:
    """Deleting the stack sends each custom resource a Delete with its PhysicalResourceId
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html);
    the functions, which the resources depend on, are still there to answer it."""
    boto3.client("cloudformation").delete_stack(StackName="greetings")
    deletes = {r.logical_id: r for r in sim.custom_resources.requests if r.request_type == "Delete"}
    assert list(deletes) == ["Greeting"]
    assert deletes["Greeting"].outcome == "SUCCESS"
    assert deletes["Greeting"].event["PhysicalResourceId"] == "greeting-world"
    assert boto3.client("lambda").list_functions()["Functions"] == []


def test_a_failed_response_fails_the_deploy_naming_the_resource_and_rolls_back(sim) -> None:
    """A FAILED response fails the resource with the provider's Reason
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html); the
    stack rolls back, newest first: the failed resource gets a Delete with the PhysicalResourceId
    of its FAILED answer (cfnresponse's default, the log stream's name; CloudFormation's
    behaviour as AWS's CDK team describes it, https://github.com/aws/aws-cdk/pull/5525), then
    the resources created before it."""
    with pytest.raises(StackCreateError) as failed:
        deploy(sim, SAM / "custom_resource_failure", stack_name="steps", parameters={"Mode": "fail"},
               validate=False)
    assert failed.value.failures == {"Second": "(Custom::Step) Received response status [FAILED] from custom "
                                               "resource. Message returned: quota exceeded for Second"}
    assert failed.value.rolled_back
    first, second, second_delete, first_delete = sim.custom_resources.requests
    assert [(r.logical_id, r.request_type, r.outcome) for r in (first, second, second_delete, first_delete)] == [
        ("First", "Create", "SUCCESS"), ("Second", "Create", "FAILED"), ("Second", "Delete", "SUCCESS"),
        ("First", "Delete", "SUCCESS")]
    [second_run] = [i for i in sim.invocations if i.request_id == second.async_event.request.request_id]
    assert second_delete.event["PhysicalResourceId"] == second.response.physical_id == second_run.log_stream
    assert first_delete.event["PhysicalResourceId"] == "ok-First"
    assert boto3.client("lambda").list_functions()["Functions"] == []


@pytest.mark.parametrize("mode", ["silent", "raise"])
def test_no_response_within_the_service_timeout_fails_on_the_virtual_clock(sim, mode: str) -> None:
    """No response before ServiceTimeout (here 30 s; 3600 s by default) fails the stack
    operation (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html):
    the deploy waits 30 virtual seconds. A function that raises is an async function error,
    retried after 60 s (invocation-async-error-handling.html): after the timeout here."""
    with pytest.raises(StackCreateError) as failed:
        deploy(sim, SAM / "custom_resource_failure", stack_name="steps", parameters={"Mode": mode},
               validate=False)
    assert "within its ServiceTimeout of 30 s" in failed.value.failures["Second"]
    second = requests_of(sim, "Second")[0]
    assert second.outcome == "TIMED_OUT"
    assert 30 <= sim.elapsed < 31
    assert len(second.async_event.attempts) == 1
    assert second.async_event.attempts[0].function_error == ("Unhandled" if mode == "raise" else None)


def test_responses_that_break_the_rules_are_failures() -> None:
    """Status SUCCESS or FAILED; a SUCCESS needs a non-empty PhysicalResourceId of at most 1 KB;
    Data is an object; the body is at most 4096 bytes
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html)."""
    def answer(**fields) -> bytes:
        return json.dumps({"Status": "SUCCESS", "PhysicalResourceId": "id", **fields}).encode()

    assert cr.parse_response(answer(Data={"A": "1"})) == cr.ProviderResponse("SUCCESS", "", "id", {"A": "1"})
    assert cr.parse_response(answer(Status="DONE")).status == "FAILED"
    assert "PhysicalResourceId" in cr.parse_response(answer(PhysicalResourceId="")).reason
    assert "1024" in cr.parse_response(answer(PhysicalResourceId="x" * 1025)).reason
    assert "Data" in cr.parse_response(answer(Data=["A"])).reason
    assert "4096" in cr.parse_response(answer(Data={"A": "x" * 4096})).reason
    assert cr.parse_response(b'{"Status": "FAILED", "Reason": "no"}') == cr.ProviderResponse("FAILED", "no", None)


def test_service_token_and_timeout_are_checked() -> None:
    """ServiceToken is a Lambda function (or SNS topic, not simulated) ARN of the stack's
    Region; ServiceTimeout is 1-3600 s, 3600 by default
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html)."""
    arn = "arn:aws:lambda:us-east-1:123456789012:function:provider"
    assert cr.service_token_problem(arn, "us-east-1") is None
    assert "Region" in (cr.service_token_problem(arn, "eu-west-1") or "")
    assert "SNS" in (cr.service_token_problem("arn:aws:sns:us-east-1:123456789012:t", "us-east-1") or "")
    assert cr.service_timeout_s({}) == 3600 and cr.service_timeout_s({"ServiceTimeout": "30"}) == 30
    with pytest.raises(cr.CustomResourceError):
        cr.service_timeout_s({"ServiceTimeout": 3601})


def test_getatt_of_a_name_the_data_lacks_fails_the_resource_that_asks(sim) -> None:
    """Fn::GetAtt reads the names the response's Data gives
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html);
    a name it lacks fails the resource that reads it, and the stack rolls back (the custom
    resource gets its Delete)."""
    with pytest.raises(StackCreateError) as failed:
        deploy(sim, SAM / "custom_resource_getatt", stack_name="names", validate=False)
    assert list(failed.value.failures) == ["Queue"]
    assert "response Data has no key 'QueueName' (it has ['Name'])" in failed.value.failures["Queue"]
    assert [(r.logical_id, r.request_type) for r in sim.custom_resources.requests] == [
        ("Names", "Create"), ("Names", "Delete")]


def test_service_token_cannot_be_updated(sim, stack) -> None:
    """ServiceToken: "Update requires: Updates are not supported"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html):
    an update that changes it fails without sending the function anything."""
    template = json.loads(json.dumps(stack.template))
    template["Resources"]["Greeting"]["Properties"]["ServiceToken"] = \
        "arn:aws:lambda:us-east-1:123456789012:function:another-provider"
    with pytest.raises(CustomResourceFailed, match=r"Greeting \(Custom::Greeting\): ServiceToken cannot be updated"):
        boto3.client("cloudformation").update_stack(StackName="greetings", TemplateBody=json.dumps(template))
    assert [r.request_type for r in requests_of(sim, "Greeting")] == ["Create"]
