"""Lab 02's forecasts and the settings check (`capacity.slo_lab`), without running the pipeline:
each traffic shape peaks where its forecast says, and the settings AWS would refuse are refused
with their reason. (The lab's grading is tested by tests/test_labs_selfcheck.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from serverless_course.capacity.slo_lab import SHAPES, Forecast, problems, variant
from serverless_course.scaling.settings import PipelineSettings


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_peaks_near_its_peak_rate_after_a_steady_minute(shape):
    forecast = Forecast(shape=shape, seed=3)
    per_second = np.bincount(forecast.arrivals() // 1_000_000)
    busiest_20_s = np.convolve(per_second, np.ones(20), "valid").max() / 20
    assert 0.8 * forecast.peak_rate_per_s <= busiest_20_s <= 1.4 * forecast.peak_rate_per_s
    assert per_second[:60].mean() == pytest.approx(forecast.steady_rate_per_s, rel=0.35)


def test_a_variant_is_drawn_from_its_seed_with_the_shapes_in_turn():
    assert variant(7) == variant(7)
    assert [variant(seed).shape for seed in (9, 10, 11)] == ["spike", "sawtooth", "herd"]
    slo = variant(7).slo
    assert slo.p99_latency_s > 1 and slo.max_cost_per_million_usd > 9.5 and slo.max_lost == 0


@pytest.mark.parametrize(("settings", "reason"), [
    (PipelineSettings(maximum_concurrency=50, processor_reserved_concurrency=10), "above the processor's reserved"),
    (PipelineSettings(processor_reserved_concurrency=101), "more than the 100 an account of 200 may reserve"),
])
def test_settings_aws_would_refuse_are_named(settings, reason):
    assert reason in problems(Forecast(), settings)


def test_settings_aws_accepts_pass():
    assert problems(Forecast(), PipelineSettings(maximum_concurrency=20, processor_reserved_concurrency=20,
                                                 table_billing_mode="PROVISIONED", table_write_capacity_units=12,
                                                 table_read_capacity_units=1)) is None
