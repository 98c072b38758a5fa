"""moto's state as the simulator reads it: the one layer between the simulator's parts and
moto's models.

The players (pollers, the async queue, EventBridge targets, redrive, the facade) read functions,
settings, queues and stream positions here, never through the adapter that patches moto
(`_moto_patches`); the adapter keeps what moto does not (event invoke configs per qualifier,
DLQ targets, where a dead-lettered message came from, a stream mapping's start) on moto's own
objects under the attribute names below, and this module reads them back. Two things here are
not reads: `move_message` (a redrive moves a message between queues, as AWS does) and the
listeners through which moto's changes reach the pollers (`set_poller_listeners`,
`set_stream_listener`; the adapter calls `mappings_changed`, `message_added`,
`records_added`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .functions import FunctionConfig
from .rules.deployments import alias_weights, pick_version
from .rules.tenancy import isolates_tenants

if TYPE_CHECKING:
    from .rules.async_invoke import AsyncSettings

# What the adapter keeps on moto's objects.
EIC_ATTR = "_lambdasim_event_invoke_configs"  # on the $LATEST LambdaFunction: {qualifier: config}
DLQ_ATTR = "_lambdasim_dead_letter_target"  # on each LambdaFunction: the DLQ's ARN or None
TENANCY_ATTR = "_lambdasim_tenancy_config"  # on each LambdaFunction: its TenancyConfig or None
RECURSION_ATTR = "_lambdasim_recursive_loop"  # on the $LATEST LambdaFunction: "Allow" or "Terminate"
LOGGING_ATTR = "_lambdasim_logging_config"  # on each LambdaFunction: its LoggingConfig or None
DLQ_SOURCES_ATTR = "_lambdasim_dlq_sources"  # on a queue: {message id: ARN of the queue it was dead-lettered from}
STREAM_START_ATTR = "_lambdasim_stream_start"  # on a stream EventSourceMapping
# On a queue: {metric: count so far} of the actions AWS/SQS counts (NumberOfMessagesSent...).
SQS_ACTIVITY_ATTR = "_lambdasim_sqs_activity"
# On a queue: {message id: (ms it was dead-lettered into the queue, its receive count then)}.
DLQ_MOVED_ATTR = "_lambdasim_dlq_moved"
# On a DynamoDB table: its stream's closed shards, oldest first (a shard rollover closes one).
CLOSED_SHARDS_ATTR = "_lambdasim_closed_shards"
SHARD_PARENT_ATTR = "_lambdasim_parent_shard"  # on a StreamShard: its parent's id, if it has one
SHARD_ENDING_ATTR = "_lambdasim_ending_sequence"  # on a closed StreamShard: its last sequence number


# ---------------------------------------------------------------------------------------------
# Lambda: functions, their asynchronous settings and reserved concurrency
# ---------------------------------------------------------------------------------------------


def lambda_backend(account_id: str, region: str) -> Any:
    # The backend moto's own API handlers use (the Docker one, or the "simple" one when the
    # mock was started with use_docker=False).
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region)


def function_config(fn: Any) -> FunctionConfig:
    """A `FunctionConfig` snapshot of a moto `LambdaFunction` (one version)."""
    from moto.awslambda.utils import make_function_arn

    logging: dict[str, Any] = fn.__dict__.get(LOGGING_ATTR) or {}
    log_format = "JSON" if str(logging.get("LogFormat", "")).upper() == "JSON" else "Text"
    return FunctionConfig(
        name=fn.function_name,
        arn=make_function_arn(fn.region, fn.account_id, fn.function_name),
        version=str(fn.version),
        runtime=fn.run_time,
        handler=fn.handler,
        memory_mb=int(fn.memory_size),
        timeout_s=int(fn.timeout),
        environment=dict(fn.environment_vars or {}),
        log_group=logging.get("LogGroup") or fn.logs_group_name,
        architectures=tuple(fn.architectures),
        package_type=fn.package_type or "Zip",
        code_sha256=fn.code_sha_256,
        code_size=int(fn.code_size or 0),
        last_modified=str(fn.last_modified),
        region=fn.region,
        account_id=fn.account_id,
        vpc=bool((getattr(fn, "_vpc_config", None) or {}).get("SubnetIds")),
        tenant_isolation=isolates_tenants(fn.__dict__.get(TENANCY_ATTR)),
        log_format=log_format,
        # API_LoggingConfig.html: both levels apply to the JSON format only, INFO by default.
        application_log_level=(logging.get("ApplicationLogLevel") or "INFO") if log_format == "JSON" else None,
        system_log_level=(logging.get("SystemLogLevel") or "INFO") if log_format == "JSON" else None,
        tracing_mode=str((getattr(fn, "tracing_config", None) or {}).get("Mode") or "PassThrough"),
    )


def qualifier_in(name_or_arn: str) -> str | None:
    # "fn:alias", "123456789012:function:fn:alias", "arn:aws:lambda:r:a:function:fn:alias"
    tail = name_or_arn.split(":function:")[-1] if ":function:" in name_or_arn else name_or_arn
    return tail.split(":", 1)[1] if ":" in tail else None


def resolve_function(
    account_id: str, region: str, name_or_arn: str, qualifier: str | None
) -> tuple[FunctionConfig, str]:
    """The function version an Invoke call names, and the ARN the caller used.

    Raises moto's ResourceNotFoundException (HTTP 404) for an unknown function, version or
    alias. The second value is `context.invoked_function_arn`: qualified if the caller gave a
    version or alias (https://docs.aws.amazon.com/lambda/latest/dg/python-context.html).
    """
    backend = lambda_backend(account_id, region)
    fn = backend.get_function(name_or_arn, qualifier)
    used = qualifier_in(name_or_arn) or qualifier
    if used and used != "$LATEST" and not used.isdigit() and _alias_draw is not None:
        alias = backend.get_alias(used, fn.function_name)
        weights = alias_weights(alias.routing_config)
        if weights:  # a weighted alias: the version is drawn per invocation (rules/deployments.py)
            version = pick_version(str(alias.function_version), weights, _alias_draw())
            fn = backend.get_function(fn.function_name, version)
    config = function_config(fn)
    return config, f"{config.arn}:{used}" if used else config.arn


# The seeded draw that routes an invocation through a weighted alias; the facade sets it.
_alias_draw: Callable[[], float] | None = None


def set_alias_draw(draw: Callable[[], float] | None) -> None:
    """The generator of uniform draws in [0, 1) weighted aliases route with (None: the alias's
    own version, always)."""
    global _alias_draw
    _alias_draw = draw


def function_versions(account_id: str, region: str, function_name: str) -> list[str]:
    """The published versions of a function, oldest first."""
    return [str(fn.version) for fn in lambda_backend(account_id, region).list_versions_by_function(function_name)
            if str(fn.version) != "$LATEST"]


def async_settings(account_id: str, region: str, function_name: str, invoked_arn: str) -> AsyncSettings:
    """What governs an asynchronous event: the event invoke config of the qualifier it was
    invoked with (none: the defaults) and the function's DLQ, which is a function-level setting
    (invocation-async-retain-records.html: versions use $LATEST's)."""
    from moto.awslambda.exceptions import LambdaClientError

    from .rules.async_invoke import AsyncSettings

    try:
        latest = lambda_backend(account_id, region).get_function(function_name)
    except LambdaClientError:  # deleted meanwhile
        return AsyncSettings()
    config = latest.__dict__.get(EIC_ATTR, {}).get(qualifier_in(invoked_arn) or "$LATEST")
    target = latest.__dict__.get(DLQ_ATTR)
    return AsyncSettings.from_api(config, {"TargetArn": target} if target else None)


def recursive_loop(account_id: str, region: str, function_name: str) -> str:
    """A function's recursive loop detection setting (PutFunctionRecursionConfig, or RecursiveLoop
    at creation): "Terminate" unless set to "Allow" (rules/recursion.py)."""
    from moto.awslambda.exceptions import LambdaClientError

    from .rules.recursion import DEFAULT_RECURSIVE_LOOP

    try:
        latest = lambda_backend(account_id, region).get_function(function_name)
    except LambdaClientError:
        return DEFAULT_RECURSIVE_LOOP
    return str(latest.__dict__.get(RECURSION_ATTR) or DEFAULT_RECURSIVE_LOOP)


def function_reserved_concurrency(account_id: str, region: str, function_name: str) -> int | None:
    """One function's reserved concurrency (PutFunctionConcurrency), or None."""
    from moto.awslambda.exceptions import LambdaClientError

    try:
        value = lambda_backend(account_id, region).get_function(function_name).reserved_concurrency
    except LambdaClientError:
        return None
    return None if value is None else int(value)


def reserved_concurrency(account_id: str, region: str) -> dict[str, int]:
    """Reserved concurrency per function of an account and Region, as moto stores it
    (put_function_concurrency, or ReservedConcurrentExecutions at creation). Functions without
    a reservation are absent; 0 is a reservation (it throttles everything)."""
    out: dict[str, int] = {}
    for fn in lambda_backend(account_id, region).list_functions():
        value = getattr(fn, "reserved_concurrency", None)
        if value is not None and value != "":
            out[fn.function_name] = int(value)
    return out


# ---------------------------------------------------------------------------------------------
# SQS: the clock as moto reads it, exact queue counters, dead-letter queues, moving messages
# ---------------------------------------------------------------------------------------------


def now_ms() -> float:
    from moto.core.utils import unix_time_millis

    return unix_time_millis()


_INF = float("inf")


def queue_counts(queue: Any) -> tuple[int, int, int]:
    """(visible and not delayed, delayed, not visible), exactly as moto's properties define them.

    The counts are a function of the messages' `visible_at`/`delayed_until` and of the time.
    A cache computed at time t0 stays exact for any time in [t0, valid_until), where
    valid_until is the first moment any message changes class; appending a message updates it
    in place (`_added`); every other change to the queue drops it (`forget_queue_counts`).
    """
    now = now_ms()
    cache = queue.__dict__.get("_lambdasim_counts")
    if cache is not None and cache[0] <= now < cache[1]:
        return cache[2], cache[3], cache[4]
    visible = delayed = not_visible = 0
    valid_until = _INF
    for m in queue._messages:
        vis_at, delayed_until = m.visible_at, m.delayed_until
        is_delayed = now < delayed_until
        is_visible = now > vis_at
        if is_delayed:
            delayed += 1
            valid_until = min(valid_until, delayed_until)
        if not is_visible:
            not_visible += 1
            valid_until = min(valid_until, vis_at)
        if is_visible and not is_delayed:
            visible += 1
    queue.__dict__["_lambdasim_counts"] = [now, valid_until, visible, delayed, not_visible]
    return visible, delayed, not_visible


def forget_queue_counts(queue: Any) -> None:
    if queue is not None:
        queue.__dict__.pop("_lambdasim_counts", None)


def visible_messages(queue: Any) -> list[Any]:
    """moto's `Queue.messages`, reading the clock once per scan (the adapter's replacement of it)."""
    now = now_ms()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


def queue_next_change_ms(account_id: str, region: str, queue_name: str) -> float | None:
    """When the queue's next hidden or delayed message becomes visible (ms), or None.

    What a long poll waits for: the poller sleeps until then instead of polling every second.
    """
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account_id][region].queues.get(queue_name)
    if queue is None:
        return None
    queue_counts(queue)
    until = queue.__dict__["_lambdasim_counts"][1]
    return None if until == _INF else float(until)


def queue_by_arn(arn: Any) -> Any:
    """moto's Queue for an SQS queue ARN, or None."""
    from moto.sqs.models import sqs_backends

    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 6 or parts[2] != "sqs":
        return None
    return sqs_backends[parts[4]][parts[3]].queues.get(parts[5])


def is_dead_letter_queue(queue: Any) -> bool:
    """True if the redrive policy of some queue targets `queue` (ListDeadLetterSourceQueues)."""
    from moto.sqs.models import sqs_backends

    return bool(sqs_backends[queue.account_id][queue.region].list_dead_letter_source_queues(queue.name))


def dead_letter_source(queue: Any, message: Any) -> str | None:
    """The ARN of the queue whose redrive policy moved `message` into `queue` (None: it was sent
    there directly). ReceiveMessage answers it as the DeadLetterQueueSourceArn attribute."""
    sources: dict[str, str] = queue.__dict__.get(DLQ_SOURCES_ATTR, {})
    return sources.get(message.id)


def count_sqs_activity(queue: Any, metric: str, n: int = 1) -> None:
    """Count `n` of an action AWS/SQS publishes as a metric (the adapter calls it)."""
    activity = queue.__dict__.setdefault(SQS_ACTIVITY_ATTR, {})
    activity[metric] = activity.get(metric, 0) + n


def sqs_activity(queue: Any) -> dict[str, int]:
    """The queue's counted actions so far, by AWS/SQS metric name (a live view: copy to keep)."""
    activity: dict[str, int] = queue.__dict__.get(SQS_ACTIVITY_ATTR, {})
    return activity


def sqs_queues(account_id: str, region: str) -> list[Any]:
    """moto's queues of one account and Region."""
    from moto.sqs.models import sqs_backends

    return list(sqs_backends[account_id][region].queues.values())


def queue_messages_for_age(queue: Any) -> list[tuple[float, int]]:
    """(ms the message entered the queue, receives since then) of every message the queue holds:
    a dead-lettered message counts from its move, as ApproximateAgeOfOldestMessage does."""
    moved: dict[str, tuple[float, int]] = queue.__dict__.get(DLQ_MOVED_ATTR, {})
    found = []
    for m in queue._messages:
        entered = moved.get(m.id)
        if entered is None:
            found.append((float(m.sent_timestamp), m.approximate_receive_count))
        else:
            found.append((entered[0], m.approximate_receive_count - entered[1]))
    return found


def movable_messages(queue: Any) -> list[Any]:
    """The queue's visible messages, oldest first: what a move task started now would move."""
    return visible_messages(queue)


def move_message(queue: Any, message: Any, destination: Any) -> str | None:
    """Send `message` to `destination` as a new message (new id, sent now, never received; body
    and attributes unchanged) and delete it from `queue`: the new message's id, or None if the
    message is no longer there to move (deleted, or received meanwhile and in flight)."""
    import copy

    from moto.sqs.models import sqs_backends

    if not any(m is message for m in queue._messages) or not message.visible or message.delayed:
        return None
    fifo = bool(destination.fifo_queue)
    new = sqs_backends[destination.account_id][destination.region].send_message(
        destination.name,
        message.body,
        message_attributes=copy.deepcopy(message.message_attributes) or None,
        deduplication_id=message.deduplication_id if fifo else None,
        group_id=message.group_id if fifo else None,
        system_attributes=copy.deepcopy(message.system_attributes) or None,
    )
    queue._messages[:] = [m for m in queue._messages if m is not message]
    queue.pending_messages.discard(message)
    queue.__dict__.get(DLQ_SOURCES_ATTR, {}).pop(message.id, None)
    forget_queue_counts(queue)
    return str(new.id)


# ---------------------------------------------------------------------------------------------
# Streams: where a mapping starts reading
# ---------------------------------------------------------------------------------------------


def stream_mapping_start(uuid: str) -> dict[str, Any]:
    """What the adapter kept at the mapping's creation for a mapping ({} if nothing)."""
    from moto.awslambda.models import lambda_backends

    for account in lambda_backends.values():
        for backend in account.values():
            esm = backend._event_source_mappings.get(uuid)
            if esm is not None:
                return getattr(esm, STREAM_START_ATTR, {})
    return {}


# ---------------------------------------------------------------------------------------------
# API Gateway: REST APIs and HTTP APIs, for the front door
# ---------------------------------------------------------------------------------------------


def apigateway_backend(account_id: str, region: str) -> Any:
    from moto.apigateway.models import apigateway_backends

    return apigateway_backends[account_id][region]


def apigatewayv2_backend(account_id: str, region: str) -> Any:
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[account_id][region]


@dataclass(frozen=True)
class ApiAuthorizer:
    """A Lambda authorizer of an API, as its definition configured it."""

    name: str
    type: str  # REST: TOKEN or REQUEST; HTTP APIs: REQUEST (Lambda) or JWT
    uri: str  # arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations
    identity_sources: tuple[str, ...]  # method.request.header.X / $request.header.X
    ttl_s: int | None  # authorizerResultTtlInSeconds; None: not set
    validation_expression: str | None = None  # TOKEN: identityValidationExpression
    payload_version: str = "1.0"  # HTTP APIs: authorizerPayloadFormatVersion
    simple_responses: bool = False  # HTTP APIs: enableSimpleResponses


@dataclass(frozen=True)
class ApiIntegrationResponse:
    """A REST non-proxy integration's response: chosen by its selection pattern (None: the
    default), with the method's status code and response templates."""

    selection_pattern: str | None
    status_code: int
    templates: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)  # method.response.header.X -> mapping


@dataclass(frozen=True)
class ApiTarget:
    """What a REST method or an HTTP API route leads to: its integration and authorizer."""

    integration_type: str  # AWS_PROXY, AWS, HTTP_PROXY ... ("" for none)
    uri: str
    payload_version: str | None = None  # HTTP APIs: payloadFormatVersion
    timeout_ms: int | None = None
    authorizer: ApiAuthorizer | None = None
    iam_auth: bool = False  # REST: authorizationType AWS_IAM (SigV4-signed requests only)
    request_templates: dict[str, str] = field(default_factory=dict)  # by content type
    passthrough: str = "WHEN_NO_MATCH"  # passthroughBehavior
    responses: tuple[ApiIntegrationResponse, ...] = ()
    # REST: the method's request validator and what it checks (rules.apigateway.request_problem)
    validate_body: bool = False
    validate_parameters: bool = False
    required_parameters: tuple[str, ...] = ()  # "method.request.querystring.name" ...
    models: dict[str, dict[str, Any]] = field(default_factory=dict)  # JSON schema by content type


@dataclass(frozen=True)
class HttpApi:
    """An HTTP API: its routes by route key and its stages' variables."""

    routes: dict[str, ApiTarget] = field(default_factory=dict)
    stages: dict[str, dict[str, str]] = field(default_factory=dict)
    cors: dict[str, Any] | None = None  # allowOrigins, allowMethods, allowHeaders, exposeHeaders...


def rest_api_routes(account_id: str, region: str, api_id: str) -> dict[str, dict[str, ApiTarget]] | None:
    """{resource path: {method: target}} of a REST API (a method without an integration has
    integration type ""); None if there is no such API."""
    api = apigateway_backend(account_id, region).apis.get(api_id)
    if api is None:
        return None
    routes: dict[str, dict[str, ApiTarget]] = {}
    for resource in api.resources.values():
        methods = routes.setdefault(resource.get_path(), {})
        for name, method in resource.resource_methods.items():
            integration = method.method_integration
            authorizer = api.authorizers.get(method.authorizer_id) if method.authorization_type == "CUSTOM" else None
            timeout = integration.timeout_in_millis if integration else None
            responses = tuple(
                ApiIntegrationResponse(response.selection_pattern or None, int(response.status_code),
                                       {k: v for k, v in (response.response_templates or {}).items() if v},
                                       dict(response.response_parameters or {}))
                for response in ((integration.integration_responses or {}).values() if integration else ()))
            validator = api.request_validators.get(method.request_validator_id or "")
            schemas = {model.name: json.loads(model.schema) if isinstance(model.schema, str) else model.schema
                       for model in api.models.values() if model.schema}
            methods[name] = ApiTarget(
                integration.integration_type if integration else "", integration.uri if integration else "",
                validate_body=bool(validator and validator.validate_request_body),
                validate_parameters=bool(validator and validator.validate_request_parameters),
                required_parameters=tuple(k for k, required in (method.request_parameters or {}).items() if required),
                models={content_type: schemas[model] for content_type, model in
                        (method.request_models or {}).items() if model in schemas},
                timeout_ms=int(timeout) if timeout else None,
                request_templates=dict(integration.request_templates or {}) if integration else {},
                passthrough=str((integration.passthrough_behaviour if integration else None)
                                or "WHEN_NO_MATCH").upper(),
                responses=responses,
                iam_auth=method.authorization_type == "AWS_IAM",
                authorizer=None if authorizer is None else ApiAuthorizer(
                    name=authorizer.name, type=str(authorizer.type).upper(), uri=authorizer.authorizer_uri or "",
                    identity_sources=tuple(
                        source.strip() for source in (authorizer.identity_source or "").split(",") if source.strip()),
                    ttl_s=None if authorizer.authorizer_result_ttl is None else int(authorizer.authorizer_result_ttl),
                    validation_expression=authorizer.identity_validation_expression))
    return routes


def rest_api_stage_variables(account_id: str, region: str, api_id: str, stage: str) -> dict[str, str] | None:
    """A REST API stage's variables; None if the API has no such stage."""
    api = apigateway_backend(account_id, region).apis.get(api_id)
    found = api.stages.get(stage) if api is not None else None
    return None if found is None else dict(found.variables or {})


def rest_api_stage_traced(account_id: str, region: str, api_id: str, stage: str) -> bool:
    """Whether a REST API stage has X-Ray tracing on (TracingEnabled; SAM's `TracingEnabled`)."""
    api = apigateway_backend(account_id, region).apis.get(api_id)
    found = api.stages.get(stage) if api is not None else None
    return bool(found is not None and str(found.tracing_enabled).lower() == "true")


def http_api(account_id: str, region: str, api_id: str) -> HttpApi | None:
    """An HTTP API's routes (with their integrations and authorizers) and stages; None if there
    is no such HTTP API."""
    api = apigatewayv2_backend(account_id, region).apis.get(api_id)
    if api is None or api.protocol_type != "HTTP":
        return None
    routes: dict[str, ApiTarget] = {}
    for route in api.routes.values():
        integration = api.integrations.get(str(route.target or "").removeprefix("integrations/"))
        authorizer = api.authorizers.get(route.authorizer_id) if route.authorization_type == "CUSTOM" else None
        routes[route.route_key] = ApiTarget(
            integration.integration_type if integration else "", integration.integration_uri if integration else "",
            payload_version=integration.payload_format_version if integration else None,
            timeout_ms=integration.timeout_in_millis if integration else None,
            authorizer=None if authorizer is None else ApiAuthorizer(
                name=authorizer.name, type=str(authorizer.authorizer_type).upper(), uri=authorizer.authorizer_uri or "",
                identity_sources=tuple(authorizer.identity_source or ()),
                ttl_s=None if authorizer.auth_result_ttl is None else int(authorizer.auth_result_ttl),
                payload_version=str(authorizer.auth_payload_format_version or "2.0"),
                simple_responses=bool(authorizer.enable_simple_response)))
    stages = {name: {str(k): str(v) for k, v in (stage.stage_variables or {}).items()}
              for name, stage in api.stages.items()}
    cors = api.cors_configuration if isinstance(api.cors_configuration, dict) else None
    return HttpApi(routes, stages, cors)


#: A throttling setting as API Gateway keeps it: (rate limit, burst limit), either possibly unset.
ThrottleSetting = tuple[float | None, int | None]


def _throttle_setting(settings: Any) -> ThrottleSetting | None:
    if not isinstance(settings, dict):
        return None
    rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
    if rate is None and burst is None:
        return None
    return (None if rate is None else float(rate), None if burst is None else int(burst))


def rest_api_method_throttling(account_id: str, region: str, api_id: str, stage: str) -> dict[str, ThrottleSetting]:
    """A REST API stage's method throttling settings by `{resource path}/{method}` key (`*/*`:
    every method); empty when it sets none."""
    api = apigateway_backend(account_id, region).apis.get(api_id)
    found = api.stages.get(stage) if api is not None else None
    methods = (found.method_settings or {}) if found is not None else {}
    settings = {key: _throttle_setting(value) for key, value in methods.items()}
    return {key: setting for key, setting in settings.items() if setting is not None}


def access_key_secret(account_id: str, access_key_id: str, simulation_credentials: tuple[str, str]) -> str | None:
    """The secret of an access key: an IAM user's key in moto, or the simulation's own
    credentials; None for a key nobody issued."""
    from moto.iam.models import iam_backends

    for user in iam_backends[account_id]["global"].users.values():
        for key in user.access_keys:
            if key.access_key_id == access_key_id:
                return str(key.secret_access_key)
    key_id, secret = simulation_credentials
    return secret if access_key_id == key_id else None


def rest_method_requires_api_key(account_id: str, region: str, api_id: str, resource: str, method: str) -> bool:
    """Whether a REST API's method requires an API key (`apiKeyRequired`)."""
    api = apigateway_backend(account_id, region).apis.get(api_id)
    found = next((r for r in api.resources.values() if r.get_path() == resource), None) if api is not None else None
    defined = found.resource_methods.get(method) if found is not None else None
    return bool(defined is not None and defined.api_key_required)


@dataclass(frozen=True)
class UsagePlanGrant:
    """What a usage plan grants one API key on one API stage: the plan's throttle, the stage's
    per-method throttles (`/{resource path}/{method}` keys) and the quota (limit, period)."""

    plan_id: str
    key_id: str
    throttle: ThrottleSetting | None
    method_throttles: dict[str, ThrottleSetting]
    quota_limit: int | None
    quota_period: str | None


def usage_plan_grant(account_id: str, region: str, api_id: str, stage: str, key_value: str) -> UsagePlanGrant | None:
    """The usage plan through which an enabled API key of this value may call the API's stage;
    None when there is none."""
    backend = apigateway_backend(account_id, region)
    keys = [key for key in backend.keys.values() if key.value == key_value and key.enabled]
    for plan_id, plan_keys in backend.usage_plan_keys.items():
        plan = backend.usage_plans.get(plan_id)
        key = next((k for k in keys if k.id in plan_keys), None)
        if plan is None or key is None:
            continue
        for api_stage in plan.api_stages:
            if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
                throttles = {str(k): _throttle_setting({"throttlingRateLimit": v.get("rateLimit"),
                                                       "throttlingBurstLimit": v.get("burstLimit")})
                             for k, v in (api_stage.get("throttle") or {}).items() if isinstance(v, dict)}
                plan_throttle = plan.throttle or {}
                return UsagePlanGrant(
                    plan_id, key.id,
                    _throttle_setting({"throttlingRateLimit": plan_throttle.get("rateLimit"),
                                       "throttlingBurstLimit": plan_throttle.get("burstLimit")}),
                    {k: v for k, v in throttles.items() if v is not None},
                    (plan.quota or {}).get("limit"), (plan.quota or {}).get("period"))
    return None


def http_api_route_throttling(account_id: str, region: str, api_id: str,
                              stage: str) -> tuple[ThrottleSetting | None, dict[str, ThrottleSetting]]:
    """An HTTP API stage's default route throttling and its routes' own, by route key."""
    api = apigatewayv2_backend(account_id, region).apis.get(api_id)
    found = api.stages.get(stage) if api is not None else None
    if found is None:
        return None, {}
    routes = {str(key): _throttle_setting(value) for key, value in (found.route_settings or {}).items()}
    return (_throttle_setting(getattr(found, "default_route_settings", None)),
            {key: setting for key, setting in routes.items() if setting is not None})


# ---------------------------------------------------------------------------------------------
# What moto tells the simulator's pollers
# ---------------------------------------------------------------------------------------------


_mappings_listener: Callable[[], None] | None = None
_message_listener: Callable[[str, float], None] | None = None
_stream_listener: Callable[[str], None] | None = None


def set_poller_listeners(
    mappings_changed: Callable[[], None] | None, message_added: Callable[[str, float], None] | None
) -> None:
    """Register the simulator's pollers (None removes them).

    `mappings_changed()` runs after every create, update or delete of an event source mapping;
    `message_added(queue_arn, visible_from_ms)` after a message enters a queue (`visible_from_ms`
    is the end of its delay, 0 without one).
    """
    global _mappings_listener, _message_listener
    _mappings_listener, _message_listener = mappings_changed, message_added


def set_stream_listener(records_added: Callable[[str], None] | None) -> None:
    """`records_added(stream_arn)` runs after every write to a Kinesis stream or DynamoDB stream."""
    global _stream_listener
    _stream_listener = records_added


def mappings_changed() -> None:
    if _mappings_listener is not None:
        _mappings_listener()


def message_added(queue_arn: str, visible_from_ms: float) -> None:
    if _message_listener is not None:
        _message_listener(queue_arn, visible_from_ms)


def records_added(stream_arn: str) -> None:
    if _stream_listener is not None:
        _stream_listener(stream_arn)


# ---------------------------------------------------------------------------------------------
# EventBridge Pipes and DynamoDB TTL: what the pipe runner and the TTL sweeper are told and read
# ---------------------------------------------------------------------------------------------

_pipes_listener: Callable[[], None] | None = None
_ttl_listener: Callable[[], None] | None = None
# DynamoDB Streams' Identity of a deletion made by Time to Live, as the API writes it
# (API_streams_Identity.html); Lambda's and Pipes' events spell it type / principalId.
TTL_IDENTITY = {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}


def set_pipes_listener(pipes_changed: Callable[[], None] | None) -> None:
    """`pipes_changed()` runs after every create, update, start, stop or delete of a pipe."""
    global _pipes_listener
    _pipes_listener = pipes_changed


def pipes_changed() -> None:
    if _pipes_listener is not None:
        _pipes_listener()


def set_ttl_listener(ttl_changed: Callable[[], None] | None) -> None:
    """`ttl_changed()` runs after every UpdateTimeToLive."""
    global _ttl_listener
    _ttl_listener = ttl_changed


def ttl_changed() -> None:
    if _ttl_listener is not None:
        _ttl_listener()


def ttl_tables() -> list[tuple[str, str, str, str]]:
    """(account, Region, table, TTL attribute) of every table whose TTL is enabled."""
    from moto.dynamodb.models import dynamodb_backends

    return [(account, region, name, table.ttl["AttributeName"])
            for account, regions in dynamodb_backends.items() for region, backend in regions.items()
            for name, table in list(backend.tables.items())
            if table.ttl.get("TimeToLiveStatus") == "ENABLED" and table.ttl.get("AttributeName")]


def ttl_items(account_id: str, region: str, table_name: str, attribute: str) -> list[tuple[dict[str, Any], Any]]:
    """(key in DynamoDB JSON, the TTL attribute's value in DynamoDB JSON) of the table's items
    that have the attribute."""
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[account_id][region].tables.get(table_name)
    if table is None:
        return []
    found = []
    for item in table.all_items():
        value = item.attrs.get(attribute)
        if value is None:
            continue
        key = {table.hash_key_attr: item.hash_key.to_json()}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = item.range_key.to_json()
        found.append((key, value.to_json()))
    return found


def delete_by_ttl(account_id: str, region: str, table_name: str, key: dict[str, Any], attribute: str,
                  expected: Any) -> bool:
    """Delete an item as Time to Live does, if its TTL value is still `expected`: the item goes,
    and its REMOVE stream record carries the service's userIdentity. False if the item is gone
    or its TTL value changed."""
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[account_id][region]
    table = backend.tables.get(table_name)
    if table is None:
        return False
    hash_value, range_value = backend.get_keys_value(table, key)
    item = table.get_item(hash_value, range_value)
    if item is None or (item.attrs.get(attribute) is None or item.attrs[attribute].to_json() != expected):
        return False
    shard = table.stream_shard
    before = len(shard.items) if shard is not None else 0
    global _deleting_by_ttl
    _deleting_by_ttl = True
    try:
        table.delete_item(hash_value, range_value)
    finally:
        _deleting_by_ttl = False
    if shard is not None and len(shard.items) > before:
        shard.items[-1].record["userIdentity"] = dict(TTL_IDENTITY)
    return True


def roll_stream_shard(account_id: str, region: str, table_name: str) -> str:
    """Close the table's open DynamoDB stream shard and open its child, as DynamoDB does when it
    sees fit (Streams.html: shards "are created and deleted automatically"): later records go to
    the child, whose sequence numbers follow the parent's. Returns the child's id."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import StreamShard

    table = dynamodb_backends[account_id][region].get_table(table_name)
    parent = table.stream_shard
    if parent is None:
        raise ValueError(f"table {table_name} has no stream")
    next_sequence = parent.starting_sequence_number + len(parent.items)
    setattr(parent, SHARD_ENDING_ATTR, next_sequence - 1)
    table.__dict__.setdefault(CLOSED_SHARDS_ATTR, []).append(parent)
    child = StreamShard(account_id, table)
    child.id = f"shardId-{next_sequence:020d}-{len(table.__dict__[CLOSED_SHARDS_ATTR]):08x}"
    child.starting_sequence_number = next_sequence
    setattr(child, SHARD_PARENT_ATTR, parent.id)
    table.stream_shard = child
    return child.id


# ---------------------------------------------------------------------------------------------
# Kinesis Data Streams for DynamoDB: the item changes of watched tables, the streams they go to
# ---------------------------------------------------------------------------------------------

_deleting_by_ttl = False
# (account, Region, table name) -> listener(key, old item, new item, by Time to Live), in
# DynamoDB JSON; a table nobody watches costs its writes one set lookup.
_item_listeners: dict[tuple[str, str, str], Callable[[dict[str, Any], dict[str, Any] | None,
                                                      dict[str, Any] | None, bool], None]] = {}


def watch_items(account_id: str, region: str, table_name: str,
                listener: Callable[[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None, bool], None] | None
                ) -> None:
    """`listener(key, old, new, by_ttl)` runs after every change to an item of the table (None:
    stop watching)."""
    if listener is None:
        _item_listeners.pop((account_id, region, table_name), None)
    else:
        _item_listeners[(account_id, region, table_name)] = listener


def watched(account_id: str, region: str, table_name: str) -> bool:
    return (account_id, region, table_name) in _item_listeners


def item_changed(account_id: str, region: str, table_name: str, key: dict[str, Any],
                 old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    listener = _item_listeners.get((account_id, region, table_name))
    if listener is not None:
        listener(key, old, new, _deleting_by_ttl)


def table_hash_key(account_id: str, region: str, table_name_or_arn: str) -> tuple[str, str] | None:
    """(table name, partition key attribute) of a table named by name or ARN, or None."""
    from moto.dynamodb.models import dynamodb_backends

    name = table_name_or_arn.split(":table/", 1)[-1].split("/")[0]
    table = dynamodb_backends[account_id][region].tables.get(name)
    return None if table is None else (name, table.hash_key_attr)


def kinesis_stream_exists(account_id: str, region: str, stream_arn: str) -> bool:
    from moto.kinesis.models import kinesis_backends

    return any(stream.arn == stream_arn for stream in kinesis_backends[account_id][region].streams.values())


def put_kinesis_record(account_id: str, region: str, stream_arn: str, partition_key: str, data: bytes) -> bool:
    """Write one record to a Kinesis stream as a producer's PutRecord would (the stream's
    pollers are woken); False if the stream is gone."""
    import base64

    from moto.kinesis.models import kinesis_backends

    for stream in kinesis_backends[account_id][region].streams.values():
        if stream.arn == stream_arn:
            stream.put_record(partition_key, None, base64.b64encode(data).decode())
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Schedules: EventBridge scheduled rules and EventBridge Scheduler schedules
# ---------------------------------------------------------------------------------------------


def scheduled_rules() -> list[dict[str, Any]]:
    """Every EventBridge rule with a ScheduleExpression, in every account and Region moto holds:
    `arn`, `name`, `bus`, `account`, `region`, `expression`, `state`."""
    from moto.events.models import events_backends

    found = []
    for account_backends in list(events_backends.values()):
        for region, backend in list(account_backends.items()):
            for bus_name, bus in list(backend.event_buses.items()):
                for rule in list(bus.rules.values()):
                    if rule.scheduled_expression:
                        found.append({"arn": rule.arn, "name": rule.name, "bus": bus_name,
                                      "account": rule.account_id, "region": region,
                                      "expression": rule.scheduled_expression, "state": rule.state})
    return found


def send_scheduled_event(account_id: str, region: str, bus: str, rule_name: str, event: dict[str, Any]) -> bool:
    """Deliver `event` to the rule's targets as EventBridge delivers a matched event (Input,
    InputPath, InputTransformer; Lambda targets through the adapter's delivery). False if the
    rule is gone or disabled."""
    from moto.events.models import events_backends

    bus_obj = events_backends[account_id][region].event_buses.get(bus)
    rule = bus_obj.rules.get(rule_name) if bus_obj is not None else None
    if rule is None or rule.state != "ENABLED":
        return False
    from moto.core.utils import unix_time

    # moto's own event messages carry `ingestion-time`, which its InputTransformer reads.
    rule.send_to_targets({**event, "ingestion-time": unix_time()})
    return True


def scheduler_schedules() -> list[dict[str, Any]]:
    """Every EventBridge Scheduler schedule moto holds, as GetSchedule answers it (`Arn`,
    `Name`, `GroupName`, `ScheduleExpression`, `ScheduleExpressionTimezone`, `StartDate`,
    `EndDate`, `State`, `FlexibleTimeWindow`, `Target`, `ActionAfterCompletion`), plus
    `account` and `region`. Dates are epoch seconds or None."""
    from moto.scheduler.models import scheduler_backends

    found = []
    for account_id, account_backends in list(scheduler_backends.items()):
        for region, backend in list(account_backends.items()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    found.append({**schedule.to_dict(), "account": account_id, "region": region})
    return found


def delete_scheduler_schedule(account_id: str, region: str, group: str, name: str) -> None:
    """Delete a schedule (ActionAfterCompletion DELETE) as DeleteSchedule does, if it is still
    there."""
    from moto.scheduler.exceptions import ScheduleGroupNotFound, ScheduleNotFound
    from moto.scheduler.models import scheduler_backends

    try:
        scheduler_backends[account_id][region].delete_schedule(group, name)
    except (ScheduleNotFound, ScheduleGroupNotFound):
        return


_schedules_listener: Callable[[], None] | None = None


def set_schedules_listener(schedules_changed: Callable[[], None] | None) -> None:
    """`schedules_changed()` runs after every change to a rule or a Scheduler schedule (None
    removes it)."""
    global _schedules_listener
    _schedules_listener = schedules_changed


def schedules_changed() -> None:
    if _schedules_listener is not None:
        _schedules_listener()

# ---------------------------------------------------------------------------------------------
# CloudWatch: alarms, the metric data they read, their history
# ---------------------------------------------------------------------------------------------

ALARM_HISTORY_ATTR = "_lambdasim_alarm_history"  # on a CloudWatchBackend: its DescribeAlarmHistory items


@dataclass(frozen=True)
class MetricPoint:
    """One datum moto's CloudWatch holds: a raw value, or a statistic set (`stats`: sample
    count, sum, minimum, maximum), which for Values/Counts also has the `distribution` (values,
    counts) it sums up."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted by name
    at_us: int
    unit: str | None
    value: float | None
    stats: tuple[float, float, float, float] | None = None
    distribution: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    def as_datum(self) -> dict[str, Any]:
        """The point as a PutMetricData datum."""
        from .clock import from_micros

        datum: dict[str, Any] = {
            "MetricName": self.name, "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
            "Timestamp": from_micros(self.at_us)}
        if self.unit is not None:
            datum["Unit"] = self.unit
        if self.distribution is not None:
            datum["Values"], datum["Counts"] = list(self.distribution[0]), list(self.distribution[1])
        elif self.stats is not None:
            datum["StatisticValues"] = dict(zip(("SampleCount", "Sum", "Minimum", "Maximum"), self.stats))
        else:
            datum["Value"] = self.value
        return datum


def cloudwatch_backend(account_id: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account_id][region]


def _alarm_snapshot(alarm: Any) -> dict[str, Any]:
    queries = []
    for q in alarm.metric_data_queries:
        query: dict[str, Any] = {"Id": q.id, "ReturnData": q.return_data in (None, True, "true", "True")}
        if q.label:
            query["Label"] = q.label
        if q.expression:
            query["Expression"] = q.expression
        if q.metric_stat is not None:
            stat = q.metric_stat
            query["MetricStat"] = {
                "Metric": {"Namespace": stat.metric.namespace, "MetricName": stat.metric.metric_name,
                           "Dimensions": [{"Name": d.name, "Value": d.value} for d in stat.metric.dimensions]},
                "Period": int(stat.period), "Stat": stat.stat, "Unit": stat.unit}
        queries.append(query)
    return {
        "AlarmName": alarm.name, "AlarmArn": alarm.alarm_arn, "AlarmDescription": alarm.description,
        "AlarmConfigurationUpdatedTimestamp": alarm.configuration_updated_timestamp,
        "ActionsEnabled": bool(alarm.actions_enabled), "OKActions": list(alarm.ok_actions or []),
        "AlarmActions": list(alarm.alarm_actions or []),
        "InsufficientDataActions": list(alarm.insufficient_data_actions or []),
        "StateValue": alarm.state_value, "StateReason": alarm.state_reason,
        "StateReasonData": alarm.state_reason_data, "StateUpdatedTimestamp": alarm.state_updated_timestamp,
        "MetricName": alarm.metric_name, "Namespace": alarm.namespace, "Statistic": alarm.statistic,
        "ExtendedStatistic": alarm.extended_statistic,
        "Dimensions": [{"Name": d.name, "Value": d.value} for d in alarm.dimensions],
        "Period": int(alarm.period) if alarm.period else None, "Unit": alarm.unit,
        "EvaluationPeriods": int(alarm.evaluation_periods) if alarm.evaluation_periods else None,
        "DatapointsToAlarm": int(alarm.datapoints_to_alarm) if alarm.datapoints_to_alarm else None,
        "Threshold": float(alarm.threshold) if alarm.threshold is not None else None,
        "ComparisonOperator": alarm.comparison_operator, "TreatMissingData": alarm.treat_missing_data,
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile,
        "Metrics": queries, "AlarmRule": alarm.rule,
    }


def cloudwatch_alarms() -> list[tuple[str, str, dict[str, Any]]]:
    """(account, Region, alarm) for every alarm moto holds, each as DescribeAlarms describes it
    (`AlarmRule` set for a composite alarm)."""
    from moto.cloudwatch.models import cloudwatch_backends

    found = []
    for account_id, account_backends in list(cloudwatch_backends.items()):
        for region, backend in list(account_backends.items()):
            for alarm in list(backend.alarms.values()):
                found.append((account_id, region, _alarm_snapshot(alarm)))
    return found


def set_alarm_state(account_id: str, region: str, name: str, state: str, reason: str, reason_data: str) -> bool:
    """Set an alarm's state, reason and reason data, updated now (virtual time), as
    SetAlarmState does; False if the alarm is gone."""
    alarm = cloudwatch_backend(account_id, region).alarms.get(name)
    if alarm is None:
        return False
    alarm.update_state(reason, reason_data, state)
    return True


def append_alarm_history(account_id: str, region: str, item: dict[str, Any]) -> None:
    """Keep one DescribeAlarmHistory item (AlarmName, AlarmType, Timestamp, HistoryItemType,
    HistorySummary, HistoryData); kept after the alarm is deleted, as CloudWatch keeps it."""
    backend = cloudwatch_backend(account_id, region)
    backend.__dict__.setdefault(ALARM_HISTORY_ATTR, []).append(item)


def alarm_history(account_id: str, region: str) -> list[dict[str, Any]]:
    """Every history item of the account and Region, oldest first."""
    history: list[dict[str, Any]] = cloudwatch_backend(account_id, region).__dict__.get(ALARM_HISTORY_ATTR, [])
    return list(history)


def metric_regions() -> list[tuple[str, str]]:
    """(account, Region) of every CloudWatch backend moto has made."""
    from moto.cloudwatch.models import cloudwatch_backends

    return [(account_id, region) for account_id, account_backends in list(cloudwatch_backends.items())
            for region in list(account_backends.keys())]


def metric_points(account_id: str, region: str, start: int) -> tuple[list[MetricPoint], int]:
    """The metric data moto received from position `start` on, and the position to read from next
    (moto appends every datum to one list; a list shorter than `start` was replaced: read all)."""
    from datetime import timezone

    data = cloudwatch_backend(account_id, region).metric_data
    if start > len(data):
        start = 0
    points = []
    for datum in data[start:]:
        ts = datum.timestamp
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        at_us = int(ts.timestamp()) * 1_000_000 + ts.microsecond
        dims = tuple(sorted((str(d.name), str(d.value)) for d in datum.dimensions))
        if hasattr(datum, "value"):
            points.append(MetricPoint(datum.namespace, datum.name, dims, at_us, datum.unit, float(datum.value)))
        else:
            points.append(MetricPoint(datum.namespace, datum.name, dims, at_us, datum.unit, None,
                                      (float(datum.sample_count), float(datum.sum), float(datum.min),
                                       float(datum.max)), getattr(datum, "distribution", None)))
    return points, len(data)


def publish_to_topic(topic_arn: str, message: str, subject: str | None) -> str:
    """Publish to an SNS topic as a service does (no caller's API call): its message id. Raises
    moto's error for a topic that does not exist."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    return str(sns_backends[parts[4]][parts[3]].publish(message, arn=topic_arn, subject=subject))


def put_service_event(account_id: str, region: str, entry: dict[str, Any]) -> None:
    """Put an event a service emits (`Source` aws.<service>) on the default event bus, where its
    rules route it as any event."""
    from moto.events.models import events_backends

    events_backends[account_id][region].put_events([{**entry, "EventBusName": "default"}])


_alarms_listener: Callable[[], None] | None = None
_alarm_state_listener: Callable[[str, str, str, tuple[str, str, str]], None] | None = None


def set_alarm_listeners(alarms_changed: Callable[[], None] | None,
                        state_set: Callable[[str, str, str, tuple[str, str, str]], None] | None) -> None:
    """`alarms_changed()` runs after an alarm is created, updated or deleted;
    `state_set(account, region, name, (old value, reason, reason data))` after SetAlarmState
    changed one (None removes them)."""
    global _alarms_listener, _alarm_state_listener
    _alarms_listener, _alarm_state_listener = alarms_changed, state_set


def alarms_changed() -> None:
    if _alarms_listener is not None:
        _alarms_listener()


def alarm_state_set(account_id: str, region: str, name: str, old: tuple[str, str, str]) -> None:
    if _alarm_state_listener is not None:
        _alarm_state_listener(account_id, region, name, old)


# ---------------------------------------------------------------------------------------------
# CloudWatch Logs: the events Logs Insights queries read
# ---------------------------------------------------------------------------------------------


def log_group_exists(account_id: str, region: str, name: str) -> bool:
    from moto.logs.models import logs_backends

    return name in logs_backends[account_id][region].groups


def log_events(account_id: str, region: str, group: str, start_ms: int,
               end_ms: int) -> list[tuple[str, int, int, int, str]]:
    """`(stream name, position in the stream, timestamp, ingestion time, message)` of a group's
    events with a timestamp from `start_ms` to `end_ms` (epoch milliseconds, both included)."""
    from moto.logs.models import logs_backends

    return [(stream_name, position, event.timestamp, event.ingestion_time, event.message)
            for stream_name, stream in logs_backends[account_id][region].groups[group].streams.items()
            for position, event in enumerate(stream.events)
            if start_ms <= event.timestamp <= end_ms]


# ---------------------------------------------------------------------------------------------
# IoT Core: the topic rules the rules engine runs, the messages the broker keeps
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicRule:
    """A topic rule as moto stores it (CreateTopicRule, ReplaceTopicRule, CloudFormation)."""

    name: str
    arn: str
    sql: str
    sql_version: str
    disabled: bool
    actions: list[dict[str, Any]]
    error_action: dict[str, Any]


def iot_topic_rules(account_id: str, region: str) -> list[TopicRule]:
    """Every topic rule of the account and Region, in creation order."""
    from moto.iot.models import iot_backends

    return [TopicRule(r.rule_name, r.arn, r.sql, r.aws_iot_sql_version, r.rule_disabled, list(r.actions),
                      dict(r.error_action))
            for r in iot_backends[account_id][region].rules.values()]


def record_iot_publish(account_id: str, region: str, topic: str, payload: bytes) -> None:
    """A message the broker received from a device (MQTT), kept as moto keeps iot-data's."""
    from moto.iotdata.models import iotdata_backends

    iotdata_backends[account_id][region].published_payloads.append((topic, payload))


# ---------------------------------------------------------------------------------------------
# Athena: the Glue Data Catalog's tables and partitions, the S3 objects they hold, work groups
# ---------------------------------------------------------------------------------------------


def _s3_backend(account_id: str, region: str) -> Any:
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    return s3_backends[account_id][get_partition(region)]


def s3_objects(account_id: str, region: str, bucket: str, prefix: str) -> list[tuple[str, int]]:
    """`(key, size)` of a bucket's current objects under `prefix`, by key (none if the bucket
    does not exist)."""
    from moto.s3.models import FakeDeleteMarker

    found = _s3_backend(account_id, region).buckets.get(bucket)
    if found is None:
        return []
    return sorted((name, key.size) for name, key in found.keys.items()
                  if name.startswith(prefix) and not isinstance(key, FakeDeleteMarker))


def s3_bucket_exists(account_id: str, region: str, bucket: str) -> bool:
    return bucket in _s3_backend(account_id, region).buckets


def s3_object_body(account_id: str, region: str, bucket: str, key: str) -> bytes:
    return bytes(_s3_backend(account_id, region).get_object(bucket, key).value)


def put_s3_object(account_id: str, region: str, bucket: str, key: str, body: bytes) -> None:
    """Write an object as a service writes it (S3 event notifications included)."""
    _s3_backend(account_id, region).put_object(bucket, key, body)


def _glue_backend(account_id: str, region: str) -> Any:
    from moto.glue.models import glue_backends

    return glue_backends[account_id][region]


def glue_table(account_id: str, region: str, database: str, table: str) -> dict[str, Any] | None:
    """A Glue table's current TableInput-shaped definition (None: no such database or table)."""
    found = _glue_backend(account_id, region).databases.get(database)
    if found is None or table not in found.tables:
        return None
    return found.tables[table].as_dict()


def glue_database_exists(account_id: str, region: str, database: str) -> bool:
    return database in _glue_backend(account_id, region).databases


def glue_partitions(account_id: str, region: str, database: str, table: str) -> list[dict[str, Any]]:
    """The PartitionInput (Values, StorageDescriptor...) of each partition registered in Glue."""
    return [dict(partition.partition_input) for partition in
            _glue_backend(account_id, region).get_table(database, table).partitions.values()]


def create_glue_table(account_id: str, region: str, database: str, table_input: dict[str, Any]) -> None:
    _glue_backend(account_id, region).create_table(database, table_input["Name"], table_input)


def add_glue_partition(account_id: str, region: str, database: str, table: str,
                       partition_input: dict[str, Any]) -> bool:
    """Register a partition in Glue; False if one with those values already is."""
    glue_table_model = _glue_backend(account_id, region).get_table(database, table)
    if str(partition_input["Values"]) in glue_table_model.partitions:
        return False
    glue_table_model.create_partition(partition_input)
    return True


def athena_work_group_output_location(account_id: str, region: str, work_group: str) -> str | None:
    """The OutputLocation of a work group's result configuration (None: no such group, or none
    set)."""
    from moto.athena.models import athena_backends

    group = athena_backends[account_id][region].work_groups.get(work_group)
    if group is None:
        return None
    return (group.configuration.get("ResultConfiguration") or {}).get("OutputLocation")


def athena_work_group_exists(account_id: str, region: str, work_group: str) -> bool:
    from moto.athena.models import athena_backends

    return work_group in athena_backends[account_id][region].work_groups


# ---------------------------------------------------------------------------------------------
# CodeDeploy: Lambda deployment groups (the adapter stores a template's in moto's backend)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeploymentGroupSettings:
    """What a Lambda deployment plays: its configuration's name, the alarms it watches (when
    alarm monitoring is enabled) and the events that roll it back (when automatic rollback is)."""

    application: str
    name: str
    config_name: str
    alarms: tuple[str, ...]
    rollback_events: tuple[str, ...]


def deployment_group(account_id: str, region: str, application: str, name: str) -> DeploymentGroupSettings:
    """A deployment group moto holds (KeyError if it does not)."""
    from moto.codedeploy.models import codedeploy_backends

    group = codedeploy_backends[account_id][region].deployment_groups[application][name]
    alarms = group.alarm_configuration
    rollback = group.auto_rollback_configuration or {}
    return DeploymentGroupSettings(
        application=application, name=name, config_name=str(group.deployment_config_name),
        alarms=tuple(str(a["name"]) for a in alarms.alarms) if alarms is not None and alarms.enabled else (),
        rollback_events=tuple(rollback.get("events") or ()) if rollback.get("enabled") else (),
    )


def alarm_states(account_id: str, region: str, names: tuple[str, ...]) -> dict[str, str]:
    """The state of each named alarm that exists (OK, ALARM, INSUFFICIENT_DATA)."""
    alarms = cloudwatch_backend(account_id, region).alarms
    return {name: str(alarms[name].state_value) for name in names if name in alarms}


# ---------------------------------------------------------------------------------------------
# IAM: a function's execution role and the policies it holds (lambdasim.iam enforces them)
# ---------------------------------------------------------------------------------------------


def function_role_arn(account_id: str, region: str, function_name: str) -> str | None:
    """The execution role ARN of a function ($LATEST), None for a function moto does not hold."""
    try:
        fn = lambda_backend(account_id, region).get_function(function_name)
    except Exception:  # noqa: BLE001 - moto raises its own not-found errors
        return None
    return str(fn.role) if getattr(fn, "role", None) else None


def role_policy_documents(account_id: str, role_arn: str) -> list[tuple[str, Any]]:
    """(policy name, document) of every policy a role holds: inline policies by name, attached
    managed policies by ARN (their default version). Empty for a role moto does not hold."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None)
    if role is None:
        return []
    found: list[tuple[str, Any]] = list(role.policies.items())
    for arn, policy in role.managed_policies.items():
        version = next(v for v in policy.versions if v.is_default)
        found.append((arn, version.document))
    return found


def secret_arn(account_id: str, region: str, secret_id: str) -> str:
    """The ARN of a Secrets Manager secret named or ARN'd by `secret_id` (as given if unknown)."""
    from moto.secretsmanager.models import secretsmanager_backends

    secrets = secretsmanager_backends[account_id][region].secrets
    return str(secrets[secret_id].arn) if secret_id in secrets else secret_id


def function_resource_policy(account_id: str, region: str, function_name: str) -> list[dict[str, Any]]:
    """The statements of a function's resource-based policy (AddPermission, AWS::Lambda::Permission)."""
    try:
        fn = lambda_backend(account_id, region).get_function(function_name)
    except Exception:  # noqa: BLE001 - moto raises its own not-found errors
        return []
    return list(fn.policy.statements)


def queue_policy(queue_arn: str) -> dict[str, Any] | None:
    """An SQS queue's access policy (its Policy attribute, AWS::SQS::QueuePolicy), None without one."""
    import json

    queue = queue_by_arn(queue_arn)
    policy = getattr(queue, "policy", None) if queue is not None else None
    if not policy:
        return None
    return json.loads(policy) if isinstance(policy, str) else dict(policy)


def set_queue_policy(account_id: str, region: str, queue_url: str, policy: str | None) -> None:
    """Set (or, with None, remove) an SQS queue's Policy attribute; a queue that is gone is skipped."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[account_id][region].queues.get(queue_url.rstrip("/").rsplit("/", 1)[-1])
    if queue is not None:
        queue.policy = policy
