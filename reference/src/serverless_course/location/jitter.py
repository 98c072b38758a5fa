"""GPS jitter at a geofence's edge, and two cures: position filtering and hysteresis.

A parked vehicle's fixes scatter around its true position (Gaussian error of half the reported
accuracy on each axis, as ``fleet`` draws it). Parked on a geofence's edge, about half of them
fall inside: every crossing is an ENTER or an EXIT that never happened (a jitter storm).

``hysteresis_transitions`` is the consumer-side cure: a device enters only once a fix is
``margin_m`` inside the edge, and leaves only once a fix is ``margin_m`` outside it; between the
two it keeps its state. ``tracker_transitions`` runs the same fixes through an Amazon Location
tracker in the simulator (``sim.location``) with each position filter.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

import shapely

from serverless_course.location.fleet import Fix, to_lonlat, to_metres
from serverless_course.location.truth import Transition, geofences_of, transitions_of

POSITION_FILTERS = ("TimeBased", "DistanceBased", "AccuracyBased")


def parked_fixes(device_id: str, lon: float, lat: float, *, minutes: float, interval_s: int = 10,
                 accuracy_m: float = 10.0, seed: int = 0, start_ms: int = 1_767_225_600_000) -> list[Fix]:
    """A parked device's fixes: its true position plus Gaussian noise of accuracy / 2 a axis."""
    rng = random.Random(f"parked-{seed}-{device_id}")
    x, y = to_metres(lon, lat)
    fixes = []
    for n in range(int(minutes * 60 / interval_s)):
        fix_lon, fix_lat = to_lonlat(x + rng.gauss(0, accuracy_m / 2), y + rng.gauss(0, accuracy_m / 2))
        fixes.append(Fix(device_id, round(fix_lat, 7), round(fix_lon, 7), accuracy_m, start_ms + n * interval_s * 1000))
    return fixes


def raw_transitions(fixes: list[Fix]) -> list[Transition]:
    """What the reference consumer publishes: a transition at every crossing."""
    return transitions_of(fixes[0].device_id, fixes, geofences_of(fixes)) if fixes else []


def metric_polygon(ring: list[list[float]]) -> shapely.Polygon:
    """A geofence's ring ([lon, lat] vertices) in metres around the fleet's city centre."""
    return shapely.Polygon([to_metres(lon, lat) for lon, lat in ring])


def hysteresis_transitions(fixes: list[Fix], geofence_id: str, ring: list[list[float]],
                           margin_m: float) -> list[Transition]:
    """ENTER once a fix is ``margin_m`` inside the edge, EXIT once one is ``margin_m`` outside."""
    polygon = metric_polygon(ring)
    inner, outer = polygon.buffer(-margin_m), polygon.buffer(margin_m)
    inside = False
    out: list[Transition] = []
    for fix in fixes:
        point = shapely.Point(*to_metres(fix.lon, fix.lat))
        if not inside and inner.covers(point):
            inside = True
            out.append(Transition(fix.device_id, geofence_id, "ENTER", fix.ts))
        elif inside and not outer.covers(point):
            inside = False
            out.append(Transition(fix.device_id, geofence_id, "EXIT", fix.ts))
    return out


def tracker_transitions(sim: object, fixes: list[Fix], rings: dict[str, list[list[float]]],
                        position_filter: str) -> list[dict[str, object]]:
    """The ENTER/EXIT events an Amazon Location tracker with ``position_filter`` sends for
    ``fixes`` (its own collection of ``rings``, so no device state is shared between runs)."""
    location = sim.client("location")  # type: ignore[attr-defined]
    name = f"jitter-{position_filter.lower()}-{fixes[0].device_id}"
    collection = location.create_geofence_collection(CollectionName=name)["CollectionArn"]
    for geofence_id, ring in rings.items():
        location.put_geofence(CollectionName=name, GeofenceId=geofence_id, Geometry={"Polygon": [ring]})
    location.create_tracker(TrackerName=name, PositionFiltering=position_filter)
    location.associate_tracker_consumer(TrackerName=name, ConsumerArn=collection)
    seen = len(sim.location.events)  # type: ignore[attr-defined]
    for start in range(0, len(fixes), 10):  # BatchUpdateDevicePosition takes up to 10 updates
        location.batch_update_device_position(TrackerName=name, Updates=[{
            "DeviceId": f.device_id, "Position": [f.lon, f.lat], "Accuracy": {"Horizontal": f.accuracy},
            "SampleTime": datetime.fromtimestamp(f.ts / 1000, tz=timezone.utc)} for f in fixes[start:start + 10]])
    return [event for event in sim.location.events[seen:]  # type: ignore[attr-defined]
            if event["DetailType"] == "Location Geofence Event" and collection in event["Resources"]]
