"""Amazon Location Service's geofencing and tracking: geofence geometry, containment, ENTER/EXIT
transitions, trackers' position filtering, history retention and the EventBridge events.

Pure: no moto, no boto3, no clock of its own (the caller passes the times). shapely is imported
when a geofence's geometry is first checked or used, never with this module. The simulator's
`location.LocationService` plays the service with these rules.

Sources:

- https://docs.aws.amazon.com/location/previous/APIReference/API_GeofenceGeometry.html: a geometry
  is a Circle or a Polygon ("Including multiple geometry types in the same request will return a
  validation error"); a vertex is `[longitude, latitude]`; a linear ring has 4 or more vertices,
  the first and last the same; the exterior ring is listed first, counter-clockwise, interior
  rings (holes, up to 249) clockwise, inside the exterior ring, not containing one another; rings
  must not touch, cross or intersect themselves; a Polygon has at most 1,000 vertices in all.
- https://docs.aws.amazon.com/location/previous/APIReference/API_Circle.html: the center in WGS 84
  `[longitude, latitude]`, the radius in metres, "greater than zero and no larger than 100,000".
- https://docs.aws.amazon.com/location/previous/APIReference/API_BatchEvaluateGeofences.html:
  ENTER when a device "has entered a geofenced area", EXIT when it "has exited"; "The last
  geofence that a device was observed within is tracked for 30 days after the most recent device
  position update"; evaluation "does not account for the optional Accuracy"; no tracker needed.
- https://docs.aws.amazon.com/location/previous/APIReference/API_BatchUpdateDevicePosition.html
  and https://docs.aws.amazon.com/location/latest/developerguide/tracking-components.html
  (Position filtering): TimeBased (the default) evaluates every update and stores "a maximum of
  one position per 30 second interval" per device; DistanceBased stores and evaluates an update
  "only if the device has moved more than 30 m"; AccuracyBased "only if the device has moved more
  than the measured accuracy" (5 m then 10 m: ignored under 15 m), with `{"Horizontal": 0}` when
  an update gives no accuracy. "Trackers maintain device location history for 30 days".
- https://docs.aws.amazon.com/location/latest/developerguide/location-events.html (Amazon
  EventBridge event examples): source `aws.geo`; detail-type `Location Geofence Event` with
  EventType ENTER/EXIT, GeofenceId, DeviceId, SampleTime, Position, Accuracy, GeofenceProperties,
  PositionProperties, and resources the collection's and the tracker's ARNs; `Location Device
  Position Event` (EventType UPDATE, TrackerName, ReceivedTime) for every filtered position of a
  tracker with EventBridgeEnabled.

Not documented by AWS, chosen here (the manual's fidelity rows): a point on a polygon's edge, or
exactly one radius from a circle's center, is inside; polygon edges are straight lines in
longitude/latitude; distances are great-circle distances (haversine) on a sphere of the WGS 84
mean radius; the 30 s, 30 m and accuracy comparisons are made against the device's last stored
position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

EVENT_SOURCE = "aws.geo"
GEOFENCE_EVENT = "Location Geofence Event"
POSITION_EVENT = "Location Device Position Event"

MAX_POLYGON_VERTICES = 1_000
MAX_POLYGON_RINGS = 250
MIN_RING_VERTICES = 4
MAX_CIRCLE_RADIUS_M = 100_000.0

TIME_FILTER_US = 30 * 1_000_000
DISTANCE_FILTER_M = 30.0
RETENTION_US = 30 * 24 * 3600 * 1_000_000  # history and the geofence state of a device
DEFAULT_HISTORY_WINDOW_US = 24 * 3600 * 1_000_000  # API_GetDevicePositionHistory: 24 hours before
MAX_HISTORY_RESULTS = 100
MAX_COLLECTIONS_PER_TRACKER = 5  # API_AssociateTrackerConsumer: "up to five geofence collections"

FILTERS = ("TimeBased", "DistanceBased", "AccuracyBased")
DEFAULT_FILTER = "TimeBased"

# The WGS 84 ellipsoid's mean radius, (2a + b) / 3: AWS documents no distance model.
EARTH_RADIUS_M = 6_371_008.8

EventType = Literal["ENTER", "EXIT"]


class GeometryError(ValueError):
    """A geometry AWS refuses (ValidationException, reason FieldValidationFailed)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class Fence:
    """A checked geofence geometry: `shape` is a shapely Polygon, or None for a circle."""

    geometry: dict[str, Any]  # as given, returned by GetGeofence
    shape: Any = None
    center: tuple[float, float] = (0.0, 0.0)
    radius_m: float = 0.0


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two `(longitude, latitude)` points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def check_position(position: Any, field: str) -> tuple[float, float]:
    """A `[longitude, latitude]` pair in range (WGS 84)."""
    if not isinstance(position, (list, tuple)) or len(position) != 2:
        raise GeometryError(f"{field} must be [longitude, latitude]", field)
    lon, lat = float(position[0]), float(position[1])
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise GeometryError(f"{field} [{lon}, {lat}] is not a WGS 84 [longitude, latitude]", field)
    return lon, lat


def fence(geometry: dict[str, Any]) -> Fence:
    """Check a GeofenceGeometry as PutGeofence does; raises GeometryError."""
    given = [key for key in ("Polygon", "Circle", "MultiPolygon", "Geobuf") if geometry.get(key) is not None]
    if len(given) != 1:
        raise GeometryError("Geometry must have exactly one of Polygon, Circle, MultiPolygon, Geobuf", "Geometry")
    if given[0] == "Circle":
        return _circle(geometry)
    if given[0] == "Polygon":
        return _polygon(geometry)
    raise GeometryError(f"the simulator does not model {given[0]} geometries (only Polygon and Circle)",
                        f"Geometry.{given[0]}")


def _circle(geometry: dict[str, Any]) -> Fence:
    circle = geometry["Circle"]
    center = check_position(circle.get("Center"), "Geometry.Circle.Center")
    radius = float(circle.get("Radius") or 0.0)
    if not 0.0 < radius <= MAX_CIRCLE_RADIUS_M:
        raise GeometryError(f"Radius {radius} must be greater than 0 and at most {MAX_CIRCLE_RADIUS_M:,.0f} m",
                            "Geometry.Circle.Radius")
    return Fence(geometry, center=center, radius_m=radius)


def _polygon(geometry: dict[str, Any]) -> Fence:
    from shapely.geometry import LinearRing, Polygon

    rings = geometry["Polygon"]
    field = "Geometry.Polygon"
    if not 1 <= len(rings) <= MAX_POLYGON_RINGS:
        raise GeometryError(f"a Polygon has 1 to {MAX_POLYGON_RINGS} linear rings", field)
    vertices = sum(len(ring) for ring in rings)
    if vertices > MAX_POLYGON_VERTICES:
        raise GeometryError(f"a Polygon has at most {MAX_POLYGON_VERTICES:,} vertices in all; this one has "
                            f"{vertices:,}", field)
    checked = []
    for index, ring in enumerate(rings):
        points = [check_position(vertex, f"{field}[{index}]") for vertex in ring]
        if len(points) < MIN_RING_VERTICES:
            raise GeometryError(f"linear ring {index} has {len(points)} vertices; at least {MIN_RING_VERTICES}",
                                f"{field}[{index}]")
        if points[0] != points[-1]:
            raise GeometryError(f"linear ring {index} is not closed: its first and last vertices differ",
                                f"{field}[{index}]")
        counter_clockwise = LinearRing(points).is_ccw
        if index == 0 and not counter_clockwise:
            raise GeometryError("the exterior ring must be listed counter-clockwise", f"{field}[0]")
        if index > 0 and counter_clockwise:
            raise GeometryError(f"interior ring {index} must be listed clockwise", f"{field}[{index}]")
        checked.append(points)
    shape = Polygon(checked[0], checked[1:])
    if not shape.is_valid:
        from shapely.validation import explain_validity

        raise GeometryError(f"the Polygon's rings touch, cross or intersect themselves ({explain_validity(shape)})",
                            field)
    from shapely import prepare

    prepare(shape)
    return Fence(geometry, shape=shape)


def contains(geofence: Fence, position: tuple[float, float]) -> bool:
    """Whether a `(longitude, latitude)` position is inside the geofence (its boundary included)."""
    if geofence.shape is None:
        return distance_m(geofence.center, position) <= geofence.radius_m
    from shapely import Point

    return bool(geofence.shape.covers(Point(position)))


def transitions(before: frozenset[str], after: frozenset[str]) -> list[tuple[EventType, str]]:
    """The events between two evaluations of one device: EXIT for each geofence left, then ENTER
    for each entered, by geofence id. Staying inside (or outside) is no event."""
    exits: list[tuple[EventType, str]] = [("EXIT", g) for g in sorted(before - after)]
    enters: list[tuple[EventType, str]] = [("ENTER", g) for g in sorted(after - before)]
    return exits + enters


@dataclass(frozen=True)
class Sample:
    """One position update of a device."""

    device_id: str
    sample_us: int
    position: tuple[float, float]
    accuracy_m: float | None = None
    properties: dict[str, str] | None = None
    received_us: int = 0


@dataclass(frozen=True)
class Decision:
    store: bool
    evaluate: bool


def filter_update(filtering: str, last_stored: Sample | None, update: Sample) -> Decision:
    """What a tracker does with an update, given the device's last stored position."""
    if last_stored is None:
        return Decision(store=True, evaluate=True)
    if filtering == "TimeBased":
        return Decision(store=update.sample_us - last_stored.sample_us >= TIME_FILTER_US, evaluate=True)
    moved = distance_m(last_stored.position, update.position)
    threshold = (DISTANCE_FILTER_M if filtering == "DistanceBased"
                 else (last_stored.accuracy_m or 0.0) + (update.accuracy_m or 0.0))
    keep = moved > threshold
    return Decision(store=keep, evaluate=keep)


def state_expired(last_update_us: int, now_us: int) -> bool:
    """Whether a device's geofence state is forgotten (30 days after its latest update)."""
    return now_us - last_update_us > RETENTION_US


def iso(at_us: int, *, millis: bool = True) -> str:
    """An ISO 8601 UTC time as the events write it (`2020-11-10T23:43:37.531Z`)."""
    moment = datetime.fromtimestamp(at_us / 1_000_000, tz=timezone.utc)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _position_fields(sample: Sample) -> dict[str, Any]:
    fields: dict[str, Any] = {"Position": list(sample.position)}
    if sample.accuracy_m is not None:
        fields["Accuracy"] = {"Horizontal": sample.accuracy_m}
    return fields


def geofence_event(event_type: EventType, geofence_id: str, geofence_properties: dict[str, str] | None,
                   sample: Sample, resources: list[str]) -> dict[str, Any]:
    """A geofence event as a PutEvents entry (Detail as a dict)."""
    detail: dict[str, Any] = {"EventType": event_type, "GeofenceId": geofence_id, "DeviceId": sample.device_id,
                              "SampleTime": iso(sample.sample_us), **_position_fields(sample)}
    if geofence_properties:
        detail["GeofenceProperties"] = dict(geofence_properties)
    if sample.properties:
        detail["PositionProperties"] = dict(sample.properties)
    return {"Source": EVENT_SOURCE, "DetailType": GEOFENCE_EVENT, "Resources": resources, "Detail": detail}


def position_event(tracker_name: str, tracker_arn: str, sample: Sample) -> dict[str, Any]:
    """A tracker's position UPDATE event (EventBridgeEnabled) as a PutEvents entry."""
    detail: dict[str, Any] = {"EventType": "UPDATE", "TrackerName": tracker_name, "DeviceId": sample.device_id,
                              "SampleTime": iso(sample.sample_us), "ReceivedTime": iso(sample.received_us),
                              **_position_fields(sample)}
    if sample.properties:
        detail["PositionProperties"] = dict(sample.properties)
    return {"Source": EVENT_SOURCE, "DetailType": POSITION_EVENT, "Resources": [tracker_arn], "Detail": detail}
