"""The cost of observing the orders pipeline, per million orders, from what a run wrote.

A run in the simulator leaves its evidence where AWS would: log events in CloudWatch Logs (the
functions' platform lines, Powertools Logger's JSON lines, EMF documents), custom metrics in
CloudWatch, traces in `sim.tracing`. `measure_logs` reads the log groups back through boto3 and
sorts the bytes by kind and level; `ObservabilityBill` prices them with the month's fixed costs
(custom metrics, alarms, dashboards) spread over the month's orders.

What counts (each price is in `serverless_course.prices` with its page; figures that could not be
read on an AWS page say so in their note):

- log ingestion: every event's message in UTF-8 plus 26 bytes, the measure PutLogEvents applies to
  a batch (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html);
  that ingestion is billed on the same measure is not confirmed. GB is taken as 10^9 bytes.
- log storage: the ingested bytes kept `retention_months` (CloudWatch stores log data
  compressed; the bill here takes the raw size, an upper bound).
- Logs Insights: `insights_scans` times the month's ingested bytes scanned by queries.
- custom metrics: `serverless_course.prices.custom_metric_count` and `custom_metrics_monthly_usd`.
- X-Ray: traces recorded (the sampled share of the orders) and retrieved.
- alarms (standard and high-resolution metric alarms, composite alarms) and dashboards.

Not billed here: Lambda's own cost of writing the lines (in `sim.metering()`), GetMetricData
requests of a dashboard, Live Tail, and since May 2025 the volume tiers of Lambda's logs (billed
as vended logs; the first tier's price is the Standard one: not confirmed on an AWS page).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from serverless_course import prices
from serverless_course.prices import (
    ALARM_COMPOSITE, ALARM_HIGH_RESOLUTION, ALARM_STANDARD, DASHBOARD, LOGS_INGESTED_INFREQUENT_ACCESS,
    LOGS_INGESTED_STANDARD, LOGS_INSIGHTS_SCANNED, LOGS_STORED, XRAY_TRACE_RECORDED, XRAY_TRACE_RETRIEVED)

from .sampling import expected_traced_share

PUT_LOG_EVENTS_PAGE = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html"

LOG_CLASSES = {"STANDARD": LOGS_INGESTED_STANDARD, "INFREQUENT_ACCESS": LOGS_INGESTED_INFREQUENT_ACCESS}
EVENT_OVERHEAD_BYTES = 26  # PUT_LOG_EVENTS_PAGE: each event counts its message in UTF-8 plus 26 bytes
BYTES_PER_GB = 1_000_000_000
SECONDS_PER_MONTH = 730 * 3600  # AWS's pricing examples count 730 hours in a month
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: The kinds of log line, in the order a table shows them.
KINDS = ("platform", "metrics (EMF)", *LEVELS, "other")


@dataclass
class LogVolume:
    """Bytes and events a run wrote to CloudWatch Logs, by kind of line: Lambda's platform lines
    (START, END, REPORT or their JSON records), EMF documents (metrics), application lines by
    their `level`, and anything else (print output, tracebacks)."""

    bytes: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())

    def bytes_at_level(self, minimum: str) -> int:
        """The bytes left if application lines below `minimum` were not written (the log level
        as a lever: POWERTOOLS_LOG_LEVEL or the function's ApplicationLogLevel)."""
        dropped = LEVELS[:LEVELS.index(minimum)]
        return self.total_bytes - sum(self.bytes[level] for level in dropped)


def kind_of(message: str) -> str:
    """The kind of one log event's message (see `LogVolume`)."""
    if message.startswith(("START RequestId:", "END RequestId:", "REPORT RequestId:", "INIT_START", "INIT_REPORT")):
        return "platform"
    if message.startswith("{"):
        try:
            document = json.loads(message)
        except ValueError:
            return "other"
        if isinstance(document, dict):
            if str(document.get("type", "")).startswith("platform."):
                return "platform"
            if "_aws" in document:
                return "metrics (EMF)"
            level = str(document.get("level", "")).upper()
            return "WARNING" if level == "WARN" else level if level in LEVELS else "other"
    return "other"


def measure_logs(logs: Any, log_groups: list[str]) -> LogVolume:
    """Read every event of `log_groups` with a boto3 `logs` client and add up what it costs to
    ingest: its message's UTF-8 bytes plus `EVENT_OVERHEAD_BYTES`."""
    volume = LogVolume()
    for group in log_groups:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
            for event in page["events"]:
                kind = kind_of(event["message"])
                volume.bytes[kind] += len(event["message"].encode()) + EVENT_OVERHEAD_BYTES
                volume.events[kind] += 1
    return volume


def custom_metrics_of(cloudwatch: Any, namespace: str) -> int:
    """Custom metrics the run created in `namespace`: each name with each combination of
    dimension values is one (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension)."""
    seen = set()
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace):
        for metric in page["Metrics"]:
            seen.add((metric["MetricName"], frozenset((d["Name"], d["Value"]) for d in metric["Dimensions"])))
    return len(seen)


@dataclass(frozen=True)
class Alarms:
    """The alarm set: metric alarms by resolution (a metric math alarm counts each metric it
    reads, per the pricing page's "alarm metric": not confirmed), composite alarms."""

    standard_metrics: int = 0
    high_resolution_metrics: int = 0
    composite: int = 0

    def monthly_usd(self) -> float:
        return (self.standard_metrics * ALARM_STANDARD.usd + self.high_resolution_metrics * ALARM_HIGH_RESOLUTION.usd
                + self.composite * ALARM_COMPOSITE.usd)


# --8<-- [start:bill]
@dataclass(frozen=True)
class ObservabilityBill:
    """What observing `orders` orders cost in a run, scaled to a month at `orders_per_second`."""

    orders: int
    logs: LogVolume
    custom_metrics: int
    orders_per_second: float
    log_class: str = "STANDARD"
    minimum_level: str = "DEBUG"  # application lines below it are not written
    retention_months: float = 1.0
    insights_scans: float = 2.0  # Logs Insights reads the month's logs this many times over
    traces_retrieved_share: float = 0.1  # of the traces recorded, the share someone opens
    alarms: Alarms = Alarms()
    dashboards: int = 1

    @property
    def orders_per_month(self) -> float:
        return self.orders_per_second * SECONDS_PER_MONTH

    @property
    def log_gb_per_million(self) -> float:
        return self.logs.bytes_at_level(self.minimum_level) / self.orders * 1_000_000 / BYTES_PER_GB

    @property
    def traces_per_million(self) -> float:
        """Traces recorded: one per order the default rule samples at the front door (its
        decision travels with the order), at this rate."""
        return 1_000_000 * expected_traced_share(self.orders_per_second)

    def per_million_usd(self) -> dict[str, float]:
        """$ per million orders, line by line; a monthly cost is spread over the month's orders."""
        months = 1_000_000 / self.orders_per_month  # the share of a month a million orders take
        gb = self.log_gb_per_million
        return {
            "log ingestion": gb * LOG_CLASSES[self.log_class].usd,
            "log storage": gb * self.retention_months * LOGS_STORED.usd,
            "Logs Insights scans": gb * self.insights_scans * LOGS_INSIGHTS_SCANNED.usd,
            "custom metrics": prices.custom_metrics_monthly_usd(self.custom_metrics) * months,
            "X-Ray traces recorded": self.traces_per_million * XRAY_TRACE_RECORDED.usd,
            "X-Ray traces retrieved": self.traces_per_million * self.traces_retrieved_share * XRAY_TRACE_RETRIEVED.usd,
            "alarms": self.alarms.monthly_usd() * months,
            "dashboards": self.dashboards * DASHBOARD.usd * months,
        }

    @property
    def total_per_million_usd(self) -> float:
        return sum(self.per_million_usd().values())
# --8<-- [end:bill]


ALL_PRICES = {
    "Logs ingested (Standard)": LOGS_INGESTED_STANDARD,
    "Logs ingested (Infrequent Access)": LOGS_INGESTED_INFREQUENT_ACCESS,
    "Logs stored": LOGS_STORED,
    "Logs Insights scanned": LOGS_INSIGHTS_SCANNED,
    "Custom metric": prices.CLOUDWATCH_CUSTOM_METRIC,
    "X-Ray trace recorded": XRAY_TRACE_RECORDED,
    "X-Ray trace retrieved": XRAY_TRACE_RETRIEVED,
    "Alarm (standard)": ALARM_STANDARD,
    "Alarm (high resolution)": ALARM_HIGH_RESOLUTION,
    "Alarm (composite)": ALARM_COMPOSITE,
    "Dashboard": DASHBOARD,
}
