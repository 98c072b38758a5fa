"""Fixtures for the simulator's conformance tests.

Every test runs its own Simulator (moto is reset at start), so tests are independent. Handler
code lives in fixtures/: each sub-folder is a function's code folder (SAM's CodeUri), and
fixtures/pathpkg is put on sys.path for handlers named `package.module.function`.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from lambdasim import Simulator
from lambdasim.rules.cold_start import NO_PLATFORM_INIT

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def sim():
    # INIT here is only the virtual time the handler module's init spends, so that tests of
    # handler timing do not depend on the cold-start model's illustrative constants;
    # test_cold_start.py and test_concurrency.py run the default model.
    with Simulator(seed=7, init_model=NO_PLATFORM_INIT) as simulator:
        yield simulator


@pytest.fixture
def lam(sim):
    return boto3.client("lambda")


@pytest.fixture
def basic(sim):
    """Creates a function of the `basic` code folder: basic("name", "handler", **config)."""

    def create(name: str, handler: str, **kwargs):
        return sim.create_function(
            FunctionName=name, Handler=f"handlers.{handler}", code_dir=FIXTURES / "basic", **kwargs
        )

    return create


@pytest.fixture
def call(lam):
    """Invoke and decode: call(name, payload, **invoke_kwargs) -> (response, decoded payload)."""

    def invoke(name: str, payload=None, **kwargs):
        if payload is not None and not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        if payload is not None:
            kwargs["Payload"] = payload
        response = lam.invoke(FunctionName=name, **kwargs)
        body = response["Payload"].read()
        return response, (json.loads(body) if body else None)

    return invoke
