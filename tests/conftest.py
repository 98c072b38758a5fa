"""The order of the tests for the two-worker run (`make test`): tests marked ``long_running``
start first, so that neither worker is left alone with one of them at the end while the other
idles (longest first is the classic rule for spreading jobs over a few machines)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("long_running") is None)  # stable
