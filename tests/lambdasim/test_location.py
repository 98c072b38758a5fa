"""Amazon Location Service played by the simulator, which moto lacks (lambdasim/rules/location.py,
lambdasim/location.py, lambdasim/_moto_patches/location.py).

Each test's docstring names the AWS documentation page whose rule it pins (the site's fidelity
table is built from them). The geometry tests need no simulation; the others share one
simulation (module scope) and each makes collections, trackers and devices of its own.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from lambdasim import Simulator
from lambdasim.rules import location as rules

# One worker runs the module's tests in order: they share one simulation (module scope).
pytestmark = pytest.mark.xdist_group("location")

ACCOUNT, REGION = "123456789012", "us-east-1"
# A square about 222 m on a side around (0, 0), counter-clockwise as AWS requires.
SQUARE = [[-0.001, -0.001], [0.001, -0.001], [0.001, 0.001], [-0.001, 0.001], [-0.001, -0.001]]
METRE_IN_DEGREES = 1 / 111_195  # one metre of latitude (or of longitude at the equator)


def _at(seconds: float) -> datetime:
    return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=seconds)


def _updates(device: str, track: list[tuple[float, float]], *, every_s: float = 10.0, accuracy: float | None = None,
             start_s: float = 0.0) -> list[dict]:
    updates = []
    for i, (lon, lat) in enumerate(track):
        update = {"DeviceId": device, "SampleTime": _at(start_s + i * every_s), "Position": [lon, lat]}
        if accuracy is not None:
            update["Accuracy"] = {"Horizontal": accuracy}
        updates.append(update)
    return updates


# -- geometry (no simulation) ----------------------------------------------------------------------


def test_polygon_and_circle_containment_at_the_boundary():
    """A polygon's vertices are [longitude, latitude]; a circle is a center and a radius in metres
    (https://docs.aws.amazon.com/location/previous/APIReference/API_GeofenceGeometry.html,
    https://docs.aws.amazon.com/location/previous/APIReference/API_Circle.html). AWS does not say
    whether the boundary is inside: the simulator counts it in."""
    square = rules.fence({"Polygon": [SQUARE]})
    assert rules.contains(square, (0.001, 0.0))  # on the east edge
    assert not rules.contains(square, (0.001 + METRE_IN_DEGREES, 0.0))  # a metre east of it
    assert not rules.contains(square, (0.0, 0.0011))  # [lon, lat]: latitude 0.0011 is north of the edge
    holed = rules.fence({"Polygon": [SQUARE, [[-0.0005, -0.0005], [-0.0005, 0.0005], [0.0005, 0.0005],
                                               [0.0005, -0.0005], [-0.0005, -0.0005]]]})
    assert not rules.contains(holed, (0.0, 0.0)) and rules.contains(holed, (0.0008, 0.0))  # a hole is outside
    circle = rules.fence({"Circle": {"Center": [13.4, 52.5], "Radius": 100.0}})
    north = 100 * METRE_IN_DEGREES
    assert rules.contains(circle, (13.4, 52.5 + north * 0.999))
    assert not rules.contains(circle, (13.4, 52.5 + north * 1.001))
    # Away from the equator a degree of longitude is shorter: 100 m east is cos(52.5°) more degrees.
    east = north / 0.6088
    assert rules.contains(circle, (13.4 + east * 0.999, 52.5))
    assert not rules.contains(circle, (13.4 + east * 1.001, 52.5))


# -- the service through boto3 --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim():
    with Simulator(seed=7, start=_at(0)) as simulation:
        simulation.client("location").create_geofence_collection(CollectionName="invalid")
        yield simulation


def _collection(sim: Simulator, name: str, **geometry: dict) -> str:
    location = sim.client("location")
    arn = location.create_geofence_collection(CollectionName=name)["CollectionArn"]
    for geofence_id, shape in geometry.items():
        location.put_geofence(CollectionName=name, GeofenceId=geofence_id, Geometry=shape,
                              GeofenceProperties={"Kind": "depot"})
    return arn


def _events(sim: Simulator, device: str) -> list[tuple[str, str]]:
    return [(e["Detail"]["EventType"], e["Detail"].get("GeofenceId", "")) for e in sim.location.events
            if e["Detail"]["DeviceId"] == device]


def test_a_crossing_is_one_enter_and_one_exit_and_staying_inside_is_no_event(sim):
    """BatchEvaluateGeofences needs no tracker; ENTER when the device enters, EXIT when it leaves,
    and its last geofences are remembered between calls
    (https://docs.aws.amazon.com/location/previous/APIReference/API_BatchEvaluateGeofences.html)."""
    _collection(sim, "crossing", depot={"Polygon": [SQUARE]}, gate={"Circle": {"Center": [0.0015, 0.0], "Radius": 100}})
    location = sim.client("location")
    track = [(-0.003, 0.0), (-0.0005, 0.0), (0.0, 0.0), (0.0008, 0.0), (0.0012, 0.0), (0.004, 0.0)]
    for update in _updates("van-1", track):  # one call per position, as a device reports
        assert location.batch_evaluate_geofences(CollectionName="crossing", DevicePositionUpdates=[update])[
            "Errors"] == []
    assert _events(sim, "van-1") == [("ENTER", "depot"), ("ENTER", "gate"), ("EXIT", "depot"), ("EXIT", "gate")]
    assert [e.inside for e in sim.location.evaluations if e.device_id == "van-1"] == [
        (), ("depot",), ("depot",), ("depot", "gate"), ("gate",), ()]


def _jitter(device: str, accuracy: float) -> list[dict]:
    # A parked van 5 m outside the depot's edge whose fixes scatter 10 m either side of it.
    edge = 0.001 + 5 * METRE_IN_DEGREES
    track = [(edge + (10 if i % 2 else -10) * METRE_IN_DEGREES, 0.0) for i in range(12)]
    return _updates(device, track, every_s=10.0, accuracy=accuracy)


@pytest.mark.parametrize("filtering, events, stored", [
    ("TimeBased", 12, 4),  # every fix evaluated; one stored per 30 s (0, 30, 60, 90 s)
    ("DistanceBased", 1, 1),  # 20 m moves are under 30 m: ignored, neither stored nor evaluated
    ("AccuracyBased", 1, 1),  # 20 m moves are under 15 + 15 m of accuracy: ignored
])
def test_position_filtering_and_jitter_at_a_boundary(sim, filtering, events, stored):
    """TimeBased evaluates every update and stores one per 30 s; DistanceBased ignores moves
    under 30 m; AccuracyBased moves under the two fixes' accuracies added
    (https://docs.aws.amazon.com/location/previous/APIReference/API_BatchUpdateDevicePosition.html,
    https://docs.aws.amazon.com/location/latest/developerguide/tracking-components.html)."""
    location = sim.client("location")
    arn = _collection(sim, f"jitter-{filtering}", depot={"Polygon": [SQUARE]})
    tracker = f"fleet-{filtering}"
    location.create_tracker(TrackerName=tracker, PositionFiltering=filtering)
    location.associate_tracker_consumer(TrackerName=tracker, ConsumerArn=arn)
    device = f"van-{filtering}"
    fixes = _jitter(device, accuracy=15.0)
    for start in range(0, len(fixes), 4):
        location.batch_update_device_position(TrackerName=tracker, Updates=fixes[start:start + 4])
    assert len(_events(sim, device)) == events  # alternating ENTER and EXIT: the storm
    history = location.get_device_position_history(TrackerName=tracker, DeviceId=device,
                                                   StartTimeInclusive=_at(0), EndTimeExclusive=_at(3600))
    assert len(history["DevicePositions"]) == stored
    assert sum(u.stored for u in sim.location.updates if u.device_id == device) == stored


def test_moves_over_the_threshold_pass_the_filter(sim):
    """A 40 m move passes DistanceBased (over 30 m) and AccuracyBased with 5 m and 10 m fixes
    (over 15 m), and is evaluated: the van crosses into the depot
    (https://docs.aws.amazon.com/location/previous/APIReference/API_BatchUpdateDevicePosition.html)."""
    location = sim.client("location")
    for filtering in ("DistanceBased", "AccuracyBased"):
        arn = _collection(sim, f"move-{filtering}", depot={"Polygon": [SQUARE]})
        tracker = f"move-{filtering}"
        location.create_tracker(TrackerName=tracker, PositionFiltering=filtering)
        location.associate_tracker_consumer(TrackerName=tracker, ConsumerArn=arn)
        outside, inside = 0.001 + 20 * METRE_IN_DEGREES, 0.001 - 20 * METRE_IN_DEGREES
        updates = _updates(f"mover-{filtering}", [(outside, 0.0), (inside, 0.0)])
        updates[0]["Accuracy"], updates[1]["Accuracy"] = {"Horizontal": 5.0}, {"Horizontal": 10.0}
        location.batch_update_device_position(TrackerName=tracker, Updates=updates)
        assert _events(sim, f"mover-{filtering}") == [("ENTER", "depot")]


def test_latest_position_history_window_and_30_day_retention(sim):
    """GetDevicePosition answers the latest sample time; the history is [start, end) by sample
    time, 24 hours before the request by default; positions are deleted after 30 days
    (https://docs.aws.amazon.com/location/previous/APIReference/API_GetDevicePositionHistory.html,
    https://docs.aws.amazon.com/location/latest/developerguide/tracking-components.html)."""
    location = sim.client("location")
    location.create_tracker(TrackerName="history", PositionFiltering="DistanceBased")
    late, early = _updates("bike", [(1.0, 1.0)], start_s=120) + _updates("bike", [(1.1, 1.1)], start_s=60)
    location.batch_update_device_position(TrackerName="history", Updates=[late, early])  # out of order
    latest = location.get_device_position(TrackerName="history", DeviceId="bike")
    assert latest["Position"] == [1.0, 1.0] and latest["SampleTime"] == _at(120)
    window = location.get_device_position_history(TrackerName="history", DeviceId="bike",
                                                  StartTimeInclusive=_at(60), EndTimeExclusive=_at(120))
    assert [p["Position"] for p in window["DevicePositions"]] == [[1.1, 1.1]]  # the end is exclusive
    assert [e["DeviceId"] for e in location.list_device_positions(TrackerName="history")["Entries"]] == ["bike"]
    sim.run_for(timedelta(days=30, seconds=1))
    with pytest.raises(ClientError) as gone:
        location.get_device_position(TrackerName="history", DeviceId="bike")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_the_event_reaches_sqs_through_a_rule_in_aws_shape(sim):
    """Geofence events go to the default bus with source aws.geo, detail-type Location Geofence
    Event, the collection's and tracker's ARNs as resources, and the position's fields
    (https://docs.aws.amazon.com/location/latest/developerguide/location-events.html)."""
    sqs = sim.client("sqs")
    url = sqs.create_queue(QueueName="geofence-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = sim.client("events")
    events.put_rule(Name="geofence-events", EventPattern=json.dumps(
        {"source": ["aws.geo"], "detail-type": ["Location Geofence Event"], "detail": {"EventType": ["ENTER"]}}))
    events.put_targets(Rule="geofence-events", Targets=[{"Id": "queue", "Arn": queue_arn}])
    location = sim.client("location")
    arn = _collection(sim, "routed", depot={"Polygon": [SQUARE]})
    tracker = location.create_tracker(TrackerName="routed", PositionFiltering="DistanceBased")["TrackerArn"]
    location.associate_tracker_consumer(TrackerName="routed", ConsumerArn=arn)
    update = {"DeviceId": "truck-9", "SampleTime": _at(0), "Position": [0.0, 0.0], "Accuracy": {"Horizontal": 4.5},
              "PositionProperties": {"Driver": "ana"}}
    location.batch_update_device_position(TrackerName="routed", Updates=[update])
    sim.run_until_idle()
    location.batch_update_device_position(TrackerName="routed", Updates=[  # 100 m west: out of the depot
        {**update, "SampleTime": _at(10), "Position": [-0.002, 0.0]}])
    sim.run_until_idle()
    assert _events(sim, "truck-9") == [("ENTER", "depot"), ("EXIT", "depot")]
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]  # the rule takes ENTER only
    event = json.loads(message["Body"])
    assert event["source"] == "aws.geo" and event["detail-type"] == "Location Geofence Event"
    assert event["resources"] == [arn, tracker]
    assert event["detail"] == {"EventType": "ENTER", "GeofenceId": "depot", "DeviceId": "truck-9",
                               "SampleTime": "2026-01-01T00:00:00.000Z", "Position": [0.0, 0.0],
                               "Accuracy": {"Horizontal": 4.5}, "GeofenceProperties": {"Kind": "depot"},
                               "PositionProperties": {"Driver": "ana"}}
    # Imported here: a module-level import breaks freezegun's scan when the clock starts.
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    EventBridgeModel.model_validate(event)


@pytest.mark.parametrize("geometry, field", [
    ({"Polygon": [list(reversed(SQUARE))]}, "Geometry.Polygon[0]"),  # clockwise exterior
    ({"Polygon": [SQUARE[:-1]]}, "Geometry.Polygon[0]"),  # not closed
    ({"Polygon": [SQUARE, SQUARE]}, "Geometry.Polygon[1]"),  # a counter-clockwise hole
    ({"Polygon": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Geometry.Polygon"),  # a bow tie crosses itself
    ({"Polygon": [[[0.0, 0.0]] + [[i / 1000, (i % 2) / 1000] for i in range(1, 1000)] + [[0.0, 0.0]]]},
     "Geometry.Polygon"),  # 1,001 vertices
    ({"Circle": {"Center": [0, 0], "Radius": 100_001}}, "Geometry.Circle.Radius"),
    ({"Circle": {"Center": [200, 0], "Radius": 10}}, "Geometry.Circle.Center"),
    ({"Circle": {"Center": [0, 0], "Radius": 10}, "Polygon": [SQUARE]}, "Geometry"),
])
def test_invalid_geometries_are_refused_with_a_validation_exception(sim, geometry, field):
    """Rings of 4 or more vertices, closed, the exterior counter-clockwise and holes clockwise,
    not crossing, at most 1,000 vertices; a radius over 0 and at most 100,000 m; one geometry type
    (https://docs.aws.amazon.com/location/previous/APIReference/API_GeofenceGeometry.html,
    https://docs.aws.amazon.com/location/previous/APIReference/API_Circle.html)."""
    location = sim.client("location")
    with pytest.raises(ClientError) as refused:
        location.put_geofence(CollectionName="invalid", GeofenceId="g", Geometry=geometry)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["FieldList"][0]["Name"] == field


def test_missing_resources_are_resource_not_found(sim):
    """A collection, tracker or geofence that does not exist: ResourceNotFoundException, 404
    (https://docs.aws.amazon.com/location/previous/APIReference/API_GetGeofence.html)."""
    location = sim.client("location")
    for call in (lambda: location.get_geofence(CollectionName="nowhere", GeofenceId="g"),
                 lambda: location.batch_update_device_position(TrackerName="nowhere", Updates=_updates("d", [(0, 0)])),
                 lambda: location.get_geofence(CollectionName="invalid", GeofenceId="nothing")):
        with pytest.raises(ClientError) as missing:
            call()
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
