"""Logs Insights queries over the orders pipeline's log groups, run as on AWS: boto3's `logs`
client, `start_query` then `get_query_results`
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html).
The simulator runs them (`sim.logs_insights`) at once, over the virtual clock's time range."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# --8<-- [start:one-order]
# Every line that carries the order's correlation id, from both functions, oldest first. @log
# names the log group (account id:group), so the lines of the two functions tell apart.
ONE_ORDER = """\
fields @timestamp, @log, level, message, order_id, xray_trace_id
| filter correlation_id = "{correlation_id}"
| sort @timestamp asc"""
# --8<-- [end:one-order]

# --8<-- [start:report]
# REPORT lines (Lambda's Text log format): @initDuration is present on a cold start's only
# (CWL_AnalyzeLogData-discoverable-fields.html); @memorySize and @maxMemoryUsed are in bytes.
COLD_STARTS = """\
filter @type = "REPORT"
| stats count(*) as invocations, count(@initDuration) as cold_starts,
        avg(@initDuration) as avg_init_ms by @log"""

DURATIONS = """\
filter @type = "REPORT"
| stats pct(@duration, 50) as p50_ms, pct(@duration, 99) as p99_ms, max(@duration) as max_ms by @log"""

MEMORY = """\
filter @type = "REPORT"
| stats max(@memorySize) / 1000 / 1000 as provisioned_mb,
        max(@maxMemoryUsed) / 1000 / 1000 as max_used_mb by @log"""
# --8<-- [end:report]


def run_query(logs: Any, query: str, log_groups: list[str], start: datetime, end: datetime) -> list[dict[str, str]]:
    """Run a Logs Insights `query` over `log_groups` between `start` and `end` with a boto3
    `logs` client; the rows as {field: value} (strings, as Logs Insights answers), without @ptr."""
    query_id = logs.start_query(logGroupNames=log_groups, queryString=query,
                                startTime=int(start.timestamp()), endTime=int(end.timestamp()) + 1)["queryId"]
    answer = logs.get_query_results(queryId=query_id)
    if answer["status"] != "Complete":  # the simulator completes a query at once; AWS polls
        raise RuntimeError(f"query {query_id} is {answer['status']}")
    return [{cell["field"]: cell["value"] for cell in row if cell["field"] != "@ptr"}
            for row in answer["results"]]


def function_of(log: str) -> str:
    """`IngestFunction` from @log's `<account>:/aws/lambda/orders-IngestFunction-<suffix>`."""
    return log.rsplit("/", 1)[-1].split("-")[1]
