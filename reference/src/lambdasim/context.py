"""The context object passed to a handler, with the attributes AWS's Python runtime gives it.

https://docs.aws.amazon.com/lambda/latest/dg/python-context.html ; the shape follows the
runtime's own class (awslambdaric `lambda_context.py`). The remaining time is computed from the
virtual clock and the invocation's deadline, so it shrinks only as virtual time passes (a
`time.sleep` in the handler, a nested synchronous invoke).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CognitoIdentity:
    """`context.identity` (mobile apps): empty unless the caller sent one."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity: dict[str, Any] | None = None):
        identity = identity or {}
        self.cognito_identity_id = identity.get("cognitoIdentityId")
        self.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")


class Client:
    """`context.client_context.client` (mobile apps)."""

    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")

    def __init__(self, values: dict[str, Any] | None):
        values = values or {}
        for name in self.__slots__:
            setattr(self, name, values.get(name))


class ClientContext:
    """`context.client_context`: what the caller passed as ClientContext (base64 JSON)."""

    __slots__ = ("custom", "env", "client")

    def __init__(self, values: dict[str, Any]):
        self.custom = values.get("custom")
        self.env = values.get("env")
        client = values.get("client")
        self.client = Client(client) if client is not None else None


class LambdaContext:
    """The Lambda context object.

    Attributes match AWS's runtime, including their types: `memory_limit_in_mb` is a string, as
    the runtime reads it from `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    """

    def __init__(
        self,
        *,
        aws_request_id: str,
        function_name: str,
        function_version: str,
        invoked_function_arn: str,
        memory_limit_in_mb: int,
        log_group_name: str,
        log_stream_name: str,
        deadline_ms: int,
        now_ms: Callable[[], int],
        client_context: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
        tenant_id: str | None = None,
    ):
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.function_name = function_name
        self.memory_limit_in_mb = str(memory_limit_in_mb)
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = ClientContext(client_context) if client_context is not None else None
        self.identity = CognitoIdentity(identity)
        self._deadline_ms = deadline_ms
        self._now_ms = now_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out (never negative)."""
        return max(0, self._deadline_ms - self._now_ms())

    def log(self, msg: str) -> None:
        """Write to the function's log (stdout, as the runtime does without a log sink)."""
        print(msg, end="")

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )
