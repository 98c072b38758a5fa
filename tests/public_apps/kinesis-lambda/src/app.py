"""Decodes and logs each record's data (the pattern's consumer logs the records)."""

import base64
from typing import Any


def handler(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        data = base64.b64decode(record["kinesis"]["data"]).decode("utf-8")
        print(f"Decoded payload: {data}")
