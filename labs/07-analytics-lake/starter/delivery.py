"""How your delivery stream lays the lake out (the grader builds the stream and the Glue table
from what `layout()` returns; see the README).

partition_keys: partition column -> JQ expression over a record your transformation returned
  as Ok, e.g. {"month": ".event_time[0:7]"}. Each becomes a folder level `<key>=<value>/` and a
  string partition column of the table. Empty: no partitions (objects under Firehose's default
  yyyy/MM/dd/HH/ folders of arrival time).
parquet: True converts records to Parquet with the table's columns; False keeps JSON lines.
buffer_interval_s: Firehose's IntervalInSeconds, 60 to 900.
"""


def layout() -> dict:
    return {"partition_keys": {}, "parquet": False, "buffer_interval_s": 300}
