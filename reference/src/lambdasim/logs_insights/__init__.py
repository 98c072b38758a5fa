"""CloudWatch Logs Insights queries over the simulation's logs: StartQuery, GetQueryResults,
StopQuery and DescribeQueries, played by `LogsInsights` (the adapter routes moto's API to it,
`_moto_patches/logs.py`).

A query runs when it is started, at the virtual instant of the call, over the events moto holds
(the simulator's function logs, and anything written with PutLogEvents), and is Complete at once:
a lesson that polls GetQueryResults until the status is no longer Running gets its answer on the
first call. The language is `query` (lark) translated by `sql` and run by `engine` (DuckDB);
which fields exist is `rules.logs_insights`.

API pages (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/):
API_StartQuery.html (exactly one of logGroupName, logGroupNames, logGroupIdentifiers; up to 50
groups, names or ARNs; startTime and endTime epoch seconds, inclusive; limit 1-100,000),
API_GetQueryResults.html (results, statistics recordsMatched / recordsScanned / bytesScanned,
status), API_StopQuery.html ("If the query has already ended, the operation returns an error"),
API_DescribeQueries.html, API_QueryCompileError.html (MalformedQueryException's detail).

Modelled where the pages are silent (the manual's fidelity table): queries complete at once;
bytesScanned counts the UTF-8 bytes of the scanned messages; StopQuery of an ended query answers
InvalidParameterException; an unknown query id ResourceNotFoundException; @ptr is an opaque
string naming the group, stream and position of the event; DescribeQueries lists newest first.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from .. import moto_state
from ..rules import logs_insights as rules
from . import engine
from .query import MalformedQuery, UnsupportedQuery, parse

__all__ = ["InsightsQuery", "LogsInsights", "MalformedQuery", "QueryRefused", "UnsupportedQuery"]


class QueryRefused(Exception):
    """An API error as AWS answers it: its code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class InsightsQuery:
    """One query: what was asked, when (epoch milliseconds, virtual) and what it found."""

    query_id: str
    query_string: str
    log_groups: tuple[str, ...]
    start_time: int
    end_time: int
    created_ms: int
    status: str = "Complete"
    results: list[list[dict[str, str]]] = field(default_factory=list)
    statistics: dict[str, float] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """DescribeQueries' QueryInfo."""
        return {"queryId": self.query_id, "queryString": self.query_string, "status": self.status,
                "createTime": self.created_ms, "logGroupName": self.log_groups[0]}


class LogsInsights:
    """The Logs Insights queries of one simulation (`sim.logs_insights`)."""

    def __init__(self, account_id: str, region: str, now_ms: Callable[[], int], ids: Random):
        self.account_id, self.region = account_id, region
        self._now_ms = now_ms
        self._ids = ids
        self.queries: dict[str, InsightsQuery] = {}

    def start(self, *, query_string: str, log_groups: list[str], start_time: int, end_time: int,
              limit: int | None = None) -> str:
        """StartQuery: run the query now and keep its results; its id."""
        if not log_groups or len(log_groups) > rules.MAX_LOG_GROUPS:
            raise QueryRefused("InvalidParameterException",
                               f"Specify between 1 and {rules.MAX_LOG_GROUPS} log groups")
        if end_time < start_time:
            raise QueryRefused("InvalidParameterException", "endTime must be later than or equal to startTime")
        if limit is not None and not 1 <= limit <= rules.MAX_LIMIT:
            raise QueryRefused("InvalidParameterException", f"limit must be between 1 and {rules.MAX_LIMIT}")
        names = tuple(dict.fromkeys(self._group_name(group) for group in log_groups))
        for name in names:
            if not moto_state.log_group_exists(self.account_id, self.region, name):
                raise QueryRefused("ResourceNotFoundException", "The specified log group does not exist.")
        commands = parse(query_string)
        records = self._records(names, start_time * 1000, end_time * 1000 + 999)
        outcome = engine.run(commands, records, limit or rules.DEFAULT_LIMIT)
        query = InsightsQuery(
            query_id=str(uuid.UUID(int=self._ids.getrandbits(128), version=4)),
            query_string=query_string, log_groups=names, start_time=start_time, end_time=end_time,
            created_ms=self._now_ms(), results=outcome.rows,
            statistics={"recordsMatched": float(outcome.matched), "recordsScanned": float(len(records)),
                        "bytesScanned": float(sum(len(r.message.encode()) for r in records))})
        self.queries[query.query_id] = query
        return query.query_id

    def get(self, query_id: str) -> InsightsQuery:
        query = self.queries.get(query_id)
        if query is None:
            raise QueryRefused("ResourceNotFoundException", f"Query does not exist: {query_id}")
        return query

    def stop(self, query_id: str) -> None:
        """StopQuery: every query has already ended, so it is refused."""
        query = self.get(query_id)
        raise QueryRefused("InvalidParameterException", f"Query {query.query_id} is not running")

    def describe(self, log_group_name: str | None = None, status: str | None = None,
                 max_results: int = 1000) -> list[InsightsQuery]:
        """DescribeQueries: the queries of a group and status, newest first."""
        found = [query for query in reversed(self.queries.values())
                 if (log_group_name is None or log_group_name in query.log_groups)
                 and (status is None or query.status == status)]
        return found[:max_results]

    @staticmethod
    def _group_name(identifier: str) -> str:
        # logGroupIdentifiers takes names or ARNs (arn:aws:logs:region:account:log-group:NAME[:*]).
        if identifier.startswith("arn:"):
            name = identifier.split(":log-group:", 1)[-1]
            return name[:-2] if name.endswith(":*") else name
        return identifier

    def _records(self, groups: tuple[str, ...], start_ms: int, end_ms: int) -> list[engine.LogRecord]:
        records = []
        for group in groups:
            log = rules.log_identifier(self.account_id, group)
            for stream, position, timestamp, ingestion, message in moto_state.log_events(
                    self.account_id, self.region, group, start_ms, end_ms):
                ptr = base64.urlsafe_b64encode(f"{log}:{stream}:{position}".encode()).decode()
                records.append(engine.LogRecord(timestamp, ingestion, message, stream, log, ptr))
        return records
