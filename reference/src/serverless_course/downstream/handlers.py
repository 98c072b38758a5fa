"""Two Lambda handlers that call DynamoDB, for lesson 05 (calling downstream services).

``put_items`` makes PutItem calls with the client Config the event asks for (botocore's
defaults, or ``budgeted_config`` for the invocation's time left) and says how each call ended.

``orders_writer`` is an SQS batch handler (``ReportBatchItemFailures``) that stores each record's
body in the table named by ``TABLE``. With ``BREAKER=on`` every write goes through a circuit
breaker: once the table has failed ``fail_max`` times in a row, the remaining records (and the
following batches, until ``reset_timeout``) fail at once without a call, and wait in the queue.
The breaker and the client are module state: one per execution environment.
"""

from __future__ import annotations

import os
import time
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from serverless_course.downstream.breaker import dependency_breaker
from serverless_course.downstream.budget import budgeted_config, remaining_s

TABLE = os.environ.get("TABLE", "orders")
BREAKER_ON = os.environ.get("BREAKER", "off") == "on"

breaker = dependency_breaker("orders-table", fail_max=5, reset_timeout=30.0)
processor = BatchProcessor(event_type=EventType.SQS)
_dynamodb: Any = None


def put_items(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``{"config": "default" | "budgeted", "mode": ..., "max_attempts": ..., "calls": 1}``:
    make ``calls`` PutItem calls with one client and say how each ended and when it started."""
    mode, attempts = event.get("mode", "standard"), event.get("max_attempts")
    if event.get("config") == "budgeted":
        config = budgeted_config(remaining_s(context), mode=mode, max_attempts=attempts or 3)
    else:
        config = Config(retries={"mode": mode, **({"total_max_attempts": attempts} if attempts else {})})
    client = boto3.client("dynamodb", config=config)  # per invocation: the config is the experiment
    calls = []
    for n in range(event.get("calls", 1)):
        started = time.time()
        try:
            client.put_item(TableName=TABLE, Item={"order_id": {"S": f"o-{n}"}})
            outcome = "stored"
        except Exception as error:  # the handler reports any failure of the call and still answers
            outcome = type(error).__name__
        calls.append({"outcome": outcome, "started": started, "call_s": round(time.time() - started, 6)})
    return {"calls": calls, "left_s": remaining_s(context)}


def _table(context: LambdaContext) -> Any:
    global _dynamodb
    if _dynamodb is None:  # the first invocation's time left: about the function's timeout
        _dynamodb = boto3.client("dynamodb", config=budgeted_config(remaining_s(context)))
    return _dynamodb


def orders_writer(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    table = _table(context)

    def store(record: SQSRecord) -> None:
        table.put_item(TableName=TABLE, Item={"order_id": {"S": record.message_id},
                                              "body": {"S": record.body}})

    record_handler = breaker(store) if BREAKER_ON else store
    return process_partial_response(event=event, record_handler=record_handler,
                                    processor=processor, context=context)
