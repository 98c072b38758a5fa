"""Conformance: Lambda's recursive loop detection (`lambdasim.rules.recursion`, the service's
chain tracking through the trace header's Lineage, the SQS poller, the async queue, SNS's and
S3's deliveries).

The page (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html): a function
invoked approximately 16 times in the same chain of requests has the next invocation stopped
(the simulator stops the 17th), unless its RecursiveLoop setting is Allow. One simulation serves the module; each test has its own
functions and queues.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import recursion

FIXTURE = Path(__file__).parent / "fixtures" / "recursion"
pytestmark = pytest.mark.xdist_group("recursion")


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=3) as simulator:
        yield simulator


def _queue(sim, name: str, **attributes) -> tuple[str, str]:
    sqs = sim.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _looping_consumer(sim, name: str, **env) -> tuple[str, str]:
    """A function that writes every message back to the queue it reads; the queue's redrive
    policy sends a message to `<name>-dlq` on its 2nd receive."""
    dlq, dlq_arn = _queue(sim, f"{name}-dlq")
    url, arn = _queue(sim, name, VisibilityTimeout=30,
                      RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    sim.create_function(FunctionName=name, Handler="loop.requeue", code_dir=FIXTURE,
                        Environment={"Variables": {"QUEUE_URL": url, **env}})
    sim.client("lambda").create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=1)
    sim.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"hops": 0}))
    return url, dlq


def _runs(sim, name: str) -> int:
    return sum(1 for r in sim.invocations if r.function_name == name)


def test_an_sqs_loop_is_stopped_at_the_17th_invocation_and_its_message_goes_to_the_dead_letter_queue(sim) -> None:
    """A function that writes to the queue it reads runs 16 times in the chain; Lambda stops the
    next invocation (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html),
    counted in RecursiveInvocationsDropped
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html). The stopped
    message's receive count grows with each stopped retry until the queue's redrive policy moves
    it to its DLQ (the same page)."""
    _, dlq = _looping_consumer(sim, "runaway")
    start = sim.now
    sim.run_for(300)
    assert _runs(sim, "runaway") == recursion.MAX_CHAIN_INVOCATIONS == 16
    stops = [s for s in sim.recursion_stops if s.function_name == "runaway"]
    assert [s.place_in_chain for s in stops] == [17, 17]  # its first receive and its redelivery
    sqs = sim.client("sqs")
    assert sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "1"
    dropped = sim.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="RecursiveInvocationsDropped",
        Dimensions=[{"Name": "FunctionName", "Value": "runaway"}], StartTime=start,
        EndTime=start + timedelta(minutes=10), Period=600, Statistics=["Sum"])["Datapoints"]
    assert sum(d["Sum"] for d in dropped) == 2


def test_recursive_loop_allow_lets_the_loop_run_past_16(sim) -> None:
    """RecursiveLoop Allow: Lambda takes no action on the function's loops; Terminate is the
    default (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionRecursionConfig.html,
    https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionRecursionConfig.html)."""
    lam = sim.client("lambda")
    _looping_consumer(sim, "allowed", MAX_HOPS="20")
    assert lam.get_function_recursion_config(FunctionName="allowed")["RecursiveLoop"] == "Terminate"
    assert lam.put_function_recursion_config(FunctionName="allowed", RecursiveLoop="Allow")["RecursiveLoop"] == "Allow"
    sim.run_for(300)
    assert _runs(sim, "allowed") == 20 and not [s for s in sim.recursion_stops if s.function_name == "allowed"]
    with pytest.raises(ClientError, match="ValidationException"):
        lam.put_function_recursion_config(FunctionName="allowed", RecursiveLoop="Sometimes")


def test_an_asynchronous_self_invoking_loop_is_stopped_and_its_event_goes_to_the_on_failure_destination(sim) -> None:
    """Lambda-only loops are detected, asynchronous ones included
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html); a stopped
    invocation's event is sent to the on-failure destination, not retried (the same page;
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)."""
    failures, failures_arn = _queue(sim, "self-invoker-failures")
    sim.create_function(FunctionName="self-invoker", Handler="loop.reinvoke", code_dir=FIXTURE)
    lam = sim.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="self-invoker",
                                         DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    lam.invoke(FunctionName="self-invoker", InvocationType="Event", Payload=json.dumps({"hops": 0}))
    sim.run_for(60)
    assert _runs(sim, "self-invoker") == 16
    message = sim.client("sqs").receive_message(QueueUrl=failures)["Messages"][0]
    record = json.loads(message["Body"])
    assert record["requestPayload"] == {"hops": 16}
    assert record["responsePayload"]["errorType"] == "RecursiveInvocationException"
    assert record["requestContext"]["condition"] == recursion.STOPPED_CONDITION  # modelled (rules/recursion.py)


def test_a_synchronous_self_invoking_chain_gets_recursive_invocation_exception_at_the_17th_call(sim) -> None:
    """A synchronous Invoke that loop detection stops fails with RecursiveInvocationException,
    HTTP 400 (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html,
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html)."""
    sim.create_function(FunctionName="recurser", Handler="loop.recurse", code_dir=FIXTURE, Timeout=60)
    answer = sim.client("lambda").invoke(FunctionName="recurser", Payload=json.dumps({"depth": 1}))
    assert json.loads(answer["Payload"].read()) == {"depth": 16, "stopped_by": "RecursiveInvocationException"}


def _dropped(sim, name: str) -> list[int]:
    return [s.place_in_chain for s in sim.recursion_stops if s.function_name == name]


# --8<-- [start:sns]
def test_a_lambda_sns_lambda_loop_is_stopped_and_its_event_goes_to_the_on_failure_destination(sim) -> None:
    """SNS is one of loop detection's services: SNS passes the publisher's trace header to its
    subscribers (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sns.html), so a
    function that publishes to the topic it is subscribed to is stopped after about 16
    invocations (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html). SNS
    invokes asynchronously: the stopped event goes to the on-failure destination, which the page
    advises for an SNS source."""
    failures, failures_arn = _queue(sim, "sns-looper-failures")
    topic = sim.client("sns").create_topic(Name="sns-loop")["TopicArn"]
    function_arn = sim.create_function(FunctionName="sns-looper", Handler="loop.republish", code_dir=FIXTURE,
                                       Environment={"Variables": {"TOPIC_ARN": topic}})["FunctionArn"]
    sim.client("lambda").put_function_event_invoke_config(
        FunctionName="sns-looper", DestinationConfig={"OnFailure": {"Destination": failures_arn}})
    sim.client("sns").subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    sim.client("sns").publish(TopicArn=topic, Message=json.dumps({"hops": 0}))
    sim.run_for(10)
    assert _runs(sim, "sns-looper") == 16 and _dropped(sim, "sns-looper") == [17]
    record = json.loads(sim.client("sqs").receive_message(QueueUrl=failures)["Messages"][0]["Body"])
    assert json.loads(record["requestPayload"]["Records"][0]["Sns"]["Message"]) == {"hops": 16}
    assert record["responsePayload"]["errorType"] == "RecursiveInvocationException"
# --8<-- [end:sns]


def test_a_lambda_s3_lambda_loop_is_stopped_and_its_event_goes_to_the_dead_letter_queue(sim) -> None:
    """S3 is one of loop detection's services
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html): a PutObject made
    from a function carries its trace header into the bucket's event notification
    (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html), so a function that
    writes into the bucket that notifies it is stopped after about 16 invocations; the stopped
    event goes to the function's dead-letter queue (the page again)."""
    dlq, dlq_arn = _queue(sim, "s3-looper-dlq")
    function_arn = sim.create_function(FunctionName="s3-looper", Handler="loop.rewrite", code_dir=FIXTURE,
                                       DeadLetterConfig={"TargetArn": dlq_arn})["FunctionArn"]
    s3 = sim.client("s3")
    s3.create_bucket(Bucket="s3-loop")
    s3.put_bucket_notification_configuration(Bucket="s3-loop", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": function_arn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket="s3-loop", Key="hops/0", Body=b"x")
    sim.run_for(10)
    assert _runs(sim, "s3-looper") == 16 and _dropped(sim, "s3-looper") == [17]
    message = sim.client("sqs").receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"][0]
    assert json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"] == "hops/16"
    assert message["MessageAttributes"]["ErrorCode"]["StringValue"] == "400"


@pytest.mark.parametrize("through", ["sns", "s3"])
def test_a_loop_through_sns_or_s3_into_the_functions_queue_is_stopped_and_redriven(sim, through: str) -> None:
    """SNS delivers to an SQS subscriber, and S3 notifies a queue, with the caller's trace header
    (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sns.html,
    https://docs.aws.amazon.com/xray/latest/devguide/xray-services-s3.html), which SQS keeps as
    AWSTraceHeader: a function reading the queue that publishes to the topic, or writes to the
    bucket, is stopped after about 16 invocations and the message goes to the queue's DLQ by its
    redrive policy (https://docs.aws.amazon.com/lambda/latest/dg/invocation-recursion.html)."""
    name = f"{through}-queue-looper"
    dlq, dlq_arn = _queue(sim, f"{name}-dlq")
    url, arn = _queue(sim, name, VisibilityTimeout=5,
                      RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
    if through == "sns":
        topic = sim.client("sns").create_topic(Name=name)["TopicArn"]
        sim.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        sim.create_function(FunctionName=name, Handler="loop.republish", code_dir=FIXTURE,
                            Environment={"Variables": {"TOPIC_ARN": topic}})
    else:
        sim.client("s3").create_bucket(Bucket=name)
        sim.client("s3").put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        sim.create_function(FunctionName=name, Handler="loop.rewrite", code_dir=FIXTURE)
    sim.client("lambda").create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=1)
    if through == "sns":
        sim.client("sns").publish(TopicArn=topic, Message=json.dumps({"hops": 0}))
    else:
        sim.client("s3").put_object(Bucket=name, Key="hops/0", Body=b"x")
    sim.run_for(30)
    assert _runs(sim, name) - (through == "s3") == 16  # S3's s3:TestEvent message starts its own chain
    assert _dropped(sim, name) == [17, 17]
    assert sim.client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "1"
