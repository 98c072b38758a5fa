"""Amazon Location Service's geofencing and tracking, which moto lacks altogether: the simulator
keeps the geofence collections, trackers and device positions, and boto3's `location` client
reaches them through `_moto_patches.location`.

A position reaches geofences two ways: BatchEvaluateGeofences evaluates it against one
collection, no tracker needed; BatchUpdateDevicePosition hands it to a tracker, which filters it
(TimeBased, DistanceBased or AccuracyBased), stores what the filter keeps as the device's
history (30 days) and evaluates what the filter lets through against every collection associated
with it (AssociateTrackerConsumer). Each evaluation compares the geofences the device is inside
now with those it was inside at its last evaluation in that collection (forgotten 30 days after
its latest update): a geofence entered is an ENTER event, one left an EXIT event, put on the
default event bus (source `aws.geo`, detail-type `Location Geofence Event`) where EventBridge
rules route it; a tracker with EventBridgeEnabled also puts a `Location Device Position Event`
for every position it stores. AWS evaluates asynchronously; here at the virtual instant of the
call. The rules, with their sources, are in `rules/location.py`.

`sim.location` is this service: `evaluations` (every evaluation: device, collection, the
geofences it is inside), `updates` (every tracker update and what the filter did with it),
`events` (every event put on the bus, Detail as a dict).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import moto_state
from .errors import SimulatorError
from .rules import location as rules


class LocationRefused(SimulatorError):
    """An Amazon Location API error, in AWS's shape (code, message, HTTP status)."""

    def __init__(self, code: str, message: str, status: int, field_name: str | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.field_name = code, message, status, field_name


def _not_found(kind: str, name: str) -> LocationRefused:
    return LocationRefused("ResourceNotFoundException", f"{kind} {name} not found", 404)


def _invalid(message: str, field_name: str) -> LocationRefused:
    return LocationRefused("ValidationException", message, 400, field_name)


@dataclass
class Geofence:
    geofence_id: str
    fence: rules.Fence
    properties: dict[str, str]
    created_us: int
    updated_us: int


@dataclass
class DeviceState:
    inside: frozenset[str]
    last_update_us: int


@dataclass
class Collection:
    name: str
    arn: str
    created_us: int
    geofences: dict[str, Geofence] = field(default_factory=dict)
    devices: dict[str, DeviceState] = field(default_factory=dict)


@dataclass
class Tracker:
    name: str
    arn: str
    created_us: int
    filtering: str
    eventbridge_enabled: bool
    consumers: list[str] = field(default_factory=list)  # collection ARNs
    history: dict[str, list[rules.Sample]] = field(default_factory=dict)  # stored, in arrival order


@dataclass(frozen=True)
class Evaluation:
    """One device position evaluated against one collection's geofences."""

    at_us: int
    collection: str
    device_id: str
    position: tuple[float, float]
    inside: tuple[str, ...]
    tracker: str | None  # None: BatchEvaluateGeofences


@dataclass(frozen=True)
class TrackerUpdate:
    """One position a tracker received and what its position filter did with it."""

    at_us: int
    tracker: str
    device_id: str
    position: tuple[float, float]
    stored: bool
    evaluated: bool


class LocationService:
    """The simulator's Amazon Location (`sim.location`), per account and Region."""

    def __init__(self, now_us: Callable[[], int]):
        self._now_us = now_us
        self._collections: dict[tuple[str, str, str], Collection] = {}
        self._trackers: dict[tuple[str, str, str], Tracker] = {}
        self.evaluations: list[Evaluation] = []
        self.updates: list[TrackerUpdate] = []
        self.events: list[dict[str, Any]] = []  # PutEvents entries, Detail as a dict

    # -- geofence collections --------------------------------------------------------------------
    def create_collection(self, account: str, region: str, name: str) -> Collection:
        key = (account, region, name)
        if key in self._collections:
            raise LocationRefused("ConflictException", f"geofence collection {name} already exists", 409)
        arn = f"arn:aws:geo:{region}:{account}:geofence-collection/{name}"
        self._collections[key] = Collection(name, arn, self._now_us())
        return self._collections[key]

    def collection(self, account: str, region: str, name: str) -> Collection:
        found = self._collections.get((account, region, name))
        if found is None:
            raise _not_found("geofence collection", name)
        return found

    def delete_collection(self, account: str, region: str, name: str) -> None:
        self.collection(account, region, name)
        del self._collections[(account, region, name)]

    def put_geofence(self, account: str, region: str, collection_name: str, geofence_id: str,
                     geometry: dict[str, Any], properties: dict[str, str] | None) -> Geofence:
        collection = self.collection(account, region, collection_name)
        try:
            checked = rules.fence(geometry)
        except rules.GeometryError as error:
            raise _invalid(error.message, error.field) from None
        now = self._now_us()
        existing = collection.geofences.get(geofence_id)
        collection.geofences[geofence_id] = Geofence(
            geofence_id, checked, dict(properties or {}), existing.created_us if existing else now, now)
        return collection.geofences[geofence_id]

    def geofence(self, account: str, region: str, collection_name: str, geofence_id: str) -> Geofence:
        found = self.collection(account, region, collection_name).geofences.get(geofence_id)
        if found is None:
            raise _not_found("geofence", geofence_id)
        return found

    def delete_geofence(self, account: str, region: str, collection_name: str, geofence_id: str) -> None:
        self.geofence(account, region, collection_name, geofence_id)
        del self.collection(account, region, collection_name).geofences[geofence_id]

    def evaluate(self, account: str, region: str, collection_name: str, updates: list[rules.Sample]) -> None:
        """BatchEvaluateGeofences: each position against the collection, no tracker."""
        collection = self.collection(account, region, collection_name)
        for sample in updates:
            self._evaluate(account, region, collection, sample, None)

    def _evaluate(self, account: str, region: str, collection: Collection, sample: rules.Sample,
                  tracker: Tracker | None) -> None:
        now = self._now_us()
        inside = frozenset(g.geofence_id for g in collection.geofences.values()
                           if rules.contains(g.fence, sample.position))
        state = collection.devices.get(sample.device_id)
        before = frozenset() if state is None or rules.state_expired(state.last_update_us, now) else state.inside
        # A geofence deleted since the last evaluation is forgotten, not exited.
        before &= frozenset(collection.geofences)
        collection.devices[sample.device_id] = DeviceState(inside, now)
        self.evaluations.append(Evaluation(now, collection.name, sample.device_id, sample.position,
                                           tuple(sorted(inside)), tracker.name if tracker else None))
        resources = [collection.arn] + ([tracker.arn] if tracker else [])
        for event_type, geofence_id in rules.transitions(before, inside):
            self._put(account, region, rules.geofence_event(
                event_type, geofence_id, collection.geofences[geofence_id].properties, sample, resources))

    def _put(self, account: str, region: str, entry: dict[str, Any]) -> None:
        self.events.append(entry)
        moto_state.put_service_event(account, region, {**entry, "Detail": json.dumps(entry["Detail"])})

    # -- trackers --------------------------------------------------------------------------------
    def create_tracker(self, account: str, region: str, name: str, filtering: str | None,
                       eventbridge_enabled: bool) -> Tracker:
        key = (account, region, name)
        if key in self._trackers:
            raise LocationRefused("ConflictException", f"tracker {name} already exists", 409)
        arn = f"arn:aws:geo:{region}:{account}:tracker/{name}"
        self._trackers[key] = Tracker(name, arn, self._now_us(), filtering or rules.DEFAULT_FILTER,
                                      eventbridge_enabled)
        return self._trackers[key]

    def tracker(self, account: str, region: str, name: str) -> Tracker:
        found = self._trackers.get((account, region, name))
        if found is None:
            raise _not_found("tracker", name)
        return found

    def delete_tracker(self, account: str, region: str, name: str) -> None:
        self.tracker(account, region, name)
        del self._trackers[(account, region, name)]

    def associate(self, account: str, region: str, tracker_name: str, consumer_arn: str) -> None:
        tracker = self.tracker(account, region, tracker_name)
        if not any(c.arn == consumer_arn for c in self._collections.values()):
            raise _not_found("geofence collection", consumer_arn)
        if consumer_arn in tracker.consumers:
            raise LocationRefused("ConflictException", f"{consumer_arn} is already associated", 409)
        if len(tracker.consumers) >= rules.MAX_COLLECTIONS_PER_TRACKER:
            raise LocationRefused("ServiceQuotaExceededException", f"a tracker has at most "
                                  f"{rules.MAX_COLLECTIONS_PER_TRACKER} geofence collections", 402)
        tracker.consumers.append(consumer_arn)

    def disassociate(self, account: str, region: str, tracker_name: str, consumer_arn: str) -> None:
        tracker = self.tracker(account, region, tracker_name)
        if consumer_arn not in tracker.consumers:
            raise _not_found("tracker consumer", consumer_arn)
        tracker.consumers.remove(consumer_arn)

    def update_positions(self, account: str, region: str, tracker_name: str, updates: list[rules.Sample]) -> None:
        """BatchUpdateDevicePosition: filtered, stored and evaluated as the tracker's filter says."""
        tracker = self.tracker(account, region, tracker_name)
        now = self._now_us()
        for update in updates:
            sample = rules.Sample(update.device_id, update.sample_us, update.position, update.accuracy_m,
                                  update.properties, now)
            history = self._retained(tracker, sample.device_id, now)
            decision = rules.filter_update(tracker.filtering, history[-1] if history else None, sample)
            self.updates.append(TrackerUpdate(now, tracker.name, sample.device_id, sample.position,
                                              decision.store, decision.evaluate))
            if decision.store:
                history.append(sample)
                if tracker.eventbridge_enabled:
                    self._put(account, region, rules.position_event(tracker.name, tracker.arn, sample))
            if decision.evaluate:
                for collection in self._collections.values():
                    if collection.arn in tracker.consumers:
                        self._evaluate(account, region, collection, sample, tracker)

    def _retained(self, tracker: Tracker, device_id: str, now: int) -> list[rules.Sample]:
        """The device's stored positions, those older than the retention period dropped."""
        history = [s for s in tracker.history.get(device_id, []) if now - s.received_us <= rules.RETENTION_US]
        tracker.history[device_id] = history
        return history

    def latest(self, account: str, region: str, tracker_name: str, device_id: str) -> rules.Sample:
        """GetDevicePosition: the stored position with the latest sample time."""
        history = self._retained(self.tracker(account, region, tracker_name), device_id, self._now_us())
        if not history:
            raise _not_found("device position", device_id)
        return max(history, key=lambda s: s.sample_us)

    def history(self, account: str, region: str, tracker_name: str, device_id: str,
                start_us: int | None, end_us: int | None) -> list[rules.Sample]:
        """GetDevicePositionHistory: stored positions in [start, end) by sample time, oldest first
        (by default the 24 hours before the request)."""
        now = self._now_us()
        end = now if end_us is None else end_us
        start = end - rules.DEFAULT_HISTORY_WINDOW_US if start_us is None else start_us
        if start >= end:
            raise _invalid("StartTimeInclusive must be before EndTimeExclusive", "StartTimeInclusive")
        history = self._retained(self.tracker(account, region, tracker_name), device_id, now)
        return sorted((s for s in history if start <= s.sample_us < end), key=lambda s: s.sample_us)

    def devices(self, account: str, region: str, tracker_name: str) -> list[rules.Sample]:
        """ListDevicePositions: each device's latest position."""
        tracker = self.tracker(account, region, tracker_name)
        now = self._now_us()
        latest = []
        for device_id in sorted(tracker.history):
            history = self._retained(tracker, device_id, now)
            if history:
                latest.append(max(history, key=lambda s: s.sample_us))
        return latest
