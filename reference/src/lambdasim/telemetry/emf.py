"""CloudWatch embedded metric format (EMF): metrics in a log line, extracted as CloudWatch does.

https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
Powertools Metrics prints one EMF document per flush to stdout; on Lambda no header is needed
("Writing JSON to standard out in the embedded metric format is sufficient. While Lambda may
prepend log events with metadata such as timestamp and request id, a valid embedded metric
format document after this metadata is considered valid").

A document is valid when (the specification's MUST rules and its JSON schema):
- the log event is a JSON object (optionally after tab-separated Lambda metadata);
- `_aws` is an object with `Timestamp` (a number: ms since the epoch) and `CloudWatchMetrics`
  (an array of MetricDirectives);
- each MetricDirective has `Namespace` (a string of 1-255 characters; CloudWatch refuses custom
  namespaces starting with "AWS/"), `Dimensions` (a non-empty array of DimensionSets: arrays of
  at most 30 strings, each naming a root member whose value is a string; `[[]]` for none) and `Metrics` (at most 100
  MetricDefinitions: `Name` naming a root member that is a number or an array of at most 100
  numbers; optional `Unit`, one of CloudWatch's units; optional `StorageResolution` 1 or 60).

An invalid document stays an ordinary log line: no metric comes out of it (CloudWatch counts it
in the AWS/Logs EMFValidationErrors metric, which is not modelled). Each value becomes one
datum, for every DimensionSet of its directive, at the document's timestamp.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

MAX_DIMENSIONS: Final = 30  # per DimensionSet (the specification's current limit; it was 9)
MAX_METRICS: Final = 100  # MetricDefinitions per directive
MAX_VALUES: Final = 100  # values of an array metric target
UNITS: Final = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
})


@dataclass(frozen=True)
class EmfDatum:
    """One metric datum extracted from an EMF document (a PutMetricData MetricDatum)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    unit: str | None
    timestamp_ms: int
    storage_resolution: int = 60

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=timezone.utc)


class InvalidEmf(ValueError):
    """The document breaks a rule of the specification (the message says which)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 255


def document(line: str) -> dict[str, Any] | None:
    """The JSON object of a log line that looks like EMF, or None. Raises InvalidEmf."""
    if '"_aws"' not in line:
        return None
    start = line.find("{")
    if start < 0 or (start > 0 and line[start - 1] != "\t"):
        return None
    try:
        root = json.loads(line[start:], parse_constant=_reject_constant)
    except ValueError as e:
        raise InvalidEmf(f"not a JSON object: {e}") from None
    if not isinstance(root, dict) or "_aws" not in root:
        return None
    return root


def extract(line: str) -> list[EmfDatum]:
    """The metric data of an EMF log line; [] for a line that is not EMF. Raises InvalidEmf."""
    root = document(line)
    if root is None:
        return []
    meta = root["_aws"]
    if not isinstance(meta, dict):
        raise InvalidEmf("_aws must be an object")
    timestamp = meta.get("Timestamp")
    if not _is_number(timestamp) or timestamp < 0:
        raise InvalidEmf("_aws.Timestamp must be a number of milliseconds since the epoch")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise InvalidEmf("_aws.CloudWatchMetrics must be an array")
    data: list[EmfDatum] = []
    for directive in directives:
        data.extend(_directive(root, directive, int(timestamp)))
    return data


def _directive(root: dict[str, Any], directive: Any, timestamp_ms: int) -> list[EmfDatum]:
    if not isinstance(directive, dict):
        raise InvalidEmf("a MetricDirective must be an object")
    namespace = directive.get("Namespace")
    if not _is_name(namespace):
        raise InvalidEmf("Namespace must be a string of 1 to 255 characters")
    if namespace.startswith("AWS/"):
        raise InvalidEmf("custom namespaces cannot start with AWS/")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list) or not dimension_sets:
        raise InvalidEmf("Dimensions must be a non-empty array of DimensionSets ([[]]: none)")
    resolved: list[tuple[tuple[str, str], ...]] = []
    for dimension_set in dimension_sets:
        if not isinstance(dimension_set, list) or len(dimension_set) > MAX_DIMENSIONS:
            raise InvalidEmf(f"a DimensionSet must be an array of at most {MAX_DIMENSIONS} keys")
        pairs = []
        for key in dimension_set:
            if not _is_name(key):
                raise InvalidEmf("a dimension key must be a string of 1 to 255 characters")
            value = root.get(key)
            if not isinstance(value, str) or not value:
                raise InvalidEmf(f"dimension {key!r} must be a root member with a string value")
            pairs.append((key, value))
        resolved.append(tuple(pairs))
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
        raise InvalidEmf(f"Metrics must be an array of at most {MAX_METRICS} MetricDefinitions")
    data = []
    for definition in metrics:
        if not isinstance(definition, dict) or not _is_name(definition.get("Name")):
            raise InvalidEmf("a MetricDefinition needs a Name")
        name = definition["Name"]
        unit = definition.get("Unit")
        if unit is not None and unit not in UNITS:
            raise InvalidEmf(f"{unit!r} is not a CloudWatch unit")
        resolution = definition.get("StorageResolution", 60)
        if resolution not in (1, 60) or isinstance(resolution, bool):
            raise InvalidEmf("StorageResolution must be 1 or 60")
        target = root.get(name)
        if _is_number(target):
            values: tuple[float, ...] = (float(target),)
        elif isinstance(target, list) and 0 < len(target) <= MAX_VALUES and all(_is_number(v) for v in target):
            values = tuple(float(v) for v in target)
        else:
            raise InvalidEmf(f"metric {name!r} must be a root member: a number or an array of "
                             f"at most {MAX_VALUES} numbers")
        for dims in resolved:
            data.append(EmfDatum(namespace, name, dims, values, unit, timestamp_ms, int(resolution)))
    return data
