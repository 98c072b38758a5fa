"""Fixtures of the public-app suite: every test runs its own simulation (moto is reset at start)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lambdasim import Simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=7) as simulator:
        yield simulator
