"""The lake's questions as Athena SQL (Trino's dialect). Each filters on the partition columns
(dt, the event's day; device_type) first, so Athena reads only those folders
(https://docs.aws.amazon.com/athena/latest/ug/partitions.html), and names only the columns it
needs, so over Parquet it reads only those columns' chunks
(https://docs.aws.amazon.com/athena/latest/ug/columnar-storage.html)."""

from __future__ import annotations

from serverless_course.analytics.fleet import DEVICE_TYPES

# --8<-- [start:queries]
def daily_max_by_type(day: str) -> str:
    return f"""
        SELECT device_type, max(reading) AS max_reading
        FROM telemetry
        WHERE dt = '{day}'
        GROUP BY device_type
        ORDER BY device_type"""


def hourly_anomalies(day: str) -> str:
    """Readings above their type's threshold, per device type and hour of the event."""
    above = " OR ".join(f"(device_type = '{name}' AND reading > {kind.anomaly_above})"
                        for name, kind in DEVICE_TYPES.items())
    return f"""
        SELECT device_type, hour(event_time) AS event_hour, count(*) AS anomalies
        FROM telemetry
        WHERE dt = '{day}' AND ({above})
        GROUP BY device_type, hour(event_time)
        ORDER BY device_type, event_hour"""


def readings_per_minute(day: str, device_type: str) -> str:
    """The batch answer lesson 05 compares with the tumbling windows' aggregates."""
    return f"""
        SELECT date_trunc('minute', event_time) AS minute, count(*) AS readings, max(reading) AS max_reading
        FROM telemetry
        WHERE dt = '{day}' AND device_type = '{device_type}'
        GROUP BY 1
        ORDER BY 1"""
# --8<-- [end:queries]
