"""Amazon Location Service, which moto lacks altogether: routes for boto3's `location` client.

moto 5.2.5 has no Location backend, so a request to `geo.<region>.amazonaws.com` (with the
`geofencing.`, `cp.geofencing.`, `tracking.` and `cp.tracking.` host prefixes botocore adds)
matches no service and is answered 404 "Not yet implemented". Two patches give it a route:
`moto.backend_index.backend_url_patterns` gains a `location` service, and `moto.backends.get_backend`
answers its route table (`_ROUTES`), whose handler is `LocationResponse`, a moto response class:
moto parses the request with botocore's model (the operation from the method and path, the
parameters from the path and body) and serializes the answer, and each operation calls the
simulator's `location.LocationService` (set by `set_location`; None while no simulation runs or
with `Simulator(location=False)`, and then a request raises NotImplementedError, as moto does
for an action it lacks). The service's refusals become AWS's errors (ResourceNotFoundException 404,
ValidationException 400 with its reason and field list, ConflictException 409).

The operations the course uses: CreateGeofenceCollection, DescribeGeofenceCollection,
DeleteGeofenceCollection, PutGeofence, BatchPutGeofence, GetGeofence, ListGeofences,
BatchDeleteGeofence, BatchEvaluateGeofences, CreateTracker, DescribeTracker, DeleteTracker,
AssociateTrackerConsumer, ListTrackerConsumers, BatchUpdateDevicePosition, GetDevicePosition,
GetDevicePositionHistory, ListDevicePositions. Any other is answered as moto answers an
operation it lacks (NotImplementedError).
AWS::Location::GeofenceCollection, AWS::Location::Tracker and AWS::Location::TrackerConsumer
are added to moto's CloudFormation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..rules import location as rules
from . import _shared
from ._patching import Patch

if TYPE_CHECKING:
    from ..location import LocationService

_location: LocationService | None = None

SERVICE = "location"
_URL_PATTERN = re.compile(r"https?://(?:cp\.)?(?:geofencing|tracking)\.geo\.(.+)\.amazonaws\.com")


def set_location(location: LocationService | None) -> None:
    """The simulator's Amazon Location (None: moto's behaviour, no such service)."""
    global _location
    _location = location


def _micros(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp()) * 1_000_000 + value.microsecond
    return int(float(value) * 1_000_000)


def _seconds(at_us: int) -> float:
    return at_us / 1_000_000


def _sample(update: dict[str, Any], field: str) -> rules.Sample:
    from ..location import LocationRefused

    try:
        position = rules.check_position(update.get("Position"), f"{field}.Position")
    except rules.GeometryError as error:
        raise LocationRefused("ValidationException", error.message, 400, error.field) from None
    accuracy = update.get("Accuracy")
    return rules.Sample(str(update["DeviceId"]), _micros(update["SampleTime"]) or 0, position,
                        None if accuracy is None else float(accuracy["Horizontal"]),
                        update.get("PositionProperties") or None)


def _position(sample: rules.Sample, *, received: bool = True) -> dict[str, Any]:
    answer: dict[str, Any] = {"DeviceId": sample.device_id, "SampleTime": _seconds(sample.sample_us),
                              "Position": list(sample.position)}
    if received:
        answer["ReceivedTime"] = _seconds(sample.received_us)
    if sample.accuracy_m is not None:
        answer["Accuracy"] = {"Horizontal": sample.accuracy_m}
    if sample.properties:
        answer["PositionProperties"] = dict(sample.properties)
    return answer


def _geofence(geofence: Any) -> dict[str, Any]:
    answer = {"GeofenceId": geofence.geofence_id, "Geometry": geofence.fence.geometry, "Status": "ACTIVE",
              "CreateTime": _seconds(geofence.created_us), "UpdateTime": _seconds(geofence.updated_us)}
    if geofence.properties:
        answer["GeofenceProperties"] = geofence.properties
    return answer


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], dict[str, Any]]:
    start = int(token or 0)
    more = {"NextToken": str(start + size)} if start + size < len(items) else {}
    return items[start:start + size], more


def _operations() -> dict[str, Any]:
    """Each operation: (LocationService, parameters, account, region) -> the answer's fields."""

    def create_collection(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        c = loc.create_collection(a, r, p["CollectionName"])
        return {"CollectionName": c.name, "CollectionArn": c.arn, "CreateTime": _seconds(c.created_us)}

    def describe_collection(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        c = loc.collection(a, r, p["CollectionName"])
        return {"CollectionName": c.name, "CollectionArn": c.arn, "Description": "",
                "CreateTime": _seconds(c.created_us), "UpdateTime": _seconds(c.created_us),
                "GeofenceCount": len(c.geofences)}

    def put_geofence(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        g = loc.put_geofence(a, r, p["CollectionName"], p["GeofenceId"], p["Geometry"], p.get("GeofenceProperties"))
        return {"GeofenceId": g.geofence_id, "CreateTime": _seconds(g.created_us),
                "UpdateTime": _seconds(g.updated_us)}

    def batch_put_geofence(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        from ..location import LocationRefused

        successes, errors = [], []
        loc.collection(a, r, p["CollectionName"])
        for entry in p["Entries"]:
            try:
                g = loc.put_geofence(a, r, p["CollectionName"], entry["GeofenceId"], entry["Geometry"],
                                     entry.get("GeofenceProperties"))
            except LocationRefused as refused:
                errors.append({"GeofenceId": entry["GeofenceId"], "Error": _item_error(refused)})
                continue
            successes.append({"GeofenceId": g.geofence_id, "CreateTime": _seconds(g.created_us),
                              "UpdateTime": _seconds(g.updated_us)})
        return {"Successes": successes, "Errors": errors}

    def list_geofences(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        fences = [_geofence(g) for g in loc.collection(a, r, p["CollectionName"]).geofences.values()]
        page, more = _page(fences, p.get("NextToken"), p.get("MaxResults") or 100)
        return {"Entries": page, **more}

    def batch_delete_geofence(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        from ..location import LocationRefused

        errors = []
        loc.collection(a, r, p["CollectionName"])
        for geofence_id in p["GeofenceIds"]:
            try:
                loc.delete_geofence(a, r, p["CollectionName"], geofence_id)
            except LocationRefused as refused:
                errors.append({"GeofenceId": geofence_id, "Error": _item_error(refused)})
        return {"Errors": errors}

    def batch_evaluate(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        updates = [_sample(u, f"DevicePositionUpdates[{i}]") for i, u in enumerate(p["DevicePositionUpdates"])]
        loc.evaluate(a, r, p["CollectionName"], updates)
        return {"Errors": []}

    def create_tracker(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        t = loc.create_tracker(a, r, p["TrackerName"], p.get("PositionFiltering"), bool(p.get("EventBridgeEnabled")))
        return {"TrackerName": t.name, "TrackerArn": t.arn, "CreateTime": _seconds(t.created_us)}

    def describe_tracker(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        t = loc.tracker(a, r, p["TrackerName"])
        return {"TrackerName": t.name, "TrackerArn": t.arn, "Description": "", "CreateTime": _seconds(t.created_us),
                "UpdateTime": _seconds(t.created_us), "PositionFiltering": t.filtering,
                "EventBridgeEnabled": t.eventbridge_enabled}

    def associate(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        loc.associate(a, r, p["TrackerName"], p["ConsumerArn"])
        return {}

    def list_consumers(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        return {"ConsumerArns": list(loc.tracker(a, r, p["TrackerName"]).consumers)}

    def update_positions(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        updates = [_sample(u, f"Updates[{i}]") for i, u in enumerate(p["Updates"])]
        loc.update_positions(a, r, p["TrackerName"], updates)
        return {"Errors": []}

    def get_position(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        return _position(loc.latest(a, r, p["TrackerName"], p["DeviceId"]))

    def position_history(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        samples = loc.history(a, r, p["TrackerName"], p["DeviceId"], _micros(p.get("StartTimeInclusive")),
                              _micros(p.get("EndTimeExclusive")))
        page, more = _page([_position(s) for s in samples], p.get("NextToken"),
                           p.get("MaxResults") or rules.MAX_HISTORY_RESULTS)
        return {"DevicePositions": page, **more}

    def list_positions(loc: LocationService, p: dict[str, Any], a: str, r: str) -> dict[str, Any]:
        entries = [_position(s, received=False) for s in loc.devices(a, r, p["TrackerName"])]
        page, more = _page(entries, p.get("NextToken"), p.get("MaxResults") or 100)
        return {"Entries": page, **more}

    return {
        "CreateGeofenceCollection": create_collection, "DescribeGeofenceCollection": describe_collection,
        "DeleteGeofenceCollection": lambda loc, p, a, r: loc.delete_collection(a, r, p["CollectionName"]) or {},
        "PutGeofence": put_geofence, "BatchPutGeofence": batch_put_geofence,
        "GetGeofence": lambda loc, p, a, r: _geofence(loc.geofence(a, r, p["CollectionName"], p["GeofenceId"])),
        "ListGeofences": list_geofences, "BatchDeleteGeofence": batch_delete_geofence,
        "BatchEvaluateGeofences": batch_evaluate,
        "CreateTracker": create_tracker, "DescribeTracker": describe_tracker,
        "DeleteTracker": lambda loc, p, a, r: loc.delete_tracker(a, r, p["TrackerName"]) or {},
        "AssociateTrackerConsumer": associate, "ListTrackerConsumers": list_consumers,
        "BatchUpdateDevicePosition": update_positions, "GetDevicePosition": get_position,
        "GetDevicePositionHistory": position_history, "ListDevicePositions": list_positions,
    }


_OPERATIONS = _operations()


def _item_error(refused: Any) -> dict[str, str]:
    # BatchItemErrorCode: ResourceNotFoundError, ValidationError, ... (API_BatchItemError.html).
    return {"Code": refused.code.replace("Exception", "Error"), "Message": refused.message}


def _error(refused: Any) -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(refused.code, refused.message)
    body: dict[str, Any] = {"__type": refused.code, "message": refused.message}
    if refused.code == "ValidationException":
        # API_ValidationException: Message, Reason, FieldList (each a Name and a Message).
        body.update({"reason": "FieldValidationFailed",
                     "fieldList": [{"name": refused.field_name or "", "message": refused.message}]})
    error.description = json.dumps(body)
    error.code = refused.status
    return error


def _response_class() -> type:
    from moto.core.responses import BaseResponse

    class LocationResponse(BaseResponse):
        """moto's response machinery for a service moto lacks: each operation answered by `_answer`."""

        def __init__(self) -> None:
            super().__init__(service_name=SERVICE)
            self.automated_parameter_parsing = True

        def _answer(self, operation: str) -> str:
            from ..location import LocationRefused

            if _location is None:
                raise NotImplementedError(f"The {operation} action has not been implemented")
            try:
                return json.dumps(_OPERATIONS[operation](_location, dict(self.params), self.current_account,
                                                         self.region))
            except LocationRefused as refused:
                raise _error(refused) from None

    def method(operation: str) -> Any:
        def answer(self: Any) -> str:
            return self._answer(operation)

        return answer

    # moto calls the method named after the operation (`put_geofence` for PutGeofence).
    for operation in _OPERATIONS:
        setattr(LocationResponse, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower(), method(operation))
    return LocationResponse


class _Routes:
    """What `dispatch._route` reads of a backend: its route table."""

    def __init__(self) -> None:
        self.urls = {_URL_PATTERN.pattern + r"/.*": _response_class().dispatch}


_ROUTES: dict[str, _Routes] = {}


def _wrap_get_backend(original: Any) -> Any:
    def get_backend(name: str) -> Any:
        if name != SERVICE:
            return original(name)
        if not _ROUTES:
            _ROUTES["global"] = _Routes()
        return _ROUTES

    get_backend.__wrapped__ = original  # type: ignore[attr-defined]
    return get_backend


def _with_location(patterns: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [*patterns, (SERVICE, _URL_PATTERN)]


class _Resource(_shared.AddedResource):
    """A Location resource created by moto's CloudFormation in the simulator's service."""

    def __init__(self, physical_id: str, attributes: dict[str, str]):
        self.physical_resource_id = physical_id
        self.attributes = attributes

    def cfn_attributes(self) -> dict[str, str]:
        return self.attributes

    @staticmethod
    def _service() -> LocationService:
        if _location is None:
            from ..location import LocationRefused

            raise LocationRefused("ValidationException", "Amazon Location is off (Simulator(location=False))", 400)
        return _location


def _quietly(delete: Callable[[LocationService], None]) -> None:
    """A stack's delete of a resource deleted already (by the API), or with the service off: nothing to do."""
    from ..location import LocationRefused

    if _location is not None:
        try:
            delete(_location)
        except LocationRefused:
            pass


class GeofenceCollectionResource(_Resource):
    """AWS::Location::GeofenceCollection
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-location-geofencecollection.html):
    `Ref` is the name; `Arn`, `CollectionArn`."""

    CFN_ATTRIBUTES = ("Arn", "CollectionArn", "CreateTime")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Location::GeofenceCollection"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> GeofenceCollectionResource:
        name = str(cloudformation_json["Properties"]["CollectionName"])
        c = cls._service().create_collection(account_id, region_name, name)
        return cls(name, {"Arn": c.arn, "CollectionArn": c.arn, "CreateTime": rules.iso(c.created_us)})

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls(str(cloudformation_json["Properties"]["CollectionName"]), {}).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        _quietly(lambda service: service.delete_collection(account_id, region, self.physical_resource_id))


class TrackerResource(_Resource):
    """AWS::Location::Tracker
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-location-tracker.html):
    `Ref` is the name; `Arn`, `TrackerArn`."""

    CFN_ATTRIBUTES = ("Arn", "TrackerArn", "CreateTime")

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Location::Tracker"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> TrackerResource:
        props = cloudformation_json["Properties"]
        name = str(props["TrackerName"])
        t = cls._service().create_tracker(account_id, region_name, name, props.get("PositionFiltering"),
                                          str(props.get("EventBridgeEnabled", False)).lower() == "true")
        return cls(name, {"Arn": t.arn, "TrackerArn": t.arn, "CreateTime": rules.iso(t.created_us)})

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls(str(cloudformation_json["Properties"]["TrackerName"]), {}).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        _quietly(lambda service: service.delete_tracker(account_id, region, self.physical_resource_id))


class TrackerConsumerResource(_Resource):
    """AWS::Location::TrackerConsumer
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-location-trackerconsumer.html):
    a tracker's association with a geofence collection."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Location::TrackerConsumer"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> TrackerConsumerResource:
        props = cloudformation_json["Properties"]
        cls._service().associate(account_id, region_name, props["TrackerName"], props["ConsumerArn"])
        return cls(f"{props['TrackerName']}|{props['ConsumerArn']}", {})

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json["Properties"]
        cls(f"{props['TrackerName']}|{props['ConsumerArn']}", {}).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        tracker_name, consumer = self.physical_resource_id.split("|", 1)
        _quietly(lambda service: service.disassociate(account_id, region, tracker_name, consumer))


ADDED_RESOURCES = (GeofenceCollectionResource, TrackerResource, TrackerConsumerResource)


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    import moto.backend_index as backend_index
    import moto.backends as backends

    return [
        Patch(backend_index, "backend_url_patterns", None, "patterns",
              "Amazon Location: a service moto lacks gets its URLs", wrap=_with_location, adds=(SERVICE,)),
        Patch(backends, "get_backend", None, ("name",),
              "Amazon Location: its route table, answered by the simulator", wrap=_wrap_get_backend),
    ]
