"""Athena: queries that run instead of moto's canned results.

moto 5.2.5 runs no query: StartQueryExecution stores the string, GetQueryExecution answers
SUCCEEDED with every statistic 0, and GetQueryResults answers an empty result set (or results a
test queued in advance). The responses of StartQueryExecution, GetQueryExecution,
GetQueryResults, StopQueryExecution and ListQueryExecutions are replaced by calls to the
simulator's `athena.Athena` (set by `set_athena`; None while no simulation runs, and then moto is
unchanged), which runs the SQL with DuckDB over the Glue tables' S3 objects. Work groups, named
queries, data catalogs and the rest stay moto's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._patching import Patch

if TYPE_CHECKING:
    from ..athena import Athena, AthenaExecution

_athena: Athena | None = None


def set_athena(athena: Athena | None) -> None:
    """The simulator's Athena (None: moto's behaviour)."""
    global _athena
    _athena = athena


def _answer(call: Callable[[Athena], dict[str, Any]]) -> str:
    from moto.core.exceptions import JsonRESTError

    from ..athena import AthenaRefused

    assert _athena is not None
    try:
        return json.dumps(call(_athena))
    except AthenaRefused as refused:
        error = JsonRESTError(refused.code, refused.message)
        error.code = refused.status
        raise error from None


def _execution(execution: AthenaExecution) -> dict[str, Any]:
    """QueryExecution as GetQueryExecution answers it (API_QueryExecution.html)."""
    status: dict[str, Any] = {"State": execution.state, "SubmissionDateTime": execution.submitted_ms / 1000,
                              "CompletionDateTime": execution.submitted_ms / 1000}
    if execution.state_change_reason is not None:
        status["StateChangeReason"] = execution.state_change_reason
        # API_AthenaError.html: category 2 is a user error.
        status["AthenaError"] = {"ErrorCategory": 2, "ErrorMessage": execution.state_change_reason}
    return {
        "QueryExecutionId": execution.query_id, "Query": execution.query,
        "StatementType": execution.statement_type,
        "ResultConfiguration": {"OutputLocation": execution.output_location},
        "QueryExecutionContext": {"Database": execution.database, "Catalog": "AwsDataCatalog"},
        "Status": status,
        "Statistics": {"EngineExecutionTimeInMillis": 0, "DataScannedInBytes": execution.data_scanned_bytes,
                       "TotalExecutionTimeInMillis": 0, "QueryQueueTimeInMillis": 0,
                       "QueryPlanningTimeInMillis": 0, "ServiceProcessingTimeInMillis": 0},
        "WorkGroup": execution.work_group,
        "EngineVersion": {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"},
    }


def _wrap(operation: Callable[[Any, Athena], dict[str, Any]]) -> Callable[[Callable[[Any], str]], Callable[[Any], str]]:
    def wrap(original: Callable[[Any], str]) -> Callable[[Any], str]:
        def replacement(self: Any) -> str:
            if _athena is None:
                return original(self)
            return _answer(lambda athena: operation(self, athena))

        replacement.__wrapped__ = original  # type: ignore[attr-defined]
        replacement.__name__ = original.__name__
        return replacement

    return wrap


def _start(response: Any, athena: Athena) -> dict[str, Any]:
    context = response._get_param("QueryExecutionContext") or {}
    config = response._get_param("ResultConfiguration") or {}
    return {"QueryExecutionId": athena.start(
        query=response._get_param("QueryString") or "", database=context.get("Database"),
        output_location=config.get("OutputLocation"), work_group=response._get_param("WorkGroup"))}


def _get(response: Any, athena: Athena) -> dict[str, Any]:
    return {"QueryExecution": _execution(athena.get(response._get_param("QueryExecutionId")))}


def _results(response: Any, athena: Athena) -> dict[str, Any]:
    from ..athena import column_info

    execution, rows, next_token = athena.results_page(
        response._get_param("QueryExecutionId"), response._get_int_param("MaxResults"),
        response._get_param("NextToken"))
    answer: dict[str, Any] = {
        "UpdateCount": 0,
        "ResultSet": {"Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows],
                      "ResultSetMetadata": {"ColumnInfo": column_info(execution)}}}
    if next_token is not None:
        answer["NextToken"] = next_token
    return answer


def _stop(response: Any, athena: Athena) -> dict[str, Any]:
    athena.stop(response._get_param("QueryExecutionId"))
    return {}


def _list(response: Any, athena: Athena) -> dict[str, Any]:
    return {"QueryExecutionIds": athena.list_ids(response._get_param("WorkGroup"))}


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.athena.responses import AthenaResponse

    return [
        Patch(AthenaResponse, "start_query_execution", None, ("self",),
              "Athena: the SQL run by DuckDB over the Glue tables' objects", wrap=_wrap(_start)),
        Patch(AthenaResponse, "get_query_execution", None, ("self",),
              "Athena: state, reason, DataScannedInBytes", wrap=_wrap(_get)),
        Patch(AthenaResponse, "get_query_results", None, ("self",),
              "Athena: the rows, header first, paged", wrap=_wrap(_results)),
        Patch(AthenaResponse, "stop_query_execution", None, ("self",),
              "Athena: the simulator's executions", wrap=_wrap(_stop)),
        Patch(AthenaResponse, "list_query_executions", None, ("self",),
              "Athena: the simulator's executions", wrap=_wrap(_list)),
    ]
