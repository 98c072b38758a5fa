"""AWS Identity and Access Management: how a request from a function's execution role is allowed
or denied, and which action and resource each API call asks for.

Pure rules: no moto, no clock, no simulator. `lambdasim.iam` enforces them on the calls a
function's code makes.

Sources:

- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html :
  a request is implicitly denied unless a statement allows it; "an explicit deny in any policy
  overrides any allows"; within one account, identity-based and resource-based policies are
  combined: an Allow in either is enough.
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html and
  .../reference_policies_elements_notaction.html : Action and NotAction; action names are
  case-insensitive; `*` and `?` are wildcards.
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html and
  .../reference_policies_elements_notresource.html : Resource and NotResource; ARNs may use `*`
  and `?` in each segment; ARNs are case-sensitive.
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html :
  the condition operators evaluated here (StringEquals, StringLike, ArnEquals, ArnLike and their
  Not forms); a key missing from the request fails a positive operator.
- https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html : the message
  of an access denied error names the principal, the action, the resource and the policy type
  ("... is not authorized to perform: <action> on resource: <arn> because no identity-based policy
  allows the <action> action", "... with an explicit deny in an identity-based policy").
- https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html :
  each service's actions and the resource types they accept (a missing resource type: only "*").
  The operations this module maps are listed in `_RESOURCES`; an operation it does not map asks
  for `<prefix>:<Operation>` on "*" (see `request_of`).
- https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html :
  SQS batch operations need the permission of their single-message action (SendMessageBatch:
  sqs:SendMessage).

Context keys: a service's delivery carries `aws:SourceArn` and `aws:SourceAccount`; a function's
own call carries none, so a key fails a positive operator and satisfies a negated one, as a key
missing from a request does on AWS. Not evaluated (documented choice): operators other than
those above: a statement with one never applies (an Allow grants nothing, a Deny denies
nothing), so a run never passes on a permission AWS might refuse, though a conditional Deny AWS
would apply is missed; the keys AWS sets on a role's own calls (aws:PrincipalArn,
aws:RequestedRegion...); permissions boundaries, session policies, SCPs and KMS key policies.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

EVALUATION_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
ACCESS_DENIED_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html"


class Decision(enum.Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "implicit deny"
    EXPLICIT_DENY = "explicit deny"


@dataclass(frozen=True)
class Statement:
    """One statement of a policy, its elements as lists; `policy` names where it came from."""

    policy: str
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] | None = None
    principals: tuple[str, ...] | None = None  # resource policies: "*" or service/ARN names
    conditions: Mapping[str, Mapping[str, Any]] | None = None

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"


def _listed(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def statements(policy_name: str, document: Mapping[str, Any]) -> list[Statement]:
    """A policy document's statements (a single statement may be written without a list)."""
    raw = document.get("Statement") or []
    found = []
    for entry in raw if isinstance(raw, list) else [raw]:
        principal = entry.get("Principal")
        principals = None
        if principal is not None:
            principals = ("*",) if principal == "*" else tuple(
                p for values in principal.values() for p in _listed(values))
        found.append(Statement(
            policy=policy_name,
            effect=str(entry.get("Effect")),
            actions=_listed(entry.get("Action")),
            not_actions=_listed(entry["NotAction"]) if "NotAction" in entry else None,
            resources=_listed(entry.get("Resource")),
            not_resources=_listed(entry["NotResource"]) if "NotResource" in entry else None,
            principals=principals,
            conditions=entry.get("Condition"),
        ))
    return found


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # IAM's wildcards are * and ? only: every other character is literal (fnmatch would read [..]).
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """Action names compare case-insensitively (reference_policies_elements_action.html)."""
    return _pattern(pattern, True).match(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """ARNs compare case-sensitively, `*` and `?` wildcards (reference_policies_elements_resource.html)."""
    return _pattern(pattern, False).match(resource) is not None


def _applies_to_action(statement: Statement, action: str) -> bool:
    if statement.not_actions is not None:
        return not any(action_matches(p, action) for p in statement.not_actions)
    return any(action_matches(p, action) for p in statement.actions)


def _applies_to_resource(statement: Statement, resource: str) -> bool:
    if statement.not_resources is not None:
        return not any(resource_matches(p, resource) for p in statement.not_resources)
    return any(resource_matches(p, resource) for p in statement.resources)


_STRING_OPERATORS = {
    "StringEquals": (False, False), "StringLike": (True, False),
    "ArnEquals": (False, False), "ArnLike": (True, False),
    "StringNotEquals": (False, True), "StringNotLike": (True, True),
    "ArnNotEquals": (False, True), "ArnNotLike": (True, True),
}


def _condition_holds(conditions: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, str]) -> bool:
    """Every condition holds for the request's context keys (keys compare case-insensitively);
    an operator not evaluated here makes the statement not apply (module docstring)."""
    if not conditions:
        return True
    keys = {k.lower(): v for k, v in context.items()}
    for operator, tests in conditions.items():
        if operator not in _STRING_OPERATORS:
            return False
        like, negated = _STRING_OPERATORS[operator]
        for key, expected in tests.items():
            actual = keys.get(key.lower())
            if actual is None:  # a missing key fails a positive operator, satisfies a negated one
                if not negated:
                    return False
                continue
            hit = any((resource_matches(e, actual) if like else actual == e) for e in _listed(expected))
            if hit == negated:
                return False
    return True


def matching(statements_: Iterable[Statement], action: str, resource: str,
             context: Mapping[str, str] | None = None, principal: str | None = None) -> list[Statement]:
    """The statements that apply to this request (for a resource policy, to this principal)."""
    found = []
    for statement in statements_:
        if principal is not None and statement.principals is not None and not (
                "*" in statement.principals or principal in statement.principals):
            continue
        if (_applies_to_action(statement, action) and _applies_to_resource(statement, resource)
                and _condition_holds(statement.conditions, context or {})):
            found.append(statement)
    return found


def evaluate(statements_: Iterable[Statement], action: str, resource: str,
             context: Mapping[str, str] | None = None, principal: str | None = None) -> Decision:
    """Explicit deny wins, else an Allow allows, else the request is implicitly denied
    (reference_policies_evaluation-logic.html)."""
    applying = matching(statements_, action, resource, context, principal)
    if any(not s.allows for s in applying):
        return Decision.EXPLICIT_DENY
    return Decision.ALLOWED if applying else Decision.IMPLICIT_DENY


def denied_message(principal_arn: str, action: str, resource: str, decision: Decision) -> str:
    """The message AWS's access denied errors carry (troubleshoot_access-denied.html)."""
    on = f" on resource: {resource}" if resource != "*" else ""
    why = ("with an explicit deny in an identity-based policy" if decision is Decision.EXPLICIT_DENY
           else f"because no identity-based policy allows the {action} action")
    return f"User: {principal_arn} is not authorized to perform: {action}{on} {why}"


# -- which action and resource a call asks for ------------------------------------------------

#: botocore's service name -> the IAM service prefix, where they differ
#: (each service's page in the Service Authorization Reference).
_PREFIXES = {"monitoring": "cloudwatch", "cloudwatch": "cloudwatch", "iot-data": "iot", "stepfunctions": "states"}

#: operation -> IAM action, where the action is not the operation's name.
_ACTIONS = {
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("lambda", "InvokeAsync"): "lambda:InvokeFunction",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "HeadBucket"): "s3:ListBucket",
}


@dataclass(frozen=True)
class Request:
    """What one API call asks IAM for: one action on one or more resources."""

    action: str
    resources: tuple[str, ...]


def _table(region: str, account: str, name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"


def _queue(region: str, account: str, url: str) -> str:
    if url.startswith("arn:"):
        return url
    path = urlsplit(url).path.strip("/").split("/")
    queue_account, name = (path[0], path[1]) if len(path) >= 2 else (account, path[-1])
    return f"arn:aws:sqs:{region}:{queue_account}:{name}"


def _bus(region: str, account: str, name: str | None) -> str:
    name = name or "default"
    return name if name.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{name}"


def _function(region: str, account: str, name: str, qualifier: str | None) -> str:
    if name.startswith("arn:"):
        return name
    if ":" in name:  # name:qualifier
        name, qualifier = name.split(":", 1)
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _parameter(region: str, account: str, name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def _resources(service: str, operation: str, params: Mapping[str, Any], region: str, account: str,
               secret_arn: Any) -> tuple[str, ...]:
    p = params
    if service == "dynamodb":
        if "RequestItems" in p:
            return tuple(_table(region, account, t) for t in p["RequestItems"])
        if "TransactItems" in p:
            return tuple(dict.fromkeys(_table(region, account, next(iter(item.values()))["TableName"])
                                       for item in p["TransactItems"]))
        name = p.get("TableName") or p.get("TableArn") or p.get("ResourceArn")
        return (_table(region, account, name),) if name else ("*",)
    if service == "sqs":
        if "QueueUrl" in p:
            return (_queue(region, account, p["QueueUrl"]),)
        if "QueueName" in p:
            return (f"arn:aws:sqs:{region}:{p.get('QueueOwnerAWSAccountId') or account}:{p['QueueName']}",)
        return ("*",)
    if service == "events" and operation == "PutEvents":
        return tuple(dict.fromkeys(_bus(region, account, e.get("EventBusName")) for e in p.get("Entries") or []))
    if service == "lambda" and "FunctionName" in p:
        return (_function(region, account, p["FunctionName"], p.get("Qualifier")),)
    if service == "sns" and ("TopicArn" in p or "TargetArn" in p):
        return (p.get("TopicArn") or p["TargetArn"],)
    if service == "s3" and "Bucket" in p:
        key = p.get("Key")
        return (f"arn:aws:s3:::{p['Bucket']}/{key}",) if key is not None else (f"arn:aws:s3:::{p['Bucket']}",)
    if service == "ssm":
        if "Names" in p:
            return tuple(_parameter(region, account, n) for n in p["Names"])
        if "Name" in p:
            return (_parameter(region, account, p["Name"]),)
        if "Path" in p:
            return (_parameter(region, account, p["Path"]),)
    if service == "secretsmanager" and "SecretId" in p:
        return (secret_arn(p["SecretId"]),)
    if service == "kinesis" and ("StreamName" in p or "StreamARN" in p):
        return (p.get("StreamARN") or f"arn:aws:kinesis:{region}:{account}:stream/{p['StreamName']}",)
    return ("*",)


def request_of(service: str, operation: str, params: Mapping[str, Any], *, region: str, account: str,
               secret_arn: Any = lambda secret_id: secret_id) -> Request:
    """The action and resources an API call asks for. Operations not mapped in `_resources` ask
    for "*", which only a statement on "*" grants (as for actions without resource types).
    `secret_arn` resolves a Secrets Manager secret's name to its ARN (which ends in a random suffix)."""
    prefix = _PREFIXES.get(service, service)
    action = _ACTIONS.get((service, operation), f"{prefix}:{operation}")
    return Request(action, _resources(service, operation, params, region, account, secret_arn))


def grants(statements_: Sequence[Statement]) -> list[tuple[Statement, str, str]]:
    """Every (statement, action pattern, resource pattern) an identity policy's Allow statements
    grant, for the unused-permission report (NotAction/NotResource grant their complement: `NOT ...`)."""
    found = []
    for statement in statements_:
        if not statement.allows:
            continue
        actions = statement.actions if statement.not_actions is None else (
            "NOT " + ",".join(statement.not_actions),)
        resources = statement.resources if statement.not_resources is None else (
            "NOT " + ",".join(statement.not_resources),)
        found.extend((statement, a, r) for a in actions for r in resources)
    return found


def grant_used(statement: Statement, action_pattern: str, resource_pattern: str, action: str, resource: str) -> bool:
    """Whether an allowed request used this grant of the statement."""
    if action_pattern.startswith("NOT "):
        action_ok = _applies_to_action(statement, action)
    else:
        action_ok = action_matches(action_pattern, action)
    if resource_pattern.startswith("NOT "):
        resource_ok = _applies_to_resource(statement, resource)
    else:
        resource_ok = resource_matches(resource_pattern, resource)
    return action_ok and resource_ok
