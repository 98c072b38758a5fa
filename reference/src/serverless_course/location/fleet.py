"""A seeded fleet of vehicles on synthetic routes, and what their devices publish.

No map data: the city is a box of about 10 km around Seattle's centre (the geofences of
``geofences.json`` lie in it). Each vehicle drives straight legs between waypoints (a geofence's
centre, a random point, or now and then a point on a geofence's edge where it parks: the jitter
storm), at 8 to 15 m/s, pausing at some waypoints. Its device takes a fix every ``interval_s``
seconds with GPS noise (a horizontal accuracy of 3 to 15 m, Gaussian error of half that on each
axis) and publishes it to ``fleet/<deviceId>/location``.

What goes wrong, each from the seed (``FleetMix``):

* **duplicates**: QoS 1 redelivery, the same payload published again 1 to 15 s later;
* **late** fixes: published after 1 to 5 newer ones (a clock or a buffer out of order);
* **offline** gaps: the device keeps its fixes for 30 to 120 s and publishes them in a burst;
* **imprecise** fixes: an accuracy of 60 to 200 m, which the topic rule's WHERE drops;
* **poison**: a payload that breaks the contract (a latitude out of range, no fix time, a
  latitude that is not a number); it reaches the stream, and no retry can fix it.

``Fleet.publications`` is the publish order: the rules engine receives them in that order.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

GEOFENCES_FILE = Path(__file__).with_name("geofences.json")
CITY_LON, CITY_LAT = -122.335, 47.603  # the box's centre
CITY_HALF_SIZE_M = 5_000
METRES_PER_DEGREE_LAT = 111_195.0  # a degree of latitude on a sphere of 6,371 km
START_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the simulator's default start
POISON_KINDS = ("latitude out of range", "no fix time", "latitude not a number")


@dataclass(frozen=True)
class FleetMix:
    """Shares of the fixes (or of the devices' time, for offline gaps) that go wrong."""

    duplicates: float = 0.03
    late: float = 0.03
    offline: float = 0.005  #: chance, at each fix, that the device goes offline for a while
    imprecise: float = 0.02
    poison: float = 0.01
    boundary_parking: float = 0.15  #: share of waypoints on a geofence's edge, where it parks


NO_FAULTS = FleetMix(duplicates=0, late=0, offline=0, imprecise=0, poison=0, boundary_parking=0)


@dataclass(frozen=True)
class Fix:
    """A fix as the device measured it: its position and accuracy, and its own clock."""

    device_id: str
    lat: float
    lon: float
    accuracy: float
    ts: int  # epoch milliseconds

    def payload(self) -> dict[str, float | int]:
        return {"lat": self.lat, "lon": self.lon, "accuracy": self.accuracy, "ts": self.ts}


@dataclass(frozen=True)
class Publication:
    """One MQTT publish: when, by which device, the payload, and what it is."""

    at_s: int  # virtual seconds from the run's start
    device_id: str
    payload: bytes
    kind: str  # "fix", "duplicate", "late", "burst", "imprecise" or a POISON_KINDS entry
    fix: Fix | None  # None for poison

    @property
    def topic(self) -> str:
        return f"fleet/{self.device_id}/location"

    @property
    def poison(self) -> bool:
        return self.fix is None


@dataclass
class Fleet:
    seed: int
    devices: list[str]
    minutes: float
    interval_s: int
    mix: FleetMix
    publications: list[Publication] = field(repr=False)
    tracks: dict[str, list[tuple[float, float]]] = field(repr=False)  # true (lon, lat) per fix

    @cached_property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.publications:
            kind = "poison" if p.poison else p.kind
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def geofence_rings() -> dict[str, list[list[float]]]:
    return json.loads(GEOFENCES_FILE.read_text())


def to_lonlat(x_m: float, y_m: float) -> tuple[float, float]:
    """Metres east and north of the city's centre, as (longitude, latitude)."""
    lat = CITY_LAT + y_m / METRES_PER_DEGREE_LAT
    lon = CITY_LON + x_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(CITY_LAT)))
    return lon, lat


def to_metres(lon: float, lat: float) -> tuple[float, float]:
    return ((lon - CITY_LON) * METRES_PER_DEGREE_LAT * math.cos(math.radians(CITY_LAT)),
            (lat - CITY_LAT) * METRES_PER_DEGREE_LAT)


class _Route:
    """A vehicle's true position over time: straight legs between seeded waypoints."""

    def __init__(self, rng: random.Random, mix: FleetMix, rings: dict[str, list[list[float]]]):
        self.rng, self.mix = rng, mix
        self.centres = [to_metres(sum(v[0] for v in r[:-1]) / (len(r) - 1), sum(v[1] for v in r[:-1]) / (len(r) - 1))
                        for r in rings.values()]
        self.edges = [(to_metres(*r[i]), to_metres(*r[i + 1])) for r in rings.values() for i in range(len(r) - 1)]
        self.x, self.y = self._random_point()
        self.speed = rng.uniform(8, 15)
        self.pause_left = 0.0
        self._next_leg()

    def _random_point(self) -> tuple[float, float]:
        half = CITY_HALF_SIZE_M
        return self.rng.uniform(-half, half), self.rng.uniform(-half, half)

    def _next_leg(self) -> None:
        draw = self.rng.random()
        if draw < self.mix.boundary_parking:
            (x1, y1), (x2, y2) = self.rng.choice(self.edges)
            share = self.rng.random()
            self.target, self.pause_at_target = (x1 + share * (x2 - x1), y1 + share * (y2 - y1)), self.rng.uniform(120, 600)
        elif draw < 0.6:
            cx, cy = self.rng.choice(self.centres)
            self.target, self.pause_at_target = (cx + self.rng.uniform(-80, 80), cy + self.rng.uniform(-80, 80)), self.rng.uniform(0, 180)
        else:
            self.target, self.pause_at_target = self._random_point(), 0.0

    def advance(self, seconds: float) -> None:
        while seconds > 0:
            if self.pause_left > 0:
                spent = min(seconds, self.pause_left)
                self.pause_left -= spent
                seconds -= spent
                continue
            dx, dy = self.target[0] - self.x, self.target[1] - self.y
            distance = math.hypot(dx, dy)
            if distance <= self.speed * seconds:
                self.x, self.y = self.target
                seconds -= distance / self.speed
                self.pause_left = self.pause_at_target
                self._next_leg()
            else:
                share = self.speed * seconds / distance
                self.x, self.y = self.x + dx * share, self.y + dy * share
                seconds = 0


def _poison_payload(rng: random.Random, fix: Fix) -> tuple[str, bytes]:
    kind = rng.choice(POISON_KINDS)
    body: dict[str, object] = fix.payload()
    if kind == "latitude out of range":
        body["lat"] = 90 + rng.uniform(1, 100)
    elif kind == "no fix time":
        del body["ts"]
    else:
        body["lat"] = "N/A"
    return kind, json.dumps(body).encode()


def generate(devices: int, minutes: float, *, seed: int, interval_s: int = 10,
             mix: FleetMix = FleetMix(), prefix: str = "truck") -> Fleet:
    """``devices`` vehicles for ``minutes`` of virtual time, a fix every ``interval_s``; device
    ids ``<prefix>-00000`` ..."""
    rings = geofence_rings()
    ids = [f"{prefix}-{n:05d}" for n in range(devices)]
    publications: list[Publication] = []
    tracks: dict[str, list[tuple[float, float]]] = {}
    horizon_s = int(minutes * 60)
    for device in ids:
        drng = random.Random(f"fleet-{seed}-{device}")
        route = _Route(drng, mix, rings)
        phase = drng.randrange(interval_s)
        clock_skew_ms = drng.randint(-2000, 2000)
        route.advance(phase)
        track: list[tuple[float, float]] = []
        offline_until = -1
        buffered: list[tuple[Fix, bytes]] = []
        for t in range(phase, horizon_s, interval_s):
            if t > phase:
                route.advance(interval_s)
            true_lon, true_lat = to_lonlat(route.x, route.y)
            track.append((true_lon, true_lat))
            imprecise = drng.random() < mix.imprecise
            accuracy = round(drng.uniform(60, 200) if imprecise else drng.uniform(3, 15), 1)
            sigma = accuracy / 2
            lon, lat = to_lonlat(route.x + drng.gauss(0, sigma), route.y + drng.gauss(0, sigma))
            fix = Fix(device, round(lat, 7), round(lon, 7), accuracy, START_EPOCH_MS + t * 1000 + clock_skew_ms)
            kind = "imprecise" if imprecise else "fix"
            if drng.random() < mix.poison:
                kind, payload = _poison_payload(drng, fix)
                publications.append(Publication(t, device, payload, kind, None))
                continue
            payload = json.dumps(fix.payload()).encode()
            if t < offline_until:
                buffered.append((fix, payload))
                continue
            if buffered:
                publications.extend(Publication(t, device, p, "burst", f) for f, p in buffered)
                buffered = []
            if drng.random() < mix.offline:
                offline_until = t + drng.randint(30, 120)
                buffered.append((fix, payload))
                continue
            if drng.random() < mix.late:
                delay = interval_s * drng.randint(1, 5) + 1
                publications.append(Publication(t + delay, device, payload, "late", fix))
            else:
                publications.append(Publication(t, device, payload, kind, fix))
            if drng.random() < mix.duplicates:
                publications.append(Publication(t + drng.randint(1, 15), device, payload, "duplicate", fix))
        publications.extend(Publication(horizon_s, device, p, "burst", f) for f, p in buffered)
        tracks[device] = track
    # Publish order: by time; at one instant, devices in id order and each device's in the order
    # it made them (a stable sort keeps the order they were appended in).
    publications.sort(key=lambda p: p.at_s)
    return Fleet(seed=seed, devices=ids, minutes=minutes, interval_s=interval_s, mix=mix,
                 publications=publications, tracks=tracks)
