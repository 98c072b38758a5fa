"""The fleet generator and the ground truth, without a simulation."""

from __future__ import annotations

import json

from serverless_course.location import fleet, truth
from serverless_course.location.fleet import Fix, Fleet, FleetMix, Publication


def test_a_seed_gives_the_same_fleet_and_every_fault_happens() -> None:
    first = fleet.generate(40, 10, seed=5)
    again = fleet.generate(40, 10, seed=5)
    assert [p.payload for p in first.publications] == [p.payload for p in again.publications]
    assert fleet.generate(40, 10, seed=6).publications != first.publications
    assert {"fix", "duplicate", "late", "burst", "imprecise", "poison"} <= set(first.counts)
    times = [p.at_s for p in first.publications]
    assert times == sorted(times)


def test_poison_breaks_the_contract_and_fixes_keep_it() -> None:
    generated = fleet.generate(40, 10, seed=5)
    for p in generated.publications:
        body = json.loads(p.payload)
        if p.poison:
            assert "ts" not in body or not isinstance(body["lat"], float) or body["lat"] > 90, p.kind
        else:
            assert body == p.fix.payload() and -90 <= body["lat"] <= 90


def _fleet(*publications: Publication) -> Fleet:
    devices = sorted({p.device_id for p in publications})
    return Fleet(seed=0, devices=devices, minutes=1, interval_s=10, mix=FleetMix(),
                 publications=list(publications), tracks={})


def _publish(at_s: int, fix: Fix | None, kind: str = "fix", device: str = "d") -> Publication:
    payload = json.dumps(fix.payload() if fix else {"lat": "N/A", "accuracy": 5}).encode()
    return Publication(at_s, device, payload, kind, fix)


def test_truth_keeps_only_newer_fixes_in_publish_order() -> None:
    """A duplicate and a late fix change nothing; an imprecise fix never reaches the stream."""
    north = fleet.geofence_rings()["depot-north"]
    centre_lon = sum(v[0] for v in north[:-1]) / 4
    centre_lat = sum(v[1] for v in north[:-1]) / 4
    outside = Fix("d", 47.0, -122.0, 5.0, 1_000)
    inside = Fix("d", centre_lat, centre_lon, 5.0, 2_000)
    late = Fix("d", 47.0, -122.0, 5.0, 1_500)
    imprecise = Fix("d", 47.0, -122.0, 80.0, 3_000)
    result = truth.ground_truth(_fleet(
        _publish(0, outside), _publish(10, inside), _publish(11, inside, "duplicate"),
        _publish(12, late, "late"), _publish(20, imprecise, "imprecise"), _publish(21, None, "poison")))
    assert result.positions == {"d": inside}
    assert result.transitions == [truth.Transition("d", "depot-north", "ENTER", 2_000)]
    assert result.history == {("d", 1_000), ("d", 2_000), ("d", 1_500)}
    assert result.poison == 1


def test_truth_exits_before_it_enters_and_a_first_fix_inside_is_an_enter() -> None:
    rings = fleet.geofence_rings()

    def centre(ring: list[list[float]]) -> tuple[float, float]:
        return sum(v[0] for v in ring[:-1]) / (len(ring) - 1), sum(v[1] for v in ring[:-1]) / (len(ring) - 1)

    (lon1, lat1), (lon2, lat2) = centre(rings["depot-north"]), centre(rings["depot-south"])
    result = truth.ground_truth(_fleet(_publish(0, Fix("d", lat1, lon1, 5.0, 1_000)),
                                       _publish(10, Fix("d", lat2, lon2, 5.0, 2_000))))
    assert [(t.kind, t.geofence_id, t.ts) for t in result.transitions] == [
        ("ENTER", "depot-north", 1_000), ("EXIT", "depot-north", 2_000), ("ENTER", "depot-south", 2_000)]
