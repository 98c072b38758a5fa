"""API Gateway: REST APIs and HTTP APIs defined by an OpenAPI body, as SAM writes them.

moto's `AWS::ApiGateway::RestApi` requires `Name` and ignores `Body`, and its import API takes
OpenAPI 3 only; SAM writes every REST API (the implicit `ServerlessRestApi` of `Events: Api`, an
`AWS::Serverless::Api` with or without `DefinitionBody`) as a Swagger 2.0 `Body` and no `Name`.
The replacement creates the API as CloudFormation does (the name from `Name`, else the
definition's `info.title`) and imports the definition's paths, methods,
`x-amazon-apigateway-integration`s and Lambda authorizers (`securityDefinitions` /
`components.securitySchemes` with `x-amazon-apigateway-authorizer`, an operation's
`security`; SAM's `Auth` writes them there) into moto's model, where the simulator's front door
(`lambdasim.apigateway`) reads them.

moto's CloudFormation has no ApiGatewayV2 resource at all: SAM's HTTP APIs (`Events: HttpApi`,
`AWS::Serverless::HttpApi`), an `AWS::ApiGatewayV2::Api` with an OpenAPI 3 `Body` and an
`AWS::ApiGatewayV2::Stage` (`$default` unless `StageName` says otherwise), are added here and
imported into moto's ApiGatewayV2 model (routes, integrations with their payload format
version, Lambda authorizers); moto's own import API reads neither `$default` nor
`x-amazon-apigateway-any-method` correctly. Applied with moto's CloudFormation (which imports
API Gateway's models), like the `cloudformation` module's parser patch.
"""

from __future__ import annotations

import json
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
    import_definition(backend, api.id, body, resource_name)
    return api


def import_definition(backend: Any, api_id: str, definition: dict[str, Any], resource_name: str = "") -> None:
    """The definition's paths as resources, its operations as methods, their
    `x-amazon-apigateway-integration`s as integrations
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html)
    and their Lambda authorizers
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authorizer.html)."""
    schemes = definition.get("securityDefinitions") or (definition.get("components") or {}).get("securitySchemes") or {}
    authorizers = {name: _rest_authorizer(backend, api_id, name, scheme, resource_name)
                   for name, scheme in schemes.items() if isinstance(scheme, dict)
                   and isinstance(scheme.get("x-amazon-apigateway-authorizer"), dict)}
    validators = {name: backend.create_request_validator(api_id, name, bool(spec.get("validateRequestBody")),
                                                         bool(spec.get("validateRequestParameters"))).id
                  for name, spec in (definition.get("x-amazon-apigateway-request-validators") or {}).items()
                  if isinstance(spec, dict)}
    schemas = definition.get("definitions") or (definition.get("components") or {}).get("schemas") or {}
    for name, schema in schemas.items():
        backend.create_model(api_id, name, "application/json", "", json.dumps(schema))
    paths = definition.get("paths") or {}
    for path in sorted(paths):
        resource = _resource_for(backend, api_id, path)
        for key, operation in (paths[path] or {}).items():
            method = METHODS.get(key.lower())
            if method is None or not isinstance(operation, dict):
                continue  # "parameters", "summary" and other vendor extensions
            authorizer = _authorizer_of(operation, definition, authorizers)
            authorization = "CUSTOM" if authorizer else "AWS_IAM" if _signed_with_iam(operation, definition, schemes) \
                else "NONE"
            validator = operation.get("x-amazon-apigateway-request-validator",
                                      definition.get("x-amazon-apigateway-request-validator"))
            parameters = [p for p in ((paths[path] or {}).get("parameters") or []) + (operation.get("parameters") or [])
                          if isinstance(p, dict)]
            backend.put_method(api_id, resource.id, method, authorization_type=authorization,
                               authorizer_id=authorizer.id if authorizer else None,
                               request_parameters={f"method.request.{_LOCATIONS[p['in']]}.{p['name']}": bool(
                                   p.get("required")) for p in parameters if p.get("in") in _LOCATIONS},
                               request_models=_request_models(backend, api_id, f"{method}{path}", operation, parameters),
                               request_validator_id=validators.get(validator))
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
                # non-proxy integrations: the responses, keyed by selection pattern ("default")
                for pattern, response in (integration.get("responses") or {}).items():
                    backend.put_integration_response(
                        api_id, resource.id, method, str(response.get("statusCode", "200")),
                        None if pattern == "default" else pattern, response.get("responseTemplates") or {},
                        response.get("responseParameters") or {})


# An OpenAPI parameter's `in` as a method request parameter's location.
_LOCATIONS = {"path": "path", "query": "querystring", "header": "header"}


def _request_models(backend: Any, api_id: str, operation_name: str, operation: dict[str, Any],
                    parameters: list[dict[str, Any]]) -> dict[str, str]:
    """The method's request models by content type: Swagger 2.0's `in: body` parameter, OpenAPI
    3's `requestBody` (a `$ref` names a model of the definition; an inline schema becomes a model
    of its own)
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-validation-set-up.html)."""
    def model_of(schema: Any) -> str | None:
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            return str(schema["$ref"]).rsplit("/", 1)[-1]
        name = "".join(ch for ch in operation_name.title() if ch.isalnum()) + "Body"
        backend.create_model(api_id, name, "application/json", "", json.dumps(schema))
        return name

    found = {}
    for parameter in parameters:
        if parameter.get("in") == "body" and (model := model_of(parameter.get("schema"))):
            found["application/json"] = model
    for content_type, media in ((operation.get("requestBody") or {}).get("content") or {}).items():
        if isinstance(media, dict) and (model := model_of(media.get("schema"))):
            found[content_type] = model
    return found


def _rest_authorizer(backend: Any, api_id: str, name: str, scheme: dict[str, Any], resource_name: str) -> Any:
    """A REST API's Lambda authorizer from its security scheme. A TOKEN authorizer without an
    `identitySource` reads the header the scheme names (`in: header`, `name`)."""
    spec = scheme["x-amazon-apigateway-authorizer"]
    kind = str(spec.get("type", "")).upper()
    if kind not in ("TOKEN", "REQUEST"):
        raise ValueError(f"{resource_name}: authorizer {name!r} has type {spec.get('type')!r}; the simulator runs "
                         "Lambda authorizers (token, request) only")
    source = spec.get("identitySource")
    if source is None and kind == "TOKEN":
        source = f"method.request.header.{scheme.get('name', 'Authorization')}"
    authorizer = backend.create_authorizer(
        api_id, name, kind, authorizer_uri=spec.get("authorizerUri"), identity_source=source,
        authorizer_result_ttl=spec.get("authorizerResultTtlInSeconds"))
    # moto's create_authorizer passes the validation expression under a misspelt name and drops it
    authorizer.identity_validation_expression = spec.get("identityValidationExpression")
    return authorizer


def _authorizer_of(operation: dict[str, Any], definition: dict[str, Any], authorizers: dict[str, Any]) -> Any:
    """The Lambda authorizer an operation's `security` (else the definition's) names, if any."""
    security = operation.get("security", definition.get("security")) or []
    for requirement in security:
        for name in requirement if isinstance(requirement, dict) else ():
            if name in authorizers:
                return authorizers[name]
    return None


def _signed_with_iam(operation: dict[str, Any], definition: dict[str, Any], schemes: dict[str, Any]) -> bool:
    """Whether the operation's `security` (else the definition's) names a scheme of type
    `awsSigv4`: IAM authorization (SAM's `Auth: DefaultAuthorizer: AWS_IAM` writes it;
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authtype.html)."""
    security = operation.get("security", definition.get("security")) or []
    return any(str((schemes.get(name) or {}).get("x-amazon-apigateway-authtype", "")).lower() == "awssigv4"
               for requirement in security if isinstance(requirement, dict) for name in requirement)


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


#: A stage's throttling properties in CloudFormation and in the API (MethodSettings of
#: AWS::ApiGateway::Stage, DefaultRouteSettings and RouteSettings of AWS::ApiGatewayV2::Stage).
_THROTTLING_PROPERTIES = {"ThrottlingRateLimit": "throttlingRateLimit", "ThrottlingBurstLimit": "throttlingBurstLimit"}


def _route_throttling(settings: Any) -> dict[str, Any]:
    return {api_key: settings[cfn_key] for cfn_key, api_key in _THROTTLING_PROPERTIES.items()
            if isinstance(settings, dict) and settings.get(cfn_key) is not None}


class _StageOf(_shared.AddedResource):
    """A stage of an API (REST or HTTP), named by its API's id in the `API_ID` property and its
    `StageName` (the resource's logical id without one); removed from its API's stages."""

    API_ID = ""

    def __init__(self, api_id: str, stage_name: str):
        self.api_id = api_id
        self.physical_resource_id = stage_name

    @classmethod
    def _named(cls, resource_name: str, props: dict[str, Any]) -> tuple[str, str]:
        return str(props[cls.API_ID]), str(props.get("StageName") or resource_name)

    @staticmethod
    def _apis(account_id: str, region: str) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cls(*cls._named(resource_name, cloudformation_json["Properties"])).delete(account_id, region_name)

    def delete(self, account_id: str, region: str) -> None:
        api = self._apis(account_id, region).get(self.api_id)
        if api is not None:
            api.stages.pop(self.physical_resource_id, None)


class StageResource(_StageOf):
    """AWS::ApiGateway::Stage for moto's CloudFormation, which lacks it: SAM puts each API's
    stage (`Prod` by default) in one
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-stage.html)."""

    API_ID = "RestApiId"

    @staticmethod
    def _apis(account_id: str, region: str) -> dict[str, Any]:
        return moto_state.apigateway_backend(account_id, region).apis

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> StageResource:
        props = cloudformation_json["Properties"]
        api_id, name = cls._named(resource_name, props)
        stage = moto_state.apigateway_backend(account_id, region_name).create_stage(
            api_id, name, str(props.get("DeploymentId", "")), variables=props.get("Variables"),
            description=props.get("Description", ""), tracing_enabled=props.get("TracingEnabled"))
        # MethodSettings' throttling, under the API's `{path}/{method}` keys (`*/*`, `~1orders/GET`):
        # "/*" and "*" are every resource and method; the root "/" is `~1`.
        for setting in props.get("MethodSettings") or []:
            throttling = {api_key: setting[cfn_key] for cfn_key, api_key in _THROTTLING_PROPERTIES.items()
                          if setting.get(cfn_key) is not None}
            if throttling:
                path = str(setting.get("ResourcePath", "/*"))
                key = f"{path[1:] or '~1'}/{setting.get('HttpMethod', '*')}"
                stage.method_settings.setdefault(key, {}).update(throttling)
        return cls(api_id, name)


class HttpApiResource(_shared.AddedResource):
    """AWS::ApiGatewayV2::Api for moto's CloudFormation, which lacks it; SAM writes an HTTP API
    as one with an OpenAPI 3 `Body`
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-api.html).
    Without a `Body`, `Name` and `ProtocolType` make an API whose routes, integrations and
    authorizers are resources of their own; `Target` quick-creates a Lambda proxy integration,
    the `$default` route and the `$default` stage. `Ref` is the API's id; `Fn::GetAtt` gives
    `ApiId` and `ApiEndpoint`."""

    def __init__(self, api_id: str, endpoint: str):
        self.physical_resource_id = api_id
        self.endpoint = endpoint

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    CFN_ATTRIBUTES = ("ApiId", "ApiEndpoint")

    def cfn_attributes(self) -> dict[str, str]:
        return {"ApiId": self.physical_resource_id, "ApiEndpoint": self.endpoint}

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> HttpApiResource:
        props = cloudformation_json["Properties"]
        if "BodyS3Location" in props:
            raise ValueError(f"{resource_name}: the simulator reads an HTTP API's OpenAPI definition from `Body`, "
                             "not from BodyS3Location (SAM's DefinitionUri): inline it as DefinitionBody")
        body = props.get("Body") if isinstance(props.get("Body"), dict) else {}
        info = body.get("info") if isinstance(body.get("info"), dict) else {}
        api = moto_state.apigatewayv2_backend(account_id, region_name).create_api(
            api_key_selection_expression=None, cors_configuration=props.get("CorsConfiguration"),
            description=props.get("Description") or info.get("description"), disable_schema_validation=None,
            disable_execute_api_endpoint=props.get("DisableExecuteApiEndpoint"),
            name=props.get("Name") or info.get("title") or resource_name,
            protocol_type=props.get("ProtocolType", "HTTP"), route_selection_expression=None,
            tags=props.get("Tags") or {}, version=info.get("version"))
        import_http_api_definition(api, body, resource_name)
        cors = body.get("x-amazon-apigateway-cors") or props.get("CorsConfiguration")
        # one spelling for both sources: the OpenAPI extension's allowOrigins, CloudFormation's AllowOrigins
        api.cors_configuration = ({key[:1].lower() + key[1:]: value for key, value in cors.items()}
                                  if isinstance(cors, dict) else None)
        if props.get("Target"):
            _quick_create(api, str(props["Target"]))
        return cls(api.api_id, api.api_endpoint)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None  # the API's id is not known from the template; `delete` has it

    def delete(self, account_id: str, region: str) -> None:
        moto_state.apigatewayv2_backend(account_id, region).delete_api(self.physical_resource_id)


def _quick_create(api: Any, target: str) -> None:
    """Quick create: "an API with an integration, a default catch-all route, and a default stage
    which is configured to automatically deploy changes"; a Lambda target gets a proxy
    integration of payload format 2.0
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-api.html)."""
    uri = target
    if ":lambda:" in target and ":function:" in target:
        region = target.split(":")[3]
        uri = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{target}/invocations"
    integration = api.create_integration(connection_type="INTERNET", description="", integration_method="POST",
                                         integration_type="AWS_PROXY", integration_uri=uri,
                                         payload_format_version="2.0")
    api.create_route(api_key_required=False, authorization_scopes=[], route_key="$default",
                     target=f"integrations/{integration.id}", authorization_type="NONE")
    api.create_stage({"stageName": "$default", "autoDeploy": True})


def import_http_api_definition(api: Any, definition: dict[str, Any], resource_name: str) -> None:
    """An HTTP API's OpenAPI 3 definition as routes (`GET /pets/{id}`, `ANY /{proxy+}`, the
    `$default` path as the `$default` route), their integrations and Lambda authorizers
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-open-api.html,
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html:
    `payloadFormatVersion` is required for HTTP APIs)."""
    schemes = (definition.get("components") or {}).get("securitySchemes") or {}
    authorizers = {name: _http_api_authorizer(api, name, scheme, resource_name)
                   for name, scheme in schemes.items() if isinstance(scheme, dict)
                   and isinstance(scheme.get("x-amazon-apigateway-authorizer"), dict)}
    for path, item in (definition.get("paths") or {}).items():
        for key, operation in (item or {}).items():
            method = METHODS.get(key.lower())
            if method is None or not isinstance(operation, dict):
                continue
            route_key = "$default" if path == "$default" else f"{method} {path}"
            spec = operation.get("x-amazon-apigateway-integration")
            target = ""
            if isinstance(spec, dict):
                if "payloadFormatVersion" not in spec and str(spec.get("type", "")).lower() == "aws_proxy":
                    raise ValueError(f"{resource_name}: route {route_key!r} has a Lambda integration without "
                                     "payloadFormatVersion (1.0 or 2.0), which HTTP APIs require")
                integration = api.create_integration(
                    connection_type="INTERNET", description="", integration_method=spec.get("httpMethod"),
                    integration_type=str(spec.get("type", "")).upper(), integration_uri=spec.get("uri", ""),
                    payload_format_version=str(spec.get("payloadFormatVersion", "")) or None,
                    timeout_in_millis=spec.get("timeoutInMillis"), request_parameters=spec.get("requestParameters"))
                target = f"integrations/{integration.id}"
            authorizer = _authorizer_of(operation, definition, authorizers)
            api.create_route(api_key_required=False, authorization_scopes=[], route_key=route_key, target=target,
                             authorization_type="CUSTOM" if authorizer else "NONE",
                             authorizer_id=authorizer.id if authorizer else None)


def _http_api_authorizer(api: Any, name: str, scheme: dict[str, Any], resource_name: str) -> Any:
    """An HTTP API's Lambda authorizer from its security scheme
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html)."""
    spec = scheme["x-amazon-apigateway-authorizer"]
    if str(spec.get("type", "")).lower() != "request":
        raise ValueError(f"{resource_name}: authorizer {name!r} has type {spec.get('type')!r}; the simulator runs "
                         "Lambda (request) authorizers of HTTP APIs only, not JWT")
    sources = spec.get("identitySource") or []
    if isinstance(sources, str):
        sources = [s.strip() for s in sources.split(",") if s.strip()]
    return api.create_authorizer(
        auth_creds_arn=None, auth_payload_format_version=str(spec.get("authorizerPayloadFormatVersion", "2.0")),
        auth_result_ttl=spec.get("authorizerResultTtlInSeconds"), authorizer_type="REQUEST",
        authorizer_uri=spec.get("authorizerUri"), enable_simple_response=bool(spec.get("enableSimpleResponses")),
        identity_source=list(sources), identity_validation_expr=None, jwt_config=None, name=name)


class HttpApiStageResource(_StageOf):
    """AWS::ApiGatewayV2::Stage for moto's CloudFormation, which lacks it: SAM puts an HTTP API's
    stage (`$default`, or `StageName`) and its `StageVariables` in one
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-stage.html)."""

    API_ID = "ApiId"

    @staticmethod
    def _apis(account_id: str, region: str) -> dict[str, Any]:
        return moto_state.apigatewayv2_backend(account_id, region).apis

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> HttpApiStageResource:
        props = cloudformation_json["Properties"]
        api_id, name = cls._named(resource_name, props)
        config = {"stageName": name, "stageVariables": props.get("StageVariables") or {},
                  "autoDeploy": props.get("AutoDeploy"), "description": props.get("Description"),
                  "tags": props.get("Tags") or {},
                  "routeSettings": {str(route): _route_throttling(settings)
                                    for route, settings in (props.get("RouteSettings") or {}).items()}}
        if _route_throttling(props.get("DefaultRouteSettings")):
            config["defaultRouteSettings"] = _route_throttling(props.get("DefaultRouteSettings"))
        moto_state.apigatewayv2_backend(account_id, region_name).create_stage(api_id, config)
        return cls(api_id, name)


class _HttpApiPart(_shared.AddedResource):
    """A part of an HTTP API declared as a resource of its own (hand-written templates, the
    CDK): `ApiId` names the API, `Ref` is the part's id."""

    def __init__(self, api_id: str, part_id: str):
        self.api_id = api_id
        self.physical_resource_id = part_id

    @classmethod
    def _api(cls, resource_name: str, props: dict[str, Any], account_id: str, region: str) -> Any:
        api = moto_state.apigatewayv2_backend(account_id, region).apis.get(str(props.get("ApiId")))
        if api is None:
            raise ValueError(f"{resource_name}: ApiId {props.get('ApiId')!r} names no HTTP API")
        return api

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None  # the part's id is not known from the template; `delete` has it


class HttpApiIntegrationResource(_HttpApiPart):
    """AWS::ApiGatewayV2::Integration
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-integration.html)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Integration"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> HttpApiIntegrationResource:
        props = cloudformation_json["Properties"]
        api = cls._api(resource_name, props, account_id, region_name)
        integration = api.create_integration(
            connection_type=props.get("ConnectionType", "INTERNET"), description=props.get("Description", ""),
            integration_method=props.get("IntegrationMethod"), integration_type=str(props["IntegrationType"]).upper(),
            integration_uri=props.get("IntegrationUri", ""), payload_format_version=props.get("PayloadFormatVersion"),
            timeout_in_millis=props.get("TimeoutInMillis"), request_parameters=props.get("RequestParameters"))
        return cls(api.api_id, integration.id)

    def delete(self, account_id: str, region: str) -> None:
        api = moto_state.apigatewayv2_backend(account_id, region).apis.get(self.api_id)
        if api is not None:
            api.delete_integration(self.physical_resource_id)


class HttpApiRouteResource(_HttpApiPart):
    """AWS::ApiGatewayV2::Route
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-route.html):
    `Target` is `integrations/{integration id}`; `AuthorizationType` CUSTOM with `AuthorizerId`
    puts a Lambda authorizer in front."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Route"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> HttpApiRouteResource:
        props = cloudformation_json["Properties"]
        api = cls._api(resource_name, props, account_id, region_name)
        route = api.create_route(
            api_key_required=bool(props.get("ApiKeyRequired", False)),
            authorization_scopes=list(props.get("AuthorizationScopes") or []), route_key=str(props["RouteKey"]),
            target=str(props.get("Target", "")), authorization_type=props.get("AuthorizationType", "NONE"),
            authorizer_id=props.get("AuthorizerId"))
        return cls(api.api_id, route.route_id)

    def delete(self, account_id: str, region: str) -> None:
        api = moto_state.apigatewayv2_backend(account_id, region).apis.get(self.api_id)
        if api is not None:
            api.delete_route(self.physical_resource_id)


class HttpApiAuthorizerResource(_HttpApiPart):
    """AWS::ApiGatewayV2::Authorizer
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-authorizer.html)."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Authorizer"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> HttpApiAuthorizerResource:
        props = cloudformation_json["Properties"]
        api = cls._api(resource_name, props, account_id, region_name)
        if str(props.get("AuthorizerType", "")).upper() != "REQUEST":
            raise ValueError(f"{resource_name}: AuthorizerType {props.get('AuthorizerType')!r}; the simulator runs "
                             "Lambda (REQUEST) authorizers of HTTP APIs only, not JWT")
        authorizer = api.create_authorizer(
            auth_creds_arn=props.get("AuthorizerCredentialsArn"),
            auth_payload_format_version=props.get("AuthorizerPayloadFormatVersion"),
            auth_result_ttl=props.get("AuthorizerResultTtlInSeconds"),
            authorizer_type=str(props["AuthorizerType"]).upper(), authorizer_uri=props.get("AuthorizerUri"),
            enable_simple_response=bool(props.get("EnableSimpleResponses", False)),
            identity_source=list(props.get("IdentitySource") or []),
            identity_validation_expr=props.get("IdentityValidationExpression"),
            jwt_config=props.get("JwtConfiguration"), name=str(props.get("Name") or resource_name))
        return cls(api.api_id, authorizer.id)

    def delete(self, account_id: str, region: str) -> None:
        api = moto_state.apigatewayv2_backend(account_id, region).apis.get(self.api_id)
        if api is not None:
            api.delete_authorizer(self.physical_resource_id)


#: The resource types this module adds to moto's CloudFormation (`cloudformation` registers them).
ADDED_RESOURCES = (StageResource, HttpApiResource, HttpApiStageResource, HttpApiIntegrationResource,
                   HttpApiRouteResource, HttpApiAuthorizerResource)


def deferred_patches() -> list[Patch]:
    """The patches of API Gateway's models, applied with moto's CloudFormation's."""
    from moto.apigateway.models import RestAPI

    return [
        Patch(RestAPI, "create_from_cloudformation_json", classmethod(_rest_api_from_cloudformation),
              ("cls", "resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
              "AWS::ApiGateway::RestApi from an OpenAPI Body (SAM's APIs)"),
    ]
