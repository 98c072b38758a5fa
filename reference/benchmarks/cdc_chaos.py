"""The CDC chaos proof over many seeds (issue 19): every projection equals its recomputation.

    .venv/bin/python reference/benchmarks/cdc_chaos.py [seeds] [writes] [first seed]   (default: 20 1000 1)

Each seed is one `serverless_course.cdc.harness.run_cdc` run with the default `Faults` (3 % of
the summary projection's table calls failing with 500s on every attempt, 10 % of its batches
delivered a second time up to 20 s later) and the default workload `Mix` (25 % updates, 15 %
cancels that TTL purges, 4 % erasures, 1 % unreadable items) across 12 interleaved customers,
through the whole CDC stack (summary and search projections, outbox pipe), audited. Prints one
line per seed, the totals, the CPU and wall time. Expected on every seed: 0 summaries wrong,
0 readable records dead-lettered, 0 poison records kept, 0 search documents wrong, 0 events
missing or duplicated.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

from serverless_course.cdc.harness import run_cdc


def main(seeds: int = 20, writes: int = 1000, first: int = 1) -> int:
    print(f"{'seed':>4} {'records':>7} {'ttl':>4} {'erase':>5} {'poison':>6} {'deliv':>5} {'again':>5} "
          f"{'replay':>6} {'5xx':>4} {'wrong':>5} {'dlq ok':>6} {'search':>6} {'events':>6} {'ev miss':>7} "
          f"{'ev dup':>6} {'cpu s':>6} {'wall s':>6}")
    wall, cpu = time.perf_counter(), time.process_time()
    totals: Counter = Counter()
    failed = []
    for seed in range(first, first + seeds):
        r = run_cdc(seed=seed, writes=writes)
        row = dict(records=r.stream_records, ttl=r.ttl_deletions, erasures=r.erasures, poison=len(r.poison),
                   deliveries=r.deliveries, redelivered=r.redelivered, replayed=r.replayed_batches,
                   transient=r.transient_errors, summaries_wrong=len(r.mismatched),
                   dead_lettered_wrongly=len(r.wrongly_dead_lettered) + len(r.poison_kept),
                   search_wrong=len(r.search_mismatched), events=r.events_expected,
                   events_missing=len(r.events_missing), events_duplicated=len(r.events_duplicated))
        totals.update(row)
        if not r.ok:
            failed.append(seed)
        print(f"{seed:>4} {r.stream_records:>7} {r.ttl_deletions:>4} {r.erasures:>5} {len(r.poison):>6} "
              f"{r.deliveries:>5} {r.redelivered:>5} {r.replayed_batches:>6} {r.transient_errors:>4} "
              f"{len(r.mismatched):>5} {row['dead_lettered_wrongly']:>6} {len(r.search_mismatched):>6} "
              f"{r.events_expected:>6} {len(r.events_missing):>7} {len(r.events_duplicated):>6} "
              f"{r.cpu_s:>6.1f} {r.wall_s:>6.1f}", flush=True)
    print("totals:", ", ".join(f"{k} {v}" for k, v in totals.items()))
    print(f"{seeds} seeds x {writes} writes: {time.process_time() - cpu:.0f} s CPU, "
          f"{time.perf_counter() - wall:.0f} s wall; audit failed on seeds: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:4])))
