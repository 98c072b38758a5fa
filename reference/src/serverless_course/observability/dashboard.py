"""A notebook dashboard of the orders pipeline: the panels a CloudWatch dashboard would hold,
read as a learner reads them from CloudWatch, with boto3's GetMetricData
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html) and one
Logs Insights query, and drawn as a grid with matplotlib.

| Panel | Metric | Statistic |
|---|---|---|
| Orders | Orders/OrdersStored and EventsSent (Powertools Metrics, EMF, dimension `service`) | Sum |
| Errors | AWS/Lambda Errors of each function; Orders/RecordsDeadLettered | Sum |
| Messages waiting | AWS/SQS ApproximateNumberOfMessagesVisible and ...NotVisible (in flight) of the orders queue; ...Visible of each DLQ (poison, redrive, rule) | Maximum |
| Age of oldest message | AWS/SQS ApproximateAgeOfOldestMessage of the orders queue | Maximum |
| p99 duration | the functions' REPORT records (Logs Insights `pct`) | p99 |

On AWS the p99 panel is a GetMetricData query too (`Stat: p99` on AWS/Lambda Duration); the
simulator's CloudWatch (moto) computes no percentile, so the panel asks Logs Insights for the same
figure from the REPORT records, which is also how to get it from logs alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from .logs_view import run_query

PERIOD_S = 60


# --8<-- [start:pause]
def pause_processor_between(sim: Any, stack: Any, start_s: float, end_s: float) -> None:
    """An operator's mistake, undone: from `start_s` to `end_s` of the run the processor's
    reserved concurrency is 0, so Lambda runs none of its invocations and the orders wait in the
    queue (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html)."""
    function = stack.function_name("ProcessorFunction")
    lam = sim.client("lambda")
    sim.schedule(start_s, lambda: lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0))
    sim.schedule(end_s, lambda: lam.delete_function_concurrency(FunctionName=function))
# --8<-- [end:pause]


@dataclass(frozen=True)
class Line:
    """One line of a panel: a label and its metric (namespace, name, dimensions, statistic)."""

    label: str
    namespace: str
    metric: str
    dimensions: dict[str, str]
    stat: str


def panels(stack: Any) -> dict[str, list[Line]]:
    """The dashboard's metric panels for a deployed pipeline `stack`: title -> lines."""
    ingest, processor = stack.function_name("IngestFunction"), stack.function_name("ProcessorFunction")
    queue, poison, redrive, rule = (stack.outputs[name].rsplit("/", 1)[-1] for name in (
        "QueueUrl", "DeadLetterQueueUrl", "RedriveDeadLetterQueueUrl", "RuleDeadLetterQueueUrl"))
    service = {"service": "orders"}
    return {
        "Orders a minute": [Line("accepted (EventsSent)", "Orders", "EventsSent", service, "Sum"),
                            Line("stored (OrdersStored)", "Orders", "OrdersStored", service, "Sum")],
        "Errors a minute": [Line("ingest Errors", "AWS/Lambda", "Errors", {"FunctionName": ingest}, "Sum"),
                            Line("processor Errors", "AWS/Lambda", "Errors", {"FunctionName": processor}, "Sum"),
                            Line("dead-lettered", "Orders", "RecordsDeadLettered", service, "Sum")],
        "Messages waiting": [Line("orders queue, visible", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                  {"QueueName": queue}, "Maximum"),
                             Line("orders queue, in flight", "AWS/SQS", "ApproximateNumberOfMessagesNotVisible",
                                  {"QueueName": queue}, "Maximum"),
                             *(Line(f"{path} DLQ", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                                    {"QueueName": name}, "Maximum")
                               for path, name in (("poison", poison), ("redrive", redrive), ("rule", rule)))],
        "Age of oldest message (s)": [Line("orders queue", "AWS/SQS", "ApproximateAgeOfOldestMessage",
                                           {"QueueName": queue}, "Maximum")],
    }


# --8<-- [start:get-metric-data]
def read_panels(cloudwatch: Any, board: dict[str, list[Line]], start: datetime,
                end: datetime) -> dict[str, dict[str, tuple[list[datetime], list[float]]]]:
    """Every line of `board` from one GetMetricData call per panel, a point per minute:
    title -> label -> (timestamps, values), oldest first. A minute without data has no point."""
    read: dict[str, dict[str, tuple[list[datetime], list[float]]]] = {}
    for title, lines in board.items():
        queries = [{"Id": f"m{i}", "Label": line.label, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": line.namespace, "MetricName": line.metric,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in line.dimensions.items()]},
            "Period": PERIOD_S, "Stat": line.stat}} for i, line in enumerate(lines)]
        answer = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end,
                                            ScanBy="TimestampAscending")
        read[title] = {result["Label"]: (list(result["Timestamps"]), list(result["Values"]))
                       for result in answer["MetricDataResults"]}
    return read
# --8<-- [end:get-metric-data]


# --8<-- [start:p99]
# Lambda's JSON log format writes REPORT as a platform.report record; its duration in ms.
P99_BY_MINUTE = """\
filter type = "platform.report"
| stats pct(record.metrics.durationMs, 99) as p99_ms by bin(1m) as minute, @log
| sort minute asc"""
# --8<-- [end:p99]


def read_p99(logs: Any, stack: Any, start: datetime, end: datetime) -> dict[str, tuple[list[datetime], list[float]]]:
    """Each function's p99 duration a minute, from its REPORT records: label -> (minutes, ms)."""
    lines: dict[str, tuple[list[datetime], list[float]]] = {}
    for name in ("IngestFunction", "ProcessorFunction"):
        group = f"/aws/lambda/{stack.function_name(name)}"
        rows = run_query(logs, P99_BY_MINUTE, [group], start, end)
        lines[name.removesuffix("Function").lower()] = (
            [datetime.fromisoformat(row["minute"] + "+00:00") for row in rows], [float(row["p99_ms"]) for row in rows])
    return lines


def read_dashboard(sim: Any, stack: Any) -> dict[str, dict[str, tuple[list[datetime], list[float]]]]:
    """Every panel over the whole run, read from the simulation's CloudWatch and logs. The range
    ends a period after the run: GetMetricData leaves out a point stamped at EndTime itself."""
    start = sim.now - timedelta(seconds=sim.elapsed)
    end = sim.now + timedelta(seconds=PERIOD_S)
    board = read_panels(sim.client("cloudwatch"), panels(stack), start, end)
    board["p99 duration (ms)"] = read_p99(sim.client("logs"), stack, start, end)
    return board


def plot_dashboard(board: dict[str, dict[str, tuple[list[datetime], list[float]]]], *, columns: int = 2) -> Any:
    """The panels as a grid of small plots, one point a minute. A minute without data is a gap
    in the line, as the CloudWatch console draws it: no data is not zero."""
    import matplotlib.pyplot as plt

    times = [t for panel in board.values() for stamps, _ in panel.values() for t in stamps]
    origin = min(times)
    minutes = np.arange(int((max(times) - origin).total_seconds() // PERIOD_S) + 1)
    rows = -(-len(board) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(9, 2.3 * rows), sharex=True, squeeze=False)
    for axis, (title, lines) in zip(axes.flat, board.items()):
        for label, (stamps, values) in lines.items():
            series = np.full(minutes.size, np.nan)
            for stamp, value in zip(stamps, values):
                series[int((stamp - origin).total_seconds() // PERIOD_S)] = value
            axis.plot(minutes, series, marker=".", label=label)
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=7, loc="upper left")
        axis.grid(alpha=0.3)
    for axis in axes.flat[len(board):]:
        axis.set_visible(False)
    for axis in axes[-1]:
        axis.set_xlabel("minute of the run")
    figure.tight_layout()
    return figure
