"""Public SAM applications, run end to end in the simulator (issue 15).

Each folder here is a public SAM application with Python handlers (SOURCE.md says where it comes
from and what was written anew). Every app has two tests: one deploys its template as it is
(`deploy OK`), one drives it the way its README tests it on AWS (`end to end OK`): send the
message, publish, put the event or the object, call the API, run the virtual clock, and look for
what the README says to look for (the function's log, the item, the message in the queue, the
HTTP answer). An app that does not work is marked with a strict xfail whose reason is the
simulator's gap, so the day the gap closes the suite says so (all 16 work today). README.md holds the table of results.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lambdasim import InvocationRecord, Simulator
from lambdasim.sam import Stack, deploy

APPS = Path(__file__).parent
# Resource policies: not created by moto's CloudFormation, and nothing in the simulator needs
# them for service-to-service deliveries (lambdasim/sam.py).
POLICY_TYPES = {"AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy"}

# Every folder with a template is an app: one added is tested without being listed here.
APP_NAMES = sorted(folder.name for folder in APPS.iterdir() if (folder / "template.yaml").is_file())


def deploy_app(sim: Simulator, name: str) -> Stack:
    # Without cfn-lint: every template passes its error rules, but at about 2 s a template.
    return deploy(sim, APPS / name, stack_name=name, validate=False)


def log_lines(sim: Simulator, function_name: str) -> list[str]:
    """The messages of the function's CloudWatch Logs (where the READMEs send you to look)."""
    answer = sim.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{function_name}")
    return [event["message"] for event in answer["events"]]


def printed(sim: Simulator, function_name: str) -> list[str]:
    """What the handler printed: the log lines without the runtime's START/END/REPORT lines."""
    runtime_lines = ("START RequestId", "END RequestId", "REPORT RequestId", "INIT_START")
    return [line for line in log_lines(sim, function_name) if not line.startswith(runtime_lines)]


def queue_bodies(sim: Simulator, queue_url: str) -> list[str]:
    sqs = sim.client("sqs")
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def invocations_of(sim: Simulator, function_name: str) -> list[InvocationRecord]:
    return [record for record in sim.invocations if record.function_name == function_name]


# ---------------------------------------------------------------------------------------------
# Deploy OK: the template deploys unchanged, every resource but resource policies is created and
# every function runs its own code folder.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", APP_NAMES)
def test_deploys(sim: Simulator, name: str) -> None:
    stack = deploy_app(sim, name)
    assert stack.status == "CREATE_COMPLETE"
    assert set(stack.not_created.values()) <= POLICY_TYPES, stack.not_created
    assert stack.functions or name in {"sns-sqs-fanout", "eventbridge-sqs"}
    for function in stack.functions.values():
        assert function.code_dir is not None, function


# ---------------------------------------------------------------------------------------------
# End to end OK: each app driven as its README tests it.
# ---------------------------------------------------------------------------------------------


def test_sqs_lambda_consumes_the_messages_sent_to_the_queue(sim: Simulator) -> None:
    """README: send a message to the queue; the function's log shows it."""
    stack = deploy_app(sim, "sqs-lambda")
    url = stack.outputs["SQSqueueURL"]
    for n in range(3):
        sim.client("sqs").send_message(QueueUrl=url, MessageBody=f"order {n}")
    sim.run_until_idle()
    function = stack.outputs["QueueConsumerFunction"]
    assert sorted(json.loads(line)["body"] for line in printed(sim, function)) == ["order 0", "order 1", "order 2"]
    assert {record.source for record in invocations_of(sim, function)} == {"sqs"}
    attributes = sim.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")


def test_sns_lambda_invokes_the_subscribed_function(sim: Simulator) -> None:
    """README: publish to the topic; the function's log shows the message."""
    stack = deploy_app(sim, "sns-lambda")
    sim.client("sns").publish(TopicArn=stack.outputs["SNStopicARN"], Message="Hello from SNS")
    sim.run_until_idle()
    assert printed(sim, stack.outputs["TopicConsumerFunction1Name"]) == ["Message received: Hello from SNS"]


def test_sns_sqs_fanout_filters_each_metric_to_its_queues(sim: Simulator) -> None:
    """README: publish with a MetricType attribute; the all-metrics queue receives every
    message, the temperature and humidity queues only their own (raw message delivery)."""
    stack = deploy_app(sim, "sns-sqs-fanout")
    for metric, value in (("Temperature", "21.5"), ("Humidity", "40")):
        sim.client("sns").publish(
            TopicArn=stack.outputs["SNStopicARN"], Message=json.dumps({metric: value}),
            MessageAttributes={"MetricType": {"DataType": "String", "StringValue": metric}})
    sim.run_until_idle()
    assert sorted(queue_bodies(sim, stack.outputs["AllMetricsSqsQueueURL"])) == [
        '{"Humidity": "40"}', '{"Temperature": "21.5"}']
    assert queue_bodies(sim, stack.outputs["TemperatureSqsQueueURL"]) == ['{"Temperature": "21.5"}']
    assert queue_bodies(sim, stack.outputs["HumiditySqsQueueURL"]) == ['{"Humidity": "40"}']


def test_eventbridge_lambda_runs_for_matching_events_only(sim: Simulator) -> None:
    """README: put a custom.myApp transaction event; the rule (prefix EUR-) invokes the function."""
    stack = deploy_app(sim, "eventbridge-lambda")
    sim.client("events").put_events(Entries=[
        {"Source": "custom.myApp", "DetailType": "transaction", "Detail": json.dumps({"location": location})}
        for location in ("EUR-PARIS", "USD-NYC")])
    sim.run_until_idle()
    (line,) = printed(sim, stack.outputs["ConsumerFunction"])
    event = json.loads(line)
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "custom.myApp", "transaction", {"location": "EUR-PARIS"})


def test_eventbridge_sqs_queues_the_matching_events(sim: Simulator) -> None:
    """README: put an event of source demo.sqs; the queue receives it (the whole event)."""
    stack = deploy_app(sim, "eventbridge-sqs")
    sim.client("events").put_events(Entries=[
        {"Source": source, "DetailType": "message", "Detail": json.dumps({"message": "Hello SQS"})}
        for source in ("demo.sqs", "demo.other")])
    sim.run_until_idle()
    (body,) = queue_bodies(sim, stack.outputs["SQSqueueURL"])
    event = json.loads(body)
    assert (event["source"], event["account"], event["detail"]) == ("demo.sqs", sim.account_id, {"message": "Hello SQS"})


def test_eventbridge_ec2_state_change_invokes_the_function(sim: Simulator) -> None:
    """README (sam local invoke with events/event.json): an EC2 instance state-change event reaches
    the function, which reads the instance and its state."""
    stack = deploy_app(sim, "eventbridge-ec2-state")
    sim.client("events").put_events(Entries=[{
        "Source": "aws.ec2", "DetailType": "EC2 Instance State-change Notification",
        "Detail": json.dumps({"instance-id": "i-0123456789abcdef0", "state": "running"})}])
    sim.run_until_idle()
    assert printed(sim, stack.function_name("HelloWorldFunction")) == ["Instance i-0123456789abcdef0 is running"]


def test_kinesis_lambda_reads_the_records_put_after_deploy(sim: Simulator) -> None:
    """README: put records on the stream (StartingPosition LATEST); the function logs them."""
    stack = deploy_app(sim, "kinesis-lambda")
    stream = stack.outputs["KinesisStream"]
    for n in range(2):
        sim.client("kinesis").put_record(StreamName=stream, Data=f"reading {n}".encode(), PartitionKey="sensor-1")
    sim.run_for(10)
    assert printed(sim, stack.function_name("ApplicationFunction")) == [
        "Decoded payload: reading 0", "Decoded payload: reading 1"]


def test_dynamodb_lambda_logs_each_change_of_the_table(sim: Simulator) -> None:
    """README: put an item; the stream triggers the function, which logs the new image."""
    stack = deploy_app(sim, "dynamodb-lambda")
    table = stack.physical_id("MyDynamoDBtable")
    sim.client("dynamodb").put_item(TableName=table, Item={"id": {"S": "001"}, "k": {"S": "v1"}})
    sim.run_for(10)
    (line,) = printed(sim, stack.function_name("DynamoDBProcessStreamFunction"))
    assert json.loads(line) == {"eventName": "INSERT", "NewImage": {"id": {"S": "001"}, "k": {"S": "v1"}}}


def test_s3_lambda_runs_for_each_new_object(sim: Simulator) -> None:
    """README: upload an object to the bucket; the function is invoked with its key."""
    stack = deploy_app(sim, "s3-lambda")
    bucket = stack.outputs["S3Bucket"]
    sim.client("s3").put_object(Bucket=bucket, Key="photos/cat 1.jpg", Body=b"jpeg")
    sim.run_until_idle()
    assert printed(sim, stack.outputs["FunctionArn"]) == [f"New object: s3://{bucket}/photos/cat 1.jpg"]


def test_lambda_destinations_route_success_and_failure(sim: Simulator) -> None:
    """README: an asynchronous invoke with {} reaches the on-success function; one with
    {"type": "failure"} fails (and its two retries) and its record reaches the on-failure queue."""
    stack = deploy_app(sim, "lambda-destinations")
    main = stack.outputs["MainLambdaFunction"]
    lam = sim.client("lambda")
    lam.invoke(FunctionName=main, InvocationType="Event", Payload=b"{}")
    lam.invoke(FunctionName=main, InvocationType="Event", Payload=b'{"type": "failure"}')
    sim.run_until_idle()
    (success_line,) = printed(sim, stack.outputs["OnSuccessLambdaFunction"])
    success = json.loads(success_line)
    assert (success["requestContext"]["condition"], success["responsePayload"]) == ("Success", {"status": "processed"})
    (failure_body,) = queue_bodies(sim, stack.outputs["OnFailureSqsQueue"])
    failure = json.loads(failure_body)
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestPayload"] == {"type": "failure"}


def test_eventbridge_schedule_invokes_the_function_every_five_minutes(sim: Simulator) -> None:
    """README: the function's logs and Invocations show a run every 5 minutes."""
    stack = deploy_app(sim, "eventbridge-schedule-lambda")
    sim.run_for(16 * 60)
    function = stack.outputs["ScheduledFunction"]
    starts = [record.start for record in invocations_of(sim, function)]
    assert len(starts) >= 3
    assert {(later - earlier).total_seconds() for earlier, later in zip(starts, starts[1:])} == {300.0}
    assert set(printed(sim, function)) == {"Invoked by the schedule"}


def test_scheduled_event_logger_runs_at_the_top_of_every_hour(sim: Simulator) -> None:
    """The rule's cron(0 * * * ? *) invokes the function at each full hour with EventBridge's
    Scheduled Event, whose payload the function logs."""
    stack = deploy_app(sim, "scheduled-event-logger")
    sim.run_for(3 * 3600 + 60)
    events = [json.loads(line) for line in printed(sim, stack.function_name("ScheduledEventLogger"))]
    assert [event["time"] for event in events] == [
        "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"]
    assert {(event["source"], event["detail-type"]) for event in events} == {("aws.events", "Scheduled Event")}


def test_custom_resource_seeds_the_table_and_answers_its_data(sim: Simulator) -> None:
    """The custom resource's function runs at stack creation: its Data is the output Fn::GetAtt
    reads, and the item it put is in the table."""
    stack = deploy_app(sim, "custom-resource")
    assert stack.outputs["Greeting"] == "Hello, Ada"
    item = sim.client("dynamodb").get_item(TableName=stack.outputs["TableName"], Key={"id": {"S": "first"}})
    assert item["Item"]["name"] == {"S": "Ada"}


def test_hello_world_rest_api_answers_hello_world(sim: Simulator) -> None:
    """README: curl the HelloWorldApi output; the answer is {"message": "hello world"}."""
    stack = deploy_app(sim, "hello-world-rest")
    response = sim.http("GET", stack.outputs["HelloWorldApi"])
    assert (response.status, response.json()) == (200, {"message": "hello world"})


def test_hello_world_http_api_answers_hello_world(sim: Simulator) -> None:
    """README: curl the HTTP API's URL + hello; the answer is {"message": "hello world"}."""
    stack = deploy_app(sim, "hello-world-http")
    response = sim.http("GET", stack.outputs["HelloWorldApi"] + "hello")
    assert (response.status, response.json()) == (200, {"message": "hello world"})


def test_web_items_puts_and_reads_items_through_the_api(sim: Simulator) -> None:
    """README: POST an item to the API, then GET it by id and GET the list."""
    stack = deploy_app(sim, "web-items")
    url = stack.outputs["WebEndpoint"]
    posted = sim.http("POST", url, body=json.dumps({"id": "id1", "name": "Ada"}))
    assert posted.status == 200, posted.text
    one = sim.http("GET", url + "id1")
    assert (one.status, one.json()) == (200, {"id": "id1", "name": "Ada"})
    assert sim.http("GET", url).json() == [{"id": "id1", "name": "Ada"}]
    assert sim.http("GET", url + "id2").status == 404
