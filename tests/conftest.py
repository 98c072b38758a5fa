"""The order of the tests for the two-worker run (`make test`): tests marked ``long_running``
start first, so that neither worker is left alone with one of them at the end while the other
idles (longest first is the classic rule for spreading jobs over a few machines)."""

from __future__ import annotations

import gc

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)  # stable


def pytest_collection_finish(session: pytest.Session) -> None:
    # What the test modules imported (moto, botocore, pandas...) lives as long as the process:
    # out of the collector's sight, each full collection no longer walks it. A deploy of the
    # orders pipeline spent a third of its CPU time in the collector (186 ms -> 128 ms a deploy).
    gc.freeze()
