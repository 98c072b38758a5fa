"""Lambda's JSON log format: LoggingConfig's LogFormat, ApplicationLogLevel and SystemLogLevel.

Pages: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html
(LoggingConfig), monitoring-cloudwatchlogs-logformat.html (system records as JSON),
monitoring-cloudwatchlogs-log-level.html (the levels and what they let through),
telemetry-schema-reference.html (the records' shapes), python-logging.html (the Python runtime's
JSON records; print output stays plain text). The runtime's formatter is awslambdaric's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from lambdasim import Simulator
from lambdasim.rules.cold_start import NO_PLATFORM_INIT

APP = Path(__file__).parent / "fixtures" / "observability_app"
JSON_DEBUG = {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "DEBUG"}


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=5, init_model=NO_PLATFORM_INIT) as s:
        configs = {"text": None, "debug": JSON_DEBUG, "default": {"LogFormat": "JSON"},
                   "warn": {"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "WARN"}}
        for name, config in configs.items():
            s.create_function(FunctionName=name, Handler="app.talk", code_dir=APP,
                              Environment={"Variables": {"POWERTOOLS_SERVICE_NAME": name}},
                              **({"LoggingConfig": config} if config else {}))
        lam = boto3.client("lambda")
        s.results = {name: json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
                     for name in ("text", "debug", "warn", "default")}
        lam.invoke(FunctionName="debug", Payload=b'{"fail": true}')
        yield s


def _messages(name):
    events = boto3.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [e["message"] for e in events]


def _json(messages):
    return [json.loads(m) for m in messages if m.startswith("{")]


def test_logging_config_is_kept_and_answered_with_its_defaults(sim):
    """API_LoggingConfig.html: LogFormat Text by default; the levels (INFO by default) only
    with JSON; an update changes the fields it names. GetFunctionConfiguration answers it."""
    lam = boto3.client("lambda")
    assert lam.get_function_configuration(FunctionName="text")["LoggingConfig"] == {
        "LogFormat": "Text", "LogGroup": "/aws/lambda/text"}
    assert lam.get_function_configuration(FunctionName="default")["LoggingConfig"] == {
        "LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", "LogGroup": "/aws/lambda/default"}
    lam.update_function_configuration(FunctionName="default", LoggingConfig={"ApplicationLogLevel": "ERROR"})
    assert lam.get_function_configuration(FunctionName="default")["LoggingConfig"]["ApplicationLogLevel"] == "ERROR"
    lam.update_function_configuration(FunctionName="default", LoggingConfig={"ApplicationLogLevel": "INFO"})


def test_the_runtime_reads_the_format_and_level_and_so_does_powertools(sim):
    """The JSON format sets AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL; the Python runtime
    sets the root logger to that level (awslambdaric bootstrap.py) and Powertools Logger takes
    it over its own (its Advanced Logging Controls precedence). The text format sets neither."""
    assert sim.results["text"] == {"level": 30, "format": None, "log_level": None, "powertools": "INFO"}
    assert sim.results["debug"] == {"level": 10, "format": "JSON", "log_level": "DEBUG", "powertools": "DEBUG"}
    assert sim.results["warn"] == {"level": 30, "format": "JSON", "log_level": "WARN", "powertools": "WARNING"}


def test_platform_records_are_json_with_the_documented_fields(sim):
    """monitoring-cloudwatchlogs-logformat.html / telemetry-schema-reference.html: platform.start
    (requestId, version), platform.runtimeDone (DEBUG) and platform.report with metrics
    (durationMs, billedDurationMs, memorySizeMB, maxMemoryUsedMB, initDurationMs on a cold
    start) and status; no START/END/REPORT text lines."""
    messages = _messages("debug")
    assert not [m for m in messages if m.startswith(("START", "END", "REPORT"))]
    records = [r for r in _json(messages) if "type" in r]
    first = [r for r in records if r["record"]["requestId"] == sim.invocations[1].request_id]
    assert [r["type"] for r in first] == ["platform.start", "platform.runtimeDone", "platform.report"]
    start, done, report = first
    assert start["record"] == {"requestId": sim.invocations[1].request_id, "version": "$LATEST"}
    assert start["time"].endswith("Z") and done["record"]["status"] == "success"
    record = sim.invocations[1]
    assert report["record"] == {"requestId": record.request_id, "status": "success", "metrics": {
        "durationMs": record.duration_ms, "billedDurationMs": record.billed_duration_ms, "memorySizeMB": 128,
        "maxMemoryUsedMB": 40, "initDurationMs": record.init_duration_ms}}


def test_a_handler_error_is_the_runtimes_json_error_and_a_failed_report(sim):
    """awslambdaric log_error in the JSON format: the error document after timestamp and
    level ERROR; the report's status is failure with the errorType (telemetry-schema-reference.html)."""
    failed = sim.invocations[-1]
    records = _json(_messages("debug"))
    error = next(r for r in records if r.get("errorType") == "ValueError")
    assert error["level"] == "ERROR" and error["requestId"] == failed.request_id and error["errorMessage"] == "boom"
    assert error["stackTrace"] and len(error["timestamp"]) == len("2026-01-01T00:00:00")
    report = next(r for r in records if r.get("type") == "platform.report" and r["record"]["requestId"] == failed.request_id)
    assert report["record"]["status"] == "failure" and report["record"]["errorType"] == "ValueError"


def test_logging_records_are_the_runtimes_json_and_print_stays_plain_text(sim):
    """python-logging.html: the logging module writes timestamp, level, message, logger,
    requestId (and `extra` keys); a message that is JSON text stays a string; print output is
    sent as plain text."""
    request_id = sim.invocations[1].request_id
    messages = _messages("debug")
    assert "plain print" in messages
    records = _json(messages)
    warning = next(r for r in records if r.get("logger") == "app")
    assert warning == {"timestamp": warning["timestamp"], "level": "WARNING", "message": "app warning 1",
                       "logger": "app", "requestId": request_id, "orderId": "o-1"}
    assert warning["timestamp"].endswith("Z") and len(warning["timestamp"]) == len("2026-01-01T00:00:00.000Z")
    assert any(r.get("message") == '{"already": "json"}' for r in records)
    init = next(r for r in records if r.get("message") == "init done")
    assert init["requestId"] == ""


def test_application_log_level_filters_every_kind_of_output(sim):
    """monitoring-cloudwatchlogs-log-level.html: WARN drops DEBUG and INFO; a line without a
    level (print) counts as INFO; a JSON line is filtered by its "level". SystemLogLevel WARN
    drops platform.start and platform.report."""
    messages = _messages("warn")
    assert messages == [m for m in messages if "app warning" in m]
    assert len(messages) == 1
    info = _messages("default")
    assert "plain print" in info and not any("json debug line" in m or "root debug" in m for m in info)
    assert any('"powertools info"' in m for m in info)
    types = [r.get("type") for r in _json(info)]
    assert "platform.start" in types and "platform.report" in types and "platform.runtimeDone" not in types


def test_the_text_format_is_unchanged(sim):
    """Without LoggingConfig, Lambda's text lines (python-logging.html) are written as before."""
    messages = _messages("text")
    assert messages[0].startswith("START RequestId: ") and messages[-2].startswith("END RequestId: ")
    assert messages[-1].startswith("REPORT RequestId: ")
    assert any(m.startswith("[WARNING]\t") and m.endswith("\tapp warning 1") for m in messages)
