"""A seeded sensor fleet: what 1,000 (or 20) devices publish in a day, with the flaws real
telemetry has, and the answers computed from it in plain Python.

Each device has a type (thermometer, hygrometer, vibration, pressure) and reports one reading
every `period_s` seconds on `fleet/<device_id>/telemetry`. Most messages arrive a second or two
after their event time (out of order across devices, sometimes within one); a share arrive late,
minutes to hours after (a device that was offline sends its backlog); a share are malformed
(not JSON, no reading, a reading that is not a number, an event time that is not one). The
answers (`daily_max_by_type`, `hourly_anomalies`, `minute_aggregates`) are computed from the
valid readings themselves, never from the lake, so a query can be checked against them.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True)
class DeviceType:
    unit: str
    mean: float
    spread: float  # standard deviation of a normal reading
    anomaly_above: float  # a reading above this is an anomaly
    spike: float  # how far above the mean an anomalous reading goes


DEVICE_TYPES: dict[str, DeviceType] = {
    "thermometer": DeviceType("C", 21.0, 2.0, 35.0, 20.0),
    "hygrometer": DeviceType("%", 45.0, 8.0, 85.0, 48.0),
    "vibration": DeviceType("mm/s", 2.0, 0.4, 6.0, 6.0),
    "pressure": DeviceType("kPa", 101.3, 0.6, 104.5, 5.0),
}

MALFORMED_KINDS = ("not-json", "no-reading", "text-reading", "bad-time")


@dataclass(frozen=True)
class FleetSpec:
    sensors: int = 20
    period_s: float = 60.0
    start: datetime = datetime(2026, 3, 9, tzinfo=timezone.utc)
    duration_s: float = 86_400.0
    anomaly_rate: float = 0.003
    late_rate: float = 0.01  # share of readings held back by a device, then sent
    late_delay_s: tuple[float, float] = (600.0, 4 * 3600.0)
    malformed_rate: float = 0.003


@dataclass(frozen=True)
class Reading:
    device_id: str
    device_type: str
    event_time: datetime
    value: float
    seq: int

    @property
    def day(self) -> str:
        return self.event_time.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Message:
    """One MQTT publish: when it reaches IoT Core, on which topic, what it carries; `reading`
    is None for a malformed message (its `malformed` kind says how)."""

    arrival: datetime
    topic: str
    payload: bytes
    reading: Reading | None
    malformed: str | None = None

    @property
    def late_s(self) -> float:
        return (self.arrival - self.reading.event_time).total_seconds() if self.reading else 0.0


@dataclass(frozen=True)
class Fleet:
    spec: FleetSpec
    messages: list[Message]  # by arrival

    @property
    def readings(self) -> list[Reading]:
        return [m.reading for m in self.messages if m.reading is not None]

    @property
    def malformed(self) -> list[Message]:
        return [m for m in self.messages if m.reading is None]


def iso(at: datetime) -> str:
    """An event time as devices send it: ISO 8601 in UTC, milliseconds, Z."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def generate(spec: FleetSpec, seed: int) -> Fleet:
    rng = random.Random(seed)
    types = list(DEVICE_TYPES)
    messages: list[Message] = []
    for n in range(spec.sensors):
        device_type = types[n % len(types)]
        kind = DEVICE_TYPES[device_type]
        device_id = f"{device_type[:2]}-{n:04d}"
        phase = rng.uniform(0, spec.period_s)
        for seq in range(int((spec.duration_s - phase) // spec.period_s) + 1):
            event = spec.start + timedelta(seconds=phase + seq * spec.period_s)
            value = rng.gauss(kind.mean, kind.spread)
            if rng.random() < spec.anomaly_rate:
                value = kind.mean + kind.spike * rng.uniform(0.8, 1.2)
            delay = rng.expovariate(1.0)  # a second on average through the network
            if rng.random() < spec.late_rate:
                delay += rng.uniform(*spec.late_delay_s)
            reading = Reading(device_id, device_type, event, round(value, 3), seq)
            document = {"device_id": device_id, "device_type": device_type, "event_time": iso(event),
                        "reading": reading.value, "unit": kind.unit, "seq": seq}
            malformed = rng.choice(MALFORMED_KINDS) if rng.random() < spec.malformed_rate else None
            messages.append(Message(event + timedelta(seconds=delay), f"fleet/{device_id}/telemetry",
                                    _payload(document, malformed), None if malformed else reading, malformed))
    messages.sort(key=lambda m: m.arrival)
    return Fleet(spec, messages)


def _payload(document: dict[str, object], malformed: str | None) -> bytes:
    if malformed == "not-json":
        return json.dumps(document).encode()[:-9]  # cut short, as a dropped connection leaves it
    if malformed == "no-reading":
        document = {k: v for k, v in document.items() if k != "reading"}
    elif malformed == "text-reading":
        document = {**document, "reading": "n/a"}
    elif malformed == "bad-time":
        document = {**document, "event_time": "yesterday"}
    return json.dumps(document).encode()


# -- the answers, from the readings themselves ----------------------------------------------
def daily_max_by_type(readings: Iterable[Reading], day: str) -> dict[str, float]:
    best: dict[str, float] = {}
    for r in readings:
        if r.day == day:
            best[r.device_type] = max(best.get(r.device_type, r.value), r.value)
    return dict(sorted(best.items()))


def hourly_anomalies(readings: Iterable[Reading], day: str) -> dict[tuple[str, int], int]:
    """(device type, hour of the event) -> readings above the type's anomaly threshold."""
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for r in readings:
        if r.day == day and r.value > DEVICE_TYPES[r.device_type].anomaly_above:
            counts[(r.device_type, r.event_time.hour)] += 1
    return dict(sorted(counts.items()))


def minute_aggregates(messages: Iterable[Message], *, by: str = "event") -> dict[tuple[str, datetime], tuple[int, float]]:
    """(device type, minute) -> (readings, max), the minute taken from the event time
    (`by="event"`) or from the arrival (`by="arrival"`, what a window on arrival sees)."""
    out: dict[tuple[str, datetime], tuple[int, float]] = {}
    for m in messages:
        if m.reading is None:
            continue
        at = m.reading.event_time if by == "event" else m.arrival
        minute = at.replace(second=0, microsecond=0)
        count, top = out.get((m.reading.device_type, minute), (0, m.reading.value))
        out[(m.reading.device_type, minute)] = (count + 1, max(top, m.reading.value))
    return dict(sorted(out.items()))
