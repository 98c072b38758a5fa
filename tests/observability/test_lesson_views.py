"""Lessons 04-01 and 04-02's helpers on one small run of the real pipeline (twelve orders,
tracing Active, Lambda's Text log format so that REPORT lines are there to query)."""

from __future__ import annotations

import json

import pytest

from lambdasim import Simulator
from serverless_course.observability import logs_view, orders_run, tracing_view

pytestmark = pytest.mark.xdist_group("observability_views")
ORDERS = 12


@pytest.fixture(scope="module")
def run():
    with Simulator(seed=4) as sim:
        stack = orders_run.deploy_observed(sim, log_format="Text")
        start = sim.now
        sent = orders_run.send_orders(sim, stack, ORDERS, every_s=0.2)
        yield sim, stack, sent, start


def query(run, text):
    sim, stack, _, start = run
    return logs_view.run_query(sim.client("logs"), text, orders_run.log_groups(stack), start, sim.now)


def test_one_orders_lines_are_every_line_with_its_correlation_id_from_both_functions(run):
    sim, stack, sent, _ = run
    order = sent[5]
    rows = query(run, logs_view.ONE_ORDER.format(correlation_id=order.correlation_id))
    logs = sim.client("logs")
    expected = sum(
        1 for group in orders_run.log_groups(stack)
        for event in logs.filter_log_events(logGroupName=group)["events"]
        if event["message"].startswith("{") and json.loads(event["message"]).get("correlation_id") == order.correlation_id)
    assert len(rows) == expected >= 2
    assert {logs_view.function_of(row["@log"]) for row in rows} == set(orders_run.FUNCTIONS)
    assert [row["@timestamp"] for row in rows] == sorted(row["@timestamp"] for row in rows)
    assert any(row.get("order_id") == order.order_id for row in rows)


def test_report_queries_count_every_invocation_and_its_cold_starts(run):
    sim = run[0]
    rows = {logs_view.function_of(row["@log"]): row for row in query(run, logs_view.COLD_STARTS)}
    for function in orders_run.FUNCTIONS:
        records = [r for r in sim.invocations if function in r.function_name]
        assert int(rows[function]["invocations"]) == len(records)
        assert int(rows[function]["cold_starts"]) == sum(r.cold_start for r in records) >= 1
    durations = {logs_view.function_of(row["@log"]): row for row in query(run, logs_view.DURATIONS)}
    ingest_ms = [r.duration_ms for r in sim.invocations if "Ingest" in r.function_name]
    assert float(durations["IngestFunction"]["max_ms"]) == pytest.approx(max(ingest_ms), abs=0.01)
    memory = {logs_view.function_of(row["@log"]): row for row in query(run, logs_view.MEMORY)}
    assert float(memory["ProcessorFunction"]["provisioned_mb"]) == pytest.approx(256, rel=0.01)
    assert float(memory["ProcessorFunction"]["max_used_mb"]) < 256


def test_a_waterfall_has_a_row_per_span_and_children_inside_their_parents(run):
    sim = run[0]
    spans = next(iter(sim.tracing.traces().values()))
    bars = tracing_view.waterfall_bars(spans)
    assert len(bars) == len(spans) and bars[0].depth == 0 and bars[0].start_ms == 0
    by_id = {span.context.span_id: bar for span, bar in zip(spans, bars)}
    for span, bar in zip(spans, bars):
        parent = by_id.get(span.parent.span_id) if span.parent is not None else None
        if parent is not None:
            assert bar.depth == parent.depth + 1 and bar.start_ms >= parent.start_ms


def test_the_service_map_counts_each_sampled_request_once_per_hop(run):
    sim = run[0]
    traces = sim.tracing.traces()
    edges = tracing_view.service_edges(traces.values())
    into_ingest = sum(n for (caller, callee), n in edges.items() if callee == "IngestFunction (Lambda)")
    assert into_ingest == len(traces) < ORDERS  # sampled: 1 a second + 5 %, not every request
    into_processor = sum(n for (_, callee), n in edges.items() if callee == "ProcessorFunction (Lambda)")
    # A batch continues its first record's trace only: fewer processor segments than traces.
    processor_batches = sum(1 for r in sim.invocations if "Processor" in r.function_name)
    assert 1 <= into_processor <= min(len(traces), processor_batches)
