"""Amazon EventBridge Pipes: what AWS documents, as pure functions and constants.

Sources (Amazon EventBridge User Guide, https://docs.aws.amazon.com/eventbridge/latest/userguide/):

- eb-pipes-dynamodb.html, eb-pipes-kinesis.html, eb-pipes-sqs.html: a pipe reads a DynamoDB
  stream, a Kinesis stream or an SQS queue with the parameters Lambda's event source mappings
  use (BatchSize, MaximumBatchingWindowInSeconds, StartingPosition, MaximumRetryAttempts,
  MaximumRecordAgeInSeconds, OnPartialBatchItemFailure AUTOMATIC_BISECT, DeadLetterConfig for
  streams); the records have the shapes of Lambda's events (a Kinesis record flattened:
  `kinesis_record`), one JSON array per batch.
- eb-pipes-event-filtering.html: FilterCriteria patterns are EventBridge event patterns matched
  against each record; records that match no filter are dropped (an SQS message is deleted),
  and "You are only charged for those events that match the filter".
- pipes-enrichment.html: "EventBridge invokes enrichments synchronously"; the enrichment's
  response goes to the target, and an enrichment that returns fewer events filters the batch.
- eb-pipes-batching-concurrency.html: Lambda functions (enrichment or target) receive the whole
  batch as a JSON array "even if the batch size is 1"; batchable targets' maximum batch: an
  event bus 10, an SQS queue 10; a Lambda target can return `{"batchItemFailures":
  [{"itemIdentifier": ...}]}` ("Partial batch failure is not supported for enrichment").
- eb-pipes-input-transformation.html: an InputTemplate (EnrichmentParameters, TargetParameters)
  is applied to each event of the batch, not to the array: free text, a JSON path
  (`<$.attributes.SenderId>`) or a JSON object with inline paths (`{"key": <$.body.key>}`;
  an SQS body or Kinesis data that is JSON is read as JSON), and the reserved variables
  `<aws.pipes.pipe-arn>`, `pipe-name`, `source-arn`, `enrichment-arn`, `target-arn`,
  `event.ingestion-time` (ISO 8601), `event` and `event.json`; "put quotes around variables
  that refer to JSON path parameters, but do not put quotes around variables that refer to
  JSON objects or arrays" (EventBridge's template filling: `rules.eventbridge.fill_template`).
- eb-pipes-error-troubleshooting.html: customer invocation errors are retried up to the pipe's
  MaximumRetryAttempts or MaximumRecordAgeInSeconds for stream sources, and up to the source
  queue's maxReceiveCount for SQS; then stream records go to the pipe's dead-letter queue.

The event a pipe puts on an event bus: `source` "Pipe <pipe name>" and `detail-type` "Event
from <eventSource>" (e.g. "Event from aws:dynamodb"), the record as `detail`, unless the
target's EventBridgeEventBusParameters set Source or DetailType. The AWS pages cited above do
not state these defaults; they are the values AWS puts, shown in the AWS tutorial
https://community.aws/content/2dqtpRpH8mBLNb1SIi40iJVKfkP/ddb-streams-to-eb-pipes (could not be
confirmed on a documentation page).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .eventbridge import fill_template, template_variables, value_at

EVENT_BUS_BATCH_LIMIT: Final = 10  # eb-pipes-batching-concurrency.html
SQS_BATCH_LIMIT: Final = 10  # eb-pipes-batching-concurrency.html
SOURCE_PARAMETER_KEYS: Final = {"dynamodb": "DynamoDBStreamParameters", "kinesis": "KinesisStreamParameters",
                                 "sqs": "SqsQueueParameters"}


def source_kind(source_arn: str) -> str:
    """"dynamodb", "kinesis" or "sqs" for the sources the simulator plays; ValueError for the others."""
    service = source_arn.split(":")[2] if source_arn.count(":") >= 5 else ""
    if service not in SOURCE_PARAMETER_KEYS:
        raise ValueError(f"the simulator runs pipes from DynamoDB streams, Kinesis streams and SQS queues, "
                         f"not {source_arn}")
    return service


def mapping_config(pipe: Mapping[str, Any]) -> dict[str, Any]:
    """A pipe's source as the event source mapping configuration the pollers read
    (ListEventSourceMappings' keys), from DescribePipe's answer."""
    kind = source_kind(pipe["Source"])
    parameters = dict(pipe.get("SourceParameters") or {})
    own = dict(parameters.get(SOURCE_PARAMETER_KEYS[kind]) or {})
    if own.get("StartingPosition") == "AT_TIMESTAMP":
        raise ValueError("the simulator does not start a pipe AT_TIMESTAMP yet")
    config: dict[str, Any] = {
        "EventSourceArn": pipe["Source"],
        "FunctionArn": pipe["Arn"],
        "EventSourceMappingArn": pipe["Arn"],
        "State": "Enabled" if pipe.get("CurrentState") == "RUNNING" else "Disabled",
        "FilterCriteria": parameters.get("FilterCriteria"),
        # The target's own answer (a Lambda target's batchItemFailures) always counts.
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "StartingPosition", "MaximumRetryAttempts",
                "MaximumRecordAgeInSeconds", "ParallelizationFactor"):
        if own.get(key) is not None:
            config[key] = own[key]
    if own.get("OnPartialBatchItemFailure") == "AUTOMATIC_BISECT":
        config["BisectBatchOnFunctionError"] = True
    dead_letter = (own.get("DeadLetterConfig") or {}).get("Arn")
    if dead_letter:
        config["DestinationConfig"] = {"OnFailure": {"Destination": dead_letter}}
    return config


@dataclass(frozen=True)
class PipeNames:
    """The ARNs an input template's reserved variables name."""

    pipe_arn: str
    pipe_name: str
    source_arn: str
    enrichment_arn: str
    target_arn: str


def transform(template: str, event: Any, names: PipeNames, ingestion_time: str) -> Any:
    """One event through an InputTemplate (see the module docstring): a JSON template gives
    JSON (ValueError if the filled template is not JSON), any other the text."""
    readable = event
    if isinstance(event, Mapping) and isinstance(event.get("body"), str):  # an SQS record
        try:
            readable = {**event, "body": json.loads(event["body"])}
        except ValueError:
            pass
    values: dict[str, Any] = {
        "aws.pipes.pipe-arn": names.pipe_arn, "aws.pipes.pipe-name": names.pipe_name,
        "aws.pipes.source-arn": names.source_arn, "aws.pipes.enrichment-arn": names.enrichment_arn,
        "aws.pipes.target-arn": names.target_arn, "aws.pipes.event.ingestion-time": ingestion_time,
        "aws.pipes.event": event, "aws.pipes.event.json": event,
    }
    for variable in template_variables(template):
        if variable.startswith("$"):
            values[variable] = value_at(readable, variable) if isinstance(readable, (Mapping, list)) else None
    text = fill_template(template, values)
    if not template.lstrip().startswith("{"):
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError(f"the InputTemplate did not give JSON: {text[:200]}") from None


def kinesis_record(lambda_record: Mapping[str, Any]) -> dict[str, Any]:
    """A Kinesis record as a pipe gets it (eb-pipes-event-filtering.html): the fields of Lambda's
    `kinesis` object (kinesisSchemaVersion, partitionKey, sequenceNumber, data in base64,
    approximateArrivalTimestamp) beside eventSource, eventVersion, eventID, eventName,
    invokeIdentityArn, awsRegion and eventSourceARN, not nested."""
    return {**lambda_record["kinesis"], **{k: v for k, v in lambda_record.items() if k != "kinesis"}}


def bus_entries(pipe_name: str, source_arn: str, bus_arn: str, events: Sequence[Any],
                parameters: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """PutEvents entries for the events a pipe sends to an event bus (see the module docstring
    for the defaults of Source and DetailType: the source's service, e.g. aws:dynamodb, whatever
    the enrichment or an input template made of the record). ValueError for an event that is not
    a JSON object (an entry's Detail must be one)."""
    origin = f"aws:{source_kind(source_arn)}"
    params = dict(parameters or {})
    entries = []
    for event in events:
        if not isinstance(event, Mapping):
            raise ValueError(f"an event bus entry's Detail must be a JSON object, not {json.dumps(event)[:100]}")
        entry: dict[str, Any] = {
            "Source": params.get("Source") or f"Pipe {pipe_name}",
            "DetailType": params.get("DetailType") or f"Event from {origin}",
            "Detail": json.dumps(event),
            "EventBusName": bus_arn,
        }
        if params.get("Resources"):
            entry["Resources"] = list(params["Resources"])
        entries.append(entry)
    return entries


def enrichment_output(payload: bytes | str) -> list[Any]:
    """The events an enrichment's response passes to the target (pipes-enrichment.html): a JSON
    array is the batch (it may be shorter: the enrichment filtered); any other JSON value is one
    event; an empty response (null) passes nothing."""
    document = json.loads(payload) if payload else None
    if document is None:
        return []
    return list(document) if isinstance(document, list) else [document]
