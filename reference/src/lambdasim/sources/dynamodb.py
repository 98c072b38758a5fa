"""The Amazon DynamoDB Streams event source mapping: the record Lambda builds.

Shape: the sample event of https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
(eventID, eventName INSERT/MODIFY/REMOVE, eventVersion "1.1", eventSource `aws:dynamodb`,
awsRegion, `dynamodb` with ApproximateCreationDateTime in epoch seconds, Keys, NewImage /
OldImage per the stream view type, SequenceNumber, SizeBytes, StreamViewType, and
eventSourceARN, the stream's ARN). moto's stream records say `us-east-1` whatever the Region
and carry no eventSourceARN: both come from the mapping here. Settlement, filters and the
on-failure record are shared with Kinesis: `sources.streams`. Filtering
(invocation-eventfiltering.html, "Filtering DynamoDB"): patterns match the record as it is, e.g.
`{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}`.
StartingPosition is TRIM_HORIZON or LATEST (services-ddb-params.html).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from .streams import filter_candidate_matches

EVENT_SOURCE: Final = "aws:dynamodb"
EVENT_VERSION: Final = "1.1"
BATCH_INFO_KEY: Final = "DDBStreamBatchInfo"
STARTING_POSITIONS: Final = ("TRIM_HORIZON", "LATEST")


def build_record(record: Mapping[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    """One event record from one record as DynamoDB Streams GetRecords returned it (boto3)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created = float(int(created.timestamp()))
    body: dict[str, Any] = {"ApproximateCreationDateTime": created}
    for key in ("Keys", "NewImage", "OldImage"):
        if key in change:
            body[key] = {name: _wire(value) for name, value in change[key].items()}
    body["SequenceNumber"] = change["SequenceNumber"]
    body["SizeBytes"] = change["SizeBytes"]
    body["StreamViewType"] = change["StreamViewType"]
    out: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": EVENT_VERSION,
        "eventSource": EVENT_SOURCE,
        "awsRegion": region,
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        # The API's Identity (Type, PrincipalId) as the event spells it: a TTL deletion's
        # {"type": "Service", "principalId": "dynamodb.amazonaws.com"} (time-to-live-ttl-streams.html).
        identity = record["userIdentity"]
        out["userIdentity"] = {"type": identity.get("Type"), "principalId": identity.get("PrincipalId")}
    return out


def _wire(value: Any) -> Any:
    """An attribute value as JSON carries it (boto3 decodes B/BS to bytes)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def record_matches(record: Mapping[str, Any], filters: Any) -> bool:
    """True if the mapping's filters let this record through (none: all pass)."""
    return filter_candidate_matches(record, filters) if filters else True
