"""GPS jitter at a geofence's edge: the storm, and what position filtering and hysteresis leave."""

from __future__ import annotations

import pytest

from lambdasim import Simulator
from serverless_course.location import fleet, jitter
from serverless_course.location.fleet import Fix

RING = fleet.geofence_rings()["depot-north"]
EDGE_LON, EDGE_LAT = (RING[0][0] + RING[1][0]) / 2, (RING[0][1] + RING[1][1]) / 2  # the south edge's middle
PARKED = jitter.parked_fixes("parked", EDGE_LON, EDGE_LAT, minutes=20, accuracy_m=10)


def test_a_parked_device_on_the_edge_storms_and_hysteresis_calms_it() -> None:
    raw = jitter.raw_transitions(PARKED)
    assert len(raw) > 20  # about half the fixes fall inside: a crossing every few fixes
    calmed = jitter.hysteresis_transitions(PARKED, "depot-north", RING, margin_m=10)
    assert len(calmed) < len(raw) / 5


def test_hysteresis_still_enters_once_when_a_vehicle_drives_in() -> None:
    x, y = fleet.to_metres(EDGE_LON, EDGE_LAT)
    drive = [Fix("driver", *reversed(fleet.to_lonlat(x, y - 200 + 10 * n)), 5.0, 1_000 * n) for n in range(30)]
    [enter] = jitter.hysteresis_transitions(drive, "depot-north", RING, margin_m=10)
    raw = jitter.raw_transitions(drive)
    assert enter.kind == "ENTER" and [t.kind for t in raw] == ["ENTER"] and enter.ts > raw[0].ts


@pytest.fixture(scope="module")
def tracker_counts() -> dict[str, int]:
    with Simulator(seed=2, logs=False, metrics=False) as sim:
        return {f: len(jitter.tracker_transitions(sim, PARKED, {"depot-north": RING}, f)) for f in jitter.POSITION_FILTERS}


def test_only_distance_and_accuracy_filtering_stop_the_storm(tracker_counts: dict[str, int]) -> None:
    """TimeBased evaluates every update (it stores one per 30 s); DistanceBased ignores moves of
    30 m or less, AccuracyBased moves within the two accuracies
    (https://docs.aws.amazon.com/location/latest/APIReference/API_WaypointTracking_BatchUpdateDevicePosition.html)."""
    assert tracker_counts["TimeBased"] == len(jitter.raw_transitions(PARKED))
    assert tracker_counts["DistanceBased"] <= 2 and tracker_counts["AccuracyBased"] < tracker_counts["TimeBased"] / 5
