"""The course's serverless rules for the readiness review.

Each rule reads the template after the SAM transform (`lambdasim.sam.transformed`), so it sees
the roles, permissions, event source mappings and subscriptions SAM generates, not only what
the author wrote; each says why it matters (`why`) and names the AWS page that says so.

Values are read as deployed with the template's parameter defaults: a `Ref` to a parameter is
its `Default`, an `Fn::If` is the branch its condition picks, `AWS::NoValue` is absent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from cfnlint.data import AdditionalSpecs
from cfnlint.helpers import load_resource

# Services that invoke a function asynchronously (invocation-async.html): a function they may
# invoke needs somewhere for the events it fails on.
ASYNC_INVOKERS = ("events.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com",
                  "iot.amazonaws.com", "scheduler.amazonaws.com")
# Lambda's defaults when a property is left out (API_CreateFunction.html; SQS: API_SetQueueAttributes.html).
DEFAULT_FUNCTION_TIMEOUT_S = 3
DEFAULT_VISIBILITY_TIMEOUT_S = 30
# At least six times the function timeout, plus the batching window (services-sqs-configure.html).
VISIBILITY_TIMEOUT_FACTOR = 6
# Every SAM function's role gets AWSLambdaBasicExecutionRole (logs:CreateLogGroup,
# CreateLogStream, PutLogEvents on "*"): scoping it means writing the role by hand, which the
# review does not ask of every function.
TOLERATED_MANAGED_POLICIES = frozenset({"AWSLambdaBasicExecutionRole"})
# An environment variable whose name holds one of these names a queue its function dead-letters to.
DEAD_LETTER_VARIABLE_WORDS = ("DEAD_LETTER", "DLQ")


def _resolve(template: dict[str, Any], value: Any) -> Any:
    """`value` as deployed with the parameters' defaults (None: left out)."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and arg == "AWS::NoValue":
            return None
        if key == "Ref" and arg in template.get("Parameters", {}):
            return template["Parameters"][arg].get("Default")
        if key == "Fn::If" and isinstance(arg, list) and len(arg) == 3:
            return _resolve(template, arg[1] if _condition(template, arg[0]) else arg[2])
    return value


def _condition(template: dict[str, Any], name_or_expr: Any) -> bool:
    expr = template.get("Conditions", {}).get(name_or_expr) if isinstance(name_or_expr, str) else name_or_expr
    if isinstance(expr, dict) and len(expr) == 1:
        (key, args), = expr.items()
        if key == "Fn::Equals":
            left, right = (_resolve(template, a) for a in args)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not _condition(template, args[0])
        if key == "Fn::And":
            return all(_condition(template, a) for a in args)
        if key == "Fn::Or":
            return any(_condition(template, a) for a in args)
        if key == "Condition":
            return _condition(template, args)
    raise ValueError(f"condition {name_or_expr!r} cannot be evaluated")


def _number(template: dict[str, Any], value: Any, default: float) -> float:
    resolved = _resolve(template, value)
    return default if resolved is None else float(resolved)


def logical_id(value: Any) -> str | None:
    """The resource a `Ref` or `Fn::GetAtt` names (None for anything else)."""
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            return arg[0] if isinstance(arg, list) else str(arg).split(".")[0]
    return None


def _referenced(value: Any) -> set[str]:
    """Every logical id a value refers to, at any depth (`Ref`, `Fn::GetAtt`, `${X}` in `Fn::Sub`)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if (named := logical_id(value)) is not None:
            found.add(named)
        if "Fn::Sub" in value:
            text = value["Fn::Sub"][0] if isinstance(value["Fn::Sub"], list) else value["Fn::Sub"]
            found.update(part.split("}")[0].split(".")[0] for part in str(text).split("${")[1:])
        for inner in value.values():
            found |= _referenced(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _referenced(inner)
    return found


def _of_type(template: dict[str, Any], *types: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template.get("Resources", {}).items() if r.get("Type") in types}


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties") or {}


@dataclass(frozen=True)
class FailurePath:
    """Where one kind of failure ends: `what` fails, into the queue or topic `sink`."""

    what: str
    sink: str


def failure_paths(template: dict[str, Any]) -> list[FailurePath]:
    """Every failure path the template configures, with the resource it ends in."""
    paths: list[FailurePath] = []
    for name, rule in _of_type(template, "AWS::Events::Rule").items():
        for target in _props(rule).get("Targets") or []:
            if sink := logical_id((target.get("DeadLetterConfig") or {}).get("Arn")):
                paths.append(FailurePath(f"EventBridge deliveries that fail ({name} → {target.get('Id')})", sink))
    for name, queue in _of_type(template, "AWS::SQS::Queue").items():
        redrive = _resolve(template, _props(queue).get("RedrivePolicy")) or {}
        if sink := logical_id(redrive.get("deadLetterTargetArn")):
            paths.append(FailurePath(f"messages received too often from {name} (redrive)", sink))
    for name, config in _of_type(template, "AWS::Lambda::EventInvokeConfig").items():
        on_failure = ((_props(config).get("DestinationConfig") or {}).get("OnFailure") or {})
        if sink := logical_id(on_failure.get("Destination")):
            paths.append(FailurePath(f"asynchronous invocations of {logical_id(_props(config).get('FunctionName'))} that fail", sink))
    functions = _of_type(template, "AWS::Lambda::Function")
    for name, function in functions.items():
        if sink := logical_id((_props(function).get("DeadLetterConfig") or {}).get("TargetArn")):
            paths.append(FailurePath(f"asynchronous invocations of {name} that fail (function DLQ)", sink))
    for name, mapping in _of_type(template, "AWS::Lambda::EventSourceMapping").items():
        on_failure = ((_props(mapping).get("DestinationConfig") or {}).get("OnFailure") or {})
        if sink := logical_id(on_failure.get("Destination")):
            paths.append(FailurePath(f"stream batches {name} gives up on", sink))
    for name, subscription in _of_type(template, "AWS::SNS::Subscription").items():
        redrive = _props(subscription).get("RedrivePolicy") or {}
        if sink := logical_id(redrive.get("deadLetterTargetArn")):
            paths.append(FailurePath(f"SNS deliveries that fail ({name})", sink))
    sinks = {path.sink for path in paths}
    queues = set(_of_type(template, "AWS::SQS::Queue"))
    # A function told where a DLQ is (an environment variable) sends its own rejects there: a
    # queue another path ends in, or one the variable's name calls a dead-letter queue.
    for name, function in functions.items():
        variables = (_props(function).get("Environment") or {}).get("Variables") or {}
        told = _referenced(variables) & sinks
        for variable, value in variables.items():
            if any(word in variable.upper() for word in DEAD_LETTER_VARIABLE_WORDS):
                told |= _referenced(value) & queues
        for sink in sorted(told):
            paths.append(FailurePath(f"records {name} dead-letters itself", sink))
    return paths


# A rule's check: (logical id, what is wrong) for each finding in a transformed template.
Check = Callable[[dict[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    why: str
    source_url: str
    check: Check


def _failure_destination_on_every_async_path(template: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name, rule in _of_type(template, "AWS::Events::Rule").items():
        for target in _props(rule).get("Targets") or []:
            if not target.get("DeadLetterConfig"):
                found.append((name,
                              f"rule {name}'s target {target.get('Id')} has no DeadLetterConfig: "
                              "an event EventBridge cannot deliver is dropped (eb-rule-dlq.html)"))
    queues = _of_type(template, "AWS::SQS::Queue")
    for name, mapping in _of_type(template, "AWS::Lambda::EventSourceMapping").items():
        source = logical_id(_props(mapping).get("EventSourceArn"))
        if source in queues:
            if not _resolve(template, _props(queues[source]).get("RedrivePolicy")):
                found.append((source,
                              f"queue {source} feeds a function but has no RedrivePolicy: a poison "
                              "message is received again until its retention ends (sqs-dead-letter-queues.html)"))
        elif source is not None and not (_props(mapping).get("DestinationConfig") or {}).get("OnFailure"):
            found.append((name,
                          f"stream mapping {name} has no OnFailure destination: a failing batch is "
                          "retried until its records expire (kinesis-on-failure-destination.html)"))
    functions = _of_type(template, "AWS::Lambda::Function")
    covered = {logical_id(_props(c).get("FunctionName"))
               for c in _of_type(template, "AWS::Lambda::EventInvokeConfig").values()
               if ((_props(c).get("DestinationConfig") or {}).get("OnFailure"))}
    covered |= {name for name, f in functions.items() if _props(f).get("DeadLetterConfig")}
    for permission in _of_type(template, "AWS::Lambda::Permission").values():
        target = logical_id(_props(permission).get("FunctionName"))
        principal = _props(permission).get("Principal")
        if target in functions and principal in ASYNC_INVOKERS and target not in covered:
            covered.add(target)  # one finding per function
            found.append((target,
                          f"function {target} is invoked asynchronously by {principal} but has no "
                          "on-failure destination or DLQ: an event that fails three times is dropped"))
    return found


def _one_dead_letter_queue_per_failure_path(template: dict[str, Any]) -> list[tuple[str, str]]:
    by_sink: dict[str, list[str]] = defaultdict(list)
    for path in failure_paths(template):
        by_sink[path.sink].append(path.what)
    return [(sink, f"{sink} takes {len(whats)} failure paths: " + "; ".join(whats))
            for sink, whats in by_sink.items() if len(whats) > 1]


def _alarm_on_every_dead_letter_queue(template: dict[str, Any]) -> list[tuple[str, str]]:
    alarmed = set()
    for alarm in _of_type(template, "AWS::CloudWatch::Alarm").values():
        text = json.dumps(_props(alarm))
        if "AWS/SQS" in text and "ApproximateNumberOfMessagesVisible" in text:
            alarmed |= _referenced(_props(alarm))
    return [(sink, f"dead-letter queue {sink} has no alarm on ApproximateNumberOfMessagesVisible")
            for sink in sorted({p.sink for p in failure_paths(template)} - alarmed)]


def _visibility_timeout_covers_retries(template: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    queues, functions = _of_type(template, "AWS::SQS::Queue"), _of_type(template, "AWS::Lambda::Function")
    for mapping in _of_type(template, "AWS::Lambda::EventSourceMapping").values():
        queue = logical_id(_props(mapping).get("EventSourceArn"))
        function = logical_id(_props(mapping).get("FunctionName"))
        if queue not in queues or function not in functions:
            continue
        timeout = _number(template, _props(functions[function]).get("Timeout"), DEFAULT_FUNCTION_TIMEOUT_S)
        window = _number(template, _props(mapping).get("MaximumBatchingWindowInSeconds"), 0)
        needed = VISIBILITY_TIMEOUT_FACTOR * timeout + window
        visibility = _number(template, _props(queues[queue]).get("VisibilityTimeout"), DEFAULT_VISIBILITY_TIMEOUT_S)
        if visibility < needed:
            found.append((queue,
                          f"queue {queue}'s visibility timeout is {visibility:g} s; {function} "
                          f"(timeout {timeout:g} s, window {window:g} s) needs at least {needed:g} s"))
    return found


def _queue_consumer_concurrency_bounded(template: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    queues, functions = _of_type(template, "AWS::SQS::Queue"), _of_type(template, "AWS::Lambda::Function")
    for name, mapping in _of_type(template, "AWS::Lambda::EventSourceMapping").items():
        function = logical_id(_props(mapping).get("FunctionName"))
        if logical_id(_props(mapping).get("EventSourceArn")) not in queues or function not in functions:
            continue
        scaling = _resolve(template, _props(mapping).get("ScalingConfig")) or {}
        reserved = _resolve(template, _props(functions[function]).get("ReservedConcurrentExecutions"))
        if _resolve(template, scaling.get("MaximumConcurrency")) is None and reserved is None:
            found.append((name,
                          f"{function} reads a queue with neither MaximumConcurrency on {name} nor "
                          "ReservedConcurrentExecutions (with the parameters' defaults)"))
    return found


def _log_retention_set(template: dict[str, Any]) -> list[tuple[str, str]]:
    groups = _of_type(template, "AWS::Logs::LogGroup")
    kept = {name for name, g in groups.items() if _resolve(template, _props(g).get("RetentionInDays"))}
    found: list[tuple[str, str]] = []
    for name, function in _of_type(template, "AWS::Lambda::Function").items():
        named = logical_id((_props(function).get("LoggingConfig") or {}).get("LogGroup"))
        retained = named in kept or any(name in _referenced(_props(groups[g]).get("LogGroupName")) for g in kept)
        if not retained:
            found.append((name, f"function {name}'s log group has no retention (kept forever)"))
    return found


@cache
def _actions_with_resources() -> dict[str, dict[str, Any]]:
    # cfn-lint's table of IAM actions and the resource types each can be scoped to.
    data: dict[str, dict[str, Any]] = load_resource(AdditionalSpecs, "Policies.json")
    return data


def scopable(action: str) -> bool:
    """True when the action can be scoped to a resource (so `"Resource": "*"` is broader than needed)."""
    service, _, name = action.lower().partition(":")
    spec = _actions_with_resources().get(service, {}).get("Actions", {}).get(name)
    return bool(spec and spec.get("Resources"))


def wildcard_problems(statements: list[dict[str, Any]]) -> list[str]:
    """What is broader than needed in a policy's Allow statements."""
    problems: list[str] = []
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, (str, dict)) else resources
        for action in actions:
            if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                problems.append(f"action {action}")
        if "*" in resources:
            scoped = [a for a in actions if isinstance(a, str) and "*" not in a and scopable(a)]
            if scoped:
                problems.append(f"{', '.join(scoped)} on resource *")
    return problems


@cache
def _aws_managed_policy(name: str) -> list[dict[str, Any]]:
    # moto bundles a copy of the AWS managed policies' documents.
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    document = json.loads(aws_managed_policies_data).get(name, {}).get("Document", {})
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _no_wildcard_in_function_policies(template: dict[str, Any]) -> list[tuple[str, str]]:
    roles = {logical_id(_props(f).get("Role")) for f in _of_type(template, "AWS::Lambda::Function").values()}
    found: list[tuple[str, str]] = []
    for name, role in _of_type(template, "AWS::IAM::Role").items():
        if name not in roles:
            continue
        for policy in _props(role).get("Policies") or []:
            document = _resolve(template, policy.get("PolicyDocument")) or {}
            for problem in wildcard_problems(_statements(document)):
                found.append((name,
                              f"role {name} (policy {policy.get('PolicyName')}) allows {problem}"))
        for arn in _props(role).get("ManagedPolicyArns") or []:
            policy_name = str(_resolve(template, arn)).rsplit("/", 1)[-1]
            if policy_name in TOLERATED_MANAGED_POLICIES:
                continue
            for problem in wildcard_problems(_aws_managed_policy(policy_name)):
                found.append((name,
                              f"role {name} (AWS managed {policy_name}) allows {problem}"))
    for name, policy in _of_type(template, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy").items():
        attached = {logical_id(r) for r in _props(policy).get("Roles") or []}
        if attached & roles:
            for problem in wildcard_problems(_statements(_props(policy).get("PolicyDocument") or {})):
                found.append((name, f"policy {name} allows {problem}"))
    return found


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _stateful_resources_protected(template: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name, resource in _of_type(template, "AWS::DynamoDB::Table", "AWS::S3::Bucket").items():
        missing = [attribute for attribute in ("DeletionPolicy", "UpdateReplacePolicy")
                   if resource.get(attribute) != "Retain"]
        if resource["Type"] == "AWS::DynamoDB::Table":
            pitr = _props(resource).get("PointInTimeRecoverySpecification") or {}
            if not _resolve(template, pitr.get("PointInTimeRecoveryEnabled")):
                missing.append("point-in-time recovery")
            if not _resolve(template, _props(resource).get("DeletionProtectionEnabled")):
                missing.append("DeletionProtectionEnabled")
        if missing:
            found.append((name, f"{name} lacks {', '.join(missing)}"))
    return found


RULES: tuple[Rule, ...] = (
    Rule("async-failure-destination", "Every asynchronous path has a DLQ or an on-failure destination",
         ("An event that fails on an asynchronous path and has nowhere to go is dropped: "
          "after EventBridge's retries, Lambda's two retries of an asynchronous event, "
          "a stream batch's retries, or as a message received maxReceiveCount times"),
         "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html", _failure_destination_on_every_async_path),
    Rule("one-dlq-per-failure-path", "One dead-letter queue per failure path",
         ("A DLQ shared by several failure paths holds messages of different shapes for "
          "different reasons: its alarm cannot say which path failed, and a redrive "
          "(which returns messages to their source queue) cannot be aimed at one path"),
         "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html", _one_dead_letter_queue_per_failure_path),
    Rule("alarm-on-every-dlq", "An alarm on every dead-letter queue",
         ("A message in a DLQ is a failure nobody sees until an alarm on the queue's "
          "ApproximateNumberOfMessagesVisible says so"),
         "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html", _alarm_on_every_dead_letter_queue),
    Rule("visibility-timeout", "Visibility timeout at least six times the function timeout",
         ("A queue whose visibility timeout is shorter than the consumer's retries and "
          "batching window hands a message in progress to a second invocation: "
          "at least 6 x the function timeout plus MaximumBatchingWindowInSeconds"),
         "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html", _visibility_timeout_covers_retries),
    Rule("queue-consumer-concurrency", "Reserved or maximum concurrency on every queue consumer",
         ("A queue consumer without a bound scales up to 1,250 concurrent invocations "
          "from a backlog, taking the account's concurrency from every other function "
          "and flooding what it writes to; MaximumConcurrency (2-1,000) or reserved concurrency caps it"),
         "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html", _queue_consumer_concurrency_bounded),
    Rule("log-retention", "Every function's log group has a retention",
         ("Lambda creates a function's log group on first use with no retention: its "
          "logs are kept, and billed for storage, forever. Declare the log group with RetentionInDays"),
         "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html", _log_retention_set),
    Rule("no-wildcard-permissions", "No wildcard action or resource in a function's policies",
         ("A function's role should allow the actions it calls on the resources it "
          "uses: a wildcard lets a bug or an injected payload reach everything else. "
          "'*' is right only for actions that cannot be scoped to a resource"),
         "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege", _no_wildcard_in_function_policies),
    Rule("stateful-resources-protected", "Stateful resources survive a stack deletion and a bad write",
         ("Deleting the stack, or a change that replaces the table, deletes its data "
          "unless DeletionPolicy and UpdateReplacePolicy are Retain; deletion protection "
          "refuses a DeleteTable; point-in-time recovery restores the table to any second of the last 35 days"),
         "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html", _stateful_resources_protected),
)
