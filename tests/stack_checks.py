"""Checks the course's hardened stacks share (modules 6 to 8): each function logs into the log
group its template declares, with the retention it sets
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html)."""

from __future__ import annotations

from typing import Any

RETENTION_DAYS = 30  # what the course's templates declare


def assert_logs_into_declared_groups(sim: Any, stack_name: str, functions: tuple[str, ...]) -> None:
    """Each function (its logical id in the stack) has one log group, kept RETENTION_DAYS, and
    its invocations' lines are in it."""
    logs = sim.client("logs")
    for function in functions:
        [group] = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{stack_name}-{function}-")["logGroups"]
        assert group["retentionInDays"] == RETENTION_DAYS, f"{function}: {group}"
        assert logs.filter_log_events(logGroupName=group["logGroupName"], filterPattern="START", limit=1)["events"], (
            f"{function} wrote nothing to {group['logGroupName']}")


def function_name(sim: Any, stack_name: str, function: str) -> str:
    """The deployed name of the stack's function with logical id `function`."""
    return next(f["FunctionName"] for f in sim.client("lambda").list_functions()["Functions"]
                if f["FunctionName"].startswith(f"{stack_name}-{function}-"))
