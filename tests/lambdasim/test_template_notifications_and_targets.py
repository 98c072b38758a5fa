"""Conformance: SNS subscriptions and S3 bucket notifications from templates, and EventBridge's
SNS, Kinesis and other targets.

moto's CloudFormation has no `AWS::SNS::Subscription`, so every SAM `SNS` event and every
SNS-to-SQS subscription in a template was missing, and ignores a bucket's
`NotificationConfiguration` (SAM's `S3` events); moto's EventBridge raised inside PutEvents
for a target it does not deliver to (SNS, Kinesis, Step Functions...), failing the whole call.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from lambdasim._moto_patches.eventbridge import TargetNotDelivered
from lambdasim.sam import deploy

SNS = Path(__file__).parent / "fixtures" / "sam" / "sns"
S3 = Path(__file__).parent / "fixtures" / "sam" / "s3"


def test_template_subscriptions_deliver_with_their_attributes(sim) -> None:
    """AWS::SNS::Subscription with its attributes
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-subscription.html):
    the queue receives the raw message (RawMessageDelivery), the function only the messages its
    filter policy matches (https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html)."""
    stack = deploy(sim, SNS, stack_name="sns", validate=False)
    sns, sqs = sim.client("sns"), sim.client("sqs")
    topic = sns.list_topics()["Topics"][0]["TopicArn"]
    assert sorted(s["Protocol"] for s in sns.list_subscriptions()["Subscriptions"]) == ["lambda", "sqs"]
    for kind in ("order", "refund"):
        sns.publish(TopicArn=topic, Message=f"a {kind}",
                    MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}})
    sim.run_until_idle()
    url = sqs.list_queues()["QueueUrls"][0]
    bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"])
    assert bodies == ["a order", "a refund"]
    listener = stack.function_name("Listener")
    invoked = [i for i in sim.invocations if i.function_name == listener]
    assert len(invoked) == 1
    assert invoked[0].source == "sns"


@pytest.fixture
def targets(sim):
    """A rule with an SNS topic (a queue subscribed to it), a Kinesis stream and an ECS task (a
    target type the simulator does not model) as targets."""
    events, sns, sqs, kinesis = (sim.client(s) for s in ("events", "sns", "sqs", "kinesis"))
    topic = sns.create_topic(Name="orders")["TopicArn"]
    queue = sqs.create_queue(QueueName="from-topic")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    stream_arn = kinesis.describe_stream(StreamName="orders")["StreamDescription"]["StreamARN"]
    events.put_rule(Name="orders", EventPattern=json.dumps({"source": ["shop"]}))
    events.put_targets(Rule="orders", Targets=[
        {"Id": "topic", "Arn": topic},
        {"Id": "stream", "Arn": stream_arn, "KinesisParameters": {"PartitionKeyPath": "$.detail.order"}},
        {"Id": "task", "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/orders",
         "RoleArn": "arn:aws:iam::123456789012:role/events"},
    ])
    return queue


def test_sns_and_kinesis_targets_receive_the_event_and_putevents_never_fails(sim, targets) -> None:
    """The topic's subscribers get the event as the message; the stream gets one record whose
    partition key is read from the event at PartitionKeyPath
    (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_KinesisParameters.html).
    A target type the simulator does not deliver to (ECS) is warned about and recorded, and the
    call and the other targets are unaffected
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html)."""
    events, sqs, kinesis = sim.client("events"), sim.client("sqs"), sim.client("kinesis")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answer = events.put_events(Entries=[{"Source": "shop", "DetailType": "OrderPlaced",
                                             "Detail": json.dumps({"order": "o-1"})}])
    assert answer["FailedEntryCount"] == 0
    assert [w.category for w in caught if issubclass(w.category, TargetNotDelivered)] == [TargetNotDelivered]
    sim.run_until_idle()
    message = json.loads(sqs.receive_message(QueueUrl=targets)["Messages"][0]["Body"])
    assert (message["detail-type"], message["detail"]) == ("OrderPlaced", {"order": "o-1"})
    shard = kinesis.describe_stream(StreamName="orders")["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="orders", ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    (record,) = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert record["PartitionKey"] == "o-1"
    assert json.loads(record["Data"])["detail"] == {"order": "o-1"}


def test_a_template_buckets_notifications_deliver(sim) -> None:
    """AWS::S3::Bucket's NotificationConfiguration with its key filters
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-notificationconfiguration.html):
    a SAM `S3` event invokes its function for the objects its filter matches
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-s3.html),
    and the queue the others its own filter matches."""
    stack = deploy(sim, S3, stack_name="uploads", validate=False)
    s3, sqs = sim.client("s3"), sim.client("sqs")
    bucket = stack.physical_id("Bucket")
    for key in ("uploads/photo.jpg", "reports/q4 final.csv", "notes.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    sim.run_until_idle()
    function = stack.function_name("Uploaded")
    assert [i.source for i in sim.invocations if i.function_name == function] == ["s3"]
    url = sqs.list_queues()["QueueUrls"][0]
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    # When a queue is configured, S3 first sends it an s3:TestEvent
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
    assert [b.get("Event") for b in bodies if "Records" not in b] == ["s3:TestEvent"]
    # The object's key is URL-encoded in the event, its "/" kept (same page): moto sends
    # "reports%2Fq4+final.csv" to every destination.
    keys = [b["Records"][0]["s3"]["object"]["key"] for b in bodies if "Records" in b]
    assert keys == ["reports/q4+final.csv"]
