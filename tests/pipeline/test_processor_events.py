"""The processor's write and its OrderAccepted event are one idempotent unit.

When the processor's ``PutEvents`` fails after the order was written, the record fails, its
Powertools idempotency record is deleted (the function raised), and SQS redelivers it after the
visibility timeout (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
The retry finds the order already written by the same event (the conditional put fails with the
item it found, ``ReturnValuesOnConditionCheckFailure``) and sends the event: every order has its
``OrderAccepted``, and none is written twice.
"""

from __future__ import annotations

import json
from collections import Counter

from lambdasim import Simulator
from lambdasim.faults import ServerError
from lambdasim.sources.sqs import take_all
from serverless_course import pipeline
from serverless_course.chaos import ChaosMix
from serverless_course.chaos.harness import make_messages


def test_accepted_event_survives_a_failed_put_events() -> None:
    with Simulator(seed=3, logs=False, metrics=False) as sim:
        stack = pipeline.deploy(sim, stack_name="outage", validate=False)
        out = stack.outputs
        sqs, events, ddb = sim.client("sqs"), sim.client("events"), sim.client("dynamodb")
        consumer = sqs.create_queue(QueueName="outage-accepted")["QueueUrl"]
        consumer_arn = sqs.get_queue_attributes(QueueUrl=consumer, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        events.put_rule(Name="accepted", EventBusName=out["EventBusName"],
                        EventPattern=json.dumps({"detail-type": ["OrderAccepted"]}))
        events.put_targets(Rule="accepted", EventBusName=out["EventBusName"],
                           Targets=[{"Id": "consumer", "Arn": consumer_arn}])
        start = sim.now
        # Every processor PutEvents fails (500 on every attempt) for the first 30 s: longer than
        # one invocation's retries, shorter than the queue's visibility timeout.
        sim.faults.add("events", "PutEvents", ServerError(), label="outage",
                       when=lambda p: p["Entries"][0]["Source"] == "orders.processor"
                       and (sim.now - start).total_seconds() < 30)
        messages = make_messages(10, 3, ChaosMix(poison=0, duplicates=0), sim.now)
        sqs.send_message_batch(QueueUrl=out["QueueUrl"], Entries=[
            {"Id": str(i), "MessageBody": m.body} for i, m in enumerate(messages)])
        sim.run_until_idle(max_seconds=3600)
        outage = sum(1 for i in sim.faults.injected if i.label == "outage")
        puts = sim.faults.call_counts[("dynamodb", "PutItem")]
        items = ddb.scan(TableName=out["OrdersTableName"])["Items"]
        accepted = Counter(json.loads(m["Body"])["detail"]["data"]["order_id"]
                           for m in take_all(sqs, consumer))
        dlq = [m for name in ("DeadLetterQueueUrl", "RedriveDeadLetterQueueUrl") for m in take_all(sqs, out[name])]
        processor = stack.function_name("ProcessorFunction")
        invocations = [r for r in sim.invocations if r.function_name == processor]
    order_ids = {m.order_id for m in messages}
    assert outage > 0
    assert len(invocations) >= 2  # the failed records came back
    assert {i["order_id"]["S"] for i in items} == order_ids and len(items) == 10
    assert accepted == Counter({o: 1 for o in order_ids})
    assert dlq == []
    # The orders' conditional puts: 10 written, 10 refused on the retry (already written by the
    # same event); plus the idempotency records, each put twice (deleted after the failure).
    assert puts == 40
