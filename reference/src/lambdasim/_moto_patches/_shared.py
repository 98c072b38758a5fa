"""What the adapter's modules share: the simulator's `LambdaService` while a simulation runs,
the way a patched moto route hands an invocation to it or answers an error, and the shape of a
resource type added to moto's CloudFormation."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import SimulatorNotRunning
from ..service import RequestRejected

if TYPE_CHECKING:
    from ..service import LambdaService

service: LambdaService | None = None  # set by `apply`, cleared by `remove`
# The X-Amzn-Trace-Id of the request moto is serving (dispatch.py sets it): botocore sends the
# function's trace from inside a Lambda handler; SQS and EventBridge pass it on (rules/tracing.py).
trace_header: str | None = None


def require_service() -> LambdaService:
    if service is None:
        raise SimulatorNotRunning("a Lambda function was invoked while no Simulator is running")
    return service


def deliver_to_lambda(account_id: str, function_arn: str, payload: bytes, source: str,
                      trace_header: str | None = None) -> None:
    require_service().enqueue_by_arn(account_id, function_arn, payload, source=source, trace_header=trace_header)


def push_refused(principal: str, function_arn: str, source_arn: str) -> bool:
    """Whether, with IAM enforced, the function's resource policy refuses the service's delivery."""
    allowed = require_service().push_allowed
    return allowed is not None and not allowed(principal, function_arn, source_arn)


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


class AddedResource:
    """A resource type moto's CloudFormation lacks, added by the adapter: what moto's parser
    asks of every resource class, the same for each. A subclass gives `cloudformation_type`,
    `create_from_cloudformation_json`, `delete_from_cloudformation_json` and `delete`; an update
    is a delete and a create, as CloudFormation replaces a resource."""

    physical_resource_id: str

    @staticmethod
    def cloudformation_type() -> str:
        raise NotImplementedError

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    #: The attributes `Fn::GetAtt` reads, their values given by `cfn_attributes()`.
    CFN_ATTRIBUTES: tuple[str, ...] = ()

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.CFN_ATTRIBUTES

    def cfn_attributes(self) -> dict[str, str]:
        return {}

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name in self.CFN_ATTRIBUTES:
            return self.cfn_attributes()[attribute_name]
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        raise NotImplementedError

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        raise NotImplementedError

    def is_created(self) -> bool:
        return True
