"""The load runner (`serverless_course.scaling.load`): its series add up to what the run did,
nothing is lost, and the lesson's conclusion holds (two small runs, about 60 orders each)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from serverless_course import prices
from serverless_course.capacity import arrivals
from serverless_course.capacity.pipeline import Durations
from serverless_course.scaling.load import LESSON_CEILINGS, _oldest_age_s, _peak_concurrency, run_load
from serverless_course.scaling.settings import PipelineSettings

# One worker runs the whole file: the two runs are module fixtures, made once.
pytestmark = pytest.mark.xdist_group("scaling_load")

SPIKE = arrivals.stages([(8, 1.0), (5, 10.0), (8, 1.0)], seed=3)


@pytest.fixture(scope="module")
def spike():
    return run_load(SPIKE, seed=3)


@pytest.fixture(scope="module")
def tuned():
    """The knob turned: a PutEvents quota three times higher, and the processor held to two
    batches of five at a time."""
    return run_load(SPIKE, seed=3, ceilings=dataclasses.replace(LESSON_CEILINGS, put_events_tps=30.0),
                    settings=PipelineSettings(batch_size=5, maximum_concurrency=2))


@pytest.mark.parametrize("name", ["spike", "tuned"])
def test_every_order_is_accounted_for(name, request):
    run = request.getfixturevalue(name)
    ledger = run.ledger
    assert ledger["sent"] == SPIKE.size == run.series["arrivals"].sum()
    assert ledger["accepted"] == (run.status == 202).sum() == run.series["api_accepted"].sum()
    assert ledger["accepted"] + ledger["refused_by_api_gateway"] + ledger["refused_otherwise"] == ledger["sent"]
    assert ledger["unaccounted"] == 0 and ledger["still_queued"] == 0
    assert ledger["stored"] == run.series["stored"].sum() == np.count_nonzero(~np.isnan(run.stored_s))


@pytest.mark.parametrize("name", ["spike", "tuned"])
def test_the_series_add_up(name, request):
    run = request.getfixturevalue(name)
    s = run.series
    assert {len(v) for v in s.values()} == {len(run.times_s)}
    # A request is throttled by API Gateway, throttled by Lambda, or runs the ingest function.
    assert s["ingest_invocations"].sum() == run.ledger["sent"] - s["api_throttles"].sum() - s["ingest_throttles"].sum()
    assert (run.status == 429).sum() == s["api_throttles"].sum() == run.ledger["refused_by_api_gateway"]
    # Each accepted order's event reached the queue once.
    assert s["queued"].sum() == run.ledger["accepted"]
    assert s["ingest_concurrency"].max() + s["processor_concurrency"].min() <= run.ceilings.account_concurrency
    assert s["queue_visible"].min() >= 0 and s["queue_oldest_age_s"].min() >= 0


@pytest.mark.parametrize("name", ["spike", "tuned"])
def test_latency_runs_from_the_request_to_the_processors_end(name, request):
    run, durations = request.getfixturevalue(name), Durations()
    accepted = run.status == 202
    assert np.all(run.accepted_s[accepted] >= run.arrival_s[accepted] + durations.ingest_ms / 1000 - 1e-6)
    # The quickest an order can be stored: its request's ingest run, then a batch of one.
    quickest = (durations.ingest_ms + durations.processor_ms(1, run.settings.processor_memory_mb)) / 1000
    assert run.latency_s.min() >= quickest - 1e-6
    p50, p99 = (run.latency_percentiles((50, 99))[p] for p in (50, 99))
    assert np.all(np.isnan(p50) == np.isnan(p99)) and np.nanmax(p99) <= run.latency_s.max()


def test_the_spike_saturates_the_bus_first_and_slows_the_front_door(spike, tuned):
    s = spike.series
    assert spike.first_saturated() == "put_events_throttles", spike.first_limited_s
    spike_starts = 8
    assert s["put_events_throttles"][:spike_starts].sum() == 0 < s["put_events_throttles"].sum()
    # The ingest function's retries of throttled PutEvents calls hold its environments longer.
    assert s["ingest_concurrency"].max() > tuned.series["ingest_concurrency"].max()


def test_the_knob_removes_the_bus_throttles_and_holds_the_processor(tuned, spike):
    s = tuned.series
    assert s["put_events_throttles"].sum() == 0 and (tuned.status >= 500).sum() == 0
    assert s["processor_concurrency"].max() <= 2
    assert s["processor_invocations"].sum() >= tuned.ledger["stored"] / 5
    assert np.percentile(tuned.latency_s, 99) < np.percentile(spike.latency_s, 99)


def test_cost_per_million_orders(spike):
    cost = spike.cost_usd
    assert set(cost) == {"Lambda", "API Gateway", "EventBridge", "SQS", "DynamoDB"}
    assert cost["API Gateway"] == pytest.approx(spike.ledger["sent"] * prices.API_GATEWAY_REST_REQUEST.usd)
    # At least an OrderPlaced for each order accepted and an OrderAccepted for each stored.
    assert cost["EventBridge"] >= (spike.ledger["accepted"] + spike.ledger["stored"]) * prices.EVENTBRIDGE_CUSTOM_EVENT.usd
    assert spike.cost_per_million_orders_usd == pytest.approx(sum(cost.values()) / spike.ledger["stored"] * 1e6)


def test_peak_concurrency_counts_overlaps_per_bin():
    starts, ends = np.array([0.0, 1.0, 4.5]), np.array([2.0, 3.5, 4.6])
    assert _peak_concurrency(starts, ends, 6, 1.0).tolist() == [1, 2, 1, 1, 1, 0]


def test_oldest_age_follows_the_oldest_message_present():
    sent, gone = np.array([0.0, 1.0, 5.0]), np.array([2.5, np.inf, 6.0])
    assert _oldest_age_s(sent, gone, np.arange(7.0), chunk=3).tolist() == [0, 1, 2, 2, 3, 4, 5]
