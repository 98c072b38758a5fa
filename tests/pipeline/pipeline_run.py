"""One run of the orders pipeline through the simulator, for the proof tests."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from lambdasim import Simulator
from lambdasim.faults import FaultInjector, PartialFailure
from lambdasim.sources.sqs import take_all
from serverless_course import pipeline
from serverless_course.pipeline import traffic


@dataclass
class Run:
    stack: Any
    requests: list[traffic.Request]
    responses: list[dict[str, Any]]
    put_events: list[dict[str, Any]]  # the params of every PutEvents call
    calls: dict[tuple[str, str], int]
    table: dict[str, dict[str, Any]]
    dlq: list[dict[str, Any]]
    accepted: list[dict[str, Any]]  # OrderAccepted events seen by a downstream consumer
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def run_pipeline(count: int, seed: int, telemetry: bool = False, **kw: Any) -> Run:
    start = os.times().elapsed
    with Simulator(seed=seed, logs=telemetry, metrics=telemetry) as sim:
        stack = pipeline.deploy(sim)
        sqs, events = boto3.client("sqs"), boto3.client("events")
        # A downstream consumer of OrderAccepted (not part of the stack: what a later module adds).
        consumer = sqs.create_queue(QueueName="accepted-consumer")["QueueUrl"]
        consumer_arn = sqs.get_queue_attributes(QueueUrl=consumer, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        bus = stack.outputs["EventBusName"]
        events.put_rule(Name="accepted", EventBusName=bus,
                        EventPattern=json.dumps({"detail-type": ["OrderAccepted"]}))
        events.put_targets(Rule="accepted", EventBusName=bus,
                           Targets=[{"Id": "consumer", "Arn": consumer_arn}])
        seen: list[dict[str, Any]] = []
        requests = traffic.generate(count, seed=seed, **kw)
        responses = []
        with FaultInjector(seed=seed) as faults:
            faults.add("events", "PutEvents", PartialFailure(),
                       when=lambda params: seen.append(params) and False)
            for r in requests:
                # Through API Gateway's front door: POST to the stack's URL, as a client does.
                answer = sim.http("POST", stack.outputs["ApiUrl"], body=r.body, headers={
                    "Content-Type": "application/json", "X-Correlation-Id": r.correlation_id})
                responses.append({"statusCode": answer.status, "headers": answer.headers,
                                  "body": answer.text})
            sim.run_until_idle()
            calls = faults.call_counts
        ddb = boto3.resource("dynamodb").Table(stack.outputs["OrdersTableName"])
        items = ddb.scan()["Items"]
        table = {i["order_id"]: i for i in items}
        assert len(table) == len(items)
        dlq = [m for name in ("DeadLetterQueueUrl", "RedriveDeadLetterQueueUrl", "RuleDeadLetterQueueUrl")
               for m in take_all(sqs, stack.outputs[name])]
        accepted = [json.loads(m["Body"]) for m in take_all(sqs, consumer)]
        extra = {"invocations": Counter(i.function_name for i in sim.invocations),
                 "elapsed_s": sim.elapsed, "queue_left": take_all(sqs, stack.outputs["QueueUrl"])}
    return Run(stack, requests, responses, seen, calls, table, dlq, accepted,
               os.times().elapsed - start, extra)


def minimum_put_events(run: Run) -> int:
    return sum(math.ceil(len(r.order_ids) / 10) for r in run.requests if r.kind in ("valid", "duplicate"))
