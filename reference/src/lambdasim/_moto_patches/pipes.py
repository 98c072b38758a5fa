"""EventBridge Pipes: moto stores pipes and never runs them; the simulator's pipe runner does.

Every change moto makes to a pipe (CreatePipe, UpdatePipe, StartPipe, StopPipe, DeletePipe;
CloudFormation's AWS::Pipes::Pipe goes through the same backend methods) tells the runner
through `moto_state.pipes_changed`. moto's pipe state walks CREATING -> RUNNING and STOPPED ->
STARTING -> RUNNING as it is described, so a stopped pipe restarts itself after two
DescribePipe calls and one created with DesiredState STOPPED runs; here the current state
follows the desired state (RUNNING or STOPPED; AWS's passing CREATING/STARTING/STOPPING
states are not shown). moto's CloudFormation lacks AWS::Pipes::Pipe: `PipeResource` adds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import moto_state
from . import _shared
from ._patching import Patch


def _notifying(original: Callable[..., Any]) -> Callable[..., Any]:
    def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        moto_state.pipes_changed()
        return result

    changed.__wrapped__ = original  # type: ignore[attr-defined]
    return changed


def _current_state(pipe: Any) -> str:
    """Pipe.current_state: RUNNING or STOPPED, as the pipe's desired state says."""
    return "STOPPED" if pipe.desired_state == "STOPPED" else "RUNNING"


class PipeResource(_shared.AddedResource):
    """AWS::Pipes::Pipe for moto's CloudFormation, which lacks it
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-pipes-pipe.html).
    Created with the Pipes API's backend method, so the simulator runs it as one created with
    boto3. `Ref` is the pipe's name; `Fn::GetAtt` Arn and CurrentState."""

    def __init__(self, account_id: str, region: str, name: str, arn: str):
        self.account_id, self.region, self.name, self.arn = account_id, region, name, arn
        self.physical_resource_id = name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Pipes::Pipe"

    CFN_ATTRIBUTES = ("Arn", "CurrentState")

    def cfn_attributes(self) -> dict[str, str]:
        return {"Arn": self.arn, "CurrentState": "RUNNING"}

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> PipeResource:
        from moto.pipes.models import pipes_backends

        props = cloudformation_json["Properties"]
        name = str(props.get("Name") or resource_name)
        pipe = pipes_backends[account_id][region_name].create_pipe(
            name=name, description=props.get("Description"), desired_state=props.get("DesiredState"),
            source=props["Source"], source_parameters=props.get("SourceParameters"),
            enrichment=props.get("Enrichment"), enrichment_parameters=props.get("EnrichmentParameters"),
            target=props["Target"], target_parameters=props.get("TargetParameters"), role_arn=props["RoleArn"],
            tags=props.get("Tags"), log_configuration=props.get("LogConfiguration"),
            kms_key_identifier=props.get("KmsKeyIdentifier"))
        return cls(account_id, region_name, name, pipe.arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        name = str(cloudformation_json["Properties"].get("Name") or resource_name)
        cls(account_id, region_name, name, "").delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        from moto.pipes.exceptions import NotFoundException
        from moto.pipes.models import pipes_backends

        try:
            pipes_backends[account_id][region].delete_pipe(self.name)
        except NotFoundException:  # deleted already (by the API)
            return


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    from moto.pipes.models import EventBridgePipesBackend, Pipe

    why = "pipes run by the simulator"
    return [
        Patch(EventBridgePipesBackend, "create_pipe", None,
              ("self", "name", "description", "desired_state", "source", "source_parameters", "enrichment",
               "enrichment_parameters", "target", "target_parameters", "role_arn", "tags", "log_configuration",
               "kms_key_identifier"), why, wrap=_notifying),
        Patch(EventBridgePipesBackend, "update_pipe", None,
              ("self", "name", "role_arn", "description", "desired_state", "source_parameters", "enrichment",
               "enrichment_parameters", "target", "target_parameters", "log_configuration", "kms_key_identifier"),
              why, wrap=_notifying),
        *(Patch(EventBridgePipesBackend, method, None, ("self", "name"), why, wrap=_notifying)
          for method in ("start_pipe", "stop_pipe", "delete_pipe")),
        Patch(Pipe, "current_state", property(_current_state), "property",
              "a pipe's state follows its desired state (moto restarts a stopped pipe as it is described)"),
    ]
