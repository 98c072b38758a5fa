"""Sizing the fleet pipeline: Kinesis shards and the cost of a device-month.

Plain arithmetic on the published limits and prices (``serverless_course.prices``), US East
(N. Virginia), first tiers, no free tiers. What is an assumption of this course and not an AWS
figure is named so in ``FleetShape``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from serverless_course import prices

SECONDS_PER_MONTH = 30 * 24 * 3600
HOURS_PER_MONTH = 30 * 24
# Per shard, writes: 1 MB/s or 1,000 records/s
# (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html).
SHARD_WRITE_RECORDS_PER_S = 1_000
SHARD_WRITE_BYTES_PER_S = 1024 * 1024
# Per connection, publishes: 100 a second (https://docs.aws.amazon.com/general/latest/gr/iot-core.html).
PUBLISHES_PER_CONNECTION_PER_S = 100


@dataclass(frozen=True)
class FleetShape:
    devices: int
    fix_interval_s: float = 10.0
    payload_bytes: int = 80  #: a fix as the device publishes it (JSON: lat, lon, accuracy, ts)
    topic: str = "fleet/truck-00000/location"
    record_bytes: int = 140  #: the rule's SELECT result: the fix, device_id and received_at
    #: Assumptions of this course, not AWS figures: how full the consumers' batches are and how
    #: long a batch takes, and how often a device crosses a geofence edge.
    records_per_invocation: float = 100.0
    invocation_ms: float = 300.0
    memory_mb: int = 256
    transitions_per_device_hour: float = 2.0

    @property
    def fixes_per_second(self) -> float:
        return self.devices / self.fix_interval_s

    @property
    def fixes_per_month(self) -> float:
        return self.fixes_per_second * SECONDS_PER_MONTH


def shards_needed(shape: FleetShape, headroom: float = 0.5) -> int:
    """Shards for the fleet's writes, each shard used at most to ``headroom`` of its record and
    byte ceilings (a margin for bursts after offline gaps and uneven hashing of the keys)."""
    by_records = shape.fixes_per_second / (SHARD_WRITE_RECORDS_PER_S * headroom)
    by_bytes = shape.fixes_per_second * shape.record_bytes / (SHARD_WRITE_BYTES_PER_S * headroom)
    return max(1, math.ceil(max(by_records, by_bytes)))


@dataclass(frozen=True)
class MonthlyCost:
    iot_messaging: float
    iot_rules: float
    kinesis: float
    lambda_: float
    dynamodb: float
    eventbridge: float

    @property
    def total(self) -> float:
        return self.iot_messaging + self.iot_rules + self.kinesis + self.lambda_ + self.dynamodb + self.eventbridge

    def lines(self) -> dict[str, float]:
        return {"IoT Core messaging": self.iot_messaging, "IoT rules and actions": self.iot_rules,
                "Kinesis": self.kinesis, "Lambda (2 consumers)": self.lambda_,
                "DynamoDB (position + history)": self.dynamodb, "EventBridge (transitions)": self.eventbridge}


# --8<-- [start:monthly]
def monthly_cost(shape: FleetShape, *, basic_ingest: bool = False, history: bool = True) -> MonthlyCost:
    """A month of the pipeline for ``shape``: every fix is one MQTT publish (metered in 5 KB
    units; none through Basic Ingest), one rule triggered with one Kinesis action, one Kinesis
    record (25 KB PUT payload units), one record for each consumer, one position write (and one
    history write) of at most 1 KB: one write request unit each."""
    fixes = shape.fixes_per_month
    iot_total = prices.iot_monthly_usd(fixes, shape.payload_bytes, topic=shape.topic, basic_ingest=basic_ingest)
    messaging = 0.0 if basic_ingest else fixes * prices.iot_metered_messages(shape.payload_bytes, shape.topic) \
        * prices.IOT_MESSAGE.usd
    put_units = math.ceil(shape.record_bytes / prices.KINESIS_PUT_PAYLOAD_UNIT_BYTES)
    kinesis = (shards_needed(shape) * HOURS_PER_MONTH * prices.KINESIS_SHARD_HOUR.usd
               + fixes * put_units * prices.KINESIS_PUT_PAYLOAD_UNIT.usd)
    consumers = 2 if history else 1
    invocations = consumers * fixes / shape.records_per_invocation
    gb_seconds = invocations * shape.invocation_ms / 1000 * shape.memory_mb / 1024
    lambda_ = invocations * prices.LAMBDA_REQUEST.usd + gb_seconds * prices.LAMBDA_GB_SECOND_ARM64.usd
    dynamodb = consumers * fixes * prices.DYNAMODB_WRITE_REQUEST_UNIT.usd
    transitions = shape.devices * shape.transitions_per_device_hour * HOURS_PER_MONTH
    return MonthlyCost(iot_messaging=messaging, iot_rules=iot_total - messaging, kinesis=kinesis,
                       lambda_=lambda_, dynamodb=dynamodb,
                       eventbridge=transitions * prices.EVENTBRIDGE_CUSTOM_EVENT.usd)


def location_tracker_monthly(shape: FleetShape, *, written_share: float = 1.0, evaluated_share: float = 1.0,
                             collections: int = 1) -> float:
    """The Amazon Location alternative's own charges for the fixes a tracker receives: the
    positions its filter stores are written; the positions it lets through are evaluated once
    per linked collection (TimeBased evaluates every update and stores one per 30 s; the other
    filters store and evaluate the same ones)."""
    fixes = shape.fixes_per_month
    return (fixes * written_share * prices.LOCATION_POSITION_WRITTEN.usd
            + fixes * evaluated_share * collections * prices.LOCATION_POSITION_EVALUATED.usd)
# --8<-- [end:monthly]
