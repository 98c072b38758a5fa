"""Shards and monthly cost of the fleet pipeline, worked by hand."""

from __future__ import annotations

import pytest

from serverless_course import prices
from serverless_course.location import sizing
from serverless_course.location.sizing import FleetShape


def test_a_month_of_one_thousand_devices_at_a_fix_every_ten_seconds() -> None:
    """100 fixes a second for 30 days: 259.2M fixes; each a 5 KB-or-less MQTT message
    (https://aws.amazon.com/iot-core/pricing/additional-details/), a rule and an action, a
    25 KB-or-less Kinesis PUT payload unit, a 1 KB-or-less write per table."""
    shape = FleetShape(1_000)
    cost = sizing.monthly_cost(shape)
    fixes = 259_200_000
    assert shape.fixes_per_month == fixes
    assert cost.iot_messaging == pytest.approx(fixes * prices.IOT_MESSAGE.usd)
    assert cost.iot_rules == pytest.approx(fixes * (prices.IOT_RULE_TRIGGERED.usd + prices.IOT_ACTION_EXECUTED.usd))
    assert cost.kinesis == pytest.approx(720 * prices.KINESIS_SHARD_HOUR.usd + fixes * prices.KINESIS_PUT_PAYLOAD_UNIT.usd)
    assert cost.dynamodb == pytest.approx(2 * fixes * prices.DYNAMODB_WRITE_REQUEST_UNIT.usd)
    # Basic Ingest removes the messaging line and nothing else
    # (https://docs.aws.amazon.com/iot/latest/developerguide/iot-basic-ingest.html).
    ingest = sizing.monthly_cost(shape, basic_ingest=True)
    assert ingest.iot_messaging == 0 and ingest.total == pytest.approx(cost.total - cost.iot_messaging)


@pytest.mark.parametrize(("devices", "interval_s", "shards"), [
    (1_000, 10, 1),      # 100 records/s
    (10_000, 10, 2),     # 1,000 records/s: one shard's whole ceiling, two at 50 % headroom
    (100_000, 10, 20),   # 10,000 records/s
    (100_000, 1, 200),
])
def test_shards_follow_the_record_ceiling_at_half_use(devices: int, interval_s: float, shards: int) -> None:
    """1,000 records or 1 MB a second per shard
    (https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html); small fixes
    hit the record ceiling first."""
    assert sizing.shards_needed(FleetShape(devices, fix_interval_s=interval_s)) == shards


def test_large_records_hit_the_byte_ceiling_first() -> None:
    shape = FleetShape(10_000, fix_interval_s=10, record_bytes=4_000)  # 1,000 records/s of 4 KB
    assert sizing.shards_needed(shape) == 8  # 4,000,000 B/s over 524,288 B/s per half shard


def test_a_location_tracker_bills_what_its_filter_keeps() -> None:
    shape = FleetShape(1_000)
    everything = sizing.location_tracker_monthly(shape)
    assert everything == pytest.approx(shape.fixes_per_month * (prices.LOCATION_POSITION_WRITTEN.usd
                                                                + prices.LOCATION_POSITION_EVALUATED.usd))
    assert sizing.location_tracker_monthly(shape, written_share=0.3, evaluated_share=0.3) == pytest.approx(0.3 * everything)
