"""Logs the bucket and key of each new object (the pattern's function reads the same fields)."""

from typing import Any
from urllib.parse import unquote_plus


def handler(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        print(f"New object: s3://{bucket}/{key}")
