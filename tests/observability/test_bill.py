"""The observability bill, the sampling helpers and the notebook dashboard (lessons 04-04 and
04-05): pure figures first, then one small traced run of the pipeline shared by the rest."""

from __future__ import annotations

import json

import pytest

from lambdasim import Simulator
from serverless_course import prices
from serverless_course.observability import bill, dashboard, sampling
from serverless_course.observability.orders_run import deploy_observed, log_groups

pytestmark = pytest.mark.xdist_group("observability-bill")


@pytest.mark.parametrize("message, kind", [
    ("START RequestId: 1 Version: $LATEST", "platform"),
    ("REPORT RequestId: 1\tDuration: 1.00 ms", "platform"),
    ("INIT_REPORT Init Duration: 120.00 ms\tPhase: init\tStatus: error", "platform"),
    (json.dumps({"time": "t", "type": "platform.report", "record": {}}), "platform"),
    (json.dumps({"_aws": {"CloudWatchMetrics": []}, "OrdersStored": 1}), "metrics (EMF)"),
    (json.dumps({"level": "INFO", "message": "order stored"}), "INFO"),
    (json.dumps({"level": "WARN", "message": "x"}), "WARNING"),
    (json.dumps({"level": "ERROR", "message": "x"}), "ERROR"),
    ("plain print output", "other"),
    ("{not json", "other"),
])
def test_each_line_is_sorted_by_kind(message: str, kind: str) -> None:
    assert bill.kind_of(message) == kind


def test_a_higher_log_level_drops_the_lines_below_it_and_nothing_else() -> None:
    volume = bill.LogVolume()
    volume.bytes.update({"platform": 500, "metrics (EMF)": 300, "DEBUG": 70, "INFO": 200, "ERROR": 10})
    assert volume.bytes_at_level("DEBUG") == 1080
    assert volume.bytes_at_level("WARNING") == 810
    assert volume.bytes_at_level("ERROR") == 810


def test_the_default_rule_traces_everything_up_to_one_a_second_then_tends_to_five_percent() -> None:
    assert sampling.expected_traced_share(0.5) == 1.0
    assert sampling.expected_traced_share(20) == pytest.approx((1 + 0.05 * 19) / 20)
    assert 0.05 < sampling.expected_traced_share(1000) < 0.051


def test_the_simulators_sampler_keeps_the_expected_share_and_misses_most_rare_failures() -> None:
    tally = sampling.sample_steady_load(Simulator(seed=3).tracing, rate_per_s=50, requests=30_000,
                                        failure_every=100, seed=3)
    assert tally.traced_share == pytest.approx(sampling.expected_traced_share(50), abs=0.005)
    assert 250 <= tally.failures <= 350
    assert 0 < tally.failures_traced < tally.failures * 0.15
    assert tally.failures_missed == tally.failures - tally.failures_traced


def _bill(**overrides: object) -> bill.ObservabilityBill:
    volume = bill.LogVolume()
    volume.bytes.update({"platform": 600_000, "INFO": 300_000, "metrics (EMF)": 100_000})
    return bill.ObservabilityBill(**{"orders": 1000, "logs": volume, "custom_metrics": 12,
                                     "orders_per_second": 10.0, **overrides})


def test_log_lines_scale_with_bytes_and_the_log_class() -> None:
    standard = _bill().per_million_usd()
    # 1 KB an order: 1 GB per million orders, at the Standard price.
    assert standard["log ingestion"] == pytest.approx(prices.LOGS_INGESTED_STANDARD.usd)
    assert _bill(log_class="INFREQUENT_ACCESS").per_million_usd()["log ingestion"] == pytest.approx(
        prices.LOGS_INGESTED_INFREQUENT_ACCESS.usd)
    assert _bill(minimum_level="WARNING").per_million_usd()["log ingestion"] == pytest.approx(
        0.7 * prices.LOGS_INGESTED_STANDARD.usd)


def test_monthly_costs_per_million_orders_fall_as_the_rate_rises() -> None:
    slow, fast = _bill(orders_per_second=5.0).per_million_usd(), _bill(orders_per_second=50.0).per_million_usd()
    assert slow["dashboards"] == pytest.approx(10 * fast["dashboards"])
    assert slow["custom metrics"] == pytest.approx(10 * fast["custom metrics"])
    month_of_orders_in_millions = 5.0 * bill.SECONDS_PER_MONTH / 1e6
    assert slow["custom metrics"] * month_of_orders_in_millions == pytest.approx(
        prices.custom_metrics_monthly_usd(12))
    # Traces follow the sampled share, which falls with the rate too.
    assert slow["X-Ray traces recorded"] > fast["X-Ray traces recorded"]
    assert fast["X-Ray traces recorded"] == pytest.approx(
        1e6 * sampling.expected_traced_share(50.0) * prices.XRAY_TRACE_RECORDED.usd)


@pytest.fixture(scope="module")
def run():
    """Twenty events 4 s apart through the traced pipeline, two of them malformed, with the
    processor paused for the second minute."""
    with Simulator(seed=0) as sim:
        stack = deploy_observed(sim)
        dashboard.pause_processor_between(sim, stack, 60, 120)
        sampling.send_steady(sim, stack, 20, every_s=4.0, malformed=(5, 15))
        yield sim, stack


def test_a_run_leaves_every_kind_of_line_and_every_error(run) -> None:
    sim, stack = run
    volume = bill.measure_logs(sim.client("logs"), log_groups(stack))
    assert volume.events["ERROR"] == 2
    assert {"platform", "metrics (EMF)", "INFO"} <= {kind for kind, n in volume.bytes.items() if n > 0}
    found = sampling.errors_against_traces(sim, stack)
    assert found.errors == 2
    # At one event every 4 s each request is the first of its second: the reservoir keeps all.
    assert found.errors_traced == 2
    assert bill.custom_metrics_of(sim.client("cloudwatch"), "Orders") >= 3


def test_the_dashboard_reads_what_happened(run) -> None:
    sim, stack = run
    board = dashboard.read_dashboard(sim, stack)
    assert sum(board["Errors a minute"]["dead-lettered"][1]) == 2
    assert sum(board["Orders a minute"]["stored (OrdersStored)"][1]) == 18
    assert max(board["Age of oldest message (s)"]["orders queue"][1]) >= 30  # the pause
    assert all(ms > 0 for ms in board["p99 duration (ms)"]["processor"][1])
    figure = dashboard.plot_dashboard(board)
    assert len([axis for axis in figure.axes if axis.get_visible()]) == len(board)
