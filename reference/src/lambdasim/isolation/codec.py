"""What crosses between a worker process and its host: JSON, with a few tagged types.

Nothing is pickled in the worker-to-host direction: unpickling runs code, and the worker runs
untrusted code. The host decodes dataclasses only of the classes it allows; the worker, whose
input comes from the trusted host, may import any class it is sent.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

TAG = "\u0000t"  # a key no JSON document of a handler carries by accident

#: The largest message either side accepts, in bytes.
MESSAGE_LIMIT = 16 * 1024 * 1024


class CodecError(ValueError):
    """A value cannot be sent across, or what came across is not acceptable."""


def class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def encode(value: Any) -> Any:
    """``value`` as a JSON-compatible structure."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CodecError(f"dictionary keys must be strings, not {type(key).__name__}")
            out[key] = encode(item)
        return out
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return {TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, set | frozenset):
        return {TAG: "set", "v": [encode(item) for item in value]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return {TAG: "dataclass", "class": class_path(type(value)), "v": fields}
    read = getattr(value, "read", None)
    if callable(read) and type(value).__name__ == "StreamingBody":  # botocore's response bodies
        return {TAG: "stream", "v": base64.b64encode(read()).decode("ascii")}
    raise CodecError(f"a value of type {type(value).__name__} cannot be sent between processes")


def decode(value: Any, classes: Mapping[str, type] | None = None) -> Any:
    """The value ``encode`` made. ``classes`` maps the dataclasses accepted by ``class_path``;
    None accepts any importable class (only for input from the trusted host)."""
    if isinstance(value, list):
        return [decode(item, classes) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {key: decode(item, classes) for key, item in value.items()}
    raw = value.get("v")
    if tag == "bytes":
        return base64.b64decode(raw)
    if tag == "datetime":
        return datetime.fromisoformat(raw)
    if tag == "date":
        return date.fromisoformat(raw)
    if tag == "decimal":
        return Decimal(raw)
    if tag == "set":
        return {decode(item, classes) for item in raw}
    if tag == "stream":
        return _streaming_body(base64.b64decode(raw))
    if tag == "dataclass":
        path = value.get("class")
        if classes is None:
            module, _, qualname = str(path).partition(":")
            cls: Any = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
        elif path in classes:
            cls = classes[path]
        else:
            raise CodecError(f"an object of type {path} is not accepted here")
        if not isinstance(raw, dict):
            raise CodecError(f"malformed {path}")
        return cls(**{key: decode(item, classes) for key, item in raw.items()})
    raise CodecError(f"unknown tagged value {tag!r}")


def dumps(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> dict[str, Any]:
    try:
        message = json.loads(data)
    except ValueError as exc:
        raise CodecError(f"not a JSON message: {exc}") from None
    if not isinstance(message, dict):
        raise CodecError("a message must be a JSON object")
    return message


def _streaming_body(data: bytes) -> Any:
    import io

    from botocore.response import StreamingBody

    return StreamingBody(io.BytesIO(data), len(data))
