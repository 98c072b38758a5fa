"""Powertools for AWS Lambda (Python) works with the simulator's context object.

https://docs.powertools.aws.dev/lambda/python/latest/core/logger/#capturing-lambda-context-info ,
.../utilities/batch/ , .../utilities/idempotency/#lambda-timeouts (register_lambda_context).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3

FIXTURES = Path(__file__).parent / "fixtures"
APP = FIXTURES / "powertools_app"


def _sqs_event(*bodies: str) -> dict:
    # The shape of AWS's sample SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
    return {"Records": [{
        "messageId": f"id-{i}", "receiptHandle": f"rh-{i}", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767225600000",
                       "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1767225600001"},
        "messageAttributes": {}, "md5OfBody": "0" * 32, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1",
    } for i, body in enumerate(bodies)]}


def test_logger_inject_lambda_context(sim, call):
    """Logger.inject_lambda_context reads function_name, memory, ARN and request id from the context."""
    sim.create_function(FunctionName="orders", Handler="app.logged", code_dir=APP, MemorySize=256)
    response, keys = call("orders")
    assert "FunctionError" not in response
    assert keys["function_name"] == "orders"
    assert keys["function_memory_size"] == "256"
    assert keys["function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:orders"
    assert keys["function_request_id"] == sim.invocations[-1].request_id


def test_batch_processor_partial_response(sim, call):
    """BatchProcessor + process_partial_response with the context: the failed record is reported
    as a batchItemFailure (services-sqs-errorhandling.html, ReportBatchItemFailures)."""
    sim.create_function(FunctionName="batch", Handler="app.batch", code_dir=APP)
    response, body = call("batch", _sqs_event("ok", "poison", "fine"))
    assert "FunctionError" not in response
    assert body == {"batchItemFailures": [{"itemIdentifier": "id-1"}]}


def test_idempotency_uses_the_remaining_time(sim, call):
    """Idempotency's register_lambda_context: the in-progress record expires at the invocation's
    deadline (virtual now + get_remaining_time_in_millis), and a repeat returns the stored result."""
    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName="idempotency", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    sim.create_function(FunctionName="pay", Handler="app.idempotent_handler", code_dir=APP, Timeout=30,
                        Environment={"Variables": {"IDEMPOTENCY_TABLE": "idempotency"}})
    sim.run_for(5)
    first = call("pay", {"order_id": "o-1"})[1]
    second = call("pay", {"order_id": "o-1"})[1]
    assert first == second == {"charged": "o-1", "times": 1}
    (item,) = ddb.scan(TableName="idempotency")["Items"]
    assert item["status"]["S"] == "COMPLETED"
    deadline_ms = int(sim.invocations[0].start.timestamp() * 1000) + 30_000
    assert int(item["in_progress_expiration"]["N"]) == deadline_ms
    assert json.loads(item["data"]["S"]) == first
