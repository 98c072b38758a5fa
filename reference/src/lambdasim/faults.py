"""Deterministic fault injection for boto3 calls: make AWS fail the way AWS fails.

moto never throttles, never returns a 5xx and never fails part of a batch. This module makes
chosen calls do exactly that, shaped like AWS's own error responses, so that botocore raises the
same ``ClientError`` subclass with the same ``Error.Code`` and HTTP status, and so that
botocore's own retry logic (legacy, standard and adaptive modes) treats the fault as it would
treat AWS's: a throttle or a 5xx is retried with backoff, a ``ConditionalCheckFailedException``
is not. It works with or without moto (it never imports moto) and needs no simulator::

    from lambdasim.faults import FaultInjector, PartialFailure, Throttle

    with FaultInjector(seed=7) as faults:
        faults.add("events", "PutEvents", PartialFailure(rate=0.2))
        faults.add("dynamodb", "PutItem", Throttle(), on_calls=[3], attempts=1)
        faults.add("dynamodb", "GetItem", NoAnswer(), on_calls=[1])  # hangs: read timeout
        ...  # ordinary boto3 code, including clients created inside handlers
        faults.injected                      # what was injected, in order
        faults.calls("events", "PutEvents")  # API calls made, faulted or not

Selection is deterministic: every rule draws from its own ``random.Random`` derived from the
injector's seed (or from the ``random.Random`` you pass), the service, the operation and the
rule's position among that operation's rules, so the same seed and the same code give the same
faults, and adding a rule for another operation does not change which entries this one fails.

How it hooks into botocore (and why this way)
----------------------------------------------
botocore announces every step of a call on its event system; the hooks used here are public
events (see "Extensibility guide" in the boto3 documentation):

* ``before-parameter-build`` remembers the call's API parameters (after boto3's own DynamoDB
  resource transformations, which run on the more specific ``before-parameter-build.dynamodb``).
* ``before-call`` runs once per API call, after parameter validation: the call is counted and
  numbered, the rules are consulted once, and for a partial batch failure the failing entries
  are removed from the serialized request body, so the service (moto) really receives, stores
  and routes only the entries reported as successful. When every entry fails, the call is
  answered right there with the HTTP 200 batch response (``before-call`` is the documented way
  to short-circuit a call with a parsed response); nothing reaches the service.
* ``before-send`` runs once per HTTP *attempt*, inside botocore's retry loop, and a handler that
  returns an ``AWSResponse`` replaces the network call. Error faults are injected here, as raw
  HTTP responses in the service's wire protocol (JSON, REST-JSON, query XML, REST-XML, EC2,
  RPCv2-CBOR), so botocore's real parser builds the error, ``needs-retry`` (untouched) decides
  on a retry exactly as for AWS, and ``attempts=1`` can fail only the first attempt. This is
  why ``before-call`` is *not* used for errors: a response returned there replaces the whole
  call, retries included, which is not how AWS throttling behaves.
  A ``NoAnswer`` fault raises botocore's ``ReadTimeoutError`` there instead, after sleeping the
  client's read timeout: what a dependency that accepts the connection and never answers does.
* ``after-call`` merges the injected entry failures back into the service's response, in request
  order (``FailedEntryCount``, ``Entries[i].ErrorCode``, ``UnprocessedItems`` ...).

``before-send`` is emitted with ``emit`` (every handler runs), not ``emit_until_response``, and
moto intercepts at ``before-send`` too: returning a response alone would leave moto to execute
the write (a throttled PutItem would still store the item). So the handler is registered first
on ``before-send.*.*`` (botocore calls it before handlers of ``before-send``, of a service or of
an exact operation) and, when it injects, it points the attempt's URL at
``https://fault-injected.lambdasim.invalid`` (:data:`FAULTED_HOST`). moto only answers AWS URLs,
so it leaves that attempt alone; the next attempt is a fresh request with the real URL. A
simulator hook on ``before-send`` should likewise ignore requests for which :func:`was_faulted`
is true. (Patching moto or ``Endpoint._send`` would also work, but is private to those
libraries and would tie the injector to moto.)

Which clients are covered: the handlers are appended to ``botocore.handlers.BUILTIN_HANDLERS``
when this module is imported; every botocore session created afterwards registers them (a
module-level list rather than a documented API, but the mechanism moto itself relies on), so every client created after ``import lambdasim.faults``, before
or after an injector is started, is covered, including clients that handler code creates. The
boto3 default session, if it already exists at import, is patched too. A client created before
the import is not covered unless passed to :meth:`FaultInjector.patch_client`. With no injector
active the handlers return at once.

Known limits (each documented where it applies): a DynamoDB ``ConditionalCheckFailedException``
does not carry ``Item`` for ``ReturnValuesOnConditionCheckFailure=ALL_OLD``; Kinesis throttle
messages name the stream (and account when a stream ARN is given) but not the shard, which the
injector cannot know; at most one rule applies to a given call (the first that selects it).
"""

from __future__ import annotations

import io
import json
import random
import struct
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

import botocore.handlers
import botocore.session
from botocore import xform_name
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

__all__ = [
    "FAULTED_HOST",
    "AWSError",
    "ConditionalCheckFailed",
    "FailedEntry",
    "Fault",
    "FaultInjector",
    "Injection",
    "NoAnswer",
    "PartialFailure",
    "Rule",
    "ServerError",
    "Throttle",
    "error_response",
    "was_faulted",
]

#: Host that an attempt's URL is pointed at when the injector answers it (moto then ignores it).
FAULTED_HOST = "fault-injected.lambdasim.invalid"

_STATE_KEY = "lambdasim.faults.call"
_PARAMS_KEY = "lambdasim.faults.params"


def was_faulted(request: Any) -> bool:
    """True when this ``before-send`` request was answered by the fault injector."""
    return urlsplit(getattr(request, "url", "") or "").hostname == FAULTED_HOST


# --------------------------------------------------------------------------------------------
# Error shapes
# --------------------------------------------------------------------------------------------

# Messages as AWS documents or returns them. Keyed by (service, code), then by code.
_MESSAGES: dict[Any, str] = {
    # DynamoDB developer guide, "Error handling with DynamoDB" (Programming.Errors).
    ("dynamodb", "ProvisionedThroughputExceededException"): (
        "You exceeded your maximum allowed provisioned throughput for a table or for one or "
        "more global secondary indexes. To view performance metrics for provisioned throughput "
        "vs. consumed throughput, open the Amazon CloudWatch console."
    ),
    ("dynamodb", "ThrottlingException"): "Rate of requests exceeds the allowed throughput.",
    ("dynamodb", "RequestLimitExceeded"): (
        "Throughput exceeds the current throughput limit for your account. Please contact AWS "
        "Support at https://aws.amazon.com/support request a limit increase"
    ),
    ("dynamodb", "InternalServerError"): "Internal server error",
    ("dynamodb", "ServiceUnavailable"): "DynamoDB is currently unavailable. (This should be a temporary state.)",
    ("dynamodb", "ConditionalCheckFailedException"): "The conditional request failed",
    # Kinesis API reference, PutRecordsResultEntry: InternalFailure -> "Internal Service Failure".
    ("kinesis", "InternalFailure"): "Internal Service Failure",
    # Lambda: "Rate Exceeded." with a Reason (TooManyRequestsException in the Invoke reference).
    ("lambda", "TooManyRequestsException"): "Rate Exceeded.",
    ("lambda", "ServiceException"): "The Lambda service encountered an internal error.",
    "RequestThrottled": "The request was denied due to request throttling.",
    "ThrottlingException": "Rate exceeded",
    "Throttling": "Rate exceeded",
    "Throttled": "Rate exceeded",
    "TooManyRequestsException": "Rate exceeded",
    "RequestLimitExceeded": "Request limit exceeded.",
    "SlowDown": "Please reduce your request rate.",
    "ProvisionedThroughputExceededException": "Rate exceeded",
    # Common errors of every AWS API reference.
    "InternalFailure": "The request processing has failed because of an unknown error, exception or failure.",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
    "InternalError": "We encountered an internal error. Please try again.",
}

# Throttle() defaults: (code, status) per service, from each service's API reference.
_THROTTLE_DEFAULTS: dict[str, tuple[str, int]] = {
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "kinesis": ("ProvisionedThroughputExceededException", 400),
    "lambda": ("TooManyRequestsException", 429),
    "sqs": ("RequestThrottled", 400),
    "sns": ("Throttled", 429),
    "s3": ("SlowDown", 503),
    "ec2": ("RequestLimitExceeded", 503),
}

# ServerError() defaults for a 500 where the service documents its own code.
_SERVER_ERROR_500: dict[str, str] = {
    "dynamodb": "InternalServerError",
    "lambda": "ServiceException",
    "s3": "InternalError",
}

_DEFAULT_STATUS = {"TooManyRequestsException": 429, "SlowDown": 503, "RequestLimitExceeded": 503}

# JSON ``__type`` namespaces as the services send them (others send the bare code).
_JSON_NAMESPACES = {"dynamodb": "com.amazonaws.dynamodb.v20120810#", "sqs": "com.amazonaws.sqs#"}


@dataclass(frozen=True)
class _ErrorSpec:
    code: str  # Error.Code as botocore reports it
    status: int
    message: str
    sender_fault: bool
    shape: str  # modeled shape name (JSON __type for query-compatible services)
    extra: Mapping[str, Any] = field(default_factory=dict)


def _message(service: str, code: str, params: Mapping[str, Any] | None = None) -> str:
    if service == "kinesis" and code == "ProvisionedThroughputExceededException":
        return _kinesis_throttle_message(params or {})
    return _MESSAGES.get((service, code)) or _MESSAGES.get(code) or code


def _kinesis_throttle_message(params: Mapping[str, Any]) -> str:
    # AWS: "Rate exceeded for shard shardId-... in stream NAME under account ACCOUNT."
    # The shard is unknown here (it depends on the stream's shard map), so it is left out.
    arn = params.get("StreamARN") or ""
    name = params.get("StreamName") or (arn.rsplit("/", 1)[-1] if arn else "")
    account = arn.split(":")[4] if arn.count(":") >= 5 else ""
    if account:
        return f"Rate exceeded for stream {name} under account {account}."
    return f"Rate exceeded for stream {name}."


def _spec_from_model(
    model: Any, code: str, status: int | None, message: str, sender_fault: bool | None,
    extra: Mapping[str, Any] | None = None,
) -> _ErrorSpec:
    """Complete an error from the operation's modeled error shapes, if the code is modeled."""
    shape_name, wire_code, modeled_status, modeled_sender = code, code, None, None
    for shape in getattr(model, "error_shapes", ()):
        meta = shape.metadata.get("error") or {}
        if shape.name == code or meta.get("code") == code:
            shape_name = shape.name
            wire_code = meta.get("code", shape.name)
            modeled_status = meta.get("httpStatusCode")
            modeled_sender = meta.get("senderFault")
            break
    final_status = status or modeled_status or _DEFAULT_STATUS.get(wire_code, 400)
    if sender_fault is None:
        sender_fault = modeled_sender if modeled_sender is not None else final_status < 500
    return _ErrorSpec(wire_code, final_status, message, bool(sender_fault), shape_name, dict(extra or {}))


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


class Fault:
    """Base class of every fault. Use one of the subclasses."""

    def _check(self, service: str, operation: str) -> None:
        """Raise ValueError when this fault cannot apply to the operation."""


class _ErrorFault(Fault):
    """A fault that answers an HTTP attempt with an error response."""

    def _resolve(self, service: str, model: Any, params: Mapping[str, Any]) -> _ErrorSpec:
        raise NotImplementedError


@dataclass(frozen=True)
class AWSError(_ErrorFault):
    """Any error response, fully specified: ``AWSError("AccessDeniedException", 400, "...")``.

    ``status`` and ``sender_fault`` default to the operation's model when the code is modeled.
    ``extra`` adds members to the error body (for example Lambda's ``Reason``).
    """

    code: str
    status: int | None = None
    message: str | None = None
    sender_fault: bool | None = None
    extra: Mapping[str, Any] | None = None

    def _resolve(self, service, model, params):
        message = self.message if self.message is not None else _message(service, self.code, params)
        return _spec_from_model(model, self.code, self.status, message, self.sender_fault, self.extra)


@dataclass(frozen=True)
class Throttle(_ErrorFault):
    """A throttling error, shaped as the service throttles.

    Defaults by service: DynamoDB and Kinesis ``ProvisionedThroughputExceededException`` (400),
    Lambda ``TooManyRequestsException`` (429, with ``Reason``), SQS ``RequestThrottled`` (400),
    SNS ``Throttled`` (429), S3 ``SlowDown`` (503), EC2 ``RequestLimitExceeded`` (503), other
    query-protocol services ``Throttling`` (400), every other service ``ThrottlingException``
    (400). Pass ``code`` to choose another, e.g. ``Throttle("ThrottlingException")`` on DynamoDB.
    ``reason`` is Lambda's throttle reason (default ``ConcurrentInvocationLimitExceeded``).
    """

    code: str | None = None
    message: str | None = None
    status: int | None = None
    reason: str | None = None

    def _resolve(self, service, model, params):
        code, status = self.code, self.status
        if code is None:
            protocol = model.service_model.resolved_protocol
            default = _THROTTLE_DEFAULTS.get(service)
            if default is None:
                default = ("Throttling", 400) if protocol == "query" else ("ThrottlingException", 400)
            code = default[0]
            status = status or default[1]
        extra: dict[str, Any] = {}
        if service == "lambda" and code == "TooManyRequestsException":
            extra = {"Reason": self.reason or "ConcurrentInvocationLimitExceeded", "Type": "User"}
        message = self.message if self.message is not None else _message(service, code, params)
        return _spec_from_model(model, code, status, message, True, extra)


@dataclass(frozen=True)
class ServerError(_ErrorFault):
    """A 5xx: ``ServerError()`` is a 500, ``ServerError(503)`` a 503.

    Codes: 500 is ``InternalFailure`` (AWS's common error), except DynamoDB
    ``InternalServerError``, Lambda ``ServiceException`` and S3 ``InternalError``; 503 is
    ``ServiceUnavailable``. Pass ``code`` to choose another.
    """

    status: int = 500
    code: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if not 500 <= self.status <= 599:
            raise ValueError(f"ServerError status must be 5xx, got {self.status}")

    def _resolve(self, service, model, params):
        code = self.code
        if code is None:
            if self.status == 500:
                code = _SERVER_ERROR_500.get(service, "InternalFailure")
            elif self.status == 503:
                code = "ServiceUnavailable"
            else:
                code = "InternalFailure"
        message = self.message if self.message is not None else _message(service, code, params)
        return _spec_from_model(model, code, self.status, message, False)


_CONDITIONAL_OPS = {"PutItem", "UpdateItem", "DeleteItem"}


@dataclass(frozen=True)
class ConditionalCheckFailed(_ErrorFault):
    """DynamoDB ``ConditionalCheckFailedException`` (400) on PutItem/UpdateItem/DeleteItem.

    The write is not performed. Not retryable, as on AWS. ``Item`` (for
    ``ReturnValuesOnConditionCheckFailure=ALL_OLD``) is not returned.
    """

    message: str | None = None

    def _check(self, service, operation):
        if service != "dynamodb" or operation not in _CONDITIONAL_OPS:
            raise ValueError(
                "ConditionalCheckFailed applies to dynamodb PutItem, UpdateItem or DeleteItem, "
                f"not {service} {operation}"
            )

    def _resolve(self, service, model, params):
        code = "ConditionalCheckFailedException"
        message = self.message if self.message is not None else _message(service, code)
        return _spec_from_model(model, code, 400, message, True)


@dataclass(frozen=True)
class PartialFailure(Fault):
    """Fail some entries of a batch call that still succeeds with HTTP 200.

    Supported: EventBridge ``PutEvents`` (``FailedEntryCount``, ``Entries[i].ErrorCode`` and
    ``ErrorMessage`` in place of ``EventId``), Kinesis ``PutRecords`` (``FailedRecordCount``,
    ``Records[i].ErrorCode``), SQS ``SendMessageBatch``, ``DeleteMessageBatch`` and
    ``ChangeMessageVisibilityBatch`` (``Failed`` with ``Id``, ``SenderFault``, ``Code``,
    ``Message``) and DynamoDB ``BatchWriteItem`` (``UnprocessedItems``). The successful entries
    really reach the service; the failed ones do not.

    Which entries fail: those at ``indices`` (0-based positions in the request), or those for
    which ``match(entry)`` is true, each kept with probability ``rate``; with none of the three
    given, every entry fails. For ``BatchWriteItem`` an entry is the write request with its
    table added: ``{"TableName": ..., "PutRequest": {...}}``. ``error_code`` defaults to
    ``InternalFailure`` (EventBridge, SQS) or ``ProvisionedThroughputExceededException``
    (Kinesis); ``sender_fault`` is SQS's ``SenderFault``.
    """

    rate: float | None = None
    indices: Sequence[int] | None = None
    match: Callable[[Any], bool] | None = None
    error_code: str | None = None
    error_message: str | None = None
    sender_fault: bool = False

    def __post_init__(self) -> None:
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {self.rate}")
        if self.indices is not None:
            object.__setattr__(self, "indices", tuple(int(i) for i in self.indices))

    def _check(self, service, operation):
        if (service, operation) not in _ADAPTERS:
            supported = ", ".join(f"{s} {o}" for s, o in sorted(_ADAPTERS))
            raise ValueError(f"PartialFailure supports {supported}; not {service} {operation}")

    def _select(self, entries: Sequence[Any], rng: random.Random) -> list[int]:
        chosen = []
        wanted = set(self.indices) if self.indices is not None else None
        for i, entry in enumerate(entries):
            if wanted is not None and i not in wanted:
                continue
            if self.match is not None and not self.match(entry):
                continue
            if self.rate is not None and rng.random() >= self.rate:
                continue
            chosen.append(i)
        return chosen


@dataclass(frozen=True)
class NoAnswer(Fault):
    """The service accepts the request and never answers. The attempt waits the calling client's
    ``read_timeout`` (botocore's ``Config``, 60 s by default) with ``time.sleep``, which a
    simulation makes virtual (inside a handler the wait spends the invocation's time and ends at
    the function's timeout), then botocore raises ``ReadTimeoutError``, which every retry mode
    retries. Recorded as kind ``"no answer"``, one per attempt."""


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedEntry:
    """One entry of a batch call that the injector reported as failed."""

    index: int  #: position in the request's list (for BatchWriteItem: in request order)
    entry: Any  #: the request entry, as sent
    error_code: str | None  #: None for DynamoDB UnprocessedItems
    error_message: str | None


@dataclass(frozen=True)
class Injection:
    """A record of one injected fault.

    ``kind`` is ``"error"`` (one per faulted HTTP attempt, ``attempt`` counts from 1),
    ``"no answer"`` (one per attempt that waited its read timeout, ``status`` 0) or ``"partial"``
    (one per call, ``status`` 200, ``failed`` lists the failed entries).
    ``call`` is the call's number among the calls of that operation (as ``calls()`` counts).
    ``time`` is the injector's ``clock()`` when one was given.
    """

    seq: int
    service: str
    operation: str
    call: int
    kind: str
    code: str | None
    status: int
    message: str | None
    attempt: int | None = None
    failed: tuple[FailedEntry, ...] = ()
    label: str | None = None
    time: float | None = None


@dataclass(eq=False)
class Rule:
    """A fault with its selection, as returned by :meth:`FaultInjector.add`."""

    service: str
    operation: str
    fault: Fault
    on_calls: frozenset[int] | None = None
    rate: float | None = None
    when: Callable[[Mapping[str, Any]], bool] | None = None
    times: int | None = None
    attempts: int | None = None
    label: str | None = None
    enabled: bool = True
    hits: int = 0  #: calls this rule has faulted
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def _applies_to(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)

    def _selects(self, number: int, params: Mapping[str, Any]) -> bool:
        if not self.enabled or (self.times is not None and self.hits >= self.times):
            return False
        if self.on_calls is not None and number not in self.on_calls:
            return False
        if self.when is not None and not self.when(params):
            return False
        if self.rate is not None and self.rng.random() >= self.rate:
            return False
        return True


# --------------------------------------------------------------------------------------------
# Batch adapters: take entries out of the serialized request and put failures back in
# --------------------------------------------------------------------------------------------


class _Adapter:
    def entries(self, params: Mapping[str, Any]) -> list[Any]:
        raise NotImplementedError

    def keep(self, body: dict[str, Any], keep: set[int]) -> None:
        raise NotImplementedError

    def merge(self, parsed: dict[str, Any], failed: list[FailedEntry], total: int, fault: PartialFailure) -> None:
        raise NotImplementedError

    def default_error(self, service: str, params: Mapping[str, Any]) -> str | None:
        return "InternalFailure"


class _IndexedResults(_Adapter):
    """Responses with one result per request entry, in order (PutEvents, PutRecords)."""

    def __init__(self, list_key: str, count_key: str, default_code: str):
        self.list_key, self.count_key, self.default_code = list_key, count_key, default_code

    def entries(self, params):
        return list(params.get(self.list_key) or [])

    def keep(self, body, keep):
        body[self.list_key] = [e for i, e in enumerate(body.get(self.list_key) or []) if i in keep]

    def merge(self, parsed, failed, total, fault):
        by_index = {f.index: f for f in failed}
        served = iter(parsed.get(self.list_key) or [])
        merged = []
        for i in range(total):
            if i in by_index:
                merged.append({"ErrorCode": by_index[i].error_code, "ErrorMessage": by_index[i].error_message})
            else:
                merged.append(next(served, {}))
        parsed[self.list_key] = merged
        parsed[self.count_key] = int(parsed.get(self.count_key) or 0) + len(failed)

    def default_error(self, service, params):
        return self.default_code


class _SqsBatch(_Adapter):
    def entries(self, params):
        return list(params.get("Entries") or [])

    def keep(self, body, keep):
        body["Entries"] = [e for i, e in enumerate(body.get("Entries") or []) if i in keep]

    def merge(self, parsed, failed, total, fault):
        parsed.setdefault("Successful", [])
        parsed["Failed"] = list(parsed.get("Failed") or []) + [
            {"Id": f.entry.get("Id"), "SenderFault": fault.sender_fault, "Code": f.error_code,
             "Message": f.error_message}
            for f in failed
        ]


class _DynamoBatchWrite(_Adapter):
    @staticmethod
    def _flat(request_items: Mapping[str, Any]) -> list[tuple[str, Any]]:
        return [(table, wr) for table, writes in (request_items or {}).items() for wr in writes]

    def entries(self, params):
        return [{"TableName": t, **wr} for t, wr in self._flat(params.get("RequestItems") or {})]

    def keep(self, body, keep):
        kept: dict[str, list[Any]] = {}
        for i, (table, wr) in enumerate(self._flat(body.get("RequestItems") or {})):
            if i in keep:
                kept.setdefault(table, []).append(wr)
        body["RequestItems"] = kept

    def merge(self, parsed, failed, total, fault):
        unprocessed = {t: list(v) for t, v in (parsed.get("UnprocessedItems") or {}).items()}
        for f in failed:
            write = {k: v for k, v in f.entry.items() if k != "TableName"}
            unprocessed.setdefault(f.entry["TableName"], []).append(write)
        parsed["UnprocessedItems"] = unprocessed

    def default_error(self, service, params):
        return None


_ADAPTERS: dict[tuple[str, str], _Adapter] = {
    ("events", "PutEvents"): _IndexedResults("Entries", "FailedEntryCount", "InternalFailure"),
    ("kinesis", "PutRecords"): _IndexedResults(
        "Records", "FailedRecordCount", "ProvisionedThroughputExceededException"
    ),
    ("sqs", "SendMessageBatch"): _SqsBatch(),
    ("sqs", "DeleteMessageBatch"): _SqsBatch(),
    ("sqs", "ChangeMessageVisibilityBatch"): _SqsBatch(),
    ("dynamodb", "BatchWriteItem"): _DynamoBatchWrite(),
}


# --------------------------------------------------------------------------------------------
# Wire encoding of error responses
# --------------------------------------------------------------------------------------------


class _RawBody(io.BytesIO):
    """The ``raw`` of an ``AWSResponse``: botocore reads it through ``stream()``."""

    def stream(self, **_: Any):
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def _cbor(obj: Any) -> bytes:
    """Minimal CBOR encoder (maps, text, ints, bools) for RPCv2-CBOR error bodies."""

    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for add, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | add]) + struct.pack(fmt, n)
        raise ValueError("integer too large")

    if isinstance(obj, bool):
        return b"\xf5" if obj else b"\xf4"
    if isinstance(obj, int):
        return head(0, obj) if obj >= 0 else head(1, -1 - obj)
    if isinstance(obj, str):
        data = obj.encode()
        return head(3, len(data)) + data
    if isinstance(obj, Mapping):
        return head(5, len(obj)) + b"".join(_cbor(str(k)) + _cbor(v) for k, v in obj.items())
    raise TypeError(f"cannot CBOR-encode {type(obj).__name__}")


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _error_response(spec: _ErrorSpec, service: str, model: Any, url: str, request_id: str) -> AWSResponse:
    service_model = model.service_model
    protocol = service_model.resolved_protocol
    query_compatible = "awsQueryCompatible" in service_model.metadata
    fault = "Sender" if spec.sender_fault else "Receiver"
    headers = {"x-amzn-RequestId": request_id}
    if protocol in ("json", "smithy-rpc-v2-cbor"):
        type_name = spec.shape if query_compatible else spec.code
        body_obj = {"__type": _JSON_NAMESPACES.get(service, "") + type_name, "message": spec.message, **spec.extra}
        if query_compatible:
            headers["x-amzn-query-error"] = f"{spec.code};{fault}"
        if protocol == "json":
            version = service_model.metadata.get("jsonVersion", "1.0")
            headers["Content-Type"] = f"application/x-amz-json-{version}"
            body = json.dumps(body_obj).encode()
        else:
            headers["Content-Type"] = "application/cbor"
            headers["smithy-protocol"] = "rpc-v2-cbor"
            body = _cbor(body_obj)
    elif protocol == "rest-json":
        headers["x-amzn-ErrorType"] = spec.code
        headers["Content-Type"] = "application/json"
        extra = dict(spec.extra)
        extra.setdefault("Type", "User" if spec.sender_fault else "Service")
        body = json.dumps({**extra, "message": spec.message}).encode()
    elif protocol == "rest-xml":
        headers["Content-Type"] = "application/xml"
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{_xml_escape(spec.code)}</Code>'
            f"<Message>{_xml_escape(spec.message)}</Message><RequestId>{request_id}</RequestId></Error>"
        ).encode()
    elif protocol == "ec2":
        headers["Content-Type"] = "text/xml;charset=UTF-8"
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{_xml_escape(spec.code)}'
            f"</Code><Message>{_xml_escape(spec.message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
    else:  # query
        namespace = service_model.metadata.get("xmlNamespace", "")
        body = (
            f'<ErrorResponse xmlns="{namespace}"><Error><Type>{fault}</Type><Code>{_xml_escape(spec.code)}'
            f"</Code><Message>{_xml_escape(spec.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers["Content-Type"] = "text/xml"
    headers["Content-Length"] = str(len(body))
    return AWSResponse(url, spec.status, headers, _RawBody(body))


def error_response(model: Any, code: str, message: str, *, status: int, url: str, request_id: str) -> AWSResponse:
    """An error response to one call of the operation `model`, in its service's wire protocol:
    for the simulator's own refusals (IAM enforcement) that botocore must parse as AWS's."""
    spec = _spec_from_model(model, code, status, message, None)
    return _error_response(spec, model.service_model.service_name, model, url, request_id)


def _redirect(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("https", FAULTED_HOST, parts.path or "/", parts.query, ""))


# --------------------------------------------------------------------------------------------
# Per-call state and the botocore handlers
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Call:
    service: str
    operation: str
    send_event: str
    model: Any
    params: Mapping[str, Any]
    numbers: dict[FaultInjector, int] = field(default_factory=dict)
    injector: FaultInjector | None = None
    rule: Rule | None = None
    error: _ErrorSpec | None = None
    failed: list[FailedEntry] = field(default_factory=list)
    total: int = 0
    attempt: int = 0
    last_request: Any = None


class _Dispatcher:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.active: list[FaultInjector] = []


_DISPATCH = _Dispatcher()


def _on_before_parameter_build(params: Any, model: Any, context: dict, **_: Any) -> None:
    if _DISPATCH.active and isinstance(context, dict):
        context[_PARAMS_KEY] = params


def _on_before_call(model: Any, params: dict, context: dict, **_: Any) -> Any:
    if not _DISPATCH.active or not isinstance(context, dict) or _STATE_KEY in context:
        return None
    service_model = model.service_model
    call = _Call(
        service=service_model.service_name,
        operation=model.name,
        send_event=f"before-send.{service_model.service_id.hyphenize()}.{model.name}",
        model=model,
        params=context.get(_PARAMS_KEY) or {},
    )
    with _DISPATCH.lock:
        for injector in list(_DISPATCH.active):
            injector._plan(call)
    # The call's state travels in its request context (the same dict reaches every attempt's
    # prepared request), so each attempt finds its own call, however calls nest or end.
    context[_STATE_KEY] = call
    if not call.failed:  # no fault, or an error fault (injected per attempt at before-send)
        return None
    if len(call.failed) < call.total:  # partial failure: send only the surviving entries
        keep = set(range(call.total)) - {f.index for f in call.failed}
        body = json.loads(params["body"] or b"{}")
        _ADAPTERS[(call.service, call.operation)].keep(body, keep)
        params["body"] = json.dumps(body, separators=(",", ":")).encode()
        return None
    # Every entry fails: answer the call here with AWS's 200 batch response; nothing is sent.
    assert call.injector is not None
    call.attempt = 1
    with _DISPATCH.lock:
        for injector in call.numbers:
            injector._attempts[(call.service, call.operation)] += 1
        request_id = call.injector._request_id()
    parsed: dict[str, Any] = {}
    _merge_partial(call, parsed)
    parsed["ResponseMetadata"] = {
        "RequestId": request_id,
        "HTTPStatusCode": 200,
        "HTTPHeaders": {"x-amzn-requestid": request_id},
        "RetryAttempts": 0,
    }
    http = AWSResponse(params.get("url", ""), 200, {"x-amzn-RequestId": request_id}, _RawBody(b""))
    return http, parsed


def _merge_partial(call: _Call, parsed: dict[str, Any]) -> None:
    assert call.rule is not None and isinstance(call.rule.fault, PartialFailure)
    _ADAPTERS[(call.service, call.operation)].merge(parsed, call.failed, call.total, call.rule.fault)


def _on_before_send(request: Any, event_name: str, **_: Any) -> Any:
    context = getattr(request, "context", None)
    call = context.get(_STATE_KEY) if isinstance(context, dict) else None
    if call is None or call.send_event != event_name or call.last_request is request:
        return None
    call.last_request = request
    call.attempt += 1
    with _DISPATCH.lock:
        for injector in call.numbers:
            injector._attempts[(call.service, call.operation)] += 1
    rule, spec, injector = call.rule, call.error, call.injector
    if rule is None or injector is None or (spec is None and not isinstance(rule.fault, NoAnswer)):
        return None
    if rule.attempts is not None and call.attempt > rule.attempts:
        return None
    if spec is None:  # NoAnswer: raised before moto's own before-send handler can answer
        read_timeout = request.context["client_config"].read_timeout
        with _DISPATCH.lock:
            injector._record(call, kind="no answer", code=None, status=0,
                             message=f"no answer within the read timeout ({read_timeout:g} s)",
                             attempt=call.attempt)
        time.sleep(read_timeout)
        raise ReadTimeoutError(endpoint_url=request.url)
    with _DISPATCH.lock:
        request_id = injector._request_id()
        injector._record(call, kind="error", code=spec.code, status=spec.status, message=spec.message,
                         attempt=call.attempt)
    response = _error_response(spec, call.service, call.model, request.url, request_id)
    request.url = _redirect(request.url)
    return response


def _on_after_call(http_response: Any, parsed: Any, context: dict, **_: Any) -> None:
    if not isinstance(context, dict):
        return
    call = context.pop(_STATE_KEY, None)
    if call is None:
        return
    # Merge entry failures into the service's answer (an all-failed call was answered whole).
    if call.failed and len(call.failed) < call.total:
        if getattr(http_response, "status_code", 500) < 300 and isinstance(parsed, dict):
            _merge_partial(call, parsed)


# (event, handler, register first?). Order matters, and botocore calls the handlers of an event
# from the most specific registration to the least, wildcard branches first (hooks._PrefixTrie):
# * before-send and after-call use "*.*" and register first, so they run before every other
#   handler of the event, including ones registered for the exact service and operation: a
#   faulted attempt is answered (and redirected) before moto or a simulator hook sees it, and
#   entry failures are merged before boto3's DynamoDB resource layer deserializes the response
#   ("after-call.dynamodb"), so injected UnprocessedItems are deserialized like real ones;
# * before-parameter-build uses the bare event, so it runs after boto3's own transformations
#   ("before-parameter-build.dynamodb") and sees the parameters as they will be serialized.
# Every handler is idempotent, so a client that has them twice behaves the same.
_HANDLERS: tuple[tuple[str, Callable[..., Any], bool], ...] = (
    ("before-parameter-build", _on_before_parameter_build, False),
    ("before-call", _on_before_call, False),
    ("before-send.*.*", _on_before_send, True),
    ("after-call.*.*", _on_after_call, True),
)


def _register(emitter: Any) -> None:
    for event, handler, first in _HANDLERS:
        unique_id = f"lambdasim-faults:{event}"
        if first:
            emitter.register_first(event, handler, unique_id=unique_id)
        else:
            emitter.register(event, handler, unique_id=unique_id)


def _install() -> None:
    builtin = botocore.handlers.BUILTIN_HANDLERS
    if any(spec[1] is _on_before_send for spec in builtin):
        return
    for event, handler, first in _HANDLERS:
        if first:
            builtin.append((event, handler, botocore.handlers.REGISTER_FIRST))
        else:
            builtin.append((event, handler))
    # A boto3 default session made before this import would miss the built-in handlers.
    import sys

    boto3 = sys.modules.get("boto3")
    default = getattr(boto3, "DEFAULT_SESSION", None) if boto3 is not None else None
    if default is not None:
        _register(default._session.get_component("event_emitter"))


_install()


# --------------------------------------------------------------------------------------------
# The injector
# --------------------------------------------------------------------------------------------

_MODEL_SESSION: botocore.session.Session | None = None


def _operation_names(service: str) -> list[str]:
    global _MODEL_SESSION
    if _MODEL_SESSION is None:
        _MODEL_SESSION = botocore.session.Session()
    try:
        return list(_MODEL_SESSION.get_service_model(service).operation_names)
    except Exception as exc:  # botocore raises UnknownServiceError
        raise ValueError(f"unknown AWS service {service!r} (use the boto3 client name)") from exc


class FaultInjector:
    """Makes chosen AWS calls fail as AWS fails them, deterministically by seed.

    Active between :meth:`start` and :meth:`stop`, or inside ``with``. Counts every API call
    made while active (:meth:`calls`), injected or not, and records every injected fault
    (:attr:`injected`). Independent of any clock; pass ``clock`` (a function returning the
    current time) to timestamp records. Pass ``seed`` or your own ``rng``.
    """

    def __init__(
        self,
        seed: int | str = 0,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.seed = seed
        self._rng = rng
        self._clock = clock
        self._rules: list[Rule] = []
        self._injected: list[Injection] = []
        self._calls: Counter[tuple[str, str]] = Counter()
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._ids = random.Random(rng.getrandbits(64) if rng is not None else f"{seed}:request-ids")

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FaultInjector:
        """Activate: from now on calls are counted and rules apply."""
        with _DISPATCH.lock:
            if self not in _DISPATCH.active:
                _DISPATCH.active.append(self)
        return self

    def stop(self) -> None:
        """Deactivate. Records and counters are kept."""
        with _DISPATCH.lock:
            if self in _DISPATCH.active:
                _DISPATCH.active.remove(self)

    @property
    def active(self) -> bool:
        return self in _DISPATCH.active

    def __enter__(self) -> FaultInjector:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @staticmethod
    def patch_client(client: Any) -> Any:
        """Cover a client created before ``lambdasim.faults`` was imported. Returns the client."""
        _register(client.meta.events)
        return client

    # -- rules ------------------------------------------------------------------------------

    def add(
        self,
        service: str,
        operation: str,
        fault: Fault,
        *,
        on_calls: int | Iterable[int] | None = None,
        rate: float | None = None,
        when: Callable[[Mapping[str, Any]], bool] | None = None,
        times: int | None = None,
        attempts: int | None = None,
        label: str | None = None,
    ) -> Rule:
        """Add a fault for ``service`` (boto3 client name) and ``operation``.

        ``operation`` is the API name (``"PutEvents"``) or the boto3 method (``"put_events"``);
        ``"*"`` means every operation of the service (not for PartialFailure).

        A call is faulted when all given conditions hold: it is one of the ``on_calls``-th calls
        of its operation (1-based, as :meth:`calls` counts them), ``when(params)`` is true for
        its API parameters, a draw from the rule's seeded generator is below ``rate``, and the
        rule has faulted fewer than ``times`` calls. The first rule (in order of adding) that
        selects a call applies to it.

        For an error fault or ``NoAnswer``, ``attempts`` is how many HTTP attempts of a selected
        call fail before AWS recovers: ``None`` (default) fails every attempt, so the caller gets the
        error once botocore's retries are spent; ``1`` fails only the first attempt, which
        botocore retries (if retryable) and which then succeeds.
        """
        if not isinstance(fault, Fault):
            raise TypeError(f"fault must be a Fault, got {type(fault).__name__}")
        if service != "*":
            names = _operation_names(service)
            if operation != "*":
                operation = _canonical_operation(service, operation, names)
        elif operation != "*":
            raise ValueError("a specific operation needs a specific service")
        if isinstance(fault, PartialFailure) and "*" in (service, operation):
            raise ValueError("PartialFailure needs a specific service and operation")
        fault._check(service, operation)
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, got {rate}")
        calls_set = None
        if on_calls is not None:
            calls_set = frozenset([on_calls] if isinstance(on_calls, int) else on_calls)
            if any(not isinstance(n, int) or n < 1 for n in calls_set):
                raise ValueError("on_calls are 1-based call numbers")
        if attempts is not None and attempts < 1:
            raise ValueError("attempts must be >= 1 (or None for every attempt)")
        if times is not None and times < 0:
            raise ValueError("times must be >= 0")
        same = sum(1 for r in self._rules if (r.service, r.operation) == (service, operation))
        if self._rng is not None:
            rule_rng = random.Random(self._rng.getrandbits(64))
        else:
            rule_rng = random.Random(f"{self.seed}:{service}:{operation}:{same}")
        rule = Rule(service, operation, fault, calls_set, rate, when, times, attempts, label, rng=rule_rng)
        with _DISPATCH.lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: Rule) -> None:
        """Remove a rule returned by :meth:`add`."""
        with _DISPATCH.lock:
            self._rules.remove(rule)

    def clear(self) -> None:
        """Remove every rule (records and counters are kept)."""
        with _DISPATCH.lock:
            self._rules.clear()

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    # -- what happened ----------------------------------------------------------------------

    @property
    def injected(self) -> list[Injection]:
        """Every injected fault, in order."""
        return list(self._injected)

    def failed_entries(self, service: str | None = None, operation: str | None = None) -> list[FailedEntry]:
        """Every entry reported failed by a partial failure, optionally for one operation."""
        return [
            f
            for rec in self._injected
            if rec.kind == "partial" and service in (None, rec.service) and operation in (None, rec.operation)
            for f in rec.failed
        ]

    def calls(self, service: str | None = None, operation: str | None = None) -> int:
        """API calls made while active (each counts once, however many retries it took).

        ``calls("events", "PutEvents")``; ``calls("dynamodb")`` for a whole service;
        ``calls()`` for all.
        """
        return self._count(self._calls, service, operation)

    def attempts(self, service: str | None = None, operation: str | None = None) -> int:
        """HTTP attempts made while active: calls plus botocore's retries."""
        return self._count(self._attempts, service, operation)

    @property
    def call_counts(self) -> dict[tuple[str, str], int]:
        """Calls per ``(service, operation)``."""
        return dict(self._calls)

    def reset(self) -> None:
        """Forget records and counters (rules stay)."""
        with _DISPATCH.lock:
            self._injected.clear()
            self._calls.clear()
            self._attempts.clear()

    def __repr__(self) -> str:
        return (
            f"FaultInjector(seed={self.seed!r}, rules={len(self._rules)}, "
            f"injected={len(self._injected)}, active={self.active})"
        )

    # -- internals (called by the botocore handlers, under the dispatcher lock) ------------

    @staticmethod
    def _count(counter: Counter[tuple[str, str]], service: str | None, operation: str | None) -> int:
        if service is not None and operation is not None:
            operation = _canonical_operation(service, operation, None)
        return sum(
            n for (s, o), n in counter.items() if service in (None, s) and operation in (None, o)
        )

    def _request_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _record(self, call: _Call, **fields: Any) -> None:
        rule = call.rule
        self._injected.append(
            Injection(
                seq=len(self._injected) + 1,
                service=call.service,
                operation=call.operation,
                call=call.numbers[self],
                label=rule.label if rule is not None else None,
                time=self._clock() if self._clock is not None else None,
                **fields,
            )
        )

    def _plan(self, call: _Call) -> None:
        key = (call.service, call.operation)
        self._calls[key] += 1
        number = call.numbers[self] = self._calls[key]
        if call.rule is not None:  # another injector already faulted this call
            return
        for rule in self._rules:
            if not rule._applies_to(call.service, call.operation) or not rule._selects(number, call.params):
                continue
            fault = rule.fault
            if isinstance(fault, _ErrorFault):
                call.error = fault._resolve(call.service, call.model, call.params)
            elif isinstance(fault, NoAnswer):
                pass  # answered (not at all) per attempt at before-send
            elif isinstance(fault, PartialFailure):
                adapter = _ADAPTERS[key]
                entries = adapter.entries(call.params)
                chosen = fault._select(entries, rule.rng)
                if not chosen:
                    continue
                code = fault.error_code or adapter.default_error(call.service, call.params)
                message = fault.error_message
                if message is None and code is not None:
                    message = _message(call.service, code, call.params)
                call.total = len(entries)
                call.failed = [FailedEntry(i, entries[i], code, message) for i in chosen]
            else:  # pragma: no cover - only the classes above exist
                continue
            call.rule, call.injector = rule, self
            rule.hits += 1
            if call.failed:
                self._record(call, kind="partial", code=code, status=200, message=message,
                             failed=tuple(call.failed))
            return


_OPERATION_CACHE: dict[tuple[str, str], str] = {}


def _canonical_operation(service: str, operation: str, names: list[str] | None) -> str:
    key = (service, operation)
    if key in _OPERATION_CACHE:
        return _OPERATION_CACHE[key]
    if names is None:
        try:
            names = _operation_names(service)
        except ValueError:
            return operation
    if operation in names:
        result = operation
    else:
        by_snake = {xform_name(n): n for n in names}
        if operation not in by_snake:
            raise ValueError(f"{service} has no operation {operation!r}")
        result = by_snake[operation]
    _OPERATION_CACHE[key] = result
    return result
