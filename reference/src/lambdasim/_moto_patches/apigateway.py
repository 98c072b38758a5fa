"""API Gateway: REST APIs defined by an OpenAPI body, as SAM writes them.

moto's `AWS::ApiGateway::RestApi` requires `Name` and ignores `Body`, and its import API takes
OpenAPI 3 only; SAM writes every REST API (the implicit `ServerlessRestApi` of `Events: Api`, an
`AWS::Serverless::Api` with or without `DefinitionBody`) as a Swagger 2.0 `Body` and no `Name`.
The replacement creates the API as CloudFormation does (the name from `Name`, else the
definition's `info.title`) and imports the definition's paths, methods and
`x-amazon-apigateway-integration`s (Swagger 2.0 or OpenAPI 3) into moto's model, where the
simulator's front door (`lambdasim.apigateway`) reads them. Applied with moto's CloudFormation
(which imports API Gateway's models), like the `cloudformation` module's parser patch.
"""

from __future__ import annotations

from typing import Any

from .. import moto_state
from . import _shared
from ._patching import Patch

#: The operations of an OpenAPI path item that API Gateway imports, and the method each becomes
#: (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-any-method.html).
METHODS = {"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "options": "OPTIONS",
           "head": "HEAD", "patch": "PATCH", "x-amazon-apigateway-any-method": "ANY"}


def _rest_api_from_cloudformation(
    cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    **kwargs: Any,
) -> Any:
    """Replaces RestAPI.create_from_cloudformation_json: "Name: required if you don't specify an
    OpenAPI definition"; with `Body`, the API is the definition's
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-restapi.html)."""
    props = cloudformation_json["Properties"]
    body = props.get("Body")
    if not isinstance(body, dict):
        body = {}
    info = body.get("info") if isinstance(body.get("info"), dict) else {}
    name = props.get("Name") or info.get("title") or resource_name
    backend = moto_state.apigateway_backend(account_id, region_name)
    api = backend.create_rest_api(name=name, description=props.get("Description") or info.get("description", ""),
                                  endpoint_configuration=props.get("EndpointConfiguration"))
    import_definition(backend, api.id, body)
    return api


def import_definition(backend: Any, api_id: str, definition: dict[str, Any]) -> None:
    """The definition's paths as resources, its operations as methods, and their
    `x-amazon-apigateway-integration`s as integrations
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html)."""
    paths = definition.get("paths") or {}
    for path in sorted(paths):
        resource = _resource_for(backend, api_id, path)
        for key, operation in (paths[path] or {}).items():
            method = METHODS.get(key.lower())
            if method is None or not isinstance(operation, dict):
                continue  # "parameters", "summary" and other vendor extensions
            backend.put_method(api_id, resource.id, method, authorization_type="NONE")
            integration = operation.get("x-amazon-apigateway-integration")
            if isinstance(integration, dict):
                backend.put_integration(
                    function_id=api_id, resource_id=resource.id, method_type=method,
                    integration_type=str(integration.get("type", "")).upper(),
                    uri=integration.get("uri", ""), integration_method=integration.get("httpMethod", ""),
                    request_templates=integration.get("requestTemplates"),
                    passthrough_behavior=integration.get("passthroughBehavior"),
                    timeout_in_millis=integration.get("timeoutInMillis"),
                    request_parameters=integration.get("requestParameters"),
                )


def _resource_for(backend: Any, api_id: str, path: str) -> Any:
    """The resource of `path`, made with its missing ancestors."""
    api = backend.get_rest_api(api_id)
    resource = api.get_resource_for_path("/")
    so_far = ""
    for part in [p for p in path.split("/") if p]:
        so_far += "/" + part
        found = api.get_resource_for_path(so_far)
        resource = found if found is not None else backend.create_resource(api_id, resource.id, part)
    return resource


class StageResource(_shared.AddedResource):
    """AWS::ApiGateway::Stage for moto's CloudFormation, which lacks it: SAM puts each API's
    stage (`Prod` by default) in one
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-stage.html)."""

    def __init__(self, api_id: str, stage_name: str):
        self.api_id = api_id
        self.physical_resource_id = stage_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> StageResource:
        props = cloudformation_json["Properties"]
        api_id, name = str(props["RestApiId"]), str(props.get("StageName") or resource_name)
        moto_state.apigateway_backend(account_id, region_name).create_stage(
            api_id, name, str(props.get("DeploymentId", "")), variables=props.get("Variables"),
            description=props.get("Description", ""), tracing_enabled=props.get("TracingEnabled"))
        return cls(api_id, name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json["Properties"]
        cls(str(props["RestApiId"]), str(props.get("StageName") or resource_name)).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        api = moto_state.apigateway_backend(account_id, region).apis.get(self.api_id)
        if api is not None:
            api.stages.pop(self.physical_resource_id, None)


def deferred_patches() -> list[Patch]:
    """The patches of API Gateway's models, applied with moto's CloudFormation's."""
    from moto.apigateway.models import RestAPI

    return [
        Patch(RestAPI, "create_from_cloudformation_json", classmethod(_rest_api_from_cloudformation),
              ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
              "AWS::ApiGateway::RestApi from an OpenAPI Body (SAM's APIs)"),
    ]
