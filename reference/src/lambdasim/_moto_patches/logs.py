"""CloudWatch Logs: Logs Insights queries that run the query language.

moto 5.2.5 answers StartQuery with a tiny evaluator (fields, sort and limit; any other command is
ignored or fails), ignores logGroupIdentifiers and the `limit` parameter, returns no statistics,
and has no StopQuery. The responses of StartQuery, GetQueryResults and DescribeQueries are
replaced, and StopQuery added, by calls to the simulator's `logs_insights.LogsInsights` (set by
`set_logs_insights`; None while no simulation runs, and then moto is unchanged): it parses the
query (MalformedQueryException with AWS's QueryCompileError detail when it does not), reads
the log events moto holds in the time range and runs the query with DuckDB.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._patching import Patch

if TYPE_CHECKING:
    from ..logs_insights import LogsInsights

_insights: LogsInsights | None = None


def set_logs_insights(insights: LogsInsights | None) -> None:
    """The simulator's Logs Insights (None: moto's behaviour)."""
    global _insights
    _insights = insights


def _answer(call: Callable[[LogsInsights], dict[str, Any]]) -> str:
    """The call's JSON answer, or AWS's error for what it raised."""
    from moto.core.exceptions import JsonRESTError

    from ..logs_insights import MalformedQuery, QueryRefused

    assert _insights is not None
    try:
        return json.dumps(call(_insights))
    except QueryRefused as refused:
        error = JsonRESTError(refused.code, refused.message)
        error.code = refused.status
        raise error from None
    except MalformedQuery as malformed:
        error = JsonRESTError("MalformedQueryException", malformed.message)
        # API_QueryCompileError.html: the message and the span of the query it is about.
        error.description = json.dumps({
            "__type": "MalformedQueryException", "message": malformed.message,
            "queryCompileError": {"message": malformed.message,
                                  "location": {"startCharOffset": malformed.start,
                                               "endCharOffset": malformed.end}}})
        raise error from None


def _log_groups(response: Any) -> list[str]:
    from moto.logs.exceptions import InvalidParameterException

    given = [value for value in (response._get_param("logGroupName"), response._get_param("logGroupNames"),
                                 response._get_param("logGroupIdentifiers")) if value]
    if len(given) != 1:
        # API_StartQuery.html: "exactly one of the following parameters".
        raise InvalidParameterException(
            "A StartQuery operation must include exactly one of logGroupName, logGroupNames or "
            "logGroupIdentifiers")
    return [given[0]] if isinstance(given[0], str) else list(given[0])


def _wrap_start_query(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def start_query(self: Any) -> str:
        if _insights is None:
            return original(self)
        groups = _log_groups(self)
        return _answer(lambda insights: {"queryId": insights.start(
            query_string=self._get_param("queryString") or "", log_groups=groups,
            start_time=self._get_int_param("startTime"), end_time=self._get_int_param("endTime"),
            limit=self._get_int_param("limit"))})

    start_query.__wrapped__ = original  # type: ignore[attr-defined]
    return start_query


def _wrap_get_query_results(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def get_query_results(self: Any) -> str:
        if _insights is None:
            return original(self)

        def results(insights: LogsInsights) -> dict[str, Any]:
            query = insights.get(self._get_param("queryId"))
            return {"results": query.results, "statistics": query.statistics, "status": query.status}

        return _answer(results)

    get_query_results.__wrapped__ = original  # type: ignore[attr-defined]
    return get_query_results


def _wrap_describe_queries(original: Callable[[Any], str]) -> Callable[[Any], str]:
    def describe_queries(self: Any) -> str:
        if _insights is None:
            return original(self)
        return _answer(lambda insights: {"queries": [query.info() for query in insights.describe(
            self._get_param("logGroupName"), self._get_param("status"),
            self._get_int_param("maxResults") or 1000)]})

    describe_queries.__wrapped__ = original  # type: ignore[attr-defined]
    return describe_queries


def _stop_query(self: Any) -> str:
    """StopQuery (API_StopQuery.html), which moto lacks."""

    def stop(insights: LogsInsights) -> dict[str, Any]:
        insights.stop(self._get_param("queryId"))
        return {"success": True}

    return _answer(stop)


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.logs.responses import LogsResponse

    return [
        Patch(LogsResponse, "start_query", None, ("self",),
              "Logs Insights: the query language run by DuckDB", wrap=_wrap_start_query),
        Patch(LogsResponse, "get_query_results", None, ("self",),
              "Logs Insights: results, statistics", wrap=_wrap_get_query_results),
        Patch(LogsResponse, "describe_queries", None, ("self",),
              "Logs Insights: the simulator's queries", wrap=_wrap_describe_queries),
        Patch(LogsResponse, "stop_query", _stop_query, "absent", "Logs Insights: StopQuery"),
    ]
