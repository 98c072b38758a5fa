"""IAM enforced on functions' calls, resource policies of EventBridge targets, and the
unused-permission report (lambdasim/iam.py, rules/iam.py, _moto_patches/iam.py).

Each test's docstring names the AWS documentation page whose rule it pins (the site's fidelity
table is built from them). The rules tests need no simulation; the others share one simulation
with IAM enforced (module scope), each with functions and roles of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lambdasim import Simulator
from lambdasim.rules import iam as rules
from lambdasim.rules.iam import Decision

# One worker runs the module's tests in order: they share one simulation (module scope).
pytestmark = pytest.mark.xdist_group("iam")

FIXTURES = Path(__file__).parent / "fixtures" / "iam"
ACCOUNT, REGION = "123456789012", "us-east-1"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=3, iam=True) as simulator:
        ddb = simulator.client("dynamodb")
        for table in ("allowed", "other"):
            ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        yield simulator


def _function(sim: Simulator, name: str, statements: list[dict], handler: str = "calls") -> str:
    """A function whose role holds one inline policy of `statements` (none if empty); returns the role's name."""
    iam = sim.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=TRUST)["Role"]
    if statements:
        iam.put_role_policy(RoleName=role["RoleName"], PolicyName="inline",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    sim.create_function(FunctionName=name, Handler=f"handlers.{handler}", code_dir=FIXTURES, Role=role["Arn"])
    return role["RoleName"]


def _run(sim: Simulator, name: str, payload: dict) -> object:
    answer = sim.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def _put(table: str, item_id: str = "1") -> dict:
    return {"service": "dynamodb", "method": "put_item",
            "params": {"TableName": table, "Item": {"id": {"S": item_id}}}}


# -- the rules (no simulation) --------------------------------------------------------------------


def test_an_explicit_deny_wins_and_nothing_allowed_is_denied():
    """Evaluation: an explicit Deny in any policy overrides any Allow; a request no statement
    allows is implicitly denied
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    statements = rules.statements("p", {"Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": _table_arn("allowed")}]})
    assert rules.evaluate(statements, "dynamodb:GetItem", _table_arn("allowed")) is Decision.ALLOWED
    assert rules.evaluate(statements, "dynamodb:DeleteItem", _table_arn("allowed")) is Decision.EXPLICIT_DENY
    assert rules.evaluate(statements, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q") is Decision.IMPLICIT_DENY
    assert rules.evaluate([], "dynamodb:GetItem", _table_arn("allowed")) is Decision.IMPLICIT_DENY


def test_action_names_ignore_case_arns_do_not_and_wildcards_match_within_them():
    """Action: names are case-insensitive, `*` and `?` are wildcards
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html);
    Resource: ARNs are case-sensitive, with the same wildcards
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html)."""
    statements = rules.statements("p", {"Statement": {
        "Effect": "Allow", "Action": ["DynamoDB:get*", "sqs:?eceiveMessage"],
        "Resource": ["arn:aws:dynamodb:*:*:table/orders-*", "arn:aws:sqs:*:*:jobs"]}})
    assert rules.evaluate(statements, "dynamodb:GetItem", _table_arn("orders-1")) is Decision.ALLOWED
    assert rules.evaluate(statements, "dynamodb:GetItem", _table_arn("Orders-1")) is Decision.IMPLICIT_DENY
    assert rules.evaluate(statements, "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:jobs") is Decision.ALLOWED
    assert rules.evaluate(statements, "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:1:jobs2") is Decision.IMPLICIT_DENY
    # A dot or bracket in a pattern is itself, not a regular expression's or fnmatch's wildcard.
    assert not rules.resource_matches("arn:aws:s3:::a.b", "arn:aws:s3:::axb")
    assert not rules.resource_matches("arn:aws:s3:::[ab]", "arn:aws:s3:::a")


def test_not_action_and_not_resource_apply_to_everything_else():
    """NotAction matches every action except those listed
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html);
    NotResource every resource except those listed
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html)."""
    statements = rules.statements("p", {"Statement": [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": _table_arn("allowed")}]})
    assert rules.evaluate(statements, "dynamodb:PutItem", _table_arn("allowed")) is Decision.ALLOWED
    assert rules.evaluate(statements, "dynamodb:PutItem", _table_arn("other")) is Decision.EXPLICIT_DENY
    assert rules.evaluate(statements, "iam:CreateRole", "*") is Decision.IMPLICIT_DENY


def test_a_condition_on_the_source_arn_is_evaluated_and_others_never_apply():
    """Condition operators: ArnEquals/ArnLike and String operators against the request's keys; a
    key the request lacks fails a positive operator
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html).
    Keys and operators the simulator does not evaluate make a statement not apply: an Allow then
    grants nothing and a Deny denies nothing (documented in rules/iam.py)."""
    rule = "arn:aws:events:us-east-1:123456789012:rule/orders"
    statements = rules.statements("queue policy", {"Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
         "Resource": "*", "Condition": {"ArnEquals": {"aws:SourceArn": rule}}},
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]})
    queue = "arn:aws:sqs:us-east-1:123456789012:q"
    events = "events.amazonaws.com"
    assert rules.evaluate(statements, "sqs:SendMessage", queue, {"aws:SourceArn": rule}, events) is Decision.ALLOWED
    assert rules.evaluate(statements, "sqs:SendMessage", queue, {"aws:SourceArn": rule + "-2"},
                          events) is Decision.IMPLICIT_DENY
    assert rules.evaluate(statements, "sqs:SendMessage", queue, {}, events) is Decision.IMPLICIT_DENY
    assert rules.evaluate(statements, "sqs:SendMessage", queue, {"aws:SourceArn": rule},
                          "sns.amazonaws.com") is Decision.IMPLICIT_DENY


# -- enforcement in a simulation ------------------------------------------------------------------


def test_a_call_the_role_does_not_allow_is_refused_as_aws_refuses_it(sim):
    """A function's calls are made with its execution role's permissions
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html); a refused
    call's error names the principal, the action, the resource and why
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html)."""
    role = _function(sim, "writer", [{"Effect": "Allow", "Action": "dynamodb:PutItem",
                                      "Resource": _table_arn("allowed")}])
    ok, refused = _run(sim, "writer", {"calls": [_put("allowed"), _put("other")]})
    assert ok == {"ok": True}
    principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/writer"
    assert refused == {"ok": False, "code": "AccessDeniedException", "status": 400, "message": (
        f"User: {principal} is not authorized to perform: dynamodb:PutItem on resource: "
        f"{_table_arn('other')} because no identity-based policy allows the dynamodb:PutItem action")}
    assert "Item" not in sim.client("dynamodb").get_item(TableName="other", Key={"id": {"S": "1"}})
    checked = [(c.action, c.resource, c.decision) for c in sim.iam.calls if c.function == "writer"]
    assert checked == [("dynamodb:PutItem", _table_arn("allowed"), Decision.ALLOWED),
                       ("dynamodb:PutItem", _table_arn("other"), Decision.IMPLICIT_DENY)]


def test_an_explicit_deny_is_named_in_the_error(sim):
    """An explicit Deny overrides the role's Allow, and the error says so
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html)."""
    _function(sim, "no-deletes", [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}])
    delete = {"service": "dynamodb", "method": "delete_item",
              "params": {"TableName": "allowed", "Key": {"id": {"S": "1"}}}}
    [refused] = _run(sim, "no-deletes", {"calls": [delete]})
    assert refused["code"] == "AccessDeniedException"
    assert refused["message"].endswith("with an explicit deny in an identity-based policy")


def test_sqs_batches_need_the_single_message_action_and_sns_refuses_with_its_own_code(sim):
    """SQS batch operations are authorized as their single-message action (SendMessageBatch needs
    sqs:SendMessage: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html);
    each service answers a refusal with its own error code (SNS: AuthorizationError, 403, in its
    API model: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html)."""
    url = sim.client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
    topic = sim.client("sns").create_topic(Name="news")["TopicArn"]
    _function(sim, "sender", [{"Effect": "Allow", "Action": "sqs:SendMessage",
                               "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"}])
    batch, receive, publish = _run(sim, "sender", {"calls": [
        {"service": "sqs", "method": "send_message_batch",
         "params": {"QueueUrl": url, "Entries": [{"Id": "1", "MessageBody": "a"}]}},
        {"service": "sqs", "method": "receive_message", "params": {"QueueUrl": url}},
        {"service": "sns", "method": "publish", "params": {"TopicArn": topic, "Message": "m"}}]})
    assert batch == {"ok": True}
    assert (receive["ok"], receive["code"]) == (False, "AccessDenied")
    assert "sqs:ReceiveMessage on resource: arn:aws:sqs:us-east-1:123456789012:jobs" in receive["message"]
    assert (publish["code"], publish["status"]) == ("AuthorizationError", 403)


def test_a_function_invoked_synchronously_calls_with_its_own_role(sim):
    """Each function's calls use its own execution role
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html): the caller
    needs lambda:InvokeFunction on the callee, the callee's writes are checked against the callee's
    role, and what the services do inside a call (moto running the callee) is not the caller's."""
    _function(sim, "callee", [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": _table_arn("other")}])
    _function(sim, "caller", [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                               "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:callee"}],
              handler="invoke_then_call")
    answer = _run(sim, "caller", {"function": "callee", "inner": [_put("other", "2")], "calls": [_put("other", "3")]})
    assert answer == {"inner": [{"ok": True}], "own": [answer["own"][0]]}
    assert answer["own"][0]["code"] == "AccessDeniedException"
    by_function = [(c.function, c.action, c.allowed) for c in sim.iam.calls if c.function in ("caller", "callee")]
    assert by_function == [("caller", "lambda:InvokeFunction", True), ("callee", "dynamodb:PutItem", True),
                           ("caller", "dynamodb:PutItem", False)]


def test_sam_policy_templates_and_managed_policies_make_the_role_and_unused_grants_are_reported(sim):
    """SAM expands a policy template into the role's inline policy
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html:
    DynamoDBReadPolicy) and attaches AWSLambdaBasicExecutionRole through ManagedPolicyArns
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html),
    whose logs actions Lambda uses on the function's behalf
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html). What the
    role grants and the run never used is reported."""
    stack = sim.deploy(FIXTURES / "template.yaml", stack_name="reader", validate=False)
    table, reader = stack.outputs["TableName"], stack.function_name("Reader")
    get = {"service": "dynamodb", "method": "get_item", "params": {"TableName": table, "Key": {"id": {"S": "1"}}}}
    read, write = _run(sim, reader, {"calls": [get, _put(table)]})
    assert read == {"ok": True} and write["code"] == "AccessDeniedException"
    role = sim.iam.role_arn(reader).rsplit("/", 1)[-1]
    attached = sim.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSLambdaBasicExecutionRole"]
    unused = {(u.action, u.resource) for u in sim.iam.unused_permissions(reader)}
    assert ("dynamodb:Scan", _table_arn(table)) in unused and ("dynamodb:Query", _table_arn(table)) in unused
    used = {u.action: {by for _, _, by in u.used_by} for u in sim.iam.permissions(reader) if u.used}
    assert used["dynamodb:GetItem"] == {reader} and used["logs:PutLogEvents"] == {"Lambda"}
    assert "UNUSED  dynamodb:Scan" in sim.iam.report([reader])
    # A statement `!If [false, ..., !Ref AWS::NoValue]` leaves the list, as CloudFormation removes it
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html).
    conditional = sim.client("iam").get_role_policy(RoleName=stack.outputs["ConditionalRoleName"],
                                                    PolicyName="conditional")["PolicyDocument"]
    assert conditional["Statement"] == [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]


def test_eventbridge_delivers_only_where_the_targets_resource_policy_allows_it(sim):
    """An SQS target's queue policy must allow events.amazonaws.com sqs:SendMessage, a Lambda
    target's permission must allow it lambda:InvokeFunction
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html); a
    delivery refused for permissions is a FailedInvocation, not retried
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html)."""
    sqs, events, lam = sim.client("sqs"), sim.client("events"), sim.client("lambda")
    rule = events.put_rule(Name="to-targets", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    queues = {}
    for name in ("open-queue", "closed-queue"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queues[name] = (url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    sqs.set_queue_attributes(QueueUrl=queues["open-queue"][0], Attributes={"Policy": json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queues["open-queue"][1], "Condition": {"ArnEquals": {"aws:SourceArn": rule}}}]})})
    _function(sim, "permitted", [])
    _function(sim, "unpermitted", [])
    lam.add_permission(FunctionName="permitted", StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule)
    events.put_targets(Rule="to-targets", Targets=[
        {"Id": "open", "Arn": queues["open-queue"][1]}, {"Id": "closed", "Arn": queues["closed-queue"][1]},
        {"Id": "permitted", "Arn": lam.get_function(FunctionName="permitted")["Configuration"]["FunctionArn"]},
        {"Id": "unpermitted", "Arn": lam.get_function(FunctionName="unpermitted")["Configuration"]["FunctionArn"]}])
    events.put_events(Entries=[{"Source": "shop", "DetailType": "Order", "Detail": "{}"}])
    sim.run_for(5)
    delivered = {d.target_arn.rsplit(":", 1)[-1]: d.state for d in sim.eventbridge.deliveries if d.rule_arn == rule}
    assert delivered == {"open-queue": "delivered", "closed-queue": "dropped", "permitted": "delivered",
                         "unpermitted": "dropped"}
    assert sim.eventbridge.metrics("to-targets")["FailedInvocations"] == 2
    closed = sqs.receive_message(QueueUrl=queues["closed-queue"][0])
    assert "Messages" not in closed and "Messages" in sqs.receive_message(QueueUrl=queues["open-queue"][0])


def test_sns_and_s3_invoke_a_function_only_where_its_resource_policy_allows_them(sim):
    """SNS and S3 invoke a function only with a permission for their service principal and the
    topic or bucket as aws:SourceArn (https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html);
    a permission for another topic or bucket is no permission. SNS does not retry a delivery the
    endpoint's policy refuses (https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html)."""
    sns, s3, lam = sim.client("sns"), sim.client("s3"), sim.client("lambda")
    topic = sns.create_topic(Name="pushes")["TopicArn"]
    s3.create_bucket(Bucket="pushes-bucket")
    sources = {"sns": (topic, "sns.amazonaws.com"), "s3": ("arn:aws:s3:::pushes-bucket", "s3.amazonaws.com")}
    arns = {}
    for service, (source_arn, principal) in sources.items():
        for name, allowed_source in ((f"{service}-permitted", source_arn), (f"{service}-elsewhere", source_arn + "-other")):
            _function(sim, name, [])
            arns[name] = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
            lam.add_permission(FunctionName=name, StatementId=service, Action="lambda:InvokeFunction",
                               Principal=principal, SourceArn=allowed_source)
    for name in ("sns-permitted", "sns-elsewhere"):
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arns[name])
    s3.put_bucket_notification_configuration(Bucket="pushes-bucket", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arns[name], "Events": ["s3:ObjectCreated:*"]}
                                         for name in ("s3-permitted", "s3-elsewhere")]})
    sns.publish(TopicArn=topic, Message="{}")
    s3.put_object(Bucket="pushes-bucket", Key="a", Body=b"x")
    sim.run_for(5)
    assert {r.function_name for r in sim.invocations} & set(arns) == {"sns-permitted", "s3-permitted"}
    checks = {(c.resource.rsplit(":", 1)[-1], c.principal, c.allowed) for c in sim.iam.resource_checks
              if c.resource in arns.values()}
    assert checks == {("sns-permitted", "sns.amazonaws.com", True), ("sns-elsewhere", "sns.amazonaws.com", False),
                      ("s3-permitted", "s3.amazonaws.com", True), ("s3-elsewhere", "s3.amazonaws.com", False)}


def test_an_isolated_functions_calls_are_checked_as_an_in_process_ones(sim):
    """Isolation changes where the code runs, not whose role its calls use
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html): the worker's
    calls, made by the host on its behalf, are checked against the function's role."""
    from lambdasim.isolation import Isolation

    _function(sim, "isolated", [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": _table_arn("allowed")}])
    sim.map_handler("isolated", code_dir=FIXTURES, isolation=Isolation())
    ok, refused = _run(sim, "isolated", {"calls": [_put("allowed", "9"), _put("other", "9")]})
    assert ok == {"ok": True} and refused["code"] == "AccessDeniedException"
    assert [c.allowed for c in sim.iam.calls if c.function == "isolated"] == [True, False]
