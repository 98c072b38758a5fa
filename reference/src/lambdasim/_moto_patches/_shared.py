"""What the adapter's modules share: the simulator's `LambdaService` while a simulation runs,
and the way a patched moto route hands an invocation to it or answers an error."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import SimulatorNotRunning
from ..service import RequestRejected

if TYPE_CHECKING:
    from ..service import LambdaService

service: LambdaService | None = None  # set by `apply`, cleared by `remove`


def require_service() -> LambdaService:
    if service is None:
        raise SimulatorNotRunning("a Lambda function was invoked while no Simulator is running")
    return service


def deliver_to_lambda(account_id: str, function_arn: str, payload: bytes, source: str) -> None:
    require_service().enqueue_by_arn(account_id, function_arn, payload, source=source)


def api_error(rejected: RequestRejected) -> Exception:
    from moto.core.exceptions import JsonRESTError

    err = JsonRESTError(rejected.code, rejected.message)
    err.code = rejected.status
    if rejected.body is not None:
        err.description = json.dumps(rejected.body, separators=(",", ":"))
    return err


def raw_body(response: Any) -> bytes:
    body = getattr(response, "raw_body", None)
    if body is None:
        body = response.body
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode("utf-8")
