"""DynamoDB Time to Live deletions, played on the virtual clock (`sim.dynamodb_ttl`).

moto stores a table's TTL setting and deletes nothing. Here a background sweep, while some table
has TTL enabled, finds expired items and deletes each after a seeded delay
(`rules.dynamodb_streams.TtlModel`: AWS documents "typically within two days of expiration",
API_UpdateTimeToLive.html); until then the item is still returned by reads, as on AWS. The
deletion is free (no capacity charged) and its stream record is a REMOVE whose `userIdentity`
is {"type": "Service", "principalId": "dynamodb.amazonaws.com"} (`moto_state.delete_by_ttl`).
No table with TTL: nothing is scheduled.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from . import moto_state
from .clock import MICROS_PER_SECOND, Scheduler, ScheduledCall, seconds_to_micros
from .rules import dynamodb_streams as rules


@dataclass(frozen=True)
class TtlDeletion:
    """One item deleted by Time to Live."""

    at_us: int
    table: str
    key: dict[str, Any] = field(repr=False)
    expired_at_s: float


class TtlSweeper:
    """Deletes expired items of tables with TTL enabled (see the module docstring)."""

    def __init__(self, scheduler: Scheduler, clock_us: Callable[[], int], rng: Random):
        self._scheduler = scheduler
        self._clock_us = clock_us
        self._rng = rng
        self.model = rules.TtlModel()
        self.deletions: list[TtlDeletion] = []
        self.sweeps = 0
        self._planned: set[tuple[str, str, str, str, str]] = set()  # (account, Region, table, key, TTL value)
        self._sweep: ScheduledCall | None = None

    def start(self) -> None:
        moto_state.set_ttl_listener(self._ttl_changed)

    def stop(self) -> None:
        moto_state.set_ttl_listener(None)
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None

    def _ttl_changed(self) -> None:
        if self._sweep is None or self._sweep.cancelled:
            self._sweep = self._scheduler.call_at(self._clock_us(), self._run_sweep, daemon=True)

    def _run_sweep(self) -> None:
        self._sweep = None
        tables = moto_state.ttl_tables()
        if not tables:
            return  # TTL turned off everywhere: sleep until UpdateTimeToLive
        self.sweeps += 1
        now_us = self._clock_us()
        now_s = now_us / MICROS_PER_SECOND
        low, high = self.model.delay_s
        for account, region, table, attribute in tables:
            for key, value in moto_state.ttl_items(account, region, table, attribute):
                expiry = rules.expiry_s(value)
                if expiry is None or expiry > now_s:
                    continue
                plan = (account, region, table, json.dumps(key, sort_keys=True), json.dumps(value))
                if plan in self._planned:
                    continue
                self._planned.add(plan)
                at_us = max(now_us, seconds_to_micros(expiry + self._rng.uniform(low, high)))
                self._scheduler.call_at(at_us, self._delete, plan, key, attribute, value, expiry, daemon=True)
        self._sweep = self._scheduler.call_at(now_us + seconds_to_micros(self.model.sweep_interval_s),
                                              self._run_sweep, daemon=True)

    def _delete(self, plan: tuple[str, str, str, str, str], key: dict[str, Any], attribute: str, value: Any,
                expiry: float) -> None:
        self._planned.discard(plan)
        account, region, table = plan[:3]
        if moto_state.delete_by_ttl(account, region, table, key, attribute, value):
            self.deletions.append(TtlDeletion(self._clock_us(), table, key, expiry))
