"""Logs, metrics and metering of simulated invocations (issue 3, items 7 and 8).

Each test names the AWS page it follows. The handlers are in fixtures/telemetry_app: its module
INIT spends 123.45 ms of virtual time and the `sim` fixture adds no platform INIT, so every
Init Duration below is exactly 123.45 ms.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config

from lambdasim import Simulator
from lambdasim.rules import pricing
from lambdasim.rules.cold_start import NO_PLATFORM_INIT
from lambdasim.telemetry import emf, logs, meter, sink
from lambdasim.telemetry.metrics import LambdaMetrics

FIXTURES = Path(__file__).parent / "fixtures"
APP = FIXTURES / "telemetry_app"
T0_MS = 1767225600000  # 2026-01-01T00:00:00Z, the simulator's default start


def _app(sim, name, handler, **config):
    return sim.create_function(FunctionName=name, Handler=f"app.{handler}", code_dir=APP, **config)


def _events(name):
    """Every log event of the function, stream by stream, as (timestamp ms, message)."""
    client = boto3.client("logs")
    group = f"/aws/lambda/{name}"
    out = []
    for stream in client.describe_log_streams(logGroupName=group)["logStreams"]:
        events = client.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])["events"]
        out.extend((e["timestamp"], e["message"]) for e in events)
    return out


def _messages(name):
    return [message for _, message in _events(name)]


def _stats(namespace, metric, dims, statistics=("Sum",), period=60, start=T0_MS, end=T0_MS + 3_600_000):
    from datetime import datetime, timezone

    response = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=namespace, MetricName=metric, Dimensions=[{"Name": k, "Value": v} for k, v in dims],
        StartTime=datetime.fromtimestamp(start / 1000, timezone.utc),
        EndTime=datetime.fromtimestamp(end / 1000, timezone.utc), Period=period, Statistics=list(statistics))
    return sorted(response["Datapoints"], key=lambda d: d["Timestamp"])


# -- logs ------------------------------------------------------------------------------------------


def test_report_line_format():
    """python-logging.html: REPORT RequestId, Duration (2 decimals), Billed Duration, Memory Size,
    Max Memory Used, Init Duration (cold starts only), tab-separated."""
    assert logs.report_line("id-1", 12.34, 13, 128, 40) == (
        "REPORT RequestId: id-1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 40 MB")
    assert logs.report_line("id-2", 15.74, 147, 128, 56, 130.49) == (
        "REPORT RequestId: id-2\tDuration: 15.74 ms\tBilled Duration: 147 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 56 MB\tInit Duration: 130.49 ms")


def test_report_lines_with_and_without_init_duration(sim, lam):
    """python-logging.html (REPORT fields) and the INIT billing post (aws-lambda-standardizes-
    billing-for-init-phase): a cold start's REPORT shows Init Duration and bills Duration + Init
    Duration rounded up once (12.34 + 123.45 = 135.79 -> 136 ms); a warm one shows neither."""
    _app(sim, "quiet", "quiet", MemorySize=128)
    sim.set_duration("quiet", 12.34)
    lam.invoke(FunctionName="quiet")
    lam.invoke(FunctionName="quiet")
    cold, warm = sim.invocations
    reports = [m for m in _messages("quiet") if m.startswith("REPORT")]
    assert reports == [
        f"REPORT RequestId: {cold.request_id}\tDuration: 12.34 ms\tBilled Duration: 136 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 123.45 ms",
        f"REPORT RequestId: {warm.request_id}\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 40 MB",
    ]
    assert (cold.billed_duration_ms, warm.billed_duration_ms) == (136, 13)


def test_start_end_and_function_output_at_virtual_timestamps(sim, lam):
    """python-logging.html / monitoring-cloudwatchlogs.html: group /aws/lambda/<name>, one stream
    per environment named YYYY/MM/DD/[$LATEST]<32 hex>; INIT output, START, the handler's print,
    stderr (one event per line) and Python logging (awslambdaric's [LEVEL]\\ttime\\trequest id\\t
    message), END, REPORT, each at the virtual time it happened."""
    _app(sim, "talk", "talk")
    lam.invoke(FunctionName="talk", Payload=b'{"sleep": 0.5}')
    (record,) = sim.invocations
    rid = record.request_id
    (stream,) = boto3.client("logs").describe_log_streams(logGroupName="/aws/lambda/talk")["logStreams"]
    assert stream["logStreamName"] == record.log_stream
    prefix, instance = stream["logStreamName"].split("[$LATEST]")
    assert prefix == "2026/01/01/" and len(instance) == 32 and int(instance, 16) >= 0
    assert _events("talk") == [
        (T0_MS, "init: loading app"),
        (T0_MS + 123, f"START RequestId: {rid} Version: $LATEST"),
        (T0_MS + 123, "hello from the handler"),
        (T0_MS + 623, "two"),
        (T0_MS + 623, "lines"),
        (T0_MS + 623, f"[WARNING]\t2026-01-01T00:00:00.623Z\t{rid}\ta root warning"),
        (T0_MS + 624, f"END RequestId: {rid}"),
        (T0_MS + 624, f"REPORT RequestId: {rid}\tDuration: 501.00 ms\tBilled Duration: 625 ms\t"
                      "Memory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 123.45 ms"),
    ]


def test_powertools_logger_json_lines_in_the_stream(sim, lam):
    """Powertools Logger (docs.powertools.aws.dev .../core/logger/) writes one JSON line per record
    to stdout; Lambda puts each in the log stream (python-logging.html)."""
    _app(sim, "structured", "structured", MemorySize=256)
    lam.invoke(FunctionName="structured", Payload=b'{"order_id": "o-1"}')
    (record,) = sim.invocations
    lines = [(ts, json.loads(m)) for ts, m in _events("structured") if m.startswith("{")]
    ((ts, line),) = lines
    assert ts == T0_MS + 123
    assert line["message"] == "order received" and line["level"] == "INFO"
    assert line["order_id"] == "o-1" and line["service"] == "telemetry-app"
    assert line["function_request_id"] == record.request_id
    assert line["function_memory_size"] == "256" and line["cold_start"] in (True, False)
    assert line["timestamp"].startswith("2026-01-01 00:00:00,123")


def test_log_type_tail_returns_the_last_4_kb_base64(sim, lam):
    """API_Invoke.html: LogType=Tail adds LogResult, the last 4 KB of the execution log, base64."""
    _app(sim, "talk", "talk")
    _app(sim, "chatty", "chatty")
    small = lam.invoke(FunctionName="talk", LogType="Tail")
    text = base64.b64decode(small["LogResult"]).decode()
    assert text == "".join(m + "\n" for m in _messages("talk"))
    big = lam.invoke(FunctionName="chatty", Payload=b'{"lines": 200}', LogType="Tail")
    tail = base64.b64decode(big["LogResult"])
    assert len(tail) == 4096
    assert tail.decode().endswith(_messages("chatty")[-1] + "\n")
    assert "LogResult" not in lam.invoke(FunctionName="talk")  # LogType None: no LogResult


def test_timeout_report(sim, lam):
    """lambda-runtime-environment.html / telemetry-schema-reference.html (status "timeout"): the
    platform logs "Task timed out after 3.00 seconds" and REPORT ends with Status: timeout;
    Duration is the timeout."""
    _app(sim, "slow", "slow")  # Timeout 3 s; the handler sleeps 10 s
    lam.invoke(FunctionName="slow")
    (record,) = sim.invocations
    rid = record.request_id
    assert _events("slow")[-4:] == [
        (T0_MS + 123, "starting"),
        (T0_MS + 3123, f"2026-01-01T00:00:03.123Z {rid} Task timed out after 3.00 seconds"),
        (T0_MS + 3123, f"END RequestId: {rid}"),
        (T0_MS + 3123, f"REPORT RequestId: {rid}\tDuration: 3000.00 ms\tBilled Duration: 3124 ms\t"
                       "Memory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 123.45 ms\tStatus: timeout"),
    ]


def test_unhandled_exception_is_logged_by_the_runtime(sim, lam):
    """python-exceptions.html / awslambdaric log_error: "[ERROR] <type>: <message>" and the
    traceback in one event; REPORT has no Status (the runtime survives)."""
    _app(sim, "boom", "boom")
    lam.invoke(FunctionName="boom")
    messages = _messages("boom")
    error = messages[-3]
    assert error.startswith("[ERROR] ValueError: boom\nTraceback (most recent call last):\n\u00a0\u00a0File ")
    assert "in boom\n\u00a0\u00a0\u00a0\u00a0raise ValueError(\"boom\")" in error
    assert messages[-1].endswith("Init Duration: 123.45 ms")


def test_failed_init_reports_init_report_and_status_error(sim, lam):
    """Lambda's INIT_REPORT line (Phase: init, Status: error, Error Type) for a failed INIT, and
    REPORT with Status: error and the error type (lambda-runtime-environment.html, init errors)."""
    sim.create_function(FunctionName="broken", Handler="handlers.handler", code_dir=FIXTURES / "broken_import")
    lam.invoke(FunctionName="broken")
    (record,) = sim.invocations
    messages = _messages("broken")
    assert messages[1] == ("[ERROR] Runtime.ImportModuleError: Unable to import module 'handlers': No module "
                           "named 'lambdasim_test_module_that_does_not_exist'\nTraceback (most recent call last):")
    assert messages[2] == ("INIT_REPORT Init Duration: 0.00 ms\tPhase: init\tStatus: error\t"
                           "Error Type: Runtime.ImportModuleError")
    assert messages[3:5] == [f"START RequestId: {record.request_id} Version: $LATEST",
                             f"END RequestId: {record.request_id}"]
    assert messages[5].endswith("Max Memory Used: 40 MB\tStatus: error\tError Type: Runtime.ImportModuleError")


# -- EMF -------------------------------------------------------------------------------------------


def test_powertools_metrics_emf_becomes_cloudwatch_metrics(sim, lam):
    """CloudWatch_Embedded_Metric_Format_Specification.html: an EMF line on stdout (Powertools
    Metrics) becomes metrics in its namespace, with its dimension set, unit and _aws.Timestamp."""
    _app(sim, "measured", "measured")
    lam.invoke(FunctionName="measured", Payload=b'{"orders": 3}')
    lam.invoke(FunctionName="measured", Payload=b'{"orders": 2}')
    dims = [("service", "telemetry-app")]
    (orders,) = _stats("Shop", "OrdersPlaced", dims, ("Sum", "SampleCount"))
    assert (orders["Sum"], orders["SampleCount"], orders["Unit"]) == (5.0, 2.0, "Count")
    assert orders["Timestamp"].timestamp() == (T0_MS + 123) / 1000  # flushed after the 123.45 ms INIT
    (value,) = _stats("Shop", "OrderValue", dims, ("Average",))
    assert (value["Average"], value["Unit"]) == (12.5, "Milliseconds")
    assert any('"_aws"' in m for m in _messages("measured"))  # the line stays in the log too


def test_emf_timestamp_arrays_and_invalid_documents(sim, lam):
    """EMF specification: values may be an array; the metric's time is _aws.Timestamp; a document
    that breaks the specification (here: no Timestamp) yields no metric and stays a log line."""
    _app(sim, "raw", "raw_emf")
    earlier = T0_MS - 120_000
    valid = {"_aws": {"Timestamp": earlier, "CloudWatchMetrics": [
        {"Namespace": "Raw", "Dimensions": [["Queue"], []], "Metrics": [{"Name": "Depth"}]}]},
        "Queue": "orders", "Depth": [1, 2, 3]}
    invalid = {"_aws": {"CloudWatchMetrics": [
        {"Namespace": "Bad", "Dimensions": [[]], "Metrics": [{"Name": "X", "Unit": "Count"}]}]}, "X": 1}
    lam.invoke(FunctionName="raw", Payload=json.dumps({"line": valid}))
    lam.invoke(FunctionName="raw", Payload=json.dumps({"line": invalid}))
    (queue,) = _stats("Raw", "Depth", [("Queue", "orders")], ("Sum", "SampleCount"), start=earlier)
    assert (queue["Sum"], queue["SampleCount"]) == (6.0, 3.0)
    assert queue["Timestamp"].timestamp() * 1000 == earlier
    assert boto3.client("cloudwatch").list_metrics(Namespace="Bad")["Metrics"] == []
    assert json.dumps(invalid) in _messages("raw")
    assert sim.telemetry.invalid_emf == 1


@pytest.mark.parametrize("document, problem", [
    ({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["d"]],
                                                       "Metrics": [{"Name": "m"}]}]}, "m": 1}, "dimension"),
    ({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [[]],
                                                       "Metrics": [{"Name": "m"}]}]}, "m": "1"}, "metric"),
    ({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "AWS/Lambda", "Dimensions": [[]],
                                                       "Metrics": [{"Name": "m"}]}]}, "m": 1}, "AWS/"),
    ({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [[]],
                                                       "Metrics": [{"Name": "m", "Unit": "Parsecs"}]}]}, "m": 1},
     "unit"),
])
def test_emf_rules(document, problem):
    """EMF specification: dimension targets are strings on the root, metric targets numbers,
    custom namespaces cannot start with AWS/, units are CloudWatch units."""
    with pytest.raises(emf.InvalidEmf, match=problem):
        emf.extract(json.dumps(document))
    assert emf.extract("plain text") == [] and emf.extract('{"no": "_aws here"}') == []


# -- AWS/Lambda metrics ------------------------------------------------------------------------------


def test_invocations_errors_duration_per_minute(sim, lam):
    """monitoring-metrics-types.html: Invocations, Errors (function errors) and Duration
    (milliseconds, INIT excluded) per minute under FunctionName; ConcurrentExecutions (Maximum);
    a few PutMetricData calls, one datum per metric and minute."""
    _app(sim, "quiet", "quiet")
    sim.set_duration("quiet", 10)
    for payload in (b"{}", b'{"fail": true}', b"{}"):
        lam.invoke(FunctionName="quiet", Payload=payload)
    sim.run_for(60)
    for _ in range(2):
        lam.invoke(FunctionName="quiet")
    dims = [("FunctionName", "quiet")]
    minutes = [T0_MS / 1000, T0_MS / 1000 + 60]
    invocations = _stats("AWS/Lambda", "Invocations", dims)
    assert [(d["Timestamp"].timestamp(), d["Sum"]) for d in invocations] == list(zip(minutes, [3.0, 2.0]))
    assert [d["Sum"] for d in _stats("AWS/Lambda", "Errors", dims)] == [1.0, 0.0]
    duration = _stats("AWS/Lambda", "Duration", dims, ("Sum", "Average", "Maximum"))
    assert [(d["Sum"], d["Average"], d["Unit"]) for d in duration] == [(30.0, 10.0, "Milliseconds"),
                                                                       (20.0, 10.0, "Milliseconds")]
    assert [d["Maximum"] for d in _stats("AWS/Lambda", "ConcurrentExecutions", dims, ("Maximum",))] == [1.0, 1.0]
    assert sim.telemetry.metric_calls <= 2


def test_throttles_are_not_invocations():
    """monitoring-metrics-types.html: Throttles counts throttled requests, which are not counted
    in Invocations or Errors (the aggregator, fed constructed records)."""
    written = []
    metrics = LambdaMetrics(lambda namespace, data: written.extend(data))
    invocation = SimpleNamespace(function_name="f", start_us=T0_MS * 1000 + 5, total_us=2000, duration_ms=2.0,
                                 function_error=None)
    metrics.add_invocation(invocation)
    for at in (10, 20):
        metrics.add("Throttles", [(("FunctionName", "f"),)], T0_MS * 1000 + at)
    metrics.flush()
    sums = {d["MetricName"]: d["StatisticValues"]["Sum"] for d in written if d["Dimensions"] and "StatisticValues" in d}
    assert sums == {"Invocations": 1.0, "Errors": 0.0, "Throttles": 2.0, "ConcurrentExecutions": 1.0}
    # A timing is published as its values, so that percentiles can be computed (API_PutMetricData.html).
    assert [(d["Values"], d["Counts"]) for d in written if d["MetricName"] == "Duration" and d["Dimensions"]] == [
        ([2.0], [1.0])]


def test_throttled_requests_in_cloudwatch(sim, lam):
    """invocation-retries.html + monitoring-metrics-types.html: a function with reserved
    concurrency 0 throttles every request (429); each is a Throttle, none an Invocation."""
    _app(sim, "q", "quiet")
    lam.put_function_concurrency(FunctionName="q", ReservedConcurrentExecutions=0)
    client = boto3.client("lambda", config=Config(retries={"total_max_attempts": 1}))  # no SDK retry
    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName="q")
    assert [d["Sum"] for d in _stats("AWS/Lambda", "Throttles", [("FunctionName", "q")])] == [1.0]
    assert _stats("AWS/Lambda", "Invocations", [("FunctionName", "q")]) == []


def test_async_event_age_grows_with_retries(sim, lam):
    """monitoring-metrics-types.html: AsyncEventAge, the time from queueing to each attempt;
    retries (invocation-async-error-handling.html) make it grow."""
    _app(sim, "q", "quiet")
    lam.invoke(FunctionName="q", InvocationType="Event", Payload=b'{"fail": true}')
    sim.run_until_idle()
    attempts = [r for r in sim.invocations if r.invocation_type == "Event"]
    assert len(attempts) == 3
    (age,) = _stats("AWS/Lambda", "AsyncEventAge", [("FunctionName", "q")],
                    ("SampleCount", "Minimum", "Maximum"), period=3600)
    assert (age["SampleCount"], age["Minimum"]) == (3.0, 0.0)
    assert age["Maximum"] == (attempts[-1].start_us - attempts[0].start_us) / 1000


# -- metering ----------------------------------------------------------------------------------------


def test_billed_duration_rounding_and_init_billing():
    """1 ms billing granularity, rounded up (1ms-billing post); INIT billed since Aug 1 2025,
    rounded once with the duration (python-logging.html: 15.74 + 130.49 ms -> 147 ms)."""
    assert pricing.billed_duration_ms(512.3) == 513
    assert pricing.billed_duration_ms(0.1 + 0.2 + 511.7) == 512
    assert pricing.billed_duration_ms(0.0) == 1
    assert pricing.billed_duration_ms(15.74, 130.49) == 147
    assert pricing.billed_duration_ms(2.0, None) == 2


def test_metering_arithmetic_by_hand():
    """aws.amazon.com/lambda/pricing: $0.20 per 1M requests; GB-s = billed seconds x MB/1024;
    x86 $0.0000166667 and arm64 $0.0000133334 per GB-s; free tier not applied."""
    def record(name, arch, billed, init=None):
        return SimpleNamespace(function_name=name, architecture=arch, memory_mb=512, billed_duration_ms=billed,
                               cold_start=init is not None, init_duration_ms=init)

    report = meter([record("x", "x86_64", 1000, init=200.0), record("x", "x86_64", 1000),
                    record("a", "arm64", 1000, init=200.0), record("a", "arm64", 1000)])
    x, a = report["x"], report["a"]
    assert (x.requests, x.cold_starts, x.billed_ms, x.init_ms) == (2, 1, 2000, 200.0)
    assert x.gb_seconds == pytest.approx(1.0)  # 2 s x 0.5 GB
    assert x.request_usd == pytest.approx(0.0000004)
    assert x.duration_usd == pytest.approx(0.0000166667)
    assert a.duration_usd == pytest.approx(0.0000133334) and a.total_usd < x.total_usd
    assert report.total_usd == pytest.approx(0.0000008 + 0.0000166667 + 0.0000133334)
    table = str(report)
    assert "free tier not applied" in table and table.splitlines()[-1].startswith("total")


def test_sim_metering_bills_init_and_architecture(sim, lam):
    """The INIT billing post: a cold start bills its INIT; arm64 costs less per GB-s (pricing page)."""
    _app(sim, "x86", "quiet", MemorySize=128)
    _app(sim, "arm", "quiet", MemorySize=128, Architectures=["arm64"])
    for name in ("x86", "arm"):
        sim.set_duration(name, 12.34)
        lam.invoke(FunctionName=name)
        lam.invoke(FunctionName=name)
    report = sim.metering()
    x86, arm = report["x86"], report["arm"]
    assert (x86.requests, x86.cold_starts, x86.billed_ms) == (2, 1, 136 + 13)
    assert x86.gb_seconds == pytest.approx(0.149 * 128 / 1024)
    assert x86.duration_usd == pytest.approx(0.149 / 8 * 0.0000166667)
    assert arm.architecture == "arm64" and arm.duration_usd == pytest.approx(0.149 / 8 * 0.0000133334)
    assert report.requests == 4 and report.request_usd == pytest.approx(4 * 0.2 / 1_000_000)


# -- switches, internals, determinism ----------------------------------------------------------------


def test_logs_and_metrics_can_be_turned_off(capsys):
    """Simulator(logs=False, metrics=False): nothing is written; function output goes to stdout."""
    with Simulator(seed=1, init_model=NO_PLATFORM_INIT, logs=False, metrics=False) as sim:
        _app(sim, "talk", "talk")
        response = boto3.client("lambda").invoke(FunctionName="talk", LogType="Tail")
        assert "LogResult" not in response
        assert boto3.client("logs").describe_log_groups()["logGroups"] == []
        assert boto3.client("cloudwatch").list_metrics(Namespace="AWS/Lambda")["Metrics"] == []
        assert sim.metering().requests == 1
    assert "hello from the handler" in capsys.readouterr().out


def test_moto_backends_used_by_the_sink_are_as_expected():
    """The telemetry writes through moto 5.2.5's backends (sink.py): fail loudly if they change."""
    assert sink.verify() == []


def test_same_seed_same_logs_and_metrics():
    """Determinism: the same seed and code give the same log events and metrics."""
    def run():
        with Simulator(seed=3) as sim:
            _app(sim, "talk", "talk")
            lam = boto3.client("lambda")
            for i in range(3):
                lam.invoke(FunctionName="talk", Payload=json.dumps({"sleep": i / 10}))
            sim.run_for(timedelta(minutes=1))
            return _events("talk"), _stats("AWS/Lambda", "Duration", [("FunctionName", "talk")], ("Sum",))

    assert run() == run()


def test_report_billed_duration_matches_the_record(sim, lam):
    """The REPORT line and the metering read the same billed duration (Duration + INIT, ceil)."""
    _app(sim, "quiet", "quiet")
    sim.set_duration("quiet", 0.4)
    lam.invoke(FunctionName="quiet")
    (record,) = sim.invocations
    assert record.billed_duration_ms == math.ceil(0.4 + 123.45)
    assert f"Billed Duration: {record.billed_duration_ms} ms" in _messages("quiet")[-1]


def test_a_logger_built_outside_any_invocation_still_logs_into_the_stream(sim, lam, capsys):
    """A new execution environment is a new process on AWS (lambda-runtime-environment.html), so a
    Powertools Logger built by the host process before (here: by this test, on pytest's captured
    stdout) must not take the function's lines away from its log stream: they stay in
    CloudWatch Logs (python-logging.html), one JSON line per record, not a second one from the
    runtime's root handler in Lambda's JSON log format (Powertools filters its loggers' records
    out of the root's handlers when it configures them, and here it configured this one before
    that handler was there)."""
    from aws_lambda_powertools import Logger

    Logger(service="telemetry-app")  # the fixture app's service: Powertools reuses this logger
    _app(sim, "structured", "structured", LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "INFO"})
    lam.invoke(FunctionName="structured", Payload=b'{"order_id": "o-2"}')
    lines = [json.loads(m) for m in _messages("structured") if m.startswith("{")]
    records = [line for line in lines if "type" not in line]  # platform records are JSON too
    assert [(line["message"], line["order_id"]) for line in records] == [("order received", "o-2")]
    assert "order received" not in capsys.readouterr().out
