"""CloudWatch Logs Insights queries over the simulator's logs (module 4, issue 17).

Each test names the AWS page it follows. The module's simulation runs once: two functions whose
handlers log with Powertools Logger (fixtures/insights_app), invoked over eight virtual minutes,
with a pause past the environments' idle lifetime, so there are cold and warm REPORT lines. The
expected answers are computed from the raw log events (GetLogEvents' lines, parsed here), not
from the query engine.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.logs_insights import UnsupportedQuery
from lambdasim.rules import logs_insights as rules

APP = Path(__file__).parent / "fixtures" / "insights_app"
GROUPS = ["/aws/lambda/checkout", "/aws/lambda/email"]
ACCOUNT = "123456789012"
_REPORT = re.compile(r"REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms\t"
                     r"Memory Size: (\d+) MB\tMax Memory Used: (\d+) MB(?:\tInit Duration: ([\d.]+) ms)?")


def _checkout_memory(record):
    return 150 + int(record.duration_ms) % 60


@pytest.fixture(scope="module")
def shop():
    with Simulator(seed=3, idle_lifetime=(90.0, 90.0)) as sim:
        sim.create_function(FunctionName="checkout", Handler="app.checkout", code_dir=APP, MemorySize=512)
        sim.create_function(FunctionName="email", Handler="app.email", code_dir=APP, MemorySize=256)
        sim.set_duration("checkout", lambda rng, event: event["ms"])
        sim.set_duration("email", lambda rng, event: 5.0 + rng.random())
        sim.telemetry.set_max_memory_used("checkout", _checkout_memory)
        sim.telemetry.set_max_memory_used("email", 70)
        lam = sim.client("lambda")
        for i in range(24):
            if i == 12:
                sim.run_for(150)  # past the 90 s idle lifetime: the next invocations start cold
            order = {"correlation_id": f"corr-{i}", "order_id": f"o-{i}", "items": ["book", "pen"][: 1 + i % 2],
                     "ms": 20.0 + 7.5 * i, "declined": i % 5 == 0}
            lam.invoke(FunctionName="checkout", Payload=json.dumps(order))
            if i % 3 == 0:
                lam.invoke(FunctionName="email", Payload=json.dumps({"correlation_id": f"corr-{i}"}))
            sim.run_for(15)
        yield sim


def _window(sim):
    return int(sim.now.timestamp()) - 3600, int(sim.now.timestamp())


def _run(sim, query, groups=GROUPS, **params):
    """GetQueryResults' answer to a query over `groups` (the last hour by default)."""
    logs = sim.client("logs")
    start, end = _window(sim)
    params = {"startTime": start, "endTime": end, **params}
    query_id = logs.start_query(logGroupNames=groups, queryString=query, **params)["queryId"]
    return logs.get_query_results(queryId=query_id)


def _rows(sim, query, groups=GROUPS, **params):
    """The result rows as {field: value}, without @ptr."""
    return [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"}
            for row in _run(sim, query, groups, **params)["results"]]


def _events(sim, group):
    """(timestamp ms, message) of every event of a group, read with FilterLogEvents."""
    return [(e["timestamp"], e["message"]) for e in sim.client("logs").filter_log_events(logGroupName=group)["events"]]


def _reports(sim, group):
    found = []
    for timestamp, message in _events(sim, group):
        match = _REPORT.match(message)
        if match:
            found.append({"at": timestamp, "duration": float(match[2]), "memory": int(match[4]),
                          "used": int(match[5]), "init": match[6]})
    return found


def _log(group):
    return f"{ACCOUNT}:{group}"


def _number(text):
    value = float(text)
    return str(int(value)) if value.is_integer() else repr(value)


# -- discovered fields ---------------------------------------------------------------------------


def test_lambda_report_lines_expose_type_request_id_durations_and_memory():
    """A Lambda REPORT line exposes @type, @requestId, @duration, @billedDuration, @memorySize,
    @maxMemoryUsed and, on a cold start, @initDuration; durations in ms, memory in bytes
    (modelled 1,000,000 per MB: the page gives no unit). START and END lines have @type and
    @requestId (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html)."""
    report = ("REPORT RequestId: r-1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
              "Max Memory Used: 40 MB\tInit Duration: 123.45 ms")
    assert rules.discovered_fields(report) == {
        "@type": "REPORT", "@requestId": "r-1", "@duration": 12.34, "@billedDuration": 13.0,
        "@memorySize": 128_000_000.0, "@maxMemoryUsed": 40_000_000.0, "@initDuration": 123.45}
    assert "@initDuration" not in rules.discovered_fields(report.split("\tInit")[0])
    assert rules.discovered_fields("START RequestId: r-1 Version: $LATEST") == {"@type": "START", "@requestId": "r-1"}
    assert rules.discovered_fields("END RequestId: r-1") == {"@type": "END", "@requestId": "r-1"}


def test_json_fields_are_flattened_with_dots_from_the_first_embedded_json_fragment():
    """JSON fields are discovered in dot notation, arrays by index; in Lambda logs only the
    first embedded JSON fragment counts; a field named @x shows as @@x
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html)."""
    line = 'prefix {"a": {"b": 1, "c": [{"d": "x"}, 2]}, "@ip": "10.0.0.1", "ok": true, "n": null} {"second": 1}'
    assert rules.discovered_fields(line) == {"a.b": 1.0, "a.c.0.d": "x", "a.c.1": 2.0, "@@ip": "10.0.0.1",
                                             "ok": "true"}
    assert rules.discovered_fields("no json here") == {}
    assert rules.discovered_fields("{broken") == {}


# -- the lessons' queries over real function logs ------------------------------------------------


def test_cold_start_share_from_init_duration(shop):
    """count(@initDuration) over REPORT lines counts cold starts, count(*) invocations; an alias
    made in stats is used by a later item
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Stats.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html)."""
    rows = _rows(shop, 'filter @type = "REPORT" | stats count(*) as invocations, count(@initDuration) as cold, '
                       'cold * 100 / invocations as coldPct by @log')
    expected = {}
    for group in GROUPS:
        reports = _reports(shop, group)
        cold = sum(1 for r in reports if r["init"])
        expected[_log(group)] = {"@log": _log(group), "invocations": str(len(reports)), "cold": str(cold),
                                 "coldPct": _number(cold * 100 / len(reports))}
    assert rows == [expected[_log(group)] for group in GROUPS]  # groups in ascending order of @log
    assert {row["cold"] for row in rows} == {"2"}  # one cold start each side of the pause
    records = [r for r in shop.invocations if r.function_name == "checkout"]
    assert int(rows[0]["cold"]) == sum(r.cold_start for r in records)


def test_p99_duration_by_function_is_a_value_the_durations_took(shop):
    """pct(@duration, 99) by function: the nearest rank, a duration that really occurred with at
    least 99 % of durations at or below it (modelled: the page defines pct by "the value at which
    99 percent of the values are lower")
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Stats.html)."""
    rows = _rows(shop, 'filter @type = "REPORT" | stats pct(@duration, 99) as p99, pct(@duration, 50) as p50, '
                       'avg(@duration) as mean by @log | sort p99 desc')
    assert [row["@log"] for row in rows] == [_log("/aws/lambda/checkout"), _log("/aws/lambda/email")]
    for row, group in zip(rows, GROUPS):
        durations = sorted(r["duration"] for r in _reports(shop, group))
        assert row["p99"] == _number(durations[math.ceil(0.99 * len(durations)) - 1])
        assert row["p50"] == _number(durations[math.ceil(0.50 * len(durations)) - 1])
        assert float(row["mean"]) == pytest.approx(sum(durations) / len(durations))


def test_memory_right_sizing_compares_max_memory_used_with_memory_size(shop):
    """max(@maxMemoryUsed) against @memorySize per function, in MB, as AWS's sample query for
    over-provisioned memory computes it
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Stats.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html)."""
    rows = _rows(shop, 'filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as provisionedMB, '
                       'max(@maxMemoryUsed / 1000 / 1000) as maxUsedMB, '
                       'provisionedMB - maxUsedMB as overProvisionedMB by @log')
    for row, group in zip(rows, GROUPS):
        reports = _reports(shop, group)
        size, used = max(r["memory"] for r in reports), max(r["used"] for r in reports)
        assert row == {"@log": _log(group), "provisionedMB": str(size), "maxUsedMB": str(used),
                       "overProvisionedMB": str(size - used)}
    checkout = [r for r in shop.invocations if r.function_name == "checkout"]
    assert rows[0]["maxUsedMB"] == str(max(_checkout_memory(r) for r in checkout))


def test_a_correlation_id_filter_finds_the_powertools_lines_of_one_request(shop):
    """Powertools Logger's JSON lines: filter on a discovered field, show nested fields with dot
    notation, sort by @timestamp; every event row ends with @ptr
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Filter.html,
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html)."""
    answer = _run(shop, 'fields @timestamp, level, message, order.id, order.items.1, function_name '
                        '| filter correlation_id = "corr-15" | sort @timestamp asc')
    rows = answer["results"]
    expected = [json.loads(m) for _, m in _events(shop, "/aws/lambda/checkout") + _events(shop, "/aws/lambda/email")
                if m.startswith("{") and json.loads(m)["correlation_id"] == "corr-15"]
    assert len(expected) == 3  # checkout's info and warning (declined), email's info
    assert [row[-1]["field"] for row in rows] == ["@ptr"] * len(expected)
    shown = [{f["field"]: f["value"] for f in row[:-1]} for row in rows]
    assert [(s["level"], s["message"], s.get("order.id"), s.get("order.items.1"), s["function_name"])
            for s in shown] == [(e["level"], e["message"], e.get("order", {}).get("id"),
                                 e.get("order", {}).get("items", [None, None])[1], e["function_name"])
                                for e in expected]
    assert shown[0]["@timestamp"] == datetime.strptime(expected[0]["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z") \
        .astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    assert answer["status"] == "Complete"


def test_bin_one_minute_counts_invocations_per_minute(shop):
    """stats count(*) by bin(1m): one row per minute, the bin shown as its start time
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Stats.html)."""
    rows = _rows(shop, 'filter @type = "REPORT" | stats count(*) as invocations by bin(1m)')
    minutes = Counter(at // 60_000 * 60_000 for group in GROUPS for at in (r["at"] for r in _reports(shop, group)))
    assert rows == [{"bin(1m)": datetime.fromtimestamp(m / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.000"),
                     "invocations": str(n)} for m, n in sorted(minutes.items())]
    assert sum(int(row["invocations"]) for row in rows) == len(shop.invocations)


# -- the commands ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def access_log(shop):
    """A log group of plain text lines written with PutLogEvents, for parse and friends."""
    logs = shop.client("logs")
    logs.create_log_group(logGroupName="access")
    logs.create_log_stream(logGroupName="access", logStreamName="web")
    now = int(shop.now.timestamp() * 1000)
    lines = [f"user={user}, method:{method}, latency := {latency}"
             for user, method, latency in [("ada", "GET", 12), ("bob", "POST", 250), ("ada", "POST", 31),
                                           ("cy", "GET", 7), ("bob", "GET", 95)]]
    logs.put_log_events(logGroupName="access", logStreamName="web",
                        logEvents=[{"timestamp": now - 5000 + i * 1000, "message": m} for i, m in enumerate(lines)]
                        + [{"timestamp": now, "message": "healthcheck ok"}])
    return lines


def test_parse_glob_extracts_fields_and_leaves_unmatched_events_without_them(shop, access_log):
    """parse with a glob: one `*` per name; extracted strings average as numbers; an event that
    does not match is still in the results, without the fields
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Parse.html)."""
    rows = _rows(shop, 'parse @message "user=*, method:*, latency := *" as user, method, latency '
                       '| stats avg(latency) as mean, max(latency) as worst, count(*) as n by method', ["access"])
    assert rows == [{"method": "GET", "mean": _number((12 + 7 + 95) / 3), "worst": "95", "n": "3"},
                    {"method": "POST", "mean": _number((250 + 31) / 2), "worst": "250", "n": "2"},
                    {"n": "1"}]  # the healthcheck line: no method (null groups last)
    plain = _rows(shop, 'parse @message "user=*," as user | fields user, @message | sort @timestamp desc | limit 2',
                  ["access"])
    assert plain == [{"@message": "healthcheck ok"}, {"user": "bob", "@message": access_log[-1]}]


def test_parse_regex_uses_named_groups(shop, access_log):
    """parse with a regular expression: named groups (?<name>...) become fields
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Parse.html)."""
    rows = _rows(shop, r'parse @message /user=(?<who>\w+), method:(?<verb>[A-Z]+)/ | filter ispresent(who) '
                       r'| stats count(*) as calls by who, verb | sort calls desc, who asc', ["access"])
    assert rows == [{"who": "ada", "verb": "GET", "calls": "1"}, {"who": "ada", "verb": "POST", "calls": "1"},
                    {"who": "bob", "verb": "GET", "calls": "1"}, {"who": "bob", "verb": "POST", "calls": "1"},
                    {"who": "cy", "verb": "GET", "calls": "1"}]


def test_filter_comparisons_like_regex_in_and_not(shop, access_log):
    """filter: comparisons, and/or/not, `like` with a substring (case-sensitive) or /regex/
    ((?i) for case-insensitive), `=~`, `in [...]` with complete matches, `not in`
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Filter.html)."""
    base = 'parse @message "user=*, method:*, latency := *" as user, method, latency | '

    def users(condition):
        return [row.get("user") for row in _rows(shop, base + f"filter {condition} | fields user | sort @timestamp",
                                                 ["access"])]

    assert users("latency > 30 and latency <= 250") == ["bob", "ada", "bob"]
    assert users("latency < 10 or user = \"bob\"") == ["bob", "cy", "bob"]
    assert users("not (method = \"GET\")") == ["bob", "ada"]
    assert users("user in [\"ada\", \"cy\"]") == ["ada", "ada", "cy"]
    assert users("user not in [\"ada\", \"cy\"]") == ["bob", "bob"]
    assert users("@message like \"method:POST\"") == ["bob", "ada"]
    assert users("@message like \"method:post\"") == []
    assert users("@message like /(?i)method:post/") == ["bob", "ada"]
    assert users("@message =~ /latency := \\d{3}$/") == ["bob"]
    assert users("@message not like /ada/ and ispresent(user)") == ["bob", "cy", "bob"]
    assert users("latency != 12 and latency >= 95") == ["bob", "bob"]


def test_fields_expressions_aliases_and_string_functions(shop, access_log):
    """fields with expressions and `as` aliases, a later item using an earlier alias; the string
    and numeric functions (strlen, toupper, concat, substr counting from 0, replace, abs, floor,
    strcontains, isempty) (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Fields.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-operations-functions.html)."""
    rows = _rows(shop, 'parse @message "user=*, method:*, latency := *" as user, method, latency '
                       '| filter user = "bob" | fields latency / 1000 as seconds, seconds * 2 as twice, '
                       'toupper(user) as who, strlen(method) as len, concat(user, "/", method) as key, '
                       'substr(method, 1, 2) as mid, replace(method, "O", "0") as zeroed, abs(-latency) as a, '
                       'floor(latency / 100) as hundreds, strcontains(@message, "POST") as post, '
                       'isempty(nothing) as empty | sort @timestamp', ["access"])
    assert rows == [
        {"seconds": "0.25", "twice": "0.5", "who": "BOB", "len": "4", "key": "bob/POST", "mid": "OS",
         "zeroed": "P0ST", "a": "250", "hundreds": "2", "post": "1", "empty": "true"},
        {"seconds": "0.095", "twice": "0.19", "who": "BOB", "len": "3", "key": "bob/GET", "mid": "ET",
         "zeroed": "GET", "a": "95", "hundreds": "0", "post": "0", "empty": "true"}]


def test_sort_limit_dedup_and_display(shop, access_log):
    """sort desc/asc, limit, dedup keeping the first event per value in sort order (events where
    the field is missing are all kept; only limit may follow dedup), display choosing the shown
    fields (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Sort.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Limit.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Dedup.html,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Display.html)."""
    parse = 'parse @message "user=*, method:*, latency := *" as user, method, latency | '
    slowest = _rows(shop, parse + "filter ispresent(user) | sort latency desc | limit 2 | display user, latency",
                    ["access"])
    assert slowest == [{"user": "bob", "latency": "250"}, {"user": "bob", "latency": "95"}]
    fastest = _rows(shop, parse + "display user, latency | sort latency asc | dedup user", ["access"])
    assert fastest == [{"user": "cy", "latency": "7"}, {"user": "ada", "latency": "12"},
                       {"user": "bob", "latency": "95"}, {}]  # the healthcheck: no user, kept
    with pytest.raises(ClientError) as refused:
        _run(shop, parse + "dedup user | sort latency", ["access"])
    assert refused.value.response["Error"]["Code"] == "MalformedQueryException"


# -- the API ---------------------------------------------------------------------------------------


def test_time_range_statistics_and_log_group_identifiers(shop):
    """startTime and endTime are epoch seconds, both inclusive; statistics count the events
    scanned and matched and the bytes scanned; logGroupIdentifiers take names or ARNs
    (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html,
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetQueryResults.html)."""
    events = _events(shop, "/aws/lambda/checkout")
    first_s = events[0][0] // 1000
    start, end = first_s, first_s + 119
    inside = [m for t, m in events if start * 1000 <= t < (end + 1) * 1000]
    logs = shop.client("logs")
    query_id = logs.start_query(
        logGroupIdentifiers=[f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/checkout:*"],
        startTime=start, endTime=end, queryString='filter @type = "REPORT" | fields @requestId')["queryId"]
    answer = logs.get_query_results(queryId=query_id)
    assert answer["statistics"] == {"recordsScanned": len(inside),
                                    "recordsMatched": sum(m.startswith("REPORT") for m in inside),
                                    "bytesScanned": sum(len(m.encode()) for m in inside)}
    assert len(answer["results"]) == answer["statistics"]["recordsMatched"] > 0
    described = logs.describe_queries(logGroupName="/aws/lambda/checkout")["queries"][0]
    assert (described["queryId"], described["status"]) == (query_id, "Complete")


def test_default_limit_is_10000_and_the_limit_parameter_caps_results(shop):
    """Without limit a query returns up to 10,000 log events; StartQuery's limit caps them
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Limit.html,
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html)."""
    logs = shop.client("logs")
    logs.create_log_group(logGroupName="bulk")
    logs.create_log_stream(logGroupName="bulk", logStreamName="s")
    now = int(shop.now.timestamp() * 1000)
    for batch in range(2):
        logs.put_log_events(logGroupName="bulk", logStreamName="s", logEvents=[
            {"timestamp": now - 20_000 + batch * 10_000 + i, "message": f"line {batch * 5_050 + i}"}
            for i in range(5_050)])
    answer = _run(shop, "fields @message", ["bulk"])
    assert len(answer["results"]) == rules.DEFAULT_LIMIT == 10_000
    assert answer["statistics"]["recordsMatched"] == 10_100
    assert answer["results"][0][0] == {"field": "@message", "value": "line 10099"}  # newest first
    assert len(_run(shop, "fields @message", ["bulk"], limit=3)["results"]) == 3


def test_a_query_that_does_not_parse_is_a_malformed_query_exception(shop):
    """A query that does not parse: MalformedQueryException with a QueryCompileError (message and
    character offsets) (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_QueryCompileError.html,
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html)."""
    with pytest.raises(ClientError) as refused:
        _run(shop, 'filter @type = = "REPORT"')
    error = refused.value.response
    assert error["Error"]["Code"] == "MalformedQueryException"
    assert error["queryCompileError"]["location"] == {"startCharOffset": 15, "endCharOffset": 16}
    with pytest.raises(ClientError) as missing:
        _run(shop, "fields @message", ["/aws/lambda/nope"])
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_valid_queries_the_simulator_does_not_run_raise_unsupported_query(shop):
    """A function or period outside the simulator's subset is not an AWS error (AWS would run
    the query): it raises UnsupportedQuery, naming what is missing."""
    for query, missing in [("stats earliest(@timestamp)", "earliest()"), ("stats count(*) by bin(1mo)", "mo")]:
        with pytest.raises(UnsupportedQuery, match=re.escape(missing)):
            _run(shop, query)


def test_stop_query_of_an_ended_query_is_refused(shop):
    """StopQuery of a query that has ended returns an error (a simulated query ends when it
    starts; the error code is modelled: InvalidParameterException)
    (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StopQuery.html)."""
    logs = shop.client("logs")
    start, end = _window(shop)
    query_id = logs.start_query(logGroupName=GROUPS[0], startTime=start, endTime=end,
                                queryString="stats count(*)")["queryId"]
    with pytest.raises(ClientError) as refused:
        logs.stop_query(queryId=query_id)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_duckdb_is_imported_by_the_first_query_not_by_start():
    """Starting a simulation imports neither DuckDB nor lark; the first query does."""
    probe = ("import sys, boto3; from lambdasim import Simulator\n"
             "with Simulator() as sim:\n"
             "    before = {'duckdb' in sys.modules, 'lark' in sys.modules}\n"
             "    logs = boto3.client('logs'); logs.create_log_group(logGroupName='g')\n"
             "    logs.start_query(logGroupName='g', startTime=0, endTime=1, queryString='stats count(*)')\n"
             "    print(before, 'duckdb' in sys.modules and 'lark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["{False}", "True"]
