"""Rules of CloudFormation's custom resources backed by a Lambda function, as the deploy
(`lambdasim.custom_resources`) plays them.

Sources:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html
(how custom resources work: CloudFormation sends a request, the provider answers at the presigned
ResponseURL, no answer before the timeout fails the stack operation);
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html (the
request fields; ServiceToken, an SNS topic or Lambda function ARN of the stack's Region;
ServiceTimeout, 1 to 3600 s, 3600 s by default);
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html (the
response fields: Status SUCCESS or FAILED, Reason required when FAILED, PhysicalResourceId a
non-empty string up to 1 KB, NoEcho, Data read with Fn::GetAtt; the body at most 4096 bytes; a
different PhysicalResourceId on Update is a replacement, and the old resource gets a Delete);
https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html (CloudFormation
invokes the function asynchronously; the event's top-level ServiceToken);
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-lambda-function-code-cfnresponsemodule.html
(the `cfn-response` module is available to `ZipFile` code that imports it with exactly
`import cfnresponse`, not to code stored in S3).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

DEFAULT_SERVICE_TIMEOUT_S: Final = 3600
MIN_SERVICE_TIMEOUT_S: Final = 1
MAX_SERVICE_TIMEOUT_S: Final = 3600
RESPONSE_MAX_BYTES: Final = 4096
PHYSICAL_ID_MAX_BYTES: Final = 1024
REQUEST_TYPES: Final = ("Create", "Update", "Delete")
STATUSES: Final = ("SUCCESS", "FAILED")
# The one import statement that makes CloudFormation add the module to ZipFile code.
CFNRESPONSE_IMPORT: Final = re.compile(r"^[ \t]*import cfnresponse[ \t]*(#.*)?$", re.M)
# A Lambda function ARN (a version or alias may follow the name).
_FUNCTION_ARN: Final = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:[A-Za-z0-9_-]+(:[$A-Za-z0-9_-]+)?")


class CustomResourceError(ValueError):
    """A custom resource's template or its function's answer breaks CloudFormation's rules."""


def service_token_problem(token: Any, stack_region: str) -> str | None:
    """Why `token` cannot be the ServiceToken of a Lambda-backed custom resource of a stack in
    `stack_region` (None: it can)."""
    if not isinstance(token, str) or not token:
        return "ServiceToken is required (a Lambda function ARN or an SNS topic ARN)"
    if token.startswith("arn:") and ":sns:" in token:
        return f"ServiceToken {token} is an SNS topic: SNS-backed custom resources are not simulated"
    match = _FUNCTION_ARN.fullmatch(token)
    if match is None:
        return f"ServiceToken {token!r} is not a Lambda function ARN"
    if match["region"] != stack_region:
        return f"ServiceToken {token} is in {match['region']}; it must be in the stack's Region {stack_region}"
    return None


def service_timeout_s(properties: dict[str, Any]) -> int:
    """The ServiceTimeout property in seconds (default 3600; an integer 1-3600)."""
    value = properties.get("ServiceTimeout")
    if value is None:
        return DEFAULT_SERVICE_TIMEOUT_S
    try:
        seconds = int(str(value))
    except ValueError:
        raise CustomResourceError(f"ServiceTimeout {value!r} is not an integer") from None
    if not MIN_SERVICE_TIMEOUT_S <= seconds <= MAX_SERVICE_TIMEOUT_S:
        raise CustomResourceError(
            f"ServiceTimeout {seconds} is out of range: it must be {MIN_SERVICE_TIMEOUT_S}-{MAX_SERVICE_TIMEOUT_S} seconds")
    return seconds


def response_path(stack_id: str, logical_id: str, request_id: str) -> str:
    """The ResponseURL's path: the stack ARN, logical id and request id, as AWS's presigned S3
    key quotes them (`arn%3Aaws%3Acloudformation...%7CLogicalId%7CRequestId`)."""
    return "/" + quote(f"{stack_id}|{logical_id}|{request_id}", safe="")


def request_event(
    request_type: str,
    *,
    service_token: str,
    response_url: str,
    stack_id: str,
    request_id: str,
    logical_id: str,
    resource_type: str,
    properties: dict[str, Any],
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The request object CloudFormation sends for `request_type` (crpg-ref-requests.html):
    Update and Delete carry the PhysicalResourceId, Update the OldResourceProperties."""
    if request_type not in REQUEST_TYPES:
        raise CustomResourceError(f"RequestType {request_type!r} is not one of {REQUEST_TYPES}")
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": response_url,
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_id
    event["ResourceProperties"] = properties
    if request_type == "Update":
        event["OldResourceProperties"] = old_properties or {}
    return event


@dataclass(frozen=True)
class ProviderResponse:
    """The answer a custom resource provider PUT to the ResponseURL, checked."""

    status: str  # "SUCCESS" or "FAILED"
    reason: str
    physical_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    no_echo: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"


def parse_response(body: bytes) -> ProviderResponse:
    """The response object in `body` (crpg-ref-responses.html). An answer that breaks the
    rules is a failure whose reason says which rule, as CloudFormation fails the resource."""
    if len(body) > RESPONSE_MAX_BYTES:
        return _invalid(f"the response body is {len(body)} bytes; it must be at most {RESPONSE_MAX_BYTES} bytes")
    try:
        answer = json.loads(body)
    except ValueError as e:
        return _invalid(f"the response body is not JSON ({e})")
    if not isinstance(answer, dict):
        return _invalid("the response body is not a JSON object")
    status = answer.get("Status")
    if status not in STATUSES:
        return _invalid(f"Status {status!r} is not SUCCESS or FAILED")
    physical_id = answer.get("PhysicalResourceId")
    if status == "FAILED":
        return ProviderResponse("FAILED", str(answer.get("Reason") or ""),
                                physical_id if isinstance(physical_id, str) else None)
    if not isinstance(physical_id, str) or not physical_id:
        return _invalid("PhysicalResourceId must be a non-empty string")
    if len(physical_id.encode("utf-8")) > PHYSICAL_ID_MAX_BYTES:
        return _invalid(f"PhysicalResourceId is longer than {PHYSICAL_ID_MAX_BYTES} bytes")
    data = answer.get("Data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return _invalid("Data must be a JSON object of name-value pairs")
    return ProviderResponse("SUCCESS", str(answer.get("Reason") or ""), physical_id, data,
                            answer.get("NoEcho") in (True, "true", "True"))


def _invalid(problem: str) -> ProviderResponse:
    return ProviderResponse("FAILED", f"invalid response from the custom resource: {problem}", None)


def failed_reason(reason: str) -> str:
    """A FAILED answer as the resource's status reason, in the words CloudFormation's stack
    events use (seen in its console; the pages above do not quote them)."""
    return f"Received response status [FAILED] from custom resource. Message returned: {reason}"


def timeout_reason(seconds: int) -> str:
    """No answer before ServiceTimeout: the request failed (template-custom-resources.html)."""
    return (f"CloudFormation did not receive a response from the custom resource within its ServiceTimeout "
            f"of {seconds} s (the function sent no PUT to the ResponseURL)")


def is_replacement(old_physical_id: str, response: ProviderResponse) -> bool:
    """An Update answered with another PhysicalResourceId replaces the resource: the old one
    then gets a Delete (crpg-ref-responses.html)."""
    return response.succeeded and response.physical_id != old_physical_id
