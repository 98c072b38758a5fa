"""What one AWS call costs through the simulator, against moto's own backend work for it.

    .venv/bin/python reference/benchmarks/api_calls.py [calls per round]   (default: 300)

Inside a running `Simulator`, each operation is called with boto3 in three rounds of N calls
(after 20 warm-up calls), and the fastest round counts: SQS SendMessage, ReceiveMessage, DeleteMessage; DynamoDB PutItem, UpdateItem, a
conditional PutItem, Query; EventBridge PutEvents (10 entries, one rule with an SQS target).
"boto3" is the wall time per call, from the client method to its parsed answer, in ms. It is
split into "botocore" (the client: parameters, endpoint, signing, parsing the answer; the fault
injector's hooks included), "moto" (moto's request handling: the werkzeug request, parsing
parameters, routing, serialising the answer) and "backend": the time spent inside moto's
backend method for that call (`SQSBackend.send_message`, ..., the simulator's own patches of it
included), the work that stands for the service itself. "ratio" is boto3 / backend; the
course's budget is 3x (BLUEPRINT "Speed"). "plain moto" is the same call's wall time under
moto's own `mock_aws()` without the simulator, in one round (its PutEvents takes a third of a
second a call): what the simulator adds (or saves: its dispatch patches) over moto as everyone
uses it. Rows whose cost grows with the data (Query, ReceiveMessage) compare only roughly: the
plain run's table and queue hold a third of the simulator run's items. botocore's own share (column
"botocore", about 0.5 ms whatever the operation) is a floor that no change on moto's side can
lower, so the 3x budget cannot hold for calls whose backend work is under about 0.2 ms.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import freezegun.api

from lambdasim import Simulator


class _Wall:
    # freezegun replaces module-level references to the real clock; a class attribute is safe.
    now = staticmethod(freezegun.api.real_perf_counter)


class BackendTimer:
    """Wraps one backend method on its class and adds up the wall time spent inside it."""

    def __init__(self, owner: type, name: str):
        self.owner, self.name = owner, name
        self.original = owner.__dict__[name]
        self.seconds = 0.0
        self.calls = 0

    def __enter__(self) -> BackendTimer:
        original, timer = self.original, self

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = _Wall.now()
            try:
                return original(*args, **kwargs)
            finally:
                timer.seconds += _Wall.now() - start
                timer.calls += 1

        setattr(self.owner, self.name, timed)
        return self

    def __exit__(self, *exc: Any) -> None:
        setattr(self.owner, self.name, self.original)


def measure(owner: type, method: str, call: Callable[[int], Any], n: int, warmup: int = 20,
            rounds: int = 3) -> tuple[float, float, float]:
    """(ms per boto3 call, ms in moto's request handling, ms of backend work) per call, from the
    fastest of `rounds` rounds of `n` calls of `call(i)` (other processes on the machine only
    ever slow a round down)."""
    from moto.core.botocore_stubber import BotocoreStubber

    for i in range(warmup):
        call(-1 - i)
    best: tuple[float, float, float] | None = None
    for r in range(rounds):
        with BackendTimer(owner, method) as backend, BackendTimer(BotocoreStubber, "process_request") as moto:
            start = _Wall.now()
            for i in range(r * n, (r + 1) * n):
                call(i)
            total = _Wall.now() - start
        if backend.calls != n:
            raise AssertionError(f"{owner.__name__}.{method} ran {backend.calls} times for {n} calls")
        if best is None or total < best[0]:
            best = (total, moto.seconds, backend.seconds)
    assert best is not None
    return best[0] / n * 1000, best[1] / n * 1000, best[2] / n * 1000


@contextlib.contextmanager
def plain_moto() -> Iterator[Callable[[str], Any]]:
    """moto's own mock_aws(), with boto3 clients as a test using moto makes them."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


@contextlib.contextmanager
def simulator() -> Iterator[Callable[[str], Any]]:
    with Simulator(seed=1) as sim:
        yield sim.client


def run(n: int, clients: Callable[[], contextlib.AbstractContextManager[Callable[[str], Any]]] = simulator,
        rounds: int = 3) -> list[tuple[str, float, float, float]]:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.events.models import EventsBackend
    from moto.sqs.models import SQSBackend

    rows = []
    with clients() as client:
        sqs, ddb, events = client("sqs"), client("dynamodb"), client("events")
        url = sqs.create_queue(QueueName="bench")["QueueUrl"]
        receipts: list[str] = []

        def receive(i: int) -> None:
            receipts.extend(m["ReceiptHandle"] for m in sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0)["Messages"])

        rows.append(("SQS SendMessage", *measure(SQSBackend, "send_message", lambda i: sqs.send_message(
            QueueUrl=url, MessageBody=f'{{"order": {i}}}'), n, rounds=rounds)))
        for i in range(100):  # the receives' warm-up takes more messages than the rounds sent
            sqs.send_message(QueueUrl=url, MessageBody=f'{{"order": {-i}}}')
        rows.append(("SQS ReceiveMessage", *measure(SQSBackend, "receive_message", receive, n, rounds=rounds)))
        rows.append(("SQS DeleteMessage", *measure(SQSBackend, "delete_message", lambda i: sqs.delete_message(
            QueueUrl=url, ReceiptHandle=receipts.pop()), n, rounds=rounds)))

        ddb.create_table(TableName="orders", KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST")

        def item(i: int, kind: str) -> dict[str, Any]:
            return {"pk": {"S": f"customer-{i % 20}"}, "sk": {"S": f"{kind}-{i}"},
                    "total": {"N": str(i)}, "status": {"S": "NEW"}}

        rows.append(("DynamoDB PutItem", *measure(DynamoDBBackend, "put_item", lambda i: ddb.put_item(
            TableName="orders", Item=item(i, "order")), n, rounds=rounds)))
        rows.append(("DynamoDB UpdateItem", *measure(DynamoDBBackend, "update_item", lambda i: ddb.update_item(
            TableName="orders", Key={"pk": {"S": f"customer-{i % 20}"}, "sk": {"S": f"order-{i}"}},
            UpdateExpression="SET #s = :s ADD attempts :one",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "PAID"}, ":one": {"N": "1"}}), n, rounds=rounds)))
        rows.append(("DynamoDB conditional PutItem", *measure(DynamoDBBackend, "put_item", lambda i: ddb.put_item(
            TableName="orders", Item=item(i, "payment"),
            ConditionExpression="attribute_not_exists(pk)"), n, rounds=rounds)))
        rows.append(("DynamoDB Query", *measure(DynamoDBBackend, "query", lambda i: ddb.query(
            TableName="orders", KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"customer-{i % 20}"}, ":prefix": {"S": "order-"}},
            Limit=10), n, rounds=rounds)))

        target = sqs.create_queue(QueueName="events")["QueueUrl"]
        target_arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="orders", EventPattern='{"source": ["shop.orders"]}')
        events.put_targets(Rule="orders", Targets=[{"Id": "queue", "Arn": target_arn}])
        entries = [{"Source": "shop.orders", "DetailType": "OrderPlaced", "Detail": f'{{"n": {k}}}'}
                   for k in range(10)]
        rows.append(("EventBridge PutEvents (10)", *measure(EventsBackend, "put_events", lambda i: events.put_events(
            Entries=entries), n, rounds=rounds)))
    return rows


def main(n: int = 300) -> int:
    start = _Wall.now()
    rows = run(n)
    # One round: plain moto's slowest calls (PutEvents to an SQS target) take 0.2 s each.
    plain = {name: through_boto3 for name, through_boto3, *_ in run(n, plain_moto, rounds=1)}
    print(f"{'operation':<30} {'boto3 ms':>9} {'botocore':>9} {'moto':>7} {'backend':>8} {'ratio':>6} "
          f"{'plain moto':>11}")
    for name, through_boto3, moto, backend in rows:
        print(f"{name:<30} {through_boto3:>9.3f} {through_boto3 - moto:>9.3f} {moto - backend:>7.3f} "
              f"{backend:>8.3f} {through_boto3 / backend:>6.1f} {plain[name]:>11.3f}")
    print(f"{n} calls per round; {_Wall.now() - start:.1f} s wall in all")
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:])))
