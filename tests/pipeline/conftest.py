"""Fixtures of the orders pipeline's proof tests (one simulation per session)."""

from __future__ import annotations

import pytest

from pipeline_run import Run, run_pipeline


@pytest.fixture(scope="session")
def thousand() -> Run:
    """1,000 requests, 5 % invalid and 5 % duplicated, one order per request."""
    return run_pipeline(1000, seed=2026, invalid=0.05, duplicates=0.05, oversize=3)
