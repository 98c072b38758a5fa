"""Where the telemetry lands: moto's CloudWatch Logs and CloudWatch backends.

Lambda writes its logs and metrics itself, with its own credentials, not through the caller's
API calls; so does this module: it calls the backends of moto's `logs` and `cloudwatch`
services directly instead of going through boto3. That keeps the writes cheap (about 20 us
for a batch of log events, against 0.6 ms for a boto3 PutLogEvents round trip), keeps them out
of what the caller's clients see (fault injection, IAM enforcement, call counts), and needs no
credentials. moto applies its own rules on the way in: events more than 14 days old or 2 hours
ahead are rejected, log subscription filters deliver at once (to Lambda: an asynchronous
invocation, through the simulator).

These are moto internals, pinned with moto 5.2.5: `verify()` checks the methods and their
parameters (tests/lambdasim/test_telemetry.py calls it), so a moto upgrade fails loudly.
"""

from __future__ import annotations

import inspect
from datetime import datetime, timezone
from typing import Any

_EXPECTED: dict[str, tuple[str, ...]] = {
    "LogsBackend.create_log_group": ("self", "log_group_name", "tags", "kwargs"),
    "LogsBackend.create_log_stream": ("self", "log_group_name", "log_stream_name"),
    "LogsBackend.put_log_events": ("self", "log_group_name", "log_stream_name", "log_events"),
    "CloudWatchBackend.put_metric_data": ("self", "namespace", "metric_data"),
}


def verify() -> list[str]:
    """Problems with the moto methods this module calls (empty list: all good)."""
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.logs.models import LogsBackend

    owners = {"LogsBackend": LogsBackend, "CloudWatchBackend": CloudWatchBackend}
    problems = []
    for label, expected in _EXPECTED.items():
        owner, name = label.split(".")
        method = getattr(owners[owner], name, None)
        if method is None:
            problems.append(f"{label} is missing")
            continue
        params = tuple(inspect.signature(method).parameters)
        if params != expected:
            problems.append(f"{label} takes {params}, lambdasim.telemetry expects {expected}")
    return problems


class MotoSink:
    """Writes log events and metric data into moto for one account and Region."""

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region
        self._streams: set[tuple[str, str]] = set()
        self._groups: set[str] = set()
        self._logs_backend: Any = None
        self._cloudwatch_backend: Any = None

    def _logs(self) -> Any:
        # Looked up once: moto's backend dictionaries cost microseconds per lookup, and the
        # backends live as long as the simulation's mock.
        if self._logs_backend is None:
            from moto.logs.models import logs_backends

            self._logs_backend = logs_backends[self.account_id][self.region]
        return self._logs_backend

    def _cloudwatch(self) -> Any:
        if self._cloudwatch_backend is None:
            from moto.cloudwatch.models import cloudwatch_backends

            self._cloudwatch_backend = cloudwatch_backends[self.account_id][self.region]
        return self._cloudwatch_backend

    def reset(self) -> None:
        """Forget the backends and what was created (moto was started again)."""
        self._logs_backend = self._cloudwatch_backend = None
        self._streams.clear()
        self._groups.clear()

    def put_log_events(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        """Append (timestamp ms, message) events, in order, creating the group and stream if
        needed (Lambda creates its log group on the first invocation)."""
        if not events:
            return
        backend = self._logs()
        if (group, stream) not in self._streams:
            if group not in self._groups:
                if group not in backend.groups:
                    backend.create_log_group(group, {})
                self._groups.add(group)
            if stream not in backend.groups[group].streams:
                backend.create_log_stream(group, stream)
            self._streams.add((group, stream))
        elif group not in backend.groups or stream not in backend.groups[group].streams:
            # deleted by the user meanwhile: start again
            self._streams.discard((group, stream))
            self._groups.discard(group)
            self.put_log_events(group, stream, events)
            return
        backend.put_log_events(group, stream, [{"timestamp": ts, "message": message} for ts, message in events])

    def put_metric_data(self, namespace: str, data: list[dict[str, Any]]) -> None:
        """PutMetricData for one namespace (Timestamps as aware or naive-UTC datetimes)."""
        if not data:
            return
        for datum in data:
            ts = datum.get("Timestamp")
            if isinstance(ts, datetime) and ts.tzinfo is not None:
                # moto keeps and compares naive UTC datetimes
                datum["Timestamp"] = ts.astimezone(timezone.utc).replace(tzinfo=None)
        self._cloudwatch().put_metric_data(namespace, data)
