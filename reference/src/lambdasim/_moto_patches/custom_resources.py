"""CloudFormation custom resources backed by a Lambda function, and the PUT of their responses.

moto 5.2.5's `CustomModel` (moto/cloudformation/custom_model.py) starts `LambdaFunction.invoke`
on a thread, with a ResponseURL on moto server (`{host}/cloudformation_{region}/cfnresponse`,
answered by `CloudFormationResponse.cfnresponse` only when moto runs as a server); it never
sends Update or Delete, ignores a FAILED answer, and leaves the stack CREATE_IN_PROGRESS until a
SUCCESS arrives, so a deploy failed with "(resource not identified): CREATE_IN_PROGRESS".
`AWS::CloudFormation::CustomResource`, the type's other spelling, is not created at all.

Replaced (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html):

- Both spellings create a `CustomModel` subclass (moto's parser keeps using its `Ref` and
  `Fn::GetAtt` hooks) whose Create, Update and Delete send CloudFormation's request through
  `lambdasim.custom_resources.CustomResources` and wait on the virtual clock for the answer: a
  FAILED answer (or none) raises, so the stack operation fails with the resource and the reason;
  a resource that answered FAILED with a PhysicalResourceId gets the rollback's Delete too.
  Update answered with another PhysicalResourceId deletes the old resource; a failed request is
  not sent again by moto's retry passes.
- `ResourceMap.delete` deletes the stack's custom resources first, newest first: moto deletes in
  set order, and could remove the function before the resource's Delete reaches it, where
  CloudFormation deletes dependants before what they depend on.
- A PUT to a response URL is answered in process, as S3 answers a presigned PUT (200, empty
  body), whichever client makes it: `http.client` connections (urllib.request, crhelper, any
  hand-written code) get a socket that keeps the request instead of a network connection, and
  urllib3's connection pools (AWS's `cfnresponse` module, `requests`; moto's `responses` mock
  passes the simulator's URLs through to them) answer without a connection.
"""

from __future__ import annotations

import functools
import http.client
import io
from collections.abc import Callable
from typing import Any

from ..custom_resources import CustomResourceFailed, CustomResources
from ..rules import custom_resources as cr
from ._patching import Patch

CUSTOM_RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"

_resources: CustomResources | None = None


def set_custom_resources(resources: CustomResources | None) -> None:
    """The simulator's `custom_resources.CustomResources` (None: custom resources cannot run)."""
    global _resources
    _resources = resources


def _require_resources(logical_id: str, resource_type: str) -> CustomResources:
    if _resources is None:
        raise CustomResourceFailed(logical_id, resource_type, "no Simulator is running to invoke the function")
    return _resources


def is_custom_resource_type(resource_type: str) -> bool:
    return resource_type == CUSTOM_RESOURCE_TYPE or resource_type.startswith("Custom::")


@functools.cache
def resource_class() -> type:
    """The resource class of both spellings; built on first use, because its base lives in
    moto's CloudFormation, which is slow to import (see the `cloudformation` module)."""
    from moto.cloudformation import cloudformation_backends
    from moto.cloudformation.custom_model import CustomModel

    class LambdaCustomResource(CustomModel):  # type: ignore[misc]
        """A custom resource whose requests go to a Lambda function (see the module docstring)."""

        def __init__(self, region: str, logical_id: str, resource_type: str, stack_id: str,
                     properties: dict[str, Any], response: cr.ProviderResponse):
            super().__init__(region, "", logical_id, response.physical_id)
            self.resource_type = resource_type
            self.stack_id = stack_id
            self.properties = properties
            self.no_echo = response.no_echo
            self.set_data(response.data)
            self._update_failure: tuple[dict[str, Any], CustomResourceFailed] | None = None
            self._delete_failure: CustomResourceFailed | None = None

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
            **kwargs: Any,
        ) -> Any:
            logical_id, resource_type, stack_id = kwargs["LogicalId"], kwargs["ResourceType"], kwargs["StackId"]
            properties = dict(cloudformation_json.get("Properties") or {})
            stack = cloudformation_backends[account_id][region_name].get_stack(stack_id)
            try:
                response = _require_resources(logical_id, resource_type).request(
                    "Create", account_id=account_id, stack_id=stack_id, logical_id=logical_id,
                    resource_type=resource_type, properties=properties)
            except CustomResourceFailed as failure:
                if failure.response is not None and failure.response.physical_id:
                    # CloudFormation rolls a failed Create back with a Delete carrying the
                    # PhysicalResourceId of the FAILED answer (as AWS's CDK team describes it,
                    # aws/aws-cdk#5525): the resource stays in the map for the rollback.
                    stack.resource_map._parsed_resources[logical_id] = cls(
                        region_name, logical_id, resource_type, stack_id, properties, failure.response)
                raise
            resource = cls(region_name, logical_id, resource_type, stack_id, properties, response)
            stack.add_custom_resource(resource)
            return resource

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any],
            account_id: str, region_name: str,
        ) -> Any:
            old = original_resource
            properties = dict(cloudformation_json.get("Properties") or {})
            if old._update_failure is not None and old._update_failure[0] == properties:
                raise old._update_failure[1]  # moto's retry pass: CloudFormation sent it once
            try:
                if properties.get("ServiceToken") != old.properties.get("ServiceToken"):
                    # aws-resource-cloudformation-customresource.html: ServiceToken "Update
                    # requires: Updates are not supported".
                    raise CustomResourceFailed(old.logical_id, old.resource_type,
                                               "ServiceToken cannot be updated (Updates are not supported)")
                response = _require_resources(old.logical_id, old.resource_type).request(
                    "Update", account_id=account_id, stack_id=old.stack_id, logical_id=old.logical_id,
                    resource_type=old.resource_type, properties=properties, physical_id=old.physical_resource_id,
                    old_properties=old.properties)
            except CustomResourceFailed as failure:
                old._update_failure = (properties, failure)
                raise
            if cr.is_replacement(old.physical_resource_id, response):
                old.delete(account_id, region_name)
            resource = cls(region_name, old.logical_id, old.resource_type, old.stack_id, properties, response)
            cloudformation_backends[account_id][region_name].get_stack(old.stack_id).add_custom_resource(resource)
            return resource

        def delete(self, account_id: str, region: str) -> None:
            if self._delete_failure is not None:
                raise self._delete_failure  # moto's retry pass: CloudFormation sent it once
            try:
                _require_resources(self.logical_id, self.resource_type).request(
                    "Delete", account_id=account_id, stack_id=self.stack_id, logical_id=self.logical_id,
                    resource_type=self.resource_type, properties=self.properties,
                    physical_id=self.physical_resource_id)
            except CustomResourceFailed as failure:
                self._delete_failure = failure
                raise

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            """Fn::GetAtt reads the response's Data (crpg-ref-responses.html); a name it lacks
            fails the resource that asks, instead of moto's silent None."""
            if attribute_name not in self.data:
                raise CustomResourceFailed(
                    self.logical_id, self.resource_type,
                    f"Fn::GetAtt {self.logical_id}.{attribute_name}: the function's response Data has no key "
                    f"{attribute_name!r} (it has {sorted(self.data)})")
            return self.data[attribute_name]

    return LambdaCustomResource


def _wrap_resource_map_delete(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def delete(self: Any) -> None:
        """ResourceMap.delete: the custom resources first, newest first (see the docstring)."""
        custom = resource_class()
        for logical_id in reversed(list(self._parsed_resources)):
            resource = self._parsed_resources[logical_id]
            if not isinstance(resource, custom):
                continue
            if self._resource_json_map.get(logical_id, {}).get("DeletionPolicy") == "Retain":
                continue  # moto keeps Retain resources; so does CloudFormation, with no Delete sent
            resource.delete(self._account_id, self._region_name)
            self._parsed_resources.pop(logical_id)
        original(self)

    delete.__wrapped__ = original  # type: ignore[attr-defined]
    return delete


# -- the response PUT ------------------------------------------------------------------------

_S3_PUT_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_NOT_A_PUT_ANSWER = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def _deliver(method: str, url: str, body: bytes) -> int:
    """A request to a response URL: a PUT goes to the custom resources; the HTTP status."""
    if method.upper() != "PUT" or _resources is None:
        return 403  # the URL is presigned for PUT only
    _resources.receive(url, body)
    return 200


class _ResponseSocket:
    """What an `http.client` connection to a response URL talks to instead of the network: it
    keeps the bytes the client sends and, when the client reads the answer, hands the request
    over and answers it."""

    def __init__(self, host: str):
        self.host = host
        self._sent = bytearray()

    def sendall(self, data: bytes) -> None:
        self._sent += data

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BytesIO:
        method, target, body = _parse_request(bytes(self._sent))
        self._sent.clear()
        status = _deliver(method, f"https://{self.host}{target}", body)
        return io.BytesIO(_S3_PUT_ANSWER if status == 200 else _NOT_A_PUT_ANSWER)

    def settimeout(self, timeout: float | None) -> None:
        pass

    def close(self) -> None:
        pass


def _parse_request(raw: bytes) -> tuple[str, str, bytes]:
    """Method, target and body of one HTTP/1.1 request (Content-Length or chunked)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    request_line, _, header_lines = head.partition(b"\r\n")
    method, target = request_line.decode("latin-1").split(" ")[:2]
    headers = http.client.parse_headers(io.BytesIO(header_lines + b"\r\n\r\n"))
    if (headers.get("Transfer-Encoding") or "").lower() == "chunked":
        body = bytearray()
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2:]
        return method, target, bytes(body)
    length = headers.get("Content-Length")
    return method, target, rest[:int(length)] if length else rest


def _wrap_connect(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def connect(self: Any) -> None:
        """HTTP(S)Connection.connect: a response URL's host gets a `_ResponseSocket`."""
        if _resources is not None and _resources.hears(self.host):
            self.sock = _ResponseSocket(self.host)
            return
        original(self)

    connect.__wrapped__ = original  # type: ignore[attr-defined]
    return connect


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    return b"".join(_body_bytes(chunk) for chunk in body)


def _wrap_pool_urlopen(original: Callable[..., Any]) -> Callable[..., Any]:
    def urlopen(self: Any, method: str, url: str, body: Any = None, headers: Any = None, *args: Any,
                **kwargs: Any) -> Any:
        """HTTPConnectionPool.urlopen: a response URL's host is answered without a connection."""
        if _resources is None or not _resources.hears(self.host):
            return original(self, method, url, body, headers, *args, **kwargs)
        from urllib3.response import HTTPResponse

        full_url = url if "://" in url else f"{self.scheme}://{self.host}{url}"
        status = _deliver(method, full_url, _body_bytes(body))
        return HTTPResponse(body=io.BytesIO(b""), headers={"Content-Length": "0"}, status=status,
                            reason="OK" if status == 200 else "Forbidden",
                            preload_content=kwargs.get("preload_content", True),
                            decode_content=kwargs.get("decode_content", True),
                            request_method=method, request_url=full_url)

    urlopen.__wrapped__ = original  # type: ignore[attr-defined]
    return urlopen


def patches() -> list[Patch]:
    """The patches of this module applied on start: the HTTP clients' way to the response URLs."""
    from urllib3.connectionpool import HTTPConnectionPool

    urlopen = ("self", "method", "url", "body", "headers", "retries", "redirect", "assert_same_host", "timeout",
               "pool_timeout", "release_conn", "chunked", "body_pos", "preload_content", "decode_content",
               "response_kw")
    return [
        Patch(http.client.HTTPConnection, "connect", None, ("self",),
              "custom resource responses over http.client", wrap=_wrap_connect),
        Patch(http.client.HTTPSConnection, "connect", None, ("self",),
              "custom resource responses over http.client (TLS)", wrap=_wrap_connect),
        Patch(HTTPConnectionPool, "urlopen", None, urlopen,
              "custom resource responses over urllib3 (cfnresponse, requests)", wrap=_wrap_pool_urlopen),
    ]


def deferred_patches() -> list[Patch]:
    """The patches of moto's CloudFormation, applied when it is imported."""
    from moto.cloudformation.parsing import ResourceMap

    return [
        Patch(ResourceMap, "delete", None, ("self",),
              "custom resources deleted before what they depend on", wrap=_wrap_resource_map_delete),
    ]
