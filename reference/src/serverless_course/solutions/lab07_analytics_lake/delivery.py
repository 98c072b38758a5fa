"""Lab 07 reference delivery: partitions by the event's day and device type (the questions
filter on both), Parquet (only the named columns are read), the longest buffer (fewest objects)."""


def layout() -> dict:
    return {"partition_keys": {"dt": ".event_time[0:10]", "device_type": ".device_type"}, "parquet": True, "buffer_interval_s": 900}
