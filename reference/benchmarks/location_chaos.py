"""The fleet pipeline's chaos proof over many seeds (issue 20's proof).

    .venv/bin/python reference/benchmarks/location_chaos.py [seeds] [devices] [minutes] [interval_s] [first_seed]
    (default: 20 1000 10 10 1)

Each seed is one `serverless_course.location.run.run_fleet` run: the module 6 SAM template
deployed into the simulator, `devices` vehicles for `minutes` virtual minutes with a fix every
`interval_s` seconds and the default `FleetMix` (3 % duplicates, 3 % late fixes, offline bursts,
2 % imprecise fixes, 1 % poison, 15 % of waypoints parked on a geofence's edge), every message
published through IoT Core's rules engine into Kinesis, DynamoDB throttled on 5 % of the
consumers' calls (absorbed by botocore's retries) and 2 % of the position writes failing on every
attempt (a 500: only the record's retry cures it). Prints a line per seed, the totals, CPU and
wall seconds. Expected: every device's position, every transition (none missing, none extra),
every history item and every poison record right, on every seed; exit status 1 otherwise.
"""

from __future__ import annotations

import sys
import time

from serverless_course.location import fleet, run

FAULTS = run.DynamoDBFaults(throttle_rate=0.05, failing_writes=0.02)


def main(seeds: int = 20, devices: int = 1000, minutes: float = 10, interval_s: int = 10, first_seed: int = 1) -> int:
    print(f"{seeds} seeds x {devices} devices x {minutes} min, a fix every {interval_s} s", flush=True)
    print(f"{'seed':>4} {'msgs':>6} {'pos ok':>7} {'trans':>6} {'miss':>4} {'extra':>5} {'hist miss':>9} "
          f"{'poison':>9} {'given up':>8} {'partial':>7} {'retried':>7} {'cpu s':>6} {'wall s':>6}", flush=True)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    failed = []
    for seed in range(first_seed, first_seed + seeds):
        cpu, wall = time.process_time(), time.perf_counter()
        r = run.run_fleet(fleet.generate(devices, minutes, seed=seed, interval_s=interval_s), faults=FAULTS)
        print(f"{seed:>4} {r.published:>6} {r.positions_right:>3}/{r.devices:<3} {r.transitions_published:>6} "
              f"{len(r.transitions_missing):>4} {len(r.transitions_extra):>5} {r.history_missing:>9} "
              f"{r.poison_accounted:>4}/{r.poison:<4} {r.valid_records_given_up:>8} {r.partial_failures:>7} "
              f"{r.records_retried:>7} {time.process_time() - cpu:>6.0f} {time.perf_counter() - wall:>6.0f}",
              flush=True)
        if not r.ok:
            failed.append(seed)
    print(f"{seeds - len(failed)} of {seeds} seeds equal the ground truth; failed: {failed or 'none'}; "
          f"{time.process_time() - cpu0:.0f} s CPU, {time.perf_counter() - wall0:.0f} s wall")
    return 1 if failed else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(*(int(a) if i != 2 else float(a) for i, a in enumerate(args))))
