"""What a Kinesis record of the fleet stream holds, and the geofences: shared by both consumers.

A device publishes ``{"lat", "lon", "accuracy", "ts"}`` (degrees, metres, its own clock in epoch
milliseconds) to ``fleet/<deviceId>/location``; the topic rule adds ``device_id`` (``topic(2)``)
and ``received_at`` (``timestamp()``, the broker's clock) before the record reaches Kinesis.
A record that breaks this contract can never succeed, however often it is retried: it is poison.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

GEOFENCES_FILE = Path(__file__).with_name("geofences.json")


class Fix(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    device_id: str = Field(min_length=1)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy: float = Field(ge=0)  # metres, the receiver's horizontal accuracy
    ts: int = Field(gt=0)  # the device's fix time, epoch milliseconds
    received_at: int = Field(gt=0)  # when the broker received it, epoch milliseconds


def parse_record(data_base64: str) -> Fix:
    """The fix in a Kinesis record's ``data``; pydantic's ValidationError when it is poison
    (a body that is not JSON included)."""
    return Fix.model_validate_json(base64.b64decode(data_base64))


@cache
def geofences() -> dict[str, object]:
    """The fleet's geofences as prepared shapely polygons, by id (``geofences.json``: each a
    ring of [longitude, latitude] vertices, the order Amazon Location uses)."""
    import shapely  # imported once per environment, at the first fix

    rings = json.loads(GEOFENCES_FILE.read_text())
    fences = {fence_id: shapely.Polygon(ring) for fence_id, ring in rings.items()}
    for polygon in fences.values():
        shapely.prepare(polygon)
    return fences


def geofences_containing(lon: float, lat: float) -> frozenset[str]:
    """The ids of the geofences a position is in; a position on the boundary counts as inside."""
    import shapely

    point = shapely.Point(lon, lat)
    return frozenset(fence_id for fence_id, polygon in geofences().items() if polygon.covers(point))
