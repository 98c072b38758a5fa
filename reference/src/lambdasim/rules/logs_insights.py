"""CloudWatch Logs Insights: the fields it discovers in a log event, and the documented limits of
a query.

Pure: no moto, no clock, no query engine. `lambdasim.logs_insights` runs queries over the fields
`discovered_fields` returns.

Sources:

- https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html :
  every log event has the system fields @message, @timestamp, @ingestionTime, @logStream and @log
  (`account-id:log-group-name`); Lambda logs add @requestId, @duration, @billedDuration, @type,
  @maxMemoryUsed and @memorySize; JSON log events have their fields discovered, nested ones in dot
  notation and arrays flattened by index (`requestParameters.instancesSet.items.0.instanceId`);
  in Lambda logs only "the first embedded JSON fragment in each log event"; a discovered field
  whose name starts with @ is shown with one more @ (`@example.com` -> `@@example.com`).
- https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Limit.html : without
  `limit` a query returns up to 10,000 log events.
- https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartQuery.html :
  startTime and endTime are epoch seconds and both inclusive; `limit` 1-100,000; up to 50 log
  groups; the query string at most 10,000 characters.

Modelled where AWS is silent (listed in the manual's fidelity table):

- the units of the REPORT fields: @duration, @billedDuration and @initDuration in milliseconds as
  the REPORT line prints them; @memorySize and @maxMemoryUsed in bytes, 1,000,000 per MB. The
  discovered-fields page names the fields without units; AWS's sample queries divide both memory
  fields by 1,000 twice (earlier editions by 1,024 twice) to get MB, so they are bytes, and the
  1,000,000 factor is the one public query results show (a 768 MB function reports
  `@memorySize / 1024 / 1024` = 732). It could not be confirmed from an AWS page.
- @initDuration is discovered too (the console's cold-start queries use it; the page's list omits
  it), only on a cold start's REPORT line.
- a JSON boolean is the string `true` or `false`, a JSON null no field at all.
- only START, END and REPORT lines get @type and @requestId (not the runtime's `[LEVEL]` lines).
"""

from __future__ import annotations

import json
import re
from typing import Final

# The five system fields of every log event (discoverable-fields page).
TIMESTAMP: Final = "@timestamp"
MESSAGE: Final = "@message"
INGESTION_TIME: Final = "@ingestionTime"
LOG_STREAM: Final = "@logStream"
LOG: Final = "@log"
SYSTEM_FIELDS: Final = (TIMESTAMP, MESSAGE, INGESTION_TIME, LOG_STREAM, LOG)
TIME_FIELDS: Final = frozenset({TIMESTAMP, INGESTION_TIME})  # epoch milliseconds, shown as times

DEFAULT_LIMIT: Final = 10_000  # CWL_QuerySyntax-Limit.html
MAX_LIMIT: Final = 100_000  # API_StartQuery.html `limit`
MAX_LOG_GROUPS: Final = 50  # API_StartQuery.html logGroupNames / logGroupIdentifiers
MAX_QUERY_LENGTH: Final = 10_000  # API_StartQuery.html queryString

BYTES_PER_MB: Final = 1_000_000  # modelled (see the module docstring)

Value = str | float

_PLATFORM_LINE = re.compile(r"(START|END|REPORT) RequestId: (\S+)")
# The REPORT line's fields as Lambda prints them (lambdasim.telemetry.logs.report_line), each to
# its discovered field and the factor that turns the printed number into the field's unit.
_REPORT_FIELDS: Final = {
    "Duration": ("@duration", 1),
    "Billed Duration": ("@billedDuration", 1),
    "Memory Size": ("@memorySize", BYTES_PER_MB),
    "Max Memory Used": ("@maxMemoryUsed", BYTES_PER_MB),
    "Init Duration": ("@initDuration", 1),
}
_REPORT_FIELD = re.compile(r"\t([A-Za-z ]+): ([0-9.]+) (?:ms|MB)")
_JSON = json.JSONDecoder()


def log_identifier(account_id: str, log_group: str) -> str:
    """The @log field: `account-id:log-group-name`."""
    return f"{account_id}:{log_group}"


def discovered_fields(message: str) -> dict[str, Value]:
    """The fields Logs Insights discovers in a message besides the system fields: a Lambda
    platform line's @type, @requestId and REPORT metrics, and the first JSON object's fields."""
    platform = _PLATFORM_LINE.match(message)
    if platform is not None:
        return _platform_fields(platform.group(1), platform.group(2), message)
    return json_fields(message)


def _platform_fields(kind: str, request_id: str, message: str) -> dict[str, Value]:
    fields: dict[str, Value] = {"@type": kind, "@requestId": request_id}
    if kind == "REPORT":
        for label, number in _REPORT_FIELD.findall(message):
            if label in _REPORT_FIELDS:
                name, factor = _REPORT_FIELDS[label]
                fields[name] = float(number) * factor
    return fields


def json_fields(message: str) -> dict[str, Value]:
    """The flattened fields of the first JSON object embedded in `message` ({} if none)."""
    start = message.find("{")
    if start < 0:
        return {}
    try:
        document, _ = _JSON.raw_decode(message, start)
    except ValueError:
        return {}
    fields: dict[str, Value] = {}
    _flatten(document, "", fields)
    return fields


def _flatten(value: object, prefix: str, into: dict[str, Value]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{prefix}.{key}" if prefix else f"@{key}" if key.startswith("@") else key
            _flatten(item, name, into)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}.{index}", into)
    elif isinstance(value, bool):
        into[prefix] = "true" if value else "false"
    elif isinstance(value, (int, float)):
        into[prefix] = float(value)
    elif value is not None:
        into[prefix] = str(value)
