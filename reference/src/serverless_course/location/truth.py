"""The ground truth of a fleet run, computed from the generated fixes alone.

Nothing here runs the pipeline or imports its handlers: the truth follows the publish order the
generator made (``Fleet.publications``), applies the topic rule's WHERE (accuracy at most
``max_accuracy_m``), and for each device keeps a fix only if it is newer than every fix kept
before it (a duplicate or a late fix changes nothing). The geofences a kept fix is in come from
shapely's vectorised ``intersects_xy`` over all of them at once (a point on the boundary
intersects: inside); consecutive kept fixes give the transitions, EXIT before ENTER. A device's
first fix inside a geofence is an ENTER, as Amazon Location counts it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import numpy as np
import shapely

from serverless_course.location.fleet import Fix, Fleet, geofence_rings

MAX_ACCURACY_M = 50  # the template's MaximumAccuracyMeters default


@dataclass(frozen=True)
class Transition:
    device_id: str
    geofence_id: str
    kind: str  # ENTER or EXIT
    ts: int


@dataclass
class Truth:
    positions: dict[str, Fix]  # the latest fix of each device that has one
    transitions: list[Transition]
    history: set[tuple[str, int]]  # (device, ts) of every fix that reaches the stream
    poison: int  # poison records that reach the stream (each must end in the poison queue)
    kept: dict[str, list[Fix]]  # each device's fixes that moved its latest position, in order

    def transition_counts(self) -> Counter[Transition]:
        return Counter(self.transitions)


def geofences_of(fixes: list[Fix]) -> list[frozenset[str]]:
    """The geofences each fix is in."""
    lons = np.fromiter((f.lon for f in fixes), float, len(fixes))
    lats = np.fromiter((f.lat for f in fixes), float, len(fixes))
    inside = {fence_id: shapely.intersects_xy(shapely.Polygon(ring), lons, lats)
              for fence_id, ring in geofence_rings().items()}
    return [frozenset(g for g, mask in inside.items() if mask[i]) for i in range(len(fixes))]


def transitions_of(device_id: str, fixes: list[Fix], fences: list[frozenset[str]]) -> list[Transition]:
    out: list[Transition] = []
    before: frozenset[str] = frozenset()
    for fix, now in zip(fixes, fences):
        out += [Transition(device_id, g, "EXIT", fix.ts) for g in sorted(before - now)]
        out += [Transition(device_id, g, "ENTER", fix.ts) for g in sorted(now - before)]
        before = now
    return out


def ground_truth(fleet: Fleet, max_accuracy_m: float = MAX_ACCURACY_M) -> Truth:
    kept: dict[str, list[Fix]] = {}
    history: set[tuple[str, int]] = set()
    poison = 0
    for p in fleet.publications:
        if p.fix is None:  # poison reaches the stream when its accuracy passes the WHERE
            poison += json.loads(p.payload).get("accuracy", max_accuracy_m + 1) <= max_accuracy_m
            continue
        if p.fix.accuracy > max_accuracy_m:
            continue
        history.add((p.device_id, p.fix.ts))
        device_fixes = kept.setdefault(p.device_id, [])
        if not device_fixes or p.fix.ts > device_fixes[-1].ts:
            device_fixes.append(p.fix)
    every = [f for fixes in kept.values() for f in fixes]
    fences = iter(geofences_of(every)) if every else iter(())
    transitions: list[Transition] = []
    for device, fixes in kept.items():
        transitions += transitions_of(device, fixes, [next(fences) for _ in fixes])
    return Truth(positions={d: fixes[-1] for d, fixes in kept.items()}, transitions=transitions,
                 history=history, poison=poison, kept=kept)
