"""Where the CPU of grading one lab 04 submission goes: its six incident replays, taken apart.

    .venv/bin/python reference/benchmarks/lab04_replays.py [--full-span] [submission folder]
        (default: the reference solution, reference/src/serverless_course/solutions/lab04_alarms_that_page;
        --full-span: each incident's run plays all 30 virtual minutes, not only until its
        detection budget ends as grading does)

Runs each scenario as the lab's tests do (the graded seed, the learner's processor in worker
processes, `lambdasim.isolation`): the pipeline's run recorded (`incidents.record_scenario`),
then the alarm set evaluated against it (`incidents.evaluate_alarms`); once for the cold start of
the process (imports, moto's CloudFormation, the first SAM transform), then the six scenarios
again, warm. For the warm runs it prints each scenario's CPU, run and evaluation (this process's: the
workers' own CPU, which runs the handler, is not in it), the AWS calls the process made by
service and operation with the CPU spent in each, its nested calls left out (a call a
handler makes from a worker is made here, by the host), and the CPU of the simulation's
scheduled calls by kind (pollers, alarm ticks, service metrics...). CPU is `time.process_time`.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.client

from lambdasim import clock
from lambdasim.isolation import Isolation, start_fork_server
from serverless_course.observability import incidents

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = ["downstream outage", "poison flood", "throttle storm", "rule typo", "duration leak", "normal day"]
SEED = 211  # labs/04-alarms-that-page/tests/test_alarms.py's graded seed


class Ledger:
    """CPU by key, time spent in nested entries left out of the outer one."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = defaultdict(int)
        self.cpu: dict[str, float] = defaultdict(float)
        self._inner: list[float] = []

    def timed(self, key: str, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.process_time()
        self._inner.append(0.0)
        try:
            return fn(*args)
        finally:
            spent, inner = time.process_time() - start, self._inner.pop()
            self.calls[key] += 1
            self.cpu[key] += spent - inner
            if self._inner:
                self._inner[-1] += spent

    def table(self, title: str, rows: int) -> str:
        lines = [f"{title:58s} {'calls':>6s} {'CPU s':>7s} {'ms each':>8s}"]
        for key in sorted(self.cpu, key=self.cpu.__getitem__, reverse=True)[:rows]:
            lines.append(f"{key:58s} {self.calls[key]:6d} {self.cpu[key]:7.3f} "
                         f"{1000 * self.cpu[key] / self.calls[key]:8.2f}")
        lines.append(f"{'total':58s} {sum(self.calls.values()):6d} {sum(self.cpu.values()):7.3f}")
        return "\n".join(lines)


def main(submission: Path, until_budget_ends: bool) -> None:
    api, scheduled = Ledger(), Ledger()
    make_api_call = botocore.client.BaseClient._make_api_call

    def counted_call(client: Any, operation: str, params: Any) -> Any:
        key = f"{client.meta.service_model.service_name} {operation}"
        return api.timed(key, make_api_call, client, operation, params)

    call_at = clock.Scheduler.call_at

    def counted_call_at(scheduler: Any, at_us: int, callback: Callable[..., Any], *args: Any,
                        daemon: bool = False) -> Any:
        name = getattr(callback, "__qualname__", type(callback).__name__)
        return call_at(scheduler, at_us, lambda *a: scheduled.timed(name, callback, *a), *args, daemon=daemon)

    start_fork_server()
    isolation = Isolation()

    def replay(name: str) -> tuple[float, float]:
        """CPU seconds of the pipeline's run (recorded) and of the alarm set's evaluation."""
        start = time.process_time()
        recording = incidents.record_scenario(name, SEED, processor=submission / "app.py", isolation=isolation,
                                              until_budget_ends=until_budget_ends)
        recorded = time.process_time()
        incidents.evaluate_alarms(submission / "alarms.yaml", recording)
        return recorded - start, time.process_time() - recorded

    print(f"first replay in this process ({SCENARIOS[0]}, cold): {sum(replay(SCENARIOS[0])):.2f} s CPU")
    botocore.client.BaseClient._make_api_call = counted_call  # type: ignore[method-assign]
    clock.Scheduler.call_at = counted_call_at  # type: ignore[method-assign]
    try:
        spent = {name: replay(name) for name in SCENARIOS}
    finally:
        botocore.client.BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
        clock.Scheduler.call_at = call_at  # type: ignore[method-assign]
    print("warm replays (the pipeline's run recorded + the alarms evaluated): "
          + ", ".join(f"{name} {run:.2f} + {judged:.2f} s" for name, (run, judged) in spent.items())
          + f"; total {sum(r for r, _ in spent.values()):.2f} + {sum(j for _, j in spent.values()):.2f} s CPU\n")
    print(api.table("AWS calls made in this process (service, operation)", 15) + "\n")
    print(scheduled.table("scheduled calls (outermost; AWS calls inside them included)", 12))


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--full-span"]
    main(Path(arguments[0]) if arguments else
         REPO / "reference" / "src" / "serverless_course" / "solutions" / "lab04_alarms_that_page",
         until_budget_ends="--full-span" not in sys.argv[1:])
