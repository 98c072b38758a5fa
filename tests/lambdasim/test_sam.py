"""Conformance: deploying an AWS SAM template into the simulator (`lambdasim.sam.deploy`).

The fixture fixtures/sam/orders/template.yaml is an ordinary SAM template (`sam deploy` takes it
to an account unchanged): an SQS queue with a DLQ, a DynamoDB table with a stream, a custom
EventBridge bus with a rule to the queue, and two functions whose code lives in src/.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import boto3
import pytest

from lambdasim import Simulator, SimulatorNotRunning
from lambdasim.sam import (
    SamDeployError,
    SamDeployWarning,
    StackCreateError,
    TemplateError,
    deploy,
    find_template,
    lint,
    stacks,
)

SAM = Path(__file__).parent / "fixtures" / "sam"
ORDERS = SAM / "orders"
BROKEN = SAM / "broken"


@pytest.fixture
def orders(sim):
    """The orders fixture, deployed (lint is tested on its own; it costs ~0.5 s a deploy)."""
    return deploy(sim, ORDERS, stack_name="orders", validate=False)


def write_template(folder: Path, body: str, code: dict[str, str] | None = None) -> Path:
    """A small template in `folder`, with handler files {relative path: source}."""
    for name, source in (code or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(source)
    path = folder / "template.yaml"
    path.write_text(body)
    return path


ECHO = "def handler(event, context):\n    return {'echo': event, 'name': context.function_name}\n"


# -- the template as `sam deploy` would deploy it ---------------------------------------------


def test_cfn_lint_passes_on_the_fixture_template():
    """cfn-lint (https://github.com/aws-cloudformation/cfn-lint), the linter `sam validate --lint`
    runs: no error, warning or informational finding on the fixture."""
    from cfnlint import ManualArgs
    from cfnlint.api import lint_file

    matches = lint_file(ORDERS / "template.yaml", config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_deploy_creates_the_stack_with_outputs_and_parameters(sim):
    """sam-specification-template-anatomy.html and outputs-section-structure.html: the stack is
    CREATE_COMPLETE; Outputs are resolved values; parameters without a value take their Default
    (parameters-section-structure.html). Validation runs by default and passes."""
    stack = deploy(sim, ORDERS)  # the folder: its template.yaml, stack named after the folder
    assert stack.name == "orders"
    assert stack.status == "CREATE_COMPLETE"
    assert stack.parameters == {"Stage": "dev"}
    sqs, ddb = boto3.client("sqs"), boto3.client("dynamodb")
    queue_url = stack.outputs["OrdersQueueUrl"]
    assert queue_url == stack.physical_id("OrdersQueue")
    assert sqs.get_queue_url(QueueName=queue_url.rsplit("/", 1)[1])["QueueUrl"] == queue_url
    table = ddb.describe_table(TableName=stack.outputs["OrdersTableName"])["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    # aws-resource-events-eventbus.html: Ref returns the bus name.
    assert stack.outputs["OrdersBusName"] == "orders-orders"
    assert stack.outputs["OrderWriterFunctionArn"] == stack.functions["OrderWriterFunction"].arn
    described = boto3.client("cloudformation").describe_stacks(StackName="orders")["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert stacks(sim) == {"orders": stack}


def test_parameters_override_defaults_and_are_checked(sim, tmp_path):
    """parameters-section-structure.html / API_CreateStack.html: a value overrides the Default
    and must satisfy AllowedValues; CloudFormation refuses unknown parameters and parameters
    without a value or Default. Nothing is created for a refused template."""
    stack = deploy(sim, ORDERS, stack_name="prod-orders", parameters={"Stage": "prod"}, validate=False)
    assert stack.parameters == {"Stage": "prod"}
    config = boto3.client("lambda").get_function_configuration(FunctionName=stack.function_name("OrderEventsFunction"))
    assert config["Environment"]["Variables"]["STAGE"] == "prod"

    with pytest.raises(TemplateError, match=r"Parameter 'Stage' must be one of AllowedValues"):
        deploy(sim, ORDERS, stack_name="qa", parameters={"Stage": "qa"}, validate=False)
    with pytest.raises(TemplateError, match=r"Parameters: \[Nope\] do not exist in the template"):
        deploy(sim, ORDERS, stack_name="nope", parameters={"Nope": "x"}, validate=False)
    required = write_template(tmp_path, "Parameters:\n  Name: {Type: String}\n"
                                        "Resources:\n  Q: {Type: AWS::SQS::Queue}\n")
    with pytest.raises(TemplateError, match=r"Parameters: \[Name\] must have values"):
        deploy(sim, required, stack_name="required", validate=False)
    names = [s["StackName"] for s in boto3.client("cloudformation").list_stacks()["StackSummaries"]]
    assert names == ["prod-orders"]


# -- functions ---------------------------------------------------------------------------------


def test_functions_run_the_handler_from_their_codeuri_folder(orders, sim):
    """sam-resource-function.html (CodeUri, Handler, Environment): boto3 `invoke` runs
    `app.handler` from the function's CodeUri folder, with the variables the template sets
    (`!Ref OrdersBus` is the bus name, STAGE comes from Globals and the Stage parameter)."""
    lam = boto3.client("lambda")
    name = orders.function_name("OrderEventsFunction")
    response = lam.invoke(FunctionName=name, Payload=json.dumps({"detail-type": "Ping"}))
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response
    assert body["function"] == name
    assert body["bus"] == orders.outputs["OrdersBusName"]
    assert body["stage"] == "dev"
    assert body["detail_type"] == "Ping"
    assert Path(body["code_file"]) == ORDERS / "src" / "order_events" / "app.py"
    assert orders.functions["OrderEventsFunction"].code_dir == ORDERS / "src" / "order_events"
    assert sim.invocations[-1].function_name == name


def test_sqs_function_writes_to_the_table_its_template_names(orders):
    """sam-resource-function.html + services-sqs-errorhandling.html: the order writer gets
    TABLE_NAME from `!Ref OrdersTable`, writes the good record there and reports the bad one
    in batchItemFailures."""
    lam, ddb = boto3.client("lambda"), boto3.client("dynamodb")
    event = {"Records": [{"messageId": "m1", "body": json.dumps({"orderId": "o-1"})},
                         {"messageId": "m2", "body": "not json"}]}
    response = lam.invoke(FunctionName=orders.function_name("OrderWriterFunction"), Payload=json.dumps(event))
    assert json.loads(response["Payload"].read()) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    items = ddb.scan(TableName=orders.outputs["OrdersTableName"])["Items"]
    assert items == [{"orderId": {"S": "o-1"}, "stage": {"S": "dev"}}]


def test_globals_and_function_properties_reach_lambda(orders):
    """sam-specification-template-anatomy-globals.html: Runtime, MemorySize and Timeout from
    Globals apply to every function; ReservedConcurrentExecutions reaches Lambda
    (sam-resource-function.html). Physical names are <stack>-<LogicalId>-<suffix>."""
    lam = boto3.client("lambda")
    for logical_id, fn in orders.functions.items():
        config = lam.get_function_configuration(FunctionName=fn.name)
        assert (config["Runtime"], config["MemorySize"], config["Timeout"]) == ("python3.12", 256, 10)
        assert fn.name.startswith(f"orders-{logical_id}-")
    assert orders.functions["OrderWriterFunction"].handler == "app.lambda_handler"
    writer = orders.function_name("OrderWriterFunction")
    assert lam.get_function_concurrency(FunctionName=writer)["ReservedConcurrentExecutions"] == 10


def test_architectures_from_globals_reach_lambda(orders):
    """sam-resource-function.html (Architectures): arm64 from Globals; it sets the price of
    every GB-second. (moto 5.2.5's CloudFormation alone passes only 7 properties of
    AWS::Lambda::Function to create_function; lambdasim._moto_patches passes them all.)"""
    config = boto3.client("lambda").get_function_configuration(FunctionName=orders.function_name("OrderWriterFunction"))
    assert config["Architectures"] == ["arm64"]


def role_policy(iam, role: str, name: str) -> dict:
    """An inline role policy document (boto3 decodes the JSON document)."""
    return iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]


def test_policy_templates_become_least_privilege_role_policies(orders):
    """serverless-policy-templates.html / serverless-policy-template-list.html: SQSPollerPolicy
    and DynamoDBCrudPolicy become inline policies of the function's generated role, scoped to
    the one queue and table; the role gets AWSLambdaBasicExecutionRole, plus
    AWSLambdaSQSQueueExecutionRole for the SQS event
    (sam-specification-generated-resources-function.html)."""
    iam = boto3.client("iam")
    role = orders.physical_id("OrderWriterFunctionRole")
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert names == ["OrderWriterFunctionRolePolicy0", "OrderWriterFunctionRolePolicy1"]
    (poller,) = role_policy(iam, role, names[0])["Statement"]
    queue_arn = boto3.client("sqs").get_queue_attributes(
        QueueUrl=orders.outputs["OrdersQueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert poller["Resource"] == queue_arn
    assert set(poller["Action"]) == {"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch",
                                     "sqs:DeleteMessage", "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes",
                                     "sqs:ReceiveMessage"}
    (crud,) = role_policy(iam, role, names[1])["Statement"]
    table = orders.outputs["OrdersTableName"]
    assert crud["Resource"] == [f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}",
                                f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/index/*"]
    assert "dynamodb:PutItem" in crud["Action"] and "dynamodb:DeleteTable" not in crud["Action"]
    generated = orders.template["Resources"]["OrderWriterFunctionRole"]["Properties"]
    assert generated["ManagedPolicyArns"] == MANAGED_POLICIES


MANAGED_POLICIES = [
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
]


def test_generated_role_reads_back_as_on_aws(orders):
    """API_GetRolePolicy.html (PolicyDocument is a JSON document, which boto3 decodes) and
    API_ListAttachedRolePolicies.html: the role reads back with its managed policies attached
    (moto's AWS::IAM::Role ignores ManagedPolicyArns and keeps documents as Python's repr: the
    adapter's `iam` module fixes both)."""
    iam = boto3.client("iam")
    role = orders.physical_id("OrderWriterFunctionRole")
    attached = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == MANAGED_POLICIES
    document = iam.get_role_policy(RoleName=role, PolicyName="OrderWriterFunctionRolePolicy0")["PolicyDocument"]
    assert isinstance(document, dict)


# -- event sources -----------------------------------------------------------------------------


def test_sqs_event_is_a_mapping_with_the_template_settings(orders):
    """sam-property-function-sqs.html: an SQS event becomes an AWS::Lambda::EventSourceMapping
    with BatchSize, MaximumBatchingWindowInSeconds, FunctionResponseTypes and ScalingConfig as
    written; `list_event_source_mappings` shows it (the simulator's pollers read it there)."""
    lam = boto3.client("lambda")
    writer = orders.functions["OrderWriterFunction"]
    (mapping,) = lam.list_event_source_mappings(FunctionName=writer.name)["EventSourceMappings"]
    queue_arn = boto3.client("sqs").get_queue_attributes(
        QueueUrl=orders.outputs["OrdersQueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert mapping["UUID"] == orders.event_source_mappings["OrderWriterFunctionOrders"]
    assert mapping["EventSourceArn"] == queue_arn
    assert mapping["FunctionArn"] == writer.arn
    assert mapping["State"] == "Enabled"
    assert mapping["BatchSize"] == 10
    assert mapping["MaximumBatchingWindowInSeconds"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_dynamodb_event_is_a_stream_mapping_with_the_template_settings(orders):
    """sam-property-function-dynamodb.html: a DynamoDB event maps the table's stream
    (`!GetAtt OrdersTable.StreamArn`) with StartingPosition, BatchSize, MaximumRetryAttempts,
    BisectBatchOnFunctionError and FunctionResponseTypes as written."""
    lam = boto3.client("lambda")
    uuid = orders.event_source_mappings["OrderEventsFunctionTableChanges"]
    mapping = lam.get_event_source_mapping(UUID=uuid)
    stream_arn = boto3.client("dynamodb").describe_table(
        TableName=orders.outputs["OrdersTableName"])["Table"]["LatestStreamArn"]
    assert mapping["EventSourceArn"] == stream_arn
    assert mapping["FunctionArn"] == orders.functions["OrderEventsFunction"].arn
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumRetryAttempts"] == 2
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_queue_has_the_templates_redrive_policy(orders):
    """aws-resource-sqs-queue.html (RedrivePolicy): messages move to the DLQ after
    maxReceiveCount 5 receives; the visibility timeout is the template's 60 s."""
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=orders.outputs["OrdersQueueUrl"],
                                          AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=orders.physical_id("OrdersDeadLetterQueue"),
                                       AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert attributes["VisibilityTimeout"] == "60"


def test_eventbridge_rule_event_targets_the_function_on_the_custom_bus(orders, sim):
    """sam-property-function-eventbridgerule.html: an EventBridgeRule event creates an
    AWS::Events::Rule on the bus named by EventBusName (`!Ref OrdersBus`: the bus name, per
    aws-resource-events-eventbus.html) with the function as target, and a Lambda permission for
    events.amazonaws.com from that rule. An event put on the bus reaches the function
    (asynchronously, when the clock moves) and, through the template's own rule, the queue."""
    events, lam = boto3.client("events"), boto3.client("lambda")
    bus = orders.outputs["OrdersBusName"]
    rule_name = orders.physical_id("OrderEventsFunctionAllOrderEvents")
    rule = events.describe_rule(Name=rule_name, EventBusName=bus)
    assert rule["EventBusName"] == bus
    assert json.loads(rule["EventPattern"]) == {"source": ["course.orders"]}
    (target,) = events.list_targets_by_rule(Rule=rule_name, EventBusName=bus)["Targets"]
    assert target["Arn"] == orders.functions["OrderEventsFunction"].arn
    policy = json.loads(lam.get_policy(FunctionName=orders.function_name("OrderEventsFunction"))["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]

    result = events.put_events(Entries=[{"EventBusName": bus, "Source": "course.orders",
                                         "DetailType": "OrderPlaced", "Detail": json.dumps({"orderId": "o-9"})}])
    assert result["FailedEntryCount"] == 0
    sim.run_until_idle()
    (record,) = [r for r in sim.invocations if r.function_name == orders.function_name("OrderEventsFunction")]
    assert record.invocation_type == "Event"
    assert record.result()["detail_type"] == "OrderPlaced"
    # The template's rule put the event on the queue, and the function's SQS event (an event
    # source mapping, played by lambdasim.pollers) delivered it to OrderWriterFunction. (The
    # writer expects a bare order, so it reports the EventBridge envelope as a failed item.)
    writers = [r for r in sim.invocations if r.function_name == orders.function_name("OrderWriterFunction")]
    assert writers and {r.source for r in writers} == {"sqs"}
    (poller,) = [p for p in sim.pollers.values() if p.__class__.__name__ == "SqsPoller"]
    (body,) = {record["body"] for batch in poller.batches for record in batch.records}
    assert json.loads(body)["detail"] == {"orderId": "o-9"}


# -- what the simulator cannot create, and broken templates -----------------------------------


def test_resources_moto_does_not_create_are_listed_and_warned(sim, tmp_path):
    """aws-resource-scheduler-schedulegroup.html: moto's CloudFormation does not implement
    AWS::Scheduler::ScheduleGroup, so deploy lists it in `not_created` and warns. sam-property-function-sns.html: AWS::SNS::Subscription, which moto lacks, and
    sam-resource-function.html (EventInvokeConfig): AWS::Lambda::EventInvokeConfig, which moto
    lacks too, are created by lambdasim._moto_patches; the config lands in the function's config."""
    path = write_template(tmp_path, """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Handler: app.handler
      Runtime: python3.12
      EventInvokeConfig:
        MaximumRetryAttempts: 1
      Events:
        FromTopic:
          Type: SNS
          Properties:
            Topic: !Ref Topic
  Group:
    Type: AWS::Scheduler::ScheduleGroup
""", {"code/app.py": ECHO})
    with pytest.warns(SamDeployWarning, match=r"does not implement Group \(AWS::Scheduler::ScheduleGroup\);"):
        stack = deploy(sim, path, stack_name="gaps", validate=False)
    assert stack.not_created == {"Group": "AWS::Scheduler::ScheduleGroup"}
    assert [s["Protocol"] for s in boto3.client("sns").list_subscriptions()["Subscriptions"]] == ["lambda"]
    config = boto3.client("lambda").get_function_event_invoke_config(
        FunctionName=stack.function_names["Fn"], Qualifier="$LATEST")
    assert config["MaximumRetryAttempts"] == 1

    with warnings.catch_warnings():
        warnings.simplefilter("error", SamDeployWarning)
        orders = deploy(sim, ORDERS, stack_name="orders", validate=False)
    assert orders.not_created == {}  # AWS::SQS::QueuePolicy: added by the adapter (_moto_patches/iam.py)


def test_invalid_resource_is_refused_by_validation(sim):
    """Like CloudFormation, which checks each resource against its type's schema
    (aws-resource-dynamodb-table.html: KeySchema is required), deploy lints the template with
    cfn-lint first and names the resource and line; nothing is created."""
    with pytest.raises(TemplateError) as caught:
        deploy(sim, BROKEN)
    message = str(caught.value)
    assert "fails validation" in message
    assert "BrokenTable (line 11): E3003 'KeySchema' is a required property" in caught.value.problems
    assert boto3.client("cloudformation").list_stacks()["StackSummaries"] == []
    assert "QueueUrls" not in boto3.client("sqs").list_queues()


def test_lint_answers_what_cfn_lint_answers_for_the_files_current_text(tmp_path):
    """`lint` keeps cfn-lint's findings by the template's text: the same findings as
    `cfnlint.api.lint_file`, and an edited file (same path) is linted again, never answered from
    what its old text gave; linting inside a simulation first (the virtual clock) changes
    nothing outside it."""
    from cfnlint import ManualArgs
    from cfnlint.api import lint_file

    template = tmp_path / "template.yaml"
    template.write_text((BROKEN / "template.yaml").read_text())

    def findings(matches):
        return sorted((m.rule.id, m.linenumber, m.message) for m in matches)

    with Simulator():
        assert findings(lint(ORDERS / "template.yaml", "us-east-1")) == []

    broken = findings(lint(template, "us-east-1"))
    assert broken and broken == findings(lint_file(template, config=ManualArgs(regions=["us-east-1"])))
    assert findings(lint(template, "us-east-1")) == broken
    template.write_text((ORDERS / "template.yaml").read_text())
    assert findings(lint(template, "us-east-1")) == []


def test_resource_that_fails_to_create_fails_the_deploy_and_rolls_back(sim):
    """stack-failure-options.html: a resource that fails makes the stack fail with the
    resource's reason, and CloudFormation rolls back what it created. Without validation the
    same broken table reaches moto, which fails inside create_table."""
    with pytest.raises(StackCreateError) as caught:
        deploy(sim, BROKEN, stack_name="broken", validate=False)
    error = caught.value
    assert list(error.failures) == ["BrokenTable"]
    assert error.failures["BrokenTable"].startswith("(AWS::DynamoDB::Table) TypeError:")
    assert error.rolled_back
    assert str(error).startswith("stack 'broken' failed to create in moto's CloudFormation (CREATE_FAILED):\n"
                                 "- BrokenTable: (AWS::DynamoDB::Table) ")
    assert "QueueUrls" not in boto3.client("sqs").list_queues()  # GoodQueue rolled back
    assert "broken" not in stacks(sim)


def test_service_error_during_create_names_the_error(sim, tmp_path):
    """API_CreateEventSourceMapping.html: a mapping to a function that does not exist fails with
    ResourceNotFoundException; the deploy reports the service's error code and message."""
    path = write_template(tmp_path, """\
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: does-not-exist
      EventSourceArn: !GetAtt Queue.Arn
""")
    with pytest.raises(StackCreateError, match=r"ResourceNotFoundException: Function not found: "
                                               r"arn:aws:lambda:us-east-1:123456789012:function:does-not-exist"):
        deploy(sim, path, stack_name="esm", validate=False)


def test_invalid_sam_resource_fails_the_transform(sim, tmp_path):
    """sam-property-function-sqs.html: Queue is required; the SAM transform's own error comes
    back, naming the generated resource."""
    path = write_template(tmp_path, """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Jobs:
          Type: SQS
          Properties:
            BatchSize: 5
""", {"code/app.py": ECHO})
    with pytest.raises(TemplateError, match=r"Resource with id \[FnJobs\] is invalid. "
                                            r"Missing required property 'Queue'"):
        deploy(sim, path, stack_name="t", validate=False)


def test_language_extensions_deploy_when_unused_and_are_refused_by_name_when_used(sim, tmp_path):
    """transform-aws-languageextensions.html: AWS::LanguageExtensions resolves Fn::ForEach,
    Fn::Length, Fn::ToJsonString, FindInMap defaults and intrinsic policies before the SAM
    transform; a template that declares it (as `sam init`'s templates do) and uses none deploys
    unchanged; one that uses them is refused, naming what it uses (not expanded offline)."""
    code = {"code/app.py": ECHO}
    template = """\
Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: code/, Handler: app.handler, Runtime: python3.12}
"""
    stack = deploy(sim, write_template(tmp_path / "plain", template, code), stack_name="plain", validate=False)
    answer = sim.client("lambda").invoke(FunctionName=stack.function_name("Fn"), Payload=b'{"a": 1}')
    assert json.loads(answer["Payload"].read())["echo"] == {"a": 1}
    looped = template + """\
  Fn::ForEach::Queues:
    - Name
    - [a, b]
    - Queue${Name}: {Type: AWS::SQS::Queue}
"""
    with pytest.raises(TemplateError, match=r"AWS::LanguageExtensions: the template uses Fn::ForEach"):
        deploy(sim, write_template(tmp_path / "looped", looped, code), stack_name="looped", validate=False)


def test_code_must_be_a_local_folder(sim, tmp_path):
    """sam-resource-function.html (CodeUri): the simulator runs local code, so a packaged
    template (CodeUri in S3) or a missing folder is refused, naming the function."""
    path = write_template(tmp_path, """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Packaged:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://my-bucket/abc123.zip
      Handler: app.handler
      Runtime: python3.12
  Missing:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: nowhere/
      Handler: app.handler
      Runtime: python3.12
""")
    with pytest.raises(TemplateError) as caught:
        deploy(sim, path, stack_name="t", validate=False)
    problems = caught.value.problems
    assert problems[0].startswith("Packaged: CodeUri 's3://my-bucket/abc123.zip' is not a local folder")
    assert problems[1].startswith("Missing: CodeUri 'nowhere/' is not a folder or a .zip file")


def test_code_may_be_a_local_zip(sim, tmp_path):
    """sam-resource-function.html (CodeUri): a local .zip file is uploaded as it is by `sam
    deploy`; the simulator runs the handler from its contents."""
    import zipfile

    (tmp_path / "build").mkdir()
    with zipfile.ZipFile(tmp_path / "build" / "function.zip", "w") as zipped:
        zipped.writestr("app.py", ECHO)
    path = write_template(tmp_path, """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Zipped:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: build/function.zip
      Handler: app.handler
      Runtime: python3.12
""")
    stack = deploy(sim, path, stack_name="zipped", validate=False)
    answer = sim.client("lambda").invoke(FunctionName=stack.function_name("Zipped"), Payload=b'{"n": 1}')
    assert json.loads(answer["Payload"].read())["echo"] == {"n": 1}


def test_globals_codeuri_default_folder_and_inline_code(sim, tmp_path):
    """sam-specification-template-anatomy-globals.html (CodeUri in Globals) and
    sam-resource-function.html (InlineCode): a function without CodeUri uses Globals'; inline
    code runs as index.py. Handler and Runtime may come from Globals too."""
    path = write_template(tmp_path, """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: shared/
    Handler: app.handler
    Runtime: python3.12
Resources:
  FromGlobals:
    Type: AWS::Serverless::Function
  Inline:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      InlineCode: |
        def handler(event, context):
            return {"inline": event}
""", {"shared/app.py": ECHO})
    stack = deploy(sim, path, stack_name="globals", validate=False)
    lam = boto3.client("lambda")
    out = json.loads(lam.invoke(FunctionName=stack.function_name("FromGlobals"), Payload=b'{"a": 1}')["Payload"].read())
    assert out == {"echo": {"a": 1}, "name": stack.function_name("FromGlobals")}
    assert stack.functions["FromGlobals"].code_dir == (tmp_path / "shared").resolve()
    out = json.loads(lam.invoke(FunctionName=stack.function_name("Inline"), Payload=b'{"b": 2}')["Payload"].read())
    assert out == {"inline": {"b": 2}}


def test_same_seed_same_stack(tmp_path):
    """Determinism (BLUEPRINT): the same seed gives the same physical names and ids."""
    seen = []
    for _ in range(2):
        with Simulator(seed=3) as sim:
            seen.append(deploy(sim, ORDERS, stack_name="orders", validate=False).resources)
    assert seen[0] == seen[1]


def test_refusals_before_anything_runs(sim, tmp_path):
    """API_CreateStack.html: stack names match [a-zA-Z][-a-zA-Z0-9]*; a stack name in use is
    refused (AlreadyExistsException on AWS; updates are not simulated). A template path that
    does not exist, or a stopped simulator, is refused before any call."""
    deploy(sim, ORDERS, stack_name="orders", validate=False)
    with pytest.raises(SamDeployError, match=r"stack 'orders' already exists \(AlreadyExistsException\)"):
        deploy(sim, ORDERS, stack_name="orders", validate=False)
    with pytest.raises(TemplateError, match="invalid stack name '1-orders'"):
        deploy(sim, ORDERS, stack_name="1-orders", validate=False)
    with pytest.raises(FileNotFoundError):
        deploy(sim, tmp_path)
    assert find_template(ORDERS) == ORDERS / "template.yaml"
    with pytest.raises(SimulatorNotRunning):
        deploy(Simulator(), ORDERS)


def test_plain_cloudformation_function_with_a_local_code_folder(sim, tmp_path):
    """cli/latest/reference/cloudformation/package.html: `aws cloudformation package` uploads
    a local folder named by AWS::Lambda::Function's Code; a template without the SAM transform
    deploys as it is, and the function runs that folder's handler."""
    path = write_template(tmp_path, """\
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Code: code/
      Handler: app.handler
      Runtime: python3.12
      Role: !GetAtt Role.Arn
Outputs:
  FunctionName:
    Value: !Ref Fn
""", {"code/app.py": ECHO})
    stack = deploy(sim, path, stack_name="plain", validate=False)
    name = stack.outputs["FunctionName"]
    assert stack.function_names == {"Fn": name}
    out = json.loads(boto3.client("lambda").invoke(FunctionName=name, Payload=b"[1]")["Payload"].read())
    assert out == {"echo": [1], "name": name}


def test_managed_policy_names_resolve_offline(sim, tmp_path):
    """sam-resource-function.html (Policies: an AWS managed policy name): the transform turns a
    name into its ARN, path included, without calling IAM; a name newer than the translator's
    own map comes from moto's copy of the AWS managed policies."""
    path = write_template(tmp_path, """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code/
      Handler: app.handler
      Runtime: python3.12
      Policies:
        - AmazonSQSReadOnlyAccess
        - AWSLambdaBasicDurableExecutionRolePolicy
""", {"code/app.py": ECHO})
    stack = deploy(sim, path, stack_name="policies", validate=False)
    assert stack.template["Resources"]["FnRole"]["Properties"]["ManagedPolicyArns"] == [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicDurableExecutionRolePolicy",
    ]


BUS_AND_RULE = """\
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: course-bus
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern:
        source: [course.orders]
"""


def test_rule_on_a_bus_by_ref_needs_the_event_bus_patch(sim, tmp_path, monkeypatch):
    """aws-resource-events-eventbus.html: Ref of an event bus returns its name. moto 5.2.5
    returns the model object, and a rule with `EventBusName: !Ref Bus` crashes moto's
    CloudFormation; lambdasim._moto_patches gives EventBus a physical_resource_id. Without
    that patch the deploy fails, naming the rule."""
    from moto.events.models import EventBus

    path = write_template(tmp_path, BUS_AND_RULE)
    stack = deploy(sim, path, stack_name="patched", validate=False)
    assert boto3.client("events").describe_rule(Name=stack.physical_id("Rule"), EventBusName="course-bus")

    boto3.client("cloudformation").delete_stack(StackName="patched")
    with monkeypatch.context() as patch, pytest.raises(StackCreateError) as caught:
        patch.delattr(EventBus, "physical_resource_id")  # moto as shipped, until the block ends
        deploy(sim, path, stack_name="unpatched", validate=False)
    assert caught.value.failures == {
        "Rule": "(AWS::Events::Rule) AttributeError: 'EventBus' object has no attribute 'split'"}


def test_a_template_deployed_again_is_read_and_transformed_as_afresh(monkeypatch):
    """`deploy` keeps a template's parse and SAM transform by everything they read (the text;
    the template, parameter values and Region): a second read equals a fresh one, keys in the
    same order, as a copy of its own; another Region is another transform."""
    from lambdasim import sam

    first = sam.transformed(ORDERS)
    again = sam.transformed(ORDERS)
    parsed = sam._parse(find_template(ORDERS))
    packaged = sam._package(parsed, ORDERS, "orders")
    try:
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # as `transformed` sets it
        fresh = sam._transform_afresh(parsed, sam._parameter_values(parsed, {}))
    finally:
        packaged.cleanup()
    assert sam._transformed_json.cache_info().hits >= 1
    assert json.dumps(again) == json.dumps(first) == json.dumps(fresh)
    again["Resources"].clear()
    assert sam.transformed(ORDERS) == first
    text = find_template(ORDERS).read_text()
    assert json.loads(sam._template_json(text)) == json.loads(sam._template_json.__wrapped__(text))
    # The Region is part of the key (SAM writes it for AWS::Region; samtranslator keeps the
    # partition of the first Region it met for the whole process, so the key is seen here).
    misses = sam._transformed_json.cache_info().misses
    sam.transformed(ORDERS, region="eu-west-1")
    assert sam._transformed_json.cache_info().misses == misses + 1
