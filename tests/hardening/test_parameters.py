"""Parameters and secrets through Powertools Parameters (module 5, lesson 05-04): the calls each
execution environment makes with and without the cache, their price, and the key kept out of
environment variables and log lines. Two short runs (module scope)."""

from __future__ import annotations

import json

import pytest

from serverless_course import prices
from serverless_course.hardening import parameters

pytestmark = pytest.mark.xdist_group("hardening-parameters")

RATE_PER_S, BURST, DURATION_S = 0.05, 3, 900  # three at once every 60 s: 45 invocations
INTERVAL_S = BURST / RATE_PER_S


@pytest.fixture(scope="module")
def runs() -> dict[int, parameters.ParameterReads]:
    return {max_age: parameters.run(max_age, rate_per_s=RATE_PER_S, duration_s=DURATION_S, burst=BURST)
            for max_age in (0, 120)}


def test_without_a_cache_every_invocation_reads_both_values(runs):
    """max_age 0: Powertools fetches on every get
    (https://docs.powertools.aws.dev/lambda/python/latest/utilities/parameters/)."""
    uncached = runs[0]
    assert uncached.invocations == DURATION_S / INTERVAL_S * BURST == 45
    assert uncached.parameter_calls == uncached.secret_calls == uncached.invocations
    assert uncached.denied == 0  # the SAM policy templates allow exactly these reads


def test_each_environment_reads_again_only_after_max_age(runs):
    """A cached value is returned until it is older than max_age; the first get after that
    fetches it again (the parameters page above), in each execution environment on its own."""
    cached = runs[120]
    assert cached.environments == BURST
    # Every 60 s each environment is invoked; a value fetched at t is fetched again at the first
    # invocation after t + 120 s, so every 180 s: at 0, 180, 360, 540 and 720 s.
    period_s = (120 // INTERVAL_S + 1) * INTERVAL_S
    per_environment = len(range(0, DURATION_S, int(period_s)))
    assert cached.secret_calls == cached.parameter_calls == BURST * per_environment == 15


def test_calls_are_priced_with_the_courses_prices(runs):
    """Secrets Manager bills API calls (https://aws.amazon.com/secrets-manager/pricing/);
    Parameter Store's standard throughput has no charge
    (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html)."""
    uncached = runs[0]
    assert uncached.secret_calls_usd() == pytest.approx(45 * 0.05 / 10_000)
    assert uncached.parameter_calls_usd() == 0
    assert uncached.parameter_calls_usd(higher_throughput=True) == pytest.approx(
        45 * prices.PARAMETER_STORE_HIGHER_THROUGHPUT_CALL.usd)
    assert uncached.monthly_usd() == pytest.approx(uncached.secret_calls_usd() * 730 / (DURATION_S / 3600))


def test_the_key_is_in_no_environment_variable_and_masked_in_the_log(runs):
    """Powertools data masking erases the named field
    (https://docs.powertools.aws.dev/lambda/python/latest/utilities/data_masking/)."""
    for run in runs.values():
        assert not run.secret_in_environment and not run.secret_in_logs
        assert json.loads(run.logged)["api_key"] == "*****"
