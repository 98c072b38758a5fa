"""Lambda configuration: asynchronous invocation settings, DeadLetterConfig, concurrency.

moto ignores the event invoke config's Qualifier, appends on every put and always answers the
first config (a second put or an update changed nothing); the config API is replaced by one that
keeps a config per function ($LATEST), version and alias, replaces on put and merges on update,
as AWS does. moto drops `DeadLetterConfig` on create/update and `TenancyConfig` (tenant
isolation mode, API_TenancyConfig.html: set at creation only) on create; both are kept and
returned. moto also drops `LoggingConfig` (API_LoggingConfig.html: the log format, levels and
group) and ignores `TracingConfig` on update: both are kept (LoggingConfig is answered with its
defaults, as AWS answers it).

moto stores reserved concurrency without enforcing it and checks the 100-unreserved rule only
with MOTO_LAMBDA_CONCURRENCY_QUOTA set: `put_function_concurrency` now always checks it against
the simulator's account pool, with AWS's message. moto has no GetAccountSettings nor provisioned
concurrency API (404): routes and handlers are added, the simulator answers them
(`rules/concurrency.py`, `EnvironmentPool`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from .. import moto_state
from ..functions import FunctionConfig
from . import _shared
from ._patching import Patch

if TYPE_CHECKING:
    from ..service import LambdaService


_EIC_NUMBERS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")


def _split_qualified(name_or_arn: str, qualifier: str | None) -> tuple[str, str]:
    """(function name or unqualified ARN, qualifier: the one in the name, the one given, or
    $LATEST). API_PutFunctionEventInvokeConfig: a config without a qualifier is $LATEST's."""
    inline = moto_state.qualifier_in(name_or_arn)
    base = name_or_arn.rsplit(":", 1)[0] if inline else name_or_arn
    return base, inline or qualifier or "$LATEST"


def _event_invoke_configs(fn: Any) -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = fn.__dict__.setdefault(moto_state.EIC_ATTR, {})
    return configs


def put_event_invoke_config(
    backend: Any, name_or_arn: str, qualifier: str | None, body: dict[str, Any], *,
    update: bool = False, check_qualifier: bool = True,
) -> dict[str, Any]:
    """Put (replace) or update (merge) the event invoke config of a function, version or alias,
    as AWS does (API_PutFunctionEventInvokeConfig / API_UpdateFunctionEventInvokeConfig).

    moto 5.2.5 ignores the qualifier, appends on put and always answers the first config, so a
    second put or an update changed nothing; its FunctionArn is unqualified.
    """
    from moto.awslambda.exceptions import InvalidParameterValueException, UnknownEventConfig
    from moto.awslambda.models import EventInvokeConfig
    from moto.core.utils import unix_time

    from ..rules import async_invoke as ai

    base, q = _split_qualified(name_or_arn, qualifier)
    latest = backend.get_function(base)
    if check_qualifier and q != "$LATEST":
        backend.get_function(base, q)  # ResourceNotFoundException for an unknown version or alias
    configs = _event_invoke_configs(latest)
    if update:
        if q not in configs:
            raise UnknownEventConfig(f"{latest.function_arn}:{q}")
        new = {k: v for k, v in configs[q].items() if k != "LastModified"}
        new.update({k: body[k] for k in _EIC_NUMBERS if k in body})
        if body.get("DestinationConfig") is not None:
            new["DestinationConfig"] = {**new.get("DestinationConfig", {}), **body["DestinationConfig"]}
    else:
        new = {k: body[k] for k in (*_EIC_NUMBERS, "DestinationConfig") if body.get(k) is not None}
    for key in _EIC_NUMBERS:
        if key in new:
            new[key] = int(new[key])
    EventInvokeConfig(latest.function_arn, latest.last_modified, new)  # moto's checks: maxima, ARNs
    low = {"MaximumRetryAttempts": ai.MAXIMUM_RETRY_ATTEMPTS_RANGE[0],
           "MaximumEventAgeInSeconds": ai.MAXIMUM_EVENT_AGE_RANGE_S[0]}
    for key, minimum in low.items():
        if key in new and new[key] < minimum:
            raise InvalidParameterValueException(f"{key} must be at least {minimum}")
    destinations = new.get("DestinationConfig") or {}
    for side in ("OnSuccess", "OnFailure"):
        target = (destinations.get(side) or {}).get("Destination")
        problem = ai.destination_problem(target, on_failure=side == "OnFailure") if target else None
        if problem:
            raise InvalidParameterValueException(problem)
    stored = {
        "LastModified": unix_time(),
        **{k: new[k] for k in _EIC_NUMBERS if k in new},
        "DestinationConfig": {side: dict(destinations.get(side) or {}) for side in ("OnSuccess", "OnFailure")},
    }
    configs[q] = stored
    return _eic_answer(latest, q, stored)


def _eic_answer(latest: Any, qualifier: str, stored: dict[str, Any]) -> dict[str, Any]:
    return {"LastModified": stored["LastModified"], "FunctionArn": f"{latest.function_arn}:{qualifier}",
            **{k: v for k, v in stored.items() if k != "LastModified"}}


def lookup_event_invoke_config(
    backend: Any, name_or_arn: str, qualifier: str | None
) -> tuple[Any, str, dict[str, Any]]:
    """($LATEST's LambdaFunction, the qualifier, its configs) of a config that exists, or moto's
    UnknownEventConfig."""
    from moto.awslambda.exceptions import UnknownEventConfig

    base, q = _split_qualified(name_or_arn, qualifier)
    latest = backend.get_function(base)
    configs = _event_invoke_configs(latest)
    if q not in configs:
        raise UnknownEventConfig(f"{latest.function_arn}:{q}")
    return latest, q, configs


def _eic_request(self: Any) -> tuple[str, str | None]:
    # /2019-09-25/functions/<name>/event-invoke-config[/list]?Qualifier=...
    name = unquote(self.path.split("/functions/", 1)[1].split("/", 1)[0])
    return name, (self.querystring.get("Qualifier") or [None])[0]


def _response_put_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.put_function_event_invoke_config (replace, per qualifier)."""
    name, qualifier = _eic_request(self)
    return 200, {"status": 200}, json.dumps(put_event_invoke_config(self.backend, name, qualifier, self.json_body))


def _response_update_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.update_function_event_invoke_config (merge, per qualifier)."""
    name, qualifier = _eic_request(self)
    answer = put_event_invoke_config(self.backend, name, qualifier, self.json_body, update=True)
    return 200, {"status": 200}, json.dumps(answer)


def _response_get_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.get_function_event_invoke_config."""
    latest, q, configs = lookup_event_invoke_config(self.backend, *_eic_request(self))
    return 200, {"status": 200}, json.dumps(_eic_answer(latest, q, configs[q]))


def _response_delete_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.delete_function_event_invoke_config."""
    _, q, configs = lookup_event_invoke_config(self.backend, *_eic_request(self))
    del configs[q]
    return 204, {"status": 204}, ""


def _response_list_eic(self: Any) -> tuple[int, dict[str, Any], str]:
    """Replaces LambdaResponse.list_function_event_invoke_configs (every qualifier's config)."""
    name, _ = _eic_request(self)
    latest = self.backend.get_function(_split_qualified(name, None)[0])
    answers = [_eic_answer(latest, q, c) for q, c in _event_invoke_configs(latest).items()]
    return 200, {"status": 200}, json.dumps({"FunctionEventInvokeConfigs": answers})


def _dead_letter_target(config: Any) -> str | None:
    return (config or {}).get("TargetArn") or None


def _logging_config(current: dict[str, Any] | None, given: dict[str, Any] | None) -> dict[str, Any]:
    """The function's LoggingConfig after a create or an update (API_LoggingConfig.html): the
    format is Text unless set; the levels exist for the JSON format only (INFO by default); an
    update changes only the fields it names."""
    merged = {**(current or {}), **(given or {})}
    merged["LogFormat"] = "JSON" if str(merged.get("LogFormat", "")).upper() == "JSON" else "Text"
    if merged["LogFormat"] == "JSON":
        merged.setdefault("ApplicationLogLevel", "INFO")
        merged.setdefault("SystemLogLevel", "INFO")
    else:
        merged.pop("ApplicationLogLevel", None)
        merged.pop("SystemLogLevel", None)
    return merged


def _wrap_function_init(original: Callable[..., None]) -> Callable[..., None]:
    # moto drops DeadLetterConfig, TenancyConfig and LoggingConfig (API_CreateFunction.html); keep them.
    # Published versions are deep copies of $LATEST and keep them too.
    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
        original(self, account_id, spec, region, version)
        self.__dict__[moto_state.DLQ_ATTR] = _dead_letter_target(spec.get("DeadLetterConfig"))
        self.__dict__[moto_state.TENANCY_ATTR] = dict(spec["TenancyConfig"]) if spec.get("TenancyConfig") else None
        self.__dict__[moto_state.LOGGING_ATTR] = _logging_config(None, spec.get("LoggingConfig"))
        self.__dict__[moto_state.RECURSION_ATTR] = spec.get("RecursiveLoop")

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    return __init__


def _wrap_get_configuration(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original(self, on_create)
        target = self.__dict__.get(moto_state.DLQ_ATTR)
        if target:
            config["DeadLetterConfig"] = {"TargetArn": target}
        tenancy = self.__dict__.get(moto_state.TENANCY_ATTR)
        if tenancy:
            config["TenancyConfig"] = dict(tenancy)
        config["LoggingConfig"] = dict(self.__dict__.get(moto_state.LOGGING_ATTR) or _logging_config(None, None))
        if not config["LoggingConfig"].get("LogGroup"):
            config["LoggingConfig"]["LogGroup"] = self.logs_group_name
        return config

    get_configuration.__wrapped__ = original  # type: ignore[attr-defined]
    return get_configuration


def _wrap_update_configuration(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    # API_UpdateFunctionConfiguration.html: DeadLetterConfig (an empty TargetArn removes it),
    # LoggingConfig and TracingConfig, which moto ignores on update.
    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.__dict__[moto_state.DLQ_ATTR] = _dead_letter_target(config_updates["DeadLetterConfig"])
        if "LoggingConfig" in config_updates:
            self.__dict__[moto_state.LOGGING_ATTR] = _logging_config(
                self.__dict__.get(moto_state.LOGGING_ATTR), config_updates["LoggingConfig"])
        if config_updates.get("TracingConfig"):
            self.tracing_config = dict(config_updates["TracingConfig"])
        return original(self, config_updates)

    update_configuration.__wrapped__ = original  # type: ignore[attr-defined]
    return update_configuration


def _put_function_concurrency(self: Any, function_name: str, value: Any) -> Any:
    """Replaces LambdaBackend.put_function_concurrency: the 100-unreserved rule, always.

    moto checks it only with MOTO_LAMBDA_CONCURRENCY_QUOTA set; AWS always does, against the
    account's quota (the simulator's `account_concurrency`).
    """
    from moto.awslambda.exceptions import InvalidParameterValueException

    from ..rules.concurrency import reserved_concurrency_error

    service = _shared.require_service()
    fn = self.get_function(function_name)
    value = int(value)
    problem = reserved_concurrency_error(
        service.runtime.pool.limits.account_limit, moto_state.reserved_concurrency(self.account_id, self.region_name),
        fn.function_name, value)
    if problem:
        raise InvalidParameterValueException(problem)
    fn.reserved_concurrency = value
    return fn.reserved_concurrency


# Routes moto lacks (it answers 404 "Not yet implemented"): botocore's Lambda model names them
# GetAccountSettings and Put/Get/Delete/ListProvisionedConcurrencyConfig(s).
_EXTRA_LAMBDA_URLS = {
    r"{0}/(?P<api_version>[^/]+)/account-settings/?$": None,
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$": None,
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/recursion-config/?$": None,
}


def _wrap_lambda_urls(original: dict[str, Any]) -> dict[str, Any]:
    from moto.awslambda.responses import LambdaResponse

    return {**original, **{url: LambdaResponse.dispatch for url in _EXTRA_LAMBDA_URLS}}


def _response_get_account_settings(self: Any) -> tuple[int, dict[str, str], str]:
    """GetAccountSettings (https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html).

    Limits from gettingstarted-limits.html (75 GB code storage, 250 MB unzipped, 50 MB zipped
    upload); ConcurrentExecutions is the simulator's account pool, UnreservedConcurrentExecutions
    that pool minus every reservation.
    """
    service = _shared.require_service()
    limits = service.runtime.pool.limits
    backend = moto_state.lambda_backend(self.current_account, self.region)
    functions = list(backend.list_functions())
    versions = list(backend.list_functions("ALL"))
    body = {
        "AccountLimit": {
            "TotalCodeSize": 80530636800,
            "CodeSizeUnzipped": 262144000,
            "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": limits.account_limit,
            "UnreservedConcurrentExecutions": limits.unreserved_pool(
                moto_state.reserved_concurrency(self.current_account, self.region)),
        },
        "AccountUsage": {
            "TotalCodeSize": sum(int(fn.code_size or 0) for fn in versions),
            "FunctionCount": len(functions),
        },
    }
    return 200, {}, json.dumps(body)


def _provisioned_target(self: Any) -> tuple[LambdaService, FunctionConfig, str]:
    service = _shared.require_service()
    function_name = unquote(self.path.rstrip("/").rsplit("/", 2)[-2])
    qualifier = (self.querystring.get("Qualifier") or [None])[0]
    if not qualifier:
        from moto.awslambda.exceptions import InvalidParameterValueException

        raise InvalidParameterValueException("Qualifier is required for provisioned concurrency.")
    config, _ = moto_state.resolve_function(self.current_account, self.region, function_name, qualifier)
    return service, config, qualifier


def _config_not_found() -> Exception:
    from moto.core.exceptions import JsonRESTError

    err = JsonRESTError("ProvisionedConcurrencyConfigNotFoundException",
                        "No Provisioned Concurrency Config found for this function")
    err.code = 404
    return err


def _response_put_provisioned(self: Any) -> tuple[int, dict[str, str], str]:
    """PutProvisionedConcurrencyConfig: environments are initialised now, ahead of invocations."""
    from moto.awslambda.exceptions import InvalidParameterValueException

    from ..environments import ConfigurationRejected

    service, config, qualifier = _provisioned_target(self)
    requested = int(json.loads(self.body or "{}").get("ProvisionedConcurrentExecutions", 0))
    try:
        service.runtime.provision(config, qualifier, requested)
    except ConfigurationRejected as rejected:
        raise InvalidParameterValueException(str(rejected)) from None
    pool = service.runtime.pool
    answer = pool.provisioned_status(config.name, qualifier, service.clock.micros)
    return 202, {"status": "202"}, json.dumps(answer)


def _response_get_provisioned(self: Any) -> tuple[int, dict[str, str], str]:
    """GetProvisionedConcurrencyConfig, and ListProvisionedConcurrencyConfigs (same route, ?List=ALL)."""
    service = _shared.require_service()
    pool = service.runtime.pool
    if (self.querystring.get("List") or [None])[0] == "ALL":
        function_name = unquote(self.path.rstrip("/").rsplit("/", 2)[-2])
        config, _ = moto_state.resolve_function(self.current_account, self.region, function_name, None)
        items = []
        for (name, qualifier), _cfg in sorted(pool.provisioned_configs.items()):
            if name == config.name:
                status = pool.provisioned_status(name, qualifier, service.clock.micros) or {}
                items.append({"FunctionArn": f"{config.arn}:{qualifier}", **status})
        return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": items})
    _, config, qualifier = _provisioned_target(self)
    answer = pool.provisioned_status(config.name, qualifier, service.clock.micros)
    if answer is None:
        raise _config_not_found()
    return 200, {}, json.dumps(answer)


def _response_delete_provisioned(self: Any) -> tuple[int, dict[str, str], str]:
    """DeleteProvisionedConcurrencyConfig: the environments become on-demand ones."""
    service, config, qualifier = _provisioned_target(self)
    if (config.name, qualifier) not in service.runtime.pool.provisioned_configs:
        raise _config_not_found()
    service.runtime.provision(config, qualifier, 0)
    return 204, {"status": "204"}, ""


def _response_list_provisioned(self: Any) -> tuple[int, dict[str, str], str]:
    return _response_get_provisioned(self)


def _recursion_target(self: Any) -> Any:
    function_name = unquote(self.path.rstrip("/").rsplit("/", 2)[-2])
    return moto_state.lambda_backend(self.current_account, self.region).get_function(function_name)


def _response_put_recursion(self: Any) -> tuple[int, dict[str, str], str]:
    """PutFunctionRecursionConfig (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionRecursionConfig.html)."""
    from moto.core.exceptions import JsonRESTError

    from ..rules.recursion import RECURSIVE_LOOP_VALUES

    value = json.loads(self.body or "{}").get("RecursiveLoop")
    if value not in RECURSIVE_LOOP_VALUES:
        raise JsonRESTError("ValidationException", f"1 validation error detected: Value '{value}' at "
                            "'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: "
                            f"[{', '.join(RECURSIVE_LOOP_VALUES)}]")
    _recursion_target(self).__dict__[moto_state.RECURSION_ATTR] = value
    return 200, {}, json.dumps({"RecursiveLoop": value})


def _response_get_recursion(self: Any) -> tuple[int, dict[str, str], str]:
    """GetFunctionRecursionConfig: Terminate unless set (https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionRecursionConfig.html)."""
    fn = _recursion_target(self)
    return 200, {}, json.dumps({"RecursiveLoop": moto_state.recursive_loop(
        self.current_account, self.region, fn.function_name)})


def patches() -> list[Patch]:
    """The patches of this module, applied on start and removed on stop."""
    import moto.awslambda.urls as lambda_urls
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    return [
        Patch(LambdaResponse, "put_function_event_invoke_config", _response_put_eic, ("self",),
              "event invoke config per qualifier"),
        Patch(LambdaResponse, "update_function_event_invoke_config", _response_update_eic, ("self",),
              "event invoke config per qualifier"),
        Patch(LambdaResponse, "get_function_event_invoke_config", _response_get_eic, ("self",),
              "event invoke config per qualifier"),
        Patch(LambdaResponse, "delete_function_event_invoke_config", _response_delete_eic, ("self",),
              "event invoke config per qualifier"),
        Patch(LambdaResponse, "list_function_event_invoke_configs", _response_list_eic, ("self",),
              "event invoke config per qualifier"),
        Patch(LambdaFunction, "__init__", None, ("self", "account_id", "spec", "region", "version"),
              "DeadLetterConfig, TenancyConfig, LoggingConfig", wrap=_wrap_function_init),
        Patch(LambdaFunction, "get_configuration", None, ("self", "on_create"), "DeadLetterConfig, TenancyConfig, LoggingConfig",
              wrap=_wrap_get_configuration),
        Patch(LambdaFunction, "update_configuration", None, ("self", "config_updates"), "DeadLetterConfig, LoggingConfig, TracingConfig",
              wrap=_wrap_update_configuration),
        Patch(LambdaBackend, "put_function_concurrency", _put_function_concurrency,
              ("self", "function_name", "reserved_concurrency"), "100 unreserved, always"),
        Patch(lambda_urls, "url_paths", None, "urls", "account settings, provisioned concurrency, recursion routes",
              wrap=_wrap_lambda_urls, adds=tuple(_EXTRA_LAMBDA_URLS)),
        Patch(LambdaResponse, "get_account_settings", _response_get_account_settings, "absent",
              "GetAccountSettings"),
        Patch(LambdaResponse, "put_provisioned_concurrency_config", _response_put_provisioned, "absent",
              "provisioned concurrency"),
        Patch(LambdaResponse, "get_provisioned_concurrency_config", _response_get_provisioned, "absent",
              "provisioned concurrency"),
        Patch(LambdaResponse, "delete_provisioned_concurrency_config", _response_delete_provisioned, "absent",
              "provisioned concurrency"),
        Patch(LambdaResponse, "list_provisioned_concurrency_configs", _response_list_provisioned, "absent",
              "provisioned concurrency"),
        Patch(LambdaResponse, "put_function_recursion_config", _response_put_recursion, "absent",
              "recursive loop detection setting"),
        Patch(LambdaResponse, "get_function_recursion_config", _response_get_recursion, "absent",
              "recursive loop detection setting"),
    ]
