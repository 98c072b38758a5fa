"""How fast the simulator plays an SQS event source mapping, against the raw moto calls.

    .venv/bin/python reference/benchmarks/sqs_poller.py [messages ...]   (default: 1000 10000)

For N messages already in a queue: SQS -> function (BatchSize 10) -> DynamoDB (one item per
message, BatchWriteItem). "simulator" is `sim.run_until_idle()` (pollers, invocations,
settlement); "raw" makes the same ReceiveMessage / BatchWriteItem / DeleteMessageBatch calls
directly with boto3 against moto inside the same simulator (same patched, fast SQS), and
"bare moto" the same calls under plain `mock_aws` without the simulator (1,000 messages at
most, one run: unpatched moto rescans the queue on every call). Wall-clock times, best of 3.
Peak memory: the peak of the Python heap (tracemalloc) during one extra simulated run.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import boto3
import freezegun.api
from moto import mock_aws

from lambdasim import Simulator

APP = Path(__file__).parent / "sqs_poller_app"


class _Wall:
    # freezegun replaces module-level references to the real clock; a class attribute is safe.
    now = staticmethod(freezegun.api.real_perf_counter)


def _resources(sqs, ddb):
    url = sqs.create_queue(QueueName="bench", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    ddb.create_table(TableName="items", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    return url


def _send(sqs, url, n):
    for start in range(0, n, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": f'{{"n": {start + i}}}'} for i in range(min(10, n - start))])


def _raw(sqs, ddb, url, n):
    done = 0
    while done < n:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageSystemAttributeNames=["All"],
                                       MessageAttributeNames=["All"]).get("Messages", [])
        ddb.batch_write_item(RequestItems={"items": [
            {"PutRequest": {"Item": {"pk": {"S": m["MessageId"]}, "body": {"S": m["Body"]}}}} for m in messages]})
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        done += len(messages)


def simulated(n: int) -> tuple[float, dict]:
    with Simulator(seed=1) as sim:
        sqs, ddb = sim.client("sqs"), sim.client("dynamodb")
        url = _resources(sqs, ddb)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sim.create_function(FunctionName="writer", Handler="app.handler", code_dir=APP, Timeout=30,
                            Environment={"Variables": {"TABLE": "items"}})
        uuid = sim.client("lambda").create_event_source_mapping(
            FunctionName="writer", EventSourceArn=arn, BatchSize=10)["UUID"]
        _send(sqs, url, n)
        start = _Wall.now()
        assert sim.run_until_idle()
        seconds = _Wall.now() - start
        stats = sim.poller(uuid).stats
        return seconds, {"invocations": stats.invocations, "polls": stats.polls, "deleted": stats.deleted,
                         "virtual_s": round(sim.elapsed, 3)}


def raw_in_simulator(n: int) -> float:
    with Simulator(seed=1) as sim:
        sqs, ddb = sim.client("sqs"), sim.client("dynamodb")
        url = _resources(sqs, ddb)
        _send(sqs, url, n)
        start = _Wall.now()
        _raw(sqs, ddb, url, n)
        return _Wall.now() - start


def raw_bare_moto(n: int) -> float:
    with mock_aws():
        sqs, ddb = boto3.client("sqs", region_name="us-east-1"), boto3.client("dynamodb", region_name="us-east-1")
        url = _resources(sqs, ddb)
        _send(sqs, url, n)
        start = _Wall.now()
        _raw(sqs, ddb, url, n)
        return _Wall.now() - start


def peak_heap_mb(n: int) -> float:
    tracemalloc.start()
    try:
        simulated(n)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main(sizes: list[int], repeat: int = 3) -> None:
    simulated(100)  # warm up: imports, botocore models
    for n in sizes:
        # Best of `repeat` (the machine may be busy with other work).
        runs = [simulated(n) for _ in range(repeat)]
        sim_s, info = min(runs, key=lambda run: run[0])
        raw_s = min(raw_in_simulator(n) for _ in range(repeat))
        bare_s = raw_bare_moto(n) if n <= 1000 else float("nan")
        print(f"{n} messages: simulator {sim_s:.3f} s ({n / sim_s:,.0f} msg/s, {sim_s / n * 1000:.2f} ms/msg) {info}")
        print(f"  raw calls, same simulator: {raw_s:.3f} s ({raw_s / n * 1000:.2f} ms/msg); ratio {sim_s / raw_s:.2f}")
        print(f"  raw calls, bare mock_aws:  {bare_s:.3f} s ({bare_s / n * 1000:.2f} ms/msg); ratio {sim_s / bare_s:.2f}")
        print(f"  peak Python heap of a simulated run: {peak_heap_mb(n):.0f} MiB")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000])
