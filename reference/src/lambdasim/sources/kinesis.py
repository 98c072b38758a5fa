"""The Amazon Kinesis Data Streams event source mapping: the record Lambda builds.

Shape: the sample event of https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
(a `kinesis` object with kinesisSchemaVersion, partitionKey, sequenceNumber, base64 `data` and
approximateArrivalTimestamp in epoch seconds with milliseconds; eventSource `aws:kinesis`,
eventVersion, eventID `<shard id>:<sequence number>`, eventName `aws:kinesis:record`,
invokeIdentityArn (the function's execution role), awsRegion, eventSourceARN). Settlement,
filters and the on-failure record are shared with DynamoDB Streams: `sources.streams`.
Filtering (invocation-eventfiltering.html, "Filtering Kinesis"): patterns name the keys of the
`kinesis` object; `data` is matched as JSON.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from .streams import decode_json, filter_candidate_matches

EVENT_SOURCE: Final = "aws:kinesis"
EVENT_NAME: Final = "aws:kinesis:record"
BATCH_INFO_KEY: Final = "KinesisBatchInfo"
STARTING_POSITIONS: Final = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")


def build_record(record: Mapping[str, Any], *, shard_id: str, stream_arn: str, region: str,
                 role_arn: str) -> dict[str, Any]:
    """One event record from one record as Kinesis GetRecords returned it (boto3)."""
    data = record["Data"]
    if isinstance(data, str):
        data = data.encode("utf-8")
    arrival = record["ApproximateArrivalTimestamp"]
    if isinstance(arrival, datetime):
        arrival = arrival.timestamp()
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": round(float(arrival), 3),
        },
        "eventSource": EVENT_SOURCE,
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": EVENT_NAME,
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def record_matches(record: Mapping[str, Any], filters: Any) -> bool:
    """True if the mapping's filters let this record through (none: all pass)."""
    if not filters:
        return True
    candidate = dict(record["kinesis"])
    candidate["data"] = decode_json(base64.b64decode(candidate["data"]))
    return filter_candidate_matches(candidate, filters, data_key="data")
