"""What logs and metrics cost per invocation (lambdasim.telemetry), against both turned off.

    .venv/bin/python reference/benchmarks/telemetry_cost.py [invocations]

N synchronous invocations made through the simulator's service (the runtime, the service and
the telemetry, without boto3's Invoke round trip) of a handler that prints two lines (and, in
the "+EMF" row, one EMF document), 300 ms each, so 2,000 of them span 10 virtual minutes, for
each setting of `Simulator(logs=..., metrics=...)`. Then N boto3 invokes, all on and all off.
Wall-clock times, best of 3.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import boto3
import freezegun.api

from lambdasim import Simulator

APP = Path(__file__).parent / "telemetry_app"


class _Wall:
    now = staticmethod(freezegun.api.real_perf_counter)


def _direct_run(n: int, logs: bool, metrics: bool, emf: bool) -> tuple[float, dict[str, int]]:
    from lambdasim import moto_state

    with Simulator(seed=1, logs=logs, metrics=metrics) as sim:
        sim.create_function(FunctionName="bench", Handler="app.handler", code_dir=APP, MemorySize=256)
        sim.set_duration("bench", 300.0)  # 2,000 invocations one after another: 10 virtual minutes
        service = sim._service
        config, arn = moto_state.resolve_function(sim.account_id, sim.region, "bench", None)
        bodies = [json.dumps({"n": i, "emf": emf}).encode() for i in range(n)]
        start = _Wall.now()
        for body in bodies:
            service.run_sync(service.new_request(config, arn, body, "RequestResponse", source="bench"))
        sim.telemetry.flush()
        elapsed = _Wall.now() - start
        assert len(sim.invocations) == n
        return elapsed, {"log events": sim.telemetry.log_events,
                         "PutMetricData (AWS/Lambda)": sim.telemetry.metric_calls,
                         "EMF values": sim.telemetry.emf_data}


def _sync_run(n: int, on: bool) -> float:
    with Simulator(seed=1, logs=on, metrics=on) as sim:
        sim.create_function(FunctionName="bench", Handler="app.handler", code_dir=APP, MemorySize=256)
        lam = boto3.client("lambda")
        lam.invoke(FunctionName="bench", Payload=b"{}")
        start = _Wall.now()
        for i in range(n):
            lam.invoke(FunctionName="bench", Payload=json.dumps({"n": i}))
        return _Wall.now() - start


def main(n: int) -> None:
    # With logs off, function output goes to the process's stdout: keep it off the report.
    with contextlib.redirect_stdout(io.StringIO()):
        rows, off, on = _measure(n)
    base = rows[0][1]
    print(f"{n:,} invocations through the service (runtime + service + telemetry, no boto3), best of 3")
    for label, t, counts in rows:
        print(f"  {label:<28} {t * 1e6 / n:8.1f} us/invocation  (+{(t - base) * 1e6 / n:6.1f})  {counts}")
    print(f"{n:,} synchronous boto3 invokes, best of 3")
    print(f"  all off {off * 1e6 / n:8.1f} us/invocation; all on {on * 1e6 / n:8.1f} us/invocation "
          f"(+{(on - off) * 1e6 / n:.1f}, {100 * (on - off) / off:.0f} %)")


def _measure(n: int) -> tuple[list[tuple[str, float, dict[str, int]]], float, float]:
    rows = []
    for label, logs, metrics, emf in [
        ("logs off, metrics off", False, False, False),
        ("logs on,  metrics off", True, False, False),
        ("logs off, metrics on ", False, True, False),
        ("logs on,  metrics on ", True, True, False),
        ("logs on,  metrics on, +EMF", True, True, True),
    ]:
        best, counts = min((_direct_run(n, logs, metrics, emf) for _ in range(3)), key=lambda r: r[0])
        rows.append((label, best, counts))
    off = min(_sync_run(n, False) for _ in range(3))
    on = min(_sync_run(n, True) for _ in range(3))
    return rows, off, on


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
