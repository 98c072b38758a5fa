"""Your Athena queries (Trino SQL) over the table `telemetry`: columns device_id, device_type,
event_time (timestamp), arrival_time (timestamp), reading (double), unit, seq, and your
partition columns (a column that is also a partition key is only a partition key).

The anomaly thresholds: a reading above 35.0 for a thermometer, 85.0 for a hygrometer, 6.0 for
vibration, 104.5 for pressure.
"""


def daily_max_by_type(day: str) -> str:
    """Columns device_type, max_reading: the highest reading of each device type among the
    readings whose event time is on `day` (YYYY-MM-DD, UTC), one row per type."""
    raise NotImplementedError("write the query")


def hourly_anomalies(day: str) -> str:
    """Columns device_type, event_hour (0-23), anomalies: how many readings above their type's
    threshold each type had in each hour of `day` (event time, UTC); only hours with one."""
    raise NotImplementedError("write the query")
