"""The call path from a boto3 client to moto's backend: the same answers, faster.

- Dispatch: for every request moto matched the URL against ~200 services' patterns, rebuilt the
  matching backend's route table and compiled its routes, then listed every member of the
  response class with `inspect.getmembers` to find the action's method: 0.15 ms of a 0.9 ms
  call. The route is now found once per URL (`_route`, cleared whenever patches are applied or
  removed, since they change the route tables) and the method by its name (`_FunctionNames`).
- Signing: a client's SigV4 signature (a canonical request, its payload's SHA-256 and four
  HMACs: 0.12 ms of CPU for a PutItem, 0.01 ms without them) is checked by nothing here. moto reads only the access key in the
  Authorization header (it names the account), and checks signatures only with its own IAM
  enforcement (`INITIAL_NO_AUTH_ACTION_COUNT`), which the simulator leaves off (`lambdasim.iam`
  evaluates the roles' policies before the call instead). So a client's plain SigV4 request
  (`v4`; S3's `s3v4` and presigned URLs are signed as before) carries its date headers,
  session token and credential scope without a signature (`_CredentialOnlySigV4Auth`).
  botocore's `SigV4Auth` itself is untouched: code that signs a request for API Gateway's IAM
  authorization signs it in full.
- Serialisation: a DynamoDB AttributeValue in an answer (GetItem, PutItem's ALL_OLD, Query,
  stream records...) is asked only for the type tags it holds (`_serialize_attribute_value`),
  where moto's serialiser asked for all ten members through every alias.

reference/benchmarks/api_calls.py measures the call path.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.compat import get_current_datetime
from botocore.exceptions import NoCredentialsError

from . import _shared
from ._patching import Patch


@functools.lru_cache(maxsize=4096)
def _route(clean_url: str) -> tuple[tuple[str, ...], Callable[..., Any] | None]:
    """The services whose URL pattern matches `clean_url`, in moto's order, up to the one with a
    route for it, and that route's handler (None: no service routes it).

    moto's `BotocoreStubber.process_request` finds this on every request by matching the URL
    against ~200 services' patterns, then rebuilding the matching backend's `urls` dict and
    compiling each of its routes. The answer depends only on the URL and on the route tables,
    which change only when the patches are applied or removed (`apply`/`remove` clear this cache).
    """
    import moto.backend_index as backend_index
    import moto.backends as backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.base_backend import BackendDict

    matched: list[str] = []
    for service, pattern in backend_index.backend_url_patterns:
        if not pattern.match(clean_url):
            continue
        matched.append(service)
        backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
        if isinstance(backend_dict, BackendDict):
            regions = backend_dict[DEFAULT_ACCOUNT_ID]
            backend = regions["us-east-1"] if "us-east-1" in regions else regions["aws"]
        else:
            backend = backend_dict["global"]
        for url, handler in backend.urls.items():
            if re.compile(url).match(clean_url):
                return tuple(matched), handler
    return tuple(matched), None


_AWS_URL = re.compile(r"https?://.+\.amazonaws.com/.*")


def _process_request(self: Any, request: Any) -> Any:
    """moto 5.2.5's `BotocoreStubber.process_request` with the route from `_route`; the
    passthrough and allow-list settings are still read on every request, as moto reads them."""
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted
    from moto.core.exceptions import HTTPException, ServiceNotWhitelisted
    from moto.core.request import normalize_request
    from moto.core.utils import get_equivalent_url_in_aws_domain
    from moto.moto_api import recorder

    parsed_url, _ = get_equivalent_url_in_aws_domain(request.url)
    clean_url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
    if passthrough_url(clean_url):
        return None
    services, handler = _route(clean_url)
    for service in services:
        if passthrough_service(service):
            return None
        if not service_whitelisted(service):
            raise ServiceNotWhitelisted(service)
    if handler is None:
        return (404, {}, "Not yet implemented") if _AWS_URL.match(clean_url) else None
    normalized_request = normalize_request(request)
    outer_trace = _shared.trace_header
    _shared.trace_header = normalized_request.headers.get("X-Amzn-Trace-Id")
    try:
        recorder._record_request(normalized_request)
        return handler(normalized_request, normalized_request.raw_url, normalized_request.headers)
    except HTTPException as e:
        return e.code, e.get_headers(), e.get_body()
    finally:
        _shared.trace_header = outer_trace


class _FunctionNames:
    """What `moto.core.utils.method_names_from_class` answers, without listing the class.

    moto's `BaseResponse.call_action` lists every member of the response class with
    `inspect.getmembers` on every request (~0.2 ms), only to ask whether the action's name is
    among its plain functions; this answers that question for the one name.
    """

    def __init__(self, cls: type):
        self.cls = cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.cls, name, None))


_NOT_SIGNED = "0" * 64  # a SigV4 signature's form (64 hex digits); nothing computes or checks it


class _CredentialOnlySigV4Auth(SigV4Auth):
    """`SigV4Auth.add_auth` without the signature: the date headers, the session token and an
    Authorization header naming the access key and scope, which is all moto reads."""

    def add_auth(self, request: Any) -> None:
        if self.credentials is None:
            raise NoCredentialsError()
        request.context["timestamp"] = get_current_datetime().strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        request.headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.scope(request)}, "
                                            f"SignedHeaders=host;x-amz-date, Signature={_NOT_SIGNED}")


def _moto_checks_signatures() -> bool:
    from moto import settings

    return settings.INITIAL_NO_AUTH_ACTION_COUNT != float("inf")


def _wrap_get_auth_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    def get_auth_instance(self: Any, signing_name: str, region_name: str, signature_version: str | None = None,
                          request_credentials: Any = None, **kwargs: Any) -> Any:
        """RequestSigner.get_auth_instance, whose plain SigV4 signer leaves the signature out
        while moto checks none."""
        auth = original(self, signing_name, region_name, signature_version, request_credentials, **kwargs)
        if type(auth) is SigV4Auth and not _moto_checks_signatures():
            return _CredentialOnlySigV4Auth(auth.credentials, auth._service_name, auth._region_name)
        return auth

    get_auth_instance.__wrapped__ = original  # type: ignore[attr-defined]
    return get_auth_instance


_ATTRIBUTE_VALUE_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})


def _tags_only(serializer: Any, value: Any, shape: Any, key: str) -> bool:
    """True for a DynamoDB AttributeValue moto keeps as AWS writes it, a dict of type tags (S, N,
    M...), and no response transformer: then moto's attribute picker, which tries each member's
    aliases (ListAttributeValue for L) and snake_case names before the member's own name, can
    only find the tags themselves."""
    return shape.name == "AttributeValue" and bool(key) and isinstance(value, dict) \
        and value.keys() <= shape.members.keys() \
        and serializer.operation_model.service_model.service_name in _ATTRIBUTE_VALUE_SERVICES \
        and not getattr(serializer._value_picker, "response_transformers", None)


def _serialize_attribute_value(serializer: Any, serialized: Any, value: dict[str, Any], shape: Any, key: str) -> None:
    """moto's structure serialisation of an AttributeValue, asking for the tags it holds, not
    for all ten members in turn (each ask goes through every alias: most of an item's cost)."""
    wrapper: dict[str, Any] = {}
    for member_key, member_shape in shape.members.items():
        member_shape.parent = shape
        member_value = value.get(member_key)
        if member_value is not None:
            serializer._serialize(wrapper, member_value, member_shape, member_key)
    serializer._default_serialize(serialized, wrapper, shape, key)


def _wrap_serialize_type_structure(original: Callable[..., Any]) -> Callable[..., Any]:
    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        """BaseJSONSerializer._serialize_type_structure, a DynamoDB AttributeValue by its tags."""
        if _tags_only(self, value, shape, key):
            _serialize_attribute_value(self, serialized, value, shape, key)
        else:
            original(self, serialized, value, shape, key)

    _serialize_type_structure.__wrapped__ = original  # type: ignore[attr-defined]
    return _serialize_type_structure


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from botocore.signers import RequestSigner
    from moto.core import responses as core_responses
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.core.serialize import BaseJSONSerializer

    return [
        Patch(BotocoreStubber, "process_request", _process_request, ("self", "request"),
              "speed: a route found once per URL"),
        Patch(core_responses, "method_names_from_class", _FunctionNames, ("clazz",),
              "speed: a response method found by name"),
        Patch(RequestSigner, "get_auth_instance", None,
              ("self", "signing_name", "region_name", "signature_version", "request_credentials", "kwargs"),
              "speed: a request's credential scope without its signature", wrap=_wrap_get_auth_instance),
        Patch(BaseJSONSerializer, "_serialize_type_structure", None, ("self", "serialized", "value", "shape", "key"),
              "speed: a DynamoDB AttributeValue serialised by its type tags", wrap=_wrap_serialize_type_structure),
    ]
