"""Conformance: the Invoke API (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html)."""

from __future__ import annotations

import base64
import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdasim.rules import invoke as inv


def test_request_response_returns_result_with_200(basic, call):
    """API_Invoke.html: RequestResponse returns StatusCode 200, the function's JSON result and
    ExecutedVersion; no FunctionError on success."""
    basic("echo", "echo")
    response, body = call("echo", {"a": 1, "b": ["x"]})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert body == {"a": 1, "b": ["x"]}


def test_no_payload_is_an_empty_object(basic, call):
    """API_Invoke.html: Payload is optional; the handler then receives `{}`."""
    basic("echo", "echo")
    _, body = call("echo")
    assert body == {}


def test_result_is_serialized_like_the_python_runtime(basic, lam):
    """python-handler.html / awslambdaric marshaller: JSON with ", " and ": " separators; bytes
    are returned untouched."""
    basic("echo", "echo")
    basic("raw", "raw_bytes")
    assert lam.invoke(FunctionName="echo", Payload='{"k":[1,2]}')["Payload"].read() == b'{"k": [1, 2]}'
    assert lam.invoke(FunctionName="raw")["Payload"].read() == b"\x00raw"


def test_handler_exception_is_unhandled_with_error_document(basic, call, sim):
    """python-exceptions.html: an exception returns 200 with FunctionError "Unhandled" and
    {errorMessage, errorType, requestId, stackTrace}, the trace starting in the handler file."""
    basic("boom", "boom")
    response, body = call("boom", {"n": 4})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorMessage"] == "boom: 4"
    assert body["errorType"] == "ValueError"
    assert body["requestId"] == sim.invocations[-1].request_id
    assert len(body["stackTrace"]) == 1
    assert body["stackTrace"][0].startswith('  File "')
    assert 'basic/handlers.py", line' in body["stackTrace"][0]
    assert body["stackTrace"][0].endswith(', in boom\n    raise ValueError("boom: " + str(event.get("n")))\n')
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ  # the function's environment is gone again


def test_non_serializable_result_is_a_marshal_error(basic, call):
    """awslambdaric marshaller: a result JSON cannot encode is Runtime.MarshalError."""
    basic("notjson", "not_json")
    response, body = call("notjson")
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"] == "Unable to marshal response: Object of type set is not JSON serializable"


def test_dry_run_returns_204_and_runs_nothing(basic, lam, sim):
    """API_Invoke.html: DryRun validates parameter values and permissions, returns 204."""
    basic("echo", "echo")
    response = lam.invoke(FunctionName="echo", InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204
    assert response["Payload"].read() == b""
    assert sim.invocations == []


def test_event_returns_202_and_runs_when_the_clock_moves(basic, lam, sim):
    """invocation-async.html / API_Invoke.html: Event queues the event and returns 202; Lambda
    runs it afterwards (here: when the virtual clock moves)."""
    basic("count", "count")
    response = lam.invoke(FunctionName="count", InvocationType="Event", Payload=b'{"x": 1}')
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    assert sim.invocations == []
    assert len(sim.async_queue.pending) == 1
    assert sim.run_until_idle() is True
    assert [(r.invocation_type, r.result()["calls"]) for r in sim.invocations] == [("Event", 1)]
    assert sim.async_queue.pending == []
    assert sim.async_queue.completed[0].last is sim.invocations[0]


def test_unknown_function_is_resource_not_found(sim, lam):
    """API_Invoke.html errors: ResourceNotFoundException (404) for a function that does not exist."""
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="missing")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing" in str(err.value)


def _payload_of_size(size: int) -> bytes:
    body = b'{"p": "' + b"x" * (size - 9) + b'"}'
    assert len(body) == size
    return body


def test_sync_payload_limit_is_6_mb(basic, lam):
    """API_Invoke.html / gettingstarted-limits.html: synchronous request payload up to 6 MB
    (6291456 bytes); one byte more is RequestEntityTooLargeException, HTTP 413."""
    basic("echo", "echo")
    basic("len", "environ")  # cheap result: does not echo the payload back
    assert lam.invoke(FunctionName="len", Payload=_payload_of_size(6291456))["StatusCode"] == 200
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="echo", Payload=_payload_of_size(6291457))
    assert err.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert err.value.response["Error"]["Message"] == (
        "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    )


def test_async_payload_limit_is_1_mb_since_october_2025(basic, lam, sim):
    """API_Invoke.html: asynchronous payload up to 1 MB (1048576 bytes), 256 KB before
    https://aws.amazon.com/about-aws/whats-new/2025/10/aws-lambda-payload-size-256-kb-1-mb-invocations/"""
    basic("len", "environ")
    assert inv.ASYNC_REQUEST_LIMIT_BYTES == 1048576
    ok = lam.invoke(FunctionName="len", InvocationType="Event", Payload=_payload_of_size(1048576))
    assert ok["StatusCode"] == 202
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="len", InvocationType="Event", Payload=_payload_of_size(1048577))
    assert err.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert err.value.response["Error"]["Message"] == (
        "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    )
    assert len(sim.async_queue.pending) == 1  # only the accepted one was queued


def test_deprecated_invoke_async_keeps_256_kb(basic, lam, sim):
    """API_InvokeAsync.html: deprecated, payload limit 256 KB, answers 202."""
    basic("len", "environ")
    assert lam.invoke_async(FunctionName="len", InvokeArgs=_payload_of_size(262144))["Status"] == 202
    with pytest.raises(ClientError) as err:
        lam.invoke_async(FunctionName="len", InvokeArgs=_payload_of_size(262145))
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    sim.run_until_idle()
    assert [r.source for r in sim.invocations] == ["invoke-async"]


def test_payload_that_is_not_json_is_invalid_request_content(basic, lam, sim):
    """API_Invoke.html errors: InvalidRequestContentException (400) when the body is not JSON."""
    basic("echo", "echo")
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="echo", Payload=b"{not json")
    assert err.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Message"].startswith(
        "Could not parse request body into json: Could not parse payload into json: "
    )
    assert sim.invocations == []


def test_response_over_6_mb_is_function_response_size_too_large(basic, call):
    """API_Invoke.html / gettingstarted-limits.html: the synchronous response quota is 6 MB;
    AWS reports Function.ResponseSizeTooLarge with its own figure (6291556 bytes)."""
    basic("big", "big", MemorySize=512)
    response, body = call("big", {"size": 6291556})
    assert response["FunctionError"] == "Unhandled"
    assert body == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    response, body = call("big", {"size": 6291554})  # 6291556 bytes with the JSON quotes
    assert "FunctionError" not in response
    assert len(body) == 6291554


def test_versions_and_aliases_set_executed_version_and_invoked_arn(basic, lam, call):
    """API_Invoke.html (Qualifier, ExecutedVersion) and python-context.html: invoked_function_arn
    carries the version or alias the caller named."""
    basic("ctx", "context_info")
    version = lam.publish_version(FunctionName="ctx")["Version"]
    lam.create_alias(FunctionName="ctx", Name="live", FunctionVersion=version)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:ctx"

    response, body = call("ctx")
    assert (response["ExecutedVersion"], body["invoked_function_arn"], body["function_version"]) == (
        "$LATEST", arn, "$LATEST")
    response, body = call("ctx", Qualifier=version)
    assert (response["ExecutedVersion"], body["invoked_function_arn"], body["function_version"]) == (
        version, f"{arn}:{version}", version)
    response, body = call("ctx", Qualifier="live")
    assert (response["ExecutedVersion"], body["invoked_function_arn"]) == (version, f"{arn}:live")
    response, body = call(f"{arn}:live")
    assert body["invoked_function_arn"] == f"{arn}:live"
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="ctx", Qualifier="nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_client_context_reaches_the_context_object(basic, call):
    """API_Invoke.html ClientContext (base64 JSON) and python-context.html client_context."""
    basic("ctx", "context_info")
    cc = base64.b64encode(json.dumps({"custom": {"tenant": "t1"}}).encode()).decode()
    _, body = call("ctx", ClientContext=cc)
    assert body["client_context_custom"] == {"tenant": "t1"}
    _, body = call("ctx")
    assert body["client_context_custom"] is None


def test_client_context_reaches_synchronous_invocations_only(basic, lam, sim):
    """API_Invoke.html, ClientContext: "Lambda passes the ClientContext object to your function for
    synchronous invocations only": an Event invocation's handler sees no client_context."""
    basic("ctx", "context_info")
    cc = base64.b64encode(json.dumps({"custom": {"tenant": "t1"}}).encode()).decode()
    assert lam.invoke(FunctionName="ctx", InvocationType="Event", ClientContext=cc)["StatusCode"] == 202
    assert sim.run_until_idle()
    [record] = sim.invocations
    assert record.invocation_type == "Event"
    assert record.result()["client_context_custom"] is None


def test_log_tail_applies_to_synchronous_invocations_only(basic, lam, sim):
    """API_Invoke.html, LogType: "Set to Tail to include the execution log in the response. Applies to
    synchronously invoked functions only": an Event invocation answers 202 without LogResult, a DryRun
    204 without LogResult and without running."""
    basic("echo", "echo")
    assert "LogResult" in lam.invoke(FunctionName="echo", LogType="Tail")
    queued = lam.invoke(FunctionName="echo", InvocationType="Event", LogType="Tail")
    assert queued["StatusCode"] == 202 and "LogResult" not in queued
    dry = lam.invoke(FunctionName="echo", InvocationType="DryRun", LogType="Tail")
    assert dry["StatusCode"] == 204 and "LogResult" not in dry
    assert sim.run_until_idle()
    assert [r.invocation_type for r in sim.invocations] == ["RequestResponse", "Event"]


def test_dry_run_checks_the_request_and_runs_nothing(basic, lam, sim):
    """API_Invoke.html, InvocationType DryRun: "Validate parameter values and verify that the user or role
    has permission to invoke the function": a malformed ClientContext or an unknown qualifier is refused
    as for a real call; a valid request answers 204 and nothing runs, now or later."""
    basic("ctx", "context_info")
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="ctx", InvocationType="DryRun", ClientContext="not base64 json")
    assert err.value.response["Error"]["Code"] == "InvalidRequestContentException"
    with pytest.raises(ClientError) as err:
        lam.invoke(FunctionName="ctx", InvocationType="DryRun", Qualifier="nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    cc = base64.b64encode(json.dumps({"custom": {"tenant": "t1"}}).encode()).decode()
    assert lam.invoke(FunctionName="ctx", InvocationType="DryRun", ClientContext=cc)["StatusCode"] == 204
    assert sim.run_until_idle() and sim.invocations == []


def test_invoke_works_through_any_boto3_client(basic, sim):
    """The simulator plays the service behind the public API: a client created before the
    function, or with explicit region/credentials, reaches the same handler."""
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    basic("echo", "echo")
    assert json.loads(client.invoke(FunctionName="echo", Payload=b"[1]")["Payload"].read()) == [1]
