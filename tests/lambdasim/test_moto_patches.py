"""The simulator's patches of moto (lambdasim/_moto_patches/): pinned, reversible, correct."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import boto3
import freezegun.api
import moto
import pytest
from moto import mock_aws

from lambdasim import MotoVersionMismatch, Simulator, SimulatorError
from lambdasim import _moto_patches as patches

FIXTURES = Path(__file__).parent / "fixtures"


class _Wall:
    # freezegun replaces module-level references to the real clock; a class attribute is safe.
    perf_counter = staticmethod(freezegun.api.real_perf_counter)


def _targets():
    return {f"{patches._owner_name(p.owner)}.{p.name}": inspect.getattr_static(p.owner, p.name, None)
            for p in patches._patch_table() + patches._cloudformation_patches()}


# -- pinning ---------------------------------------------------------------------------------------


def test_moto_is_the_pinned_version_and_every_patch_target_matches():
    """Fails loudly if moto changes under the patches: exact version, and every patched
    attribute exists with the parameters the patch expects."""
    assert moto.__version__ == "5.2.5" == patches.EXPECTED_MOTO_VERSION
    assert patches.verify() == []
    labels = patches.patched_attributes()
    # Each attribute patched once: a second patch would wrap the first without saying so.
    assert labels and len(set(labels)) == len(labels)


def test_verify_reports_a_changed_signature_and_apply_refuses(monkeypatch):
    """A moto method whose parameters changed makes verify() report it and the simulator refuse
    to start, naming the attribute."""
    from moto.sqs.models import SQSBackend

    monkeypatch.setattr(SQSBackend, "purge_queue", lambda self, queue_name, force: None)
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    problems = patches.verify()
    assert problems == [
        "moto 5.3.0 is installed; the patches are for 5.2.5",
        "SQSBackend.purge_queue takes ('self', 'queue_name', 'force'), the patch expects ('self', 'queue_name')",
    ]
    with pytest.raises(MotoVersionMismatch, match="SQSBackend.purge_queue"):
        Simulator().start()


def test_verify_checks_patched_classmethods_and_module_functions(monkeypatch):
    """The classmethod LambdaFunction.create_from_cloudformation_json and the module function
    moto.cloudformation.parsing.resource_class_from_type are checked like methods."""
    import moto.cloudformation.parsing as parsing
    from moto.awslambda.models import LambdaFunction

    monkeypatch.setattr(LambdaFunction, "create_from_cloudformation_json",
                        classmethod(lambda cls, resource_name, cloudformation_json: None))
    monkeypatch.setattr(parsing, "resource_class_from_type", lambda resource_type, strict: None)
    assert patches.verify() == [
        "LambdaFunction.create_from_cloudformation_json takes ('cls', 'resource_name', 'cloudformation_json'), "
        "the patch expects ('cls', 'resource_name', 'cloudformation_json', 'account_id', 'region_name', 'kwargs')",
        "parsing.resource_class_from_type takes ('resource_type', 'strict'), the patch expects ('resource_type',)",
    ]


def test_patches_are_applied_on_start_and_removed_on_stop():
    """Every patched attribute is moto's own again after stop (nothing leaks between runs)."""
    before = _targets()
    with Simulator():
        during = _targets()
        assert all(during[name] is not before[name] for name in before)
        assert patches.verify() == []  # checks the originals while applied
    assert _targets() == before


def test_docker_path_is_never_taken():
    """moto's Docker invocation path raises instead of trying Docker."""
    with Simulator() as sim:
        sim.create_function(FunctionName="f", Handler="handlers.echo", code_dir=FIXTURES / "basic")
        from moto.awslambda.models import lambda_backends

        fn = lambda_backends["123456789012"]["us-east-1"].get_function("f")
        with pytest.raises(SimulatorError, match="through Docker"):
            fn._invoke_lambda("{}")


# -- moto's own event source mapping hooks are off ---------------------------------------------------


def test_moto_event_source_mapping_hooks_do_not_invoke(call):
    """Observed with moto 5.2.5: it invokes functions inside send_message / put_record / table writes and
    deletes what it "delivered". With the simulator, nothing runs and nothing is deleted;
    the mappings stay readable through the public API for the simulator's pollers."""
    from lambdasim.simulator import active_simulator

    sim = active_simulator()
    sim.create_function(FunctionName="f", Handler="handlers.echo", code_dir=FIXTURES / "basic")
    lam, sqs = boto3.client("lambda"), boto3.client("sqs")
    kinesis, ddb = boto3.client("kinesis"), boto3.client("dynamodb")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    kinesis.create_stream(StreamName="s", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamARN"]
    table = ddb.create_table(
        TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    ddb_stream_arn = table["TableDescription"]["LatestStreamArn"]
    for arn in (queue_arn, stream_arn, ddb_stream_arn):
        kwargs = {} if arn == queue_arn else {"StartingPosition": "TRIM_HORIZON"}
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="f", BatchSize=7, **kwargs)

    sqs.send_message(QueueUrl=url, MessageBody="m")
    kinesis.put_record(StreamName="s", Data=b"d", PartitionKey="k")
    ddb.put_item(TableName="t", Item={"pk": {"S": "1"}})

    assert sim.invocations == []  # moto's hooks would have invoked inside the calls
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "1"
    sim.run_until_idle()
    # Only the simulator's own pollers run (lambdasim.pollers), each once, after the calls.
    assert sorted(r.source for r in sim.invocations) == ["dynamodb", "kinesis", "sqs"]
    streams = boto3.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=ddb_stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=ddb_stream_arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert len(streams.get_records(ShardIterator=iterator)["Records"]) == 1  # not cleared
    mappings = lam.list_event_source_mappings(FunctionName="f")["EventSourceMappings"]
    assert sorted(m["BatchSize"] for m in mappings) == [7, 7, 7]


# -- EventBridge Lambda targets -------------------------------------------------------------------


def test_eventbridge_lambda_target_is_an_async_invocation_with_aws_event_shape(sim, lam):
    """https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html and
    eb-run-lambda-schedule/targets: EventBridge invokes a Lambda target asynchronously with the
    event (version, id, detail-type, source, account, time, region, resources, detail); other
    targets of the rule still get it. moto alone raises NotImplementedError here."""
    sim.create_function(FunctionName="f", Handler="handlers.echo", code_dir=FIXTURES / "basic")
    fn_arn = lam.get_function(FunctionName="f")["Configuration"]["FunctionArn"]
    events, sqs = boto3.client("events"), boto3.client("sqs")
    url = sqs.create_queue(QueueName="copy")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[
        {"Id": "fn", "Arn": fn_arn},
        {"Id": "detail-only", "Arn": fn_arn, "InputPath": "$.detail"},
        {"Id": "constant", "Arn": fn_arn, "Input": '{"fixed": true}'},
        {"Id": "queue", "Arn": queue_arn},
    ])
    sim.run_for(12)
    entry = events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPlaced",
                                        "Detail": json.dumps({"order": 1}), "Resources": ["r1"]}])
    assert entry["FailedEntryCount"] == 0
    assert sim.invocations == []  # asynchronous: runs when the clock moves
    sim.run_until_idle()
    full, detail, constant = (r.result() for r in sim.invocations)
    assert list(full) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert full == {
        "version": "0", "id": entry["Entries"][0]["EventId"], "detail-type": "OrderPlaced", "source": "shop",
        "account": "123456789012", "time": "2026-01-01T00:00:12Z", "region": "us-east-1",
        "resources": ["r1"], "detail": {"order": 1},
    }
    assert detail == {"order": 1}
    assert constant == {"fixed": True}
    assert {(r.invocation_type, r.source) for r in sim.invocations} == {("Event", "eventbridge")}
    assert len(sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1


def test_sns_subscription_invokes_asynchronously(sim, lam):
    """https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html: SNS invokes the function
    asynchronously; moto's synchronous push becomes an entry in the async queue."""
    sim.create_function(FunctionName="f", Handler="handlers.echo", code_dir=FIXTURES / "basic")
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda",
                  Endpoint=lam.get_function(FunctionName="f")["Configuration"]["FunctionArn"])
    sns.publish(TopicArn=topic, Message="hello")
    assert sim.invocations == [] and len(sim.async_queue.pending) == 1
    sim.run_until_idle()
    (record,) = sim.invocations
    assert record.invocation_type == "Event"
    assert record.result()["Records"][0]["Sns"]["Message"] == "hello"


# -- CloudFormation: Ref of an event bus -----------------------------------------------------------

_BUS_TEMPLATE = json.dumps({
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "orders"}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "EventBusName": {"Ref": "Bus"}, "EventPattern": {"source": ["shop"]}}},
    },
    "Outputs": {"BusName": {"Value": {"Ref": "Bus"}}},
})


def test_cloudformation_rule_on_a_referenced_bus():
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-eventbus.html:
    Ref of an AWS::Events::EventBus returns its name. moto 5.2.5 alone crashes on
    `EventBusName: !Ref Bus` ('EventBus' object has no attribute 'split'); the patch fixes it."""
    with mock_aws():  # reproduce the crash without the simulator
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        with pytest.raises(AttributeError, match="'EventBus' object has no attribute 'split'"):
            cfn.create_stack(StackName="s", TemplateBody=_BUS_TEMPLATE)
    with Simulator():
        cfn = boto3.client("cloudformation")
        cfn.create_stack(StackName="s", TemplateBody=_BUS_TEMPLATE)
        stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        assert stack["Outputs"][0]["OutputValue"] == "orders"
        rules = boto3.client("events").list_rules(EventBusName="orders")["Rules"]
        assert [r["EventBusName"] for r in rules] == ["orders"]


# -- SQS: cached counters (correctness) and cost with depth --------------------------------------------


def _brute_force_counts(queue) -> dict[str, str]:
    # moto 5.2.5's own definitions, evaluated message by message.
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    msgs = queue._messages
    return {
        "ApproximateNumberOfMessages": str(sum(now > m.visible_at and not now < m.delayed_until for m in msgs)),
        "ApproximateNumberOfMessagesDelayed": str(sum(now < m.delayed_until for m in msgs)),
        "ApproximateNumberOfMessagesNotVisible": str(sum(not now > m.visible_at for m in msgs)),
    }


@pytest.mark.parametrize("fifo", [False, True])
def test_sqs_counters_stay_exact_through_every_operation(fifo):
    """https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html:
    ApproximateNumberOfMessages / ...Delayed / ...NotVisible of a queue and its dead-letter queue,
    checked against a message-by-message count after each of 200 random sends, receives (with
    redrive after maxReceiveCount), deletes, visibility changes, purges and clock moves."""
    from moto.sqs.models import sqs_backends

    with Simulator(seed=11) as sim:
        rng = sim.random
        sqs = boto3.client("sqs")
        suffix = ".fifo" if fifo else ""
        fifo_attrs = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
        dlq_url = sqs.create_queue(QueueName="dlq" + suffix, Attributes=fifo_attrs)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
        attrs = {"VisibilityTimeout": "20", "RedrivePolicy": redrive, **fifo_attrs}
        url = sqs.create_queue(QueueName="q" + suffix, Attributes=attrs)["QueueUrl"]
        backend = sqs_backends["123456789012"]["us-east-1"]
        queue, dlq = backend.queues["q" + suffix], backend.queues["dlq" + suffix]
        names = list(_brute_force_counts(queue))
        handles: list[str] = []
        for step in range(200):
            op = rng.choice(["send", "send", "batch", "receive", "receive", "delete", "visibility", "tick", "tick"]
                            + (["purge"] if step % 67 == 66 else []))
            if op == "send":
                extra = {"MessageGroupId": rng.choice("ab")} if fifo else {"DelaySeconds": rng.choice([0, 0, 5, 30])}
                sqs.send_message(QueueUrl=url, MessageBody=str(rng.randrange(12)), **extra)
            elif op == "batch":
                sqs.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "MessageBody": str(rng.randrange(50)),
                     **({"MessageGroupId": "b"} if fifo else {"DelaySeconds": rng.choice([0, 3])})}
                    for i in range(rng.randint(1, 10))])
            elif op == "receive":
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=rng.randint(1, 10),
                                          VisibilityTimeout=rng.choice([0, 5, 20]))
                handles += [m["ReceiptHandle"] for m in got.get("Messages", [])]
            elif op == "delete" and handles:
                try:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=handles.pop(rng.randrange(len(handles))))
                except sqs.exceptions.ReceiptHandleIsInvalid:
                    pass  # the message has moved to the dead-letter queue
            elif op == "visibility" and handles:
                try:
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rng.choice(handles),
                                                  VisibilityTimeout=rng.choice([0, 10]))
                except sqs.exceptions.ReceiptHandleIsInvalid:
                    pass
            elif op == "tick":
                sim.run_for(rng.choice([0.5, 1, 4, 11, 31]))
            elif op == "purge":
                sqs.purge_queue(QueueUrl=url)
                handles.clear()
            for target_url, target in ((url, queue), (dlq_url, dlq)):
                got = sqs.get_queue_attributes(QueueUrl=target_url, AttributeNames=names)["Attributes"]
                assert got == _brute_force_counts(target), f"step {step}: {op}"
        assert int(_brute_force_counts(dlq)["ApproximateNumberOfMessages"]) > 0  # redrive happened


def test_sqs_stays_fast_as_the_queue_deepens():
    """Observed with moto 5.2.5: SendMessage cost 3 ms on an empty queue and 37 ms at 1,000 queued (every send
    rescanned the queue); receive+delete ~140 ms. With the patches a send at depth 1,000 costs
    about what it costs on an empty queue, and a receive+delete batch stays in milliseconds."""
    with Simulator() as sim:
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="deep")["QueueUrl"]

        def send_ms(n=30):
            t0 = _Wall.perf_counter()
            for _ in range(n):
                sqs.send_message(QueueUrl=url, MessageBody="m")
            return (_Wall.perf_counter() - t0) / n * 1000

        # Minimums of several samples: wall-clock figures on a shared machine only ever go up.
        shallow = min(send_ms(12) for _ in range(5))
        for _ in range(100):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(10)])
        sim.run_for(1)  # the clock moves: the cached counters are recomputed once
        deep = min(send_ms(12) for _ in range(5))
        batch_times = []
        for _ in range(10):
            t0 = _Wall.perf_counter()
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
            batch_times.append((_Wall.perf_counter() - t0) * 1000)
        batch_ms = min(batch_times)
        count = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert count["Attributes"]["ApproximateNumberOfMessages"] == str(12 * 5 + 1000 + 12 * 5 - 100)
    assert deep < 2.5 * shallow, (shallow, deep)
    assert batch_ms < 40, batch_ms


def test_long_polling_does_not_hang_and_costs_a_handler_its_wait(sim, call, tmp_path):
    """API_ReceiveMessage.html WaitTimeSeconds: an empty long poll returns after the wait. Under
    the virtual clock it returns at once; inside a handler the wait passes on the invocation's
    clock (and counts toward its timeout)."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"ReceiveMessageWaitTimeSeconds": "20"})["QueueUrl"]
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    (tmp_path / "poller.py").write_text(
        "import boto3, time\n"
        "def handler(event, context):\n"
        "    t0 = time.time()\n"
        "    boto3.client('sqs').receive_message(QueueUrl=event['url'], WaitTimeSeconds=event['wait'])\n"
        "    return time.time() - t0\n")
    sim.create_function(FunctionName="poller", Handler="poller.handler", code_dir=tmp_path, Timeout=30)
    assert call("poller", {"url": url, "wait": 20})[1] == 20.0
    sim.create_function(FunctionName="short", Handler="poller.handler", code_dir=tmp_path, Timeout=5)
    assert call("short", {"url": url, "wait": 20})[1]["errorType"] == "Sandbox.Timedout"
