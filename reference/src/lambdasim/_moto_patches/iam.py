"""IAM: a template role's managed policies and inline policy documents.

moto 5.2.5's `AWS::IAM::Role` ignores `ManagedPolicyArns` (SAM writes the function's AWS managed
policies there: AWSLambdaBasicExecutionRole, AWSLambdaSQSQueueExecutionRole,
AWSXrayWriteOnlyAccess...), so the role holds none of them, and it stores each inline policy's
`PolicyDocument` as the template's dict, which GetRolePolicy then answers as Python's repr of
it (and leaves a list item that `!If [..., !Ref AWS::NoValue]` removes as None). The
replacement creates the role as moto does, stores inline documents as JSON, and attaches
each managed policy (detached again when the stack deletes the role): an AWS managed policy moto knows (moto's copy of AWS's documents, which it
loads only with MOTO_IAM_LOAD_MANAGED_POLICIES) is created on first use, a customer managed one
must exist in the account. An ARN neither is left unattached, so the role is denied what it
would grant (IAM enforcement then says so). Applied with moto's CloudFormation, like the
`cloudformation` module's parser patch
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-iam-role.html).

moto's CloudFormation also lacks `AWS::SQS::QueuePolicy` (the resource is skipped: a queue
keeps no Policy), which `QueuePolicyResource` adds: each queue's Policy attribute is the
document, as SetQueueAttributes stores it, and deleting the resource removes it
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sqs-queuepolicy.html).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from .. import moto_state
from . import _shared
from ._patching import Patch


@functools.cache
def _aws_managed_documents() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def _attach_managed(backend: Any, role_name: str, arn: str) -> None:
    from moto.iam.models import AWSManagedPolicy

    if arn not in backend.managed_policies:
        name = arn.rsplit("/", 1)[-1]
        data = _aws_managed_documents().get(name)
        if not arn.startswith("arn:aws:iam::aws:policy/") or data is None:
            return
        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        backend.managed_policies[policy.arn] = policy
    backend.attach_role_policy(arn, role_name)


def _without_no_value(value: Any) -> Any:
    """The document without the list items moto's parser left as None: a statement written as
    `!If [Cond, {...}, !Ref AWS::NoValue]` is removed when Cond is false, as CloudFormation does
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/pseudo-parameter-reference.html#cfn-pseudo-param-novalue)."""
    if isinstance(value, dict):
        return {k: _without_no_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_no_value(v) for v in value if v is not None]
    return value


def _wrap_role_from_cloudformation(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> Any:
        """Role.create_from_cloudformation_json, with JSON inline documents and ManagedPolicyArns."""
        from moto.iam.models import iam_backends

        role = original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        for name, document in list(role.policies.items()):
            if not isinstance(document, str):
                role.policies[name] = json.dumps(_without_no_value(document))
        backend = iam_backends[account_id]["aws"]
        for arn in (cloudformation_json.get("Properties") or {}).get("ManagedPolicyArns") or []:
            _attach_managed(backend, role.name, str(arn))
        return role

    return classmethod(create_from_cloudformation_json)


def _wrap_role_delete_from_cloudformation(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str) -> None:
        """Role.delete_from_cloudformation_json, detaching the managed policies first, as
        CloudFormation does (moto's DeleteRole refuses a role with policies attached)."""
        from moto.iam.models import iam_backends

        backend = iam_backends[account_id]["aws"]
        for role in backend.roles.values():
            if role.name == resource_name:
                for arn in list(role.managed_policies):
                    backend.detach_role_policy(arn, role.name)
        original.__func__(cls, resource_name, cloudformation_json, account_id, region_name)

    return classmethod(delete_from_cloudformation_json)


class QueuePolicyResource(_shared.AddedResource):
    """AWS::SQS::QueuePolicy: one document set as the Policy of each of its queues (by URL)."""

    def __init__(self, queue_urls: list[str], physical_id: str):
        self.queue_urls = queue_urls
        self.physical_resource_id = physical_id

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> QueuePolicyResource:
        props = cloudformation_json["Properties"]
        urls = [str(url) for url in props["Queues"]]
        for url in urls:
            moto_state.set_queue_policy(account_id, region_name, url, json.dumps(props["PolicyDocument"]))
        return cls(urls, resource_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls([str(url) for url in cloudformation_json["Properties"]["Queues"]], resource_name).delete(
            account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        for url in self.queue_urls:
            moto_state.set_queue_policy(account_id, region, url, None)


ADDED_RESOURCES = (QueuePolicyResource,)


def deferred_patches() -> list[Patch]:
    """The patches of IAM's models, applied with moto's CloudFormation's."""
    from moto.iam.models import Role

    return [
        Patch(Role, "create_from_cloudformation_json", None,
              ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
              "AWS::IAM::Role ManagedPolicyArns and JSON inline policy documents",
              wrap=_wrap_role_from_cloudformation),
        Patch(Role, "delete_from_cloudformation_json", None,
              ("cls", "resource_name", "cloudformation_json", "account_id", "region_name"),
              "AWS::IAM::Role deleted with its managed policies attached (they are detached first)",
              wrap=_wrap_role_delete_from_cloudformation),
    ]
