"""The chaos harness over many seeds on the reference processor (issue 6's proof).

    .venv/bin/python reference/benchmarks/chaos_20_seeds.py [seeds] [messages]   (default: 20 1000)

Each seed is one `serverless_course.chaos.run_chaos` run with the default `ChaosMix` (3 %
poison, 5 % duplicate deliveries, 5 % of DynamoDB calls throttled once, 2 % of PutItem calls
failing with 500s on every attempt, 1 % of messages timing out once) through the module 1
pipeline's SQS -> processor -> DynamoDB path, audited. Prints one line of ledger totals per
seed, the totals, and the wall time (real seconds; the runs use the virtual clock and never
sleep). Expected: 0 lost, 0 duplicated, 0 unexplained DLQ entries and 0 applied orders
without an OrderAccepted event (`evt miss`) on every seed.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

from serverless_course.chaos import run_chaos


def main(seeds: int = 20, messages: int = 1000) -> int:
    head = (f"{'seed':>4} {'sent':>5} {'deliv':>5} {'applied':>7} {'DLQ':>4} {'lost':>4} {'dup':>4} "
            f"{'unexpl':>6} {'retries':>7} {'timeouts':>8} {'throttle':>8} {'5xx':>5} "
            f"{'evt miss':>8} {'virt s':>6} {'wall s':>6}")
    print(head)
    start = time.perf_counter()
    totals: Counter = Counter()
    failed = []
    for seed in range(1, seeds + 1):
        r = run_chaos(seed=seed, messages=messages)
        dlq = sum(r.dead_lettered.values())
        row = dict(sent=r.sent, deliveries=r.deliveries, applied=r.applied, dlq=dlq,
                   lost=len(r.lost), duplicated=len(r.duplicated),
                   unexplained=len(r.unexplained_dlq), retries=r.retries, timeouts=r.timeouts,
                   throttle=r.faults["throttle"], transient=r.faults["transient"],
                   events_missing=len(r.events_missing))
        totals.update(row)
        if not r.ok:
            failed.append(seed)
        print(f"{seed:>4} {r.sent:>5} {r.deliveries:>5} {r.applied:>7} {dlq:>4} {len(r.lost):>4} "
              f"{len(r.duplicated):>4} {len(r.unexplained_dlq):>6} {r.retries:>7} {r.timeouts:>8} "
              f"{r.faults['throttle']:>8} {r.faults['transient']:>5} {len(r.events_missing):>8} "
              f"{r.virtual_s:>6.0f} {r.wall_s:>6.1f}", flush=True)
    wall = time.perf_counter() - start
    print("totals:", ", ".join(f"{k} {v}" for k, v in totals.items()))
    print(f"{seeds} seeds x {messages} messages in {wall:.1f} s wall "
          f"({seeds * messages / wall:.0f} messages/s); audit failed on seeds: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:3])))
