"""IAM enforced on what a function's code calls, and what its role grants that a run never used.

`Simulator(iam=True)` (`sim.iam`): every AWS API call that a function's code makes (in process
or in an isolated worker) is checked against the policies of the function's execution role, as
AWS checks a request signed with the role's credentials (rules in `rules/iam.py`): allowed, or
answered with AWS's access denied error in the service's wire protocol, naming the action, the
principal (the role's session, `arn:aws:sts::<account>:assumed-role/<role>/<function>`, from
STS AssumeRole in moto) and the resource. Every check is kept in `calls`; `permissions(function)`
sets what the role grants against what the run used, `unused_permissions(function)` keeps what
it never used, `report()` prints both.

Why the simulator evaluates the policies itself instead of turning on moto's enforcement
(`INITIAL_NO_AUTH_ACTION_COUNT`): moto checks resource ARNs for only a few services (SQS, S3,
IAM, STS; the others match only "*"), names actions after the signing name (`lambda:Invoke`
where IAM says `lambda:InvokeFunction`), turns an Allow whose condition fails into a Deny, does
not read NotResource, and applies to every client in the process, the simulator's own included.

Whose call it is: the function whose code runs now (the runtime's current frame) makes a call
when none of its own calls is in flight; a call made while one is (moto delivering a message,
the simulator reading moto, a nested synchronous invocation's platform work) is the service's,
not the function's, and is not checked. Credentials cannot tell functions apart here: every
function shares one process, and boto3's default session keeps the first credentials it finds.

What the platform does with the role on the function's behalf (writing its logs, an SQS event
source mapping's ReceiveMessage/DeleteMessage/GetQueueAttributes, X-Ray segments of a traced
function: https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html) is
not enforced; it counts as used in `permissions` (`PermissionUse.used_by` names it "Lambda").
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.handlers
from botocore.parsers import create_parser

from . import faults, moto_state
from .rules import iam as rules
from .rules.iam import Decision, Statement

__all__ = ["IamCall", "IamEnforcement", "PermissionUse"]

_PARAMS_KEY = "lambdasim.iam.params"
_OWNER_KEY = "lambdasim.iam.owner"

#: Who used a grant when the platform did, on the function's behalf (`PermissionUse.used_by`).
LAMBDA_SERVICE = "Lambda"
EVENTBRIDGE_PRINCIPAL = "events.amazonaws.com"

#: (code, HTTP status) of an access denied error where the service's is not AccessDeniedException
#: with 400 (the JSON services' Common Errors pages): SNS from its API model, S3 from
#: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html ; SQS and STS as their
#: APIs answer (not confirmed on an AWS page); Lambda's AccessDeniedException is a 403.
_DENIED = {"sns": ("AuthorizationError", 403), "s3": ("AccessDenied", 403), "sqs": ("AccessDenied", 403),
           "sts": ("AccessDenied", 403), "lambda": ("AccessDeniedException", 403)}


@dataclass(frozen=True)
class IamCall:
    """One request IAM decided: a function's call of one operation, for one resource it names."""

    at_us: int
    function: str
    principal: str
    service: str
    operation: str
    action: str
    resource: str
    decision: Decision

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOWED


@dataclass(frozen=True)
class PermissionUse:
    """One grant of a role's policy (an action pattern on a resource pattern) and the allowed
    requests that used it: `(action, resource, by)`, by the function or by Lambda on its behalf."""

    policy: str
    action: str
    resource: str
    used_by: tuple[tuple[str, str, str], ...]

    @property
    def used(self) -> bool:
        return bool(self.used_by)


class IamEnforcement:
    """`sim.iam`: the checks of every function's calls against its execution role's policies."""

    def __init__(self, *, runtime: Any, account_id: str, region: str, clock_us: Callable[[], int],
                 invocations: Sequence[Any], queue_sources: Callable[[str], list[str]],
                 assume_role: Callable[[str, str], str]):
        self.enforce = True  # False: every call is recorded and allowed (a dry run of the policies)
        self.calls: list[IamCall] = []
        # EventBridge's, SNS's and S3's deliveries checked against their targets' resource
        # policies (`function` is the rule's, topic's or bucket's ARN, `principal` the service).
        self.resource_checks: list[IamCall] = []
        self._runtime = runtime
        self._account = account_id
        self._region = region
        self._clock_us = clock_us
        self._invocations = invocations
        self._queue_sources = queue_sources
        self._assume_role = assume_role
        self._statements: dict[str, list[Statement]] = {}
        self._principals: dict[str, str] = {}
        # The frames (invocations) with a call of their own in flight: a call made meanwhile is
        # the service's work, not the function's.
        self._in_flight: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        with _LOCK:
            _ACTIVE.append(self)

    def stop(self) -> None:
        with _LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)

    def refresh(self) -> None:
        """Read the roles' policies again at the next call (after a role changed outside a deploy)."""
        self._statements.clear()

    # -- policies -----------------------------------------------------------------------------
    def role_arn(self, function: str) -> str | None:
        return moto_state.function_role_arn(self._account, self._region, function)

    def statements(self, function: str) -> list[Statement]:
        """The statements of every identity policy of the function's role (inline and managed)."""
        role = self.role_arn(function)
        if role is None:
            return []
        if role not in self._statements:
            found: list[Statement] = []
            for name, document in moto_state.role_policy_documents(self._account, role):
                found.extend(rules.statements(name, json.loads(document) if isinstance(document, str) else document))
            self._statements[role] = found
        return self._statements[role]

    def principal(self, function: str) -> str:
        """The ARN of the role's session the function's calls are made with (STS AssumeRole)."""
        if function not in self._principals:
            role = self.role_arn(function) or f"arn:aws:iam::{self._account}:role/unknown"
            self._principals[function] = self._assume_role(role, function)
        return self._principals[function]

    # -- the checks ---------------------------------------------------------------------------
    def _check(self, function: str, model: Any, params: dict[str, Any]) -> list[IamCall]:
        service = model.service_model.service_name
        request = rules.request_of(
            service, model.name, params, region=self._region, account=self._account,
            secret_arn=lambda secret_id: moto_state.secret_arn(self._account, self._region, secret_id))
        if request.action.lower() == "sts:getcalleridentity":  # always allowed (the evaluation-logic page)
            return []
        statements = self.statements(function)
        principal = self.principal(function)
        checked = [IamCall(self._clock_us(), function, principal, service, model.name, request.action, resource,
                           rules.evaluate(statements, request.action, resource))
                   for resource in request.resources]
        self.calls.extend(checked)
        return checked

    def _denied_response(self, model: Any, call: IamCall, url: str) -> tuple[Any, dict[str, Any]]:
        code, status = _DENIED.get(call.service, ("AccessDeniedException", 400))
        message = rules.denied_message(call.principal, call.action, call.resource, call.decision)
        request_id = self._runtime.new_request_id()
        http = faults.error_response(model, code, message, status=status, url=url, request_id=request_id)
        parser = create_parser(model.service_model.resolved_protocol)
        parsed = parser.parse({"status_code": http.status_code, "headers": http.headers, "body": http.content},
                              model.output_shape)
        parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
        return http, parsed

    # -- resource policies: EventBridge, SNS and S3 delivering to a function or a queue -------
    def target_refusal(self, kind: str, target_arn: str, rule_arn: str) -> tuple[int, str, str] | None:
        """Whether the resource policy of a rule's Lambda or SQS target lets EventBridge deliver
        (`EventBridgeTargets.authorize`): None when it does, else the refusal's (status, code,
        message), which EventBridge does not retry (a FailedInvocation; the rule's DLQ gets
        ERROR_CODE NO_PERMISSIONS). A function needs a permission for events.amazonaws.com
        (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-lambda-permissions),
        a queue a policy allowing it sqs:SendMessage
        (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions);
        the request's aws:SourceArn is the rule's ARN, aws:SourceAccount the account. The
        message is the simulator's: AWS documents none for this failure."""
        if kind not in ("lambda", "sqs"):
            return None
        decision, action = self._resource_decision(kind, target_arn, EVENTBRIDGE_PRINCIPAL, rule_arn)
        if decision is Decision.ALLOWED:
            return None
        code = "AccessDenied" if kind == "sqs" else "AccessDeniedException"
        return 403, code, (f"{EVENTBRIDGE_PRINCIPAL} is not authorized to perform: {action} on resource: "
                           f"{target_arn}: its resource-based policy does not allow the rule {rule_arn}")

    def push_allowed(self, principal: str, function_arn: str, source_arn: str) -> bool:
        """Whether a function's resource policy lets SNS (`sns.amazonaws.com`, the topic's ARN as
        aws:SourceArn) or S3 (`s3.amazonaws.com`, the bucket's) invoke it: a permission allowing
        lambda:InvokeFunction (https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html,
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html).
        Kept in `resource_checks` like EventBridge's."""
        return self._resource_decision("lambda", function_arn, principal, source_arn)[0] is Decision.ALLOWED

    def _resource_decision(self, kind: str, target_arn: str, principal: str, source_arn: str) -> tuple[Decision, str]:
        if kind == "lambda":
            statements, action = moto_state.function_resource_policy(self._account, self._region, target_arn), \
                "lambda:InvokeFunction"
        else:
            statements, action = (moto_state.queue_policy(target_arn) or {}).get("Statement") or [], "sqs:SendMessage"
        decision = rules.evaluate(rules.statements(f"{kind} resource policy", {"Statement": statements}), action,
                                  target_arn, {"aws:SourceArn": source_arn, "aws:SourceAccount": self._account},
                                  principal=principal)
        self.resource_checks.append(IamCall(self._clock_us(), source_arn, principal, kind, "deliver",
                                            action, target_arn, decision))
        return decision, action

    # -- what was used ------------------------------------------------------------------------
    def platform_requests(self, function: str) -> list[tuple[str, str]]:
        """What Lambda asked of the role for the function during the run (not enforced): its log
        group and streams, the SQS queues its mappings read, X-Ray segments when traced."""
        records = [r for r in self._invocations if r.function_name == function]
        if not records:
            return []
        group = f"arn:aws:logs:{self._region}:{self._account}:log-group:/aws/lambda/{function}"
        found = [("logs:CreateLogGroup", group)]
        for stream in dict.fromkeys(r.log_stream for r in records if r.log_stream):
            found += [("logs:CreateLogStream", f"{group}:log-stream:{stream}"),
                      ("logs:PutLogEvents", f"{group}:log-stream:{stream}")]
        if any(r.source == "sqs" for r in records):
            for queue in self._queue_sources(function):
                found += [(f"sqs:{a}", queue) for a in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")]
        config, _ = moto_state.resolve_function(self._account, self._region, function, None)
        if config.tracing_mode == "Active":
            found += [("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")]
        return found

    def permissions(self, function: str) -> list[PermissionUse]:
        """Every grant of the function's role, with the allowed requests that used it."""
        requests = [(c.action, c.resource, function) for c in self.calls if c.function == function and c.allowed]
        requests += [(a, r, LAMBDA_SERVICE) for a, r in self.platform_requests(function)]
        found = []
        for statement, action, resource in rules.grants(self.statements(function)):
            used = tuple(dict.fromkeys(
                (a, r, by) for a, r, by in requests if rules.grant_used(statement, action, resource, a, r)))
            found.append(PermissionUse(statement.policy, action, resource, used))
        return found

    def unused_permissions(self, function: str) -> list[PermissionUse]:
        """What the function's role grants that the run never used (action and resource patterns)."""
        return [p for p in self.permissions(function) if not p.used]

    def denied(self, function: str | None = None) -> list[IamCall]:
        return [c for c in self.calls if not c.allowed and function in (None, c.function)]

    def report(self, functions: Sequence[str] | None = None) -> str:
        """Per function: the calls denied, and each grant of its role, used (by what) or not."""
        names = list(functions) if functions is not None else list(dict.fromkeys(c.function for c in self.calls))
        lines = []
        for function in names:
            lines.append(f"{function} (role {self.role_arn(function)})")
            for call in dict.fromkeys((c.action, c.resource) for c in self.denied(function)):
                lines.append(f"  DENIED  {call[0]} on {call[1]}")
            for use in self.permissions(function):
                if use.used:
                    actions = sorted({a for a, _, _ in use.used_by})
                    lines.append(f"  used    {use.action} on {use.resource}: {', '.join(actions)}")
                else:
                    lines.append(f"  UNUSED  {use.action} on {use.resource} ({use.policy})")
        return "\n".join(lines)


# -- botocore's events: every client, the handlers' included ----------------------------------

_LOCK = threading.RLock()
_ACTIVE: list[IamEnforcement] = []


def _on_before_parameter_build(params: Any, context: Any, **_: Any) -> None:
    if _ACTIVE and isinstance(context, dict):
        context[_PARAMS_KEY] = params


def _on_before_call(model: Any, params: Any, context: Any, **_: Any) -> Any:
    if not _ACTIVE or not isinstance(context, dict):
        return None
    enforcement = _ACTIVE[-1]
    frame = enforcement._runtime.current_frame
    if frame is None or frame.function is None or enforcement._in_flight.get(frame):
        return None  # not a function's code, or the service's own work inside a function's call
    enforcement._in_flight[frame] = 1
    context[_OWNER_KEY] = (enforcement, frame)
    try:
        checked = enforcement._check(frame.function, model, context.get(_PARAMS_KEY) or {})
    except BaseException:  # after-call never comes for a call that fails here
        _on_call_done(context)
        raise
    refused = next((c for c in checked if not c.allowed), None)
    if refused is None or not enforcement.enforce:
        return None
    return enforcement._denied_response(model, refused, params.get("url", ""))


def _on_call_done(context: Any, **_: Any) -> None:
    owner = context.pop(_OWNER_KEY, None) if isinstance(context, dict) else None
    if owner is not None:
        enforcement, frame = owner
        enforcement._in_flight.pop(frame, None)


_HANDLERS = (
    ("before-parameter-build", _on_before_parameter_build),
    ("before-call", _on_before_call, botocore.handlers.REGISTER_FIRST),
    ("after-call", _on_call_done),
    ("after-call-error", _on_call_done),
)


def _register() -> None:
    """Every botocore session created from now on checks its calls (handlers' clients included);
    boto3's default session, if it exists already, too (the fault injector does the same)."""
    import boto3

    botocore.handlers.BUILTIN_HANDLERS.extend(_HANDLERS)
    session = boto3.DEFAULT_SESSION
    if session is not None:
        events = session._session.get_component("event_emitter")
        for event, handler, *first in _HANDLERS:
            if first:
                events.register_first(event, handler, unique_id=f"lambdasim-iam:{event}")
            else:
                events.register(event, handler, unique_id=f"lambdasim-iam:{event}")


_register()
