"""Execution environments: the sandboxes that run a function's code, and who may have one.

An environment belongs to one function version and configuration. It is created *cold* (the
handler module's init runs in it, in a fresh module object) and then reused *warm* while idle.
An environment runs one invocation at a time (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html),
so a second invocation that arrives while all are busy gets a new environment, if the
concurrency rules allow one.

`EnvironmentPool.acquire` is the single place an invocation gets an environment:

1. Idle environments past their idle lifetime are reclaimed first (lazily, at the time they
   would have been reclaimed; `rules.cold_start.IdleLifetime`).
2. An idle *provisioned* environment of the version is taken first, without any check: its
   concurrency is already claimed (provisioned-concurrency.html).
3. Otherwise the concurrency rules decide (`rules.concurrency.ConcurrencyLimits.check`:
   reserved concurrency as guarantee and cap, the unreserved account pool); then an idle warm
   environment is reused (most recently used first), or a new one is created if the function's
   scaling rate allows it (`rules.concurrency.ScalingRate`). A refusal raises
   `errors.Throttled`.

Concurrency is counted in environments busy at an instant: from an invocation's start to its
end on the virtual clock (`busy_until_us`), or while its code runs (`running`).
Environments are also retired after a crash, a timeout, a failed init or a function update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from random import Random
from types import ModuleType
from typing import Any, Literal

from .clock import from_micros
from .errors import Throttled
from .functions import FunctionConfig, LoadedCode
from .rules.cold_start import IdleLifetime
from .rules.tenancy import TENANT_LIMIT_REASON, max_tenant_environments
from .rules.concurrency import (
    REASON_SCALING_RATE,
    ConcurrencyLimits,
    ScalingRate,
    Throttle,
    provisioned_concurrency_error,
)

EnvironmentState = Literal["new", "ready", "retired"]


class ConfigurationRejected(ValueError):
    """A concurrency configuration AWS would refuse (400 InvalidParameterValueException)."""


@dataclass(eq=False)
class ExecutionEnvironment:
    """One execution environment (one Lambda sandbox)."""

    id: str
    function_name: str
    version: str
    fingerprint: tuple[Any, ...]
    log_stream_name: str
    created_at_us: int
    last_used_us: int
    busy_until_us: int
    state: EnvironmentState = "new"
    running: bool = False
    invocations: int = 0
    init_duration_ms: float | None = None
    code: LoadedCode | None = None
    # Tenant isolation mode (rules/tenancy.py): the one tenant this environment serves.
    tenant_id: str | None = None
    # Provisioned concurrency: initialised ahead for `qualifier`, never reclaimed when idle.
    provisioned: bool = False
    qualifier: str | None = None
    # Idle lifetime drawn at creation (None: never reclaimed), and how the environment ended.
    idle_lifetime_us: int | None = None
    retired_at_us: int | None = None
    retired_reason: str | None = None
    # Code-folder modules private to this environment (see functions.CodeLoader.activate).
    private_modules: dict[str, ModuleType] = field(default_factory=dict, repr=False)
    # Environment variables the function's code changed; they persist while the environment
    # lives, as in the one process AWS keeps per environment.
    environ_changes: dict[str, str | None] = field(default_factory=dict, repr=False)

    @property
    def created_at(self) -> datetime:
        """When the environment was created (virtual time)."""
        return from_micros(self.created_at_us)

    @property
    def last_used(self) -> datetime:
        """When its last invocation ended (virtual time)."""
        return from_micros(self.last_used_us)

    @property
    def busy_until(self) -> datetime:
        """Until when it is busy with an invocation (virtual time)."""
        return from_micros(self.busy_until_us)

    @property
    def module(self) -> ModuleType | None:
        """The handler module loaded in this environment (None before init succeeds)."""
        return self.code.module if self.code is not None else None

    def busy_at(self, at_us: int) -> bool:
        """Is it handling an invocation at `at_us` (counts towards concurrency)?

        A provisioned environment still initialising ahead is not (it has run nothing yet).
        """
        return self.running or (self.invocations > 0 and self.busy_until_us > at_us)

    def ready_at(self, at_us: int) -> bool:
        """Has its init finished by `at_us`?"""
        init_us = round((self.init_duration_ms or 0.0) * 1000)
        return self.state == "ready" and self.created_at_us + init_us <= at_us


@dataclass(frozen=True)
class ThrottleRecord:
    """One invocation the service refused for lack of concurrency (`Simulator.throttles`).

    Throttled requests are not invocations: they are not in `Simulator.invocations` and the
    Invocations metric does not count them (monitoring-metrics-types.html: Throttles).
    """

    at_us: int
    function_name: str
    version: str
    invocation_type: str
    source: str
    reason: str
    limit: str
    request_id: str

    @property
    def at(self) -> datetime:
        """When the request was refused (virtual time)."""
        return from_micros(self.at_us)


@dataclass
class ProvisionedConfig:
    """A provisioned concurrency configuration (function + version or alias)."""

    function_name: str
    qualifier: str
    version: str
    requested: int
    last_modified_us: int
    # Creates and initialises one provisioned environment at a time (supplied by the runtime).
    prepare: Callable[[int], ExecutionEnvironment] = field(repr=False)
    status_reason: str | None = None


class EnvironmentPool:
    """All execution environments of all functions, and the rules that hand them out.

    Args:
        limits: the account pool (`rules.concurrency.ConcurrencyLimits`).
        scaling: the per-function scaling rate; None for no limit.
        idle_lifetime: how long idle environments live (`rules.cold_start.IdleLifetime`).
        rng: the seeded generator idle lifetimes are drawn from.
    """

    def __init__(
        self,
        *,
        limits: ConcurrencyLimits | None = None,
        scaling: ScalingRate | None = None,
        idle_lifetime: IdleLifetime | None = None,
        rng: Random | None = None,
    ) -> None:
        self._by_function: dict[str, list[ExecutionEnvironment]] = {}
        self.retired: list[ExecutionEnvironment] = []
        # Retired environments whose last invocation may still be running on the virtual clock
        # (a timeout or crash retires the environment when the invocation is computed, and the
        # invocation ends later): they still count towards concurrency until it ends.
        self._draining: dict[str, list[ExecutionEnvironment]] = {}
        self.limits = limits if limits is not None else ConcurrencyLimits()
        self.scaling = scaling
        self.idle_lifetime = idle_lifetime if idle_lifetime is not None else IdleLifetime(None)
        self._rng = rng if rng is not None else Random(0)
        # Reserved concurrency per function of an account and Region; the simulator reads it
        # from moto (put_function_concurrency). Functions without a reservation are absent.
        self.reserved_source: Callable[[str, str], Mapping[str, int]] = lambda account, region: {}
        self.provisioned_configs: dict[tuple[str, str], ProvisionedConfig] = {}

    # -- observing ----------------------------------------------------------------------------
    def environments(self, function_name: str) -> list[ExecutionEnvironment]:
        """The live environments of a function (all versions), oldest first."""
        return list(self._by_function.get(function_name, []))

    def all(self) -> list[ExecutionEnvironment]:
        """Every live environment."""
        return [env for envs in self._by_function.values() for env in envs]

    def busy(self, at_us: int, function_name: str | None = None) -> int:
        """Concurrency at `at_us`: environments busy then (of one function, or all)."""
        names = [function_name] if function_name is not None else list(self._by_function.keys() | self._draining)
        return sum(1 for name in names for env in self._counted(name, at_us) if env.busy_at(at_us))

    def _counted(self, name: str, at_us: int) -> list[ExecutionEnvironment]:
        draining = self._draining.get(name)
        if draining:
            draining[:] = [env for env in draining if env.busy_until_us > at_us]
            return self._by_function.get(name, []) + draining
        return self._by_function.get(name, [])

    def provisioned_totals(self) -> dict[str, int]:
        """Provisioned concurrency per function (all its versions and aliases)."""
        totals: dict[str, int] = {}
        for cfg in self.provisioned_configs.values():
            totals[cfg.function_name] = totals.get(cfg.function_name, 0) + cfg.requested
        return totals

    # -- handing out environments -------------------------------------------------------------
    def acquire(
        self,
        config: FunctionConfig,
        code_key: tuple[Any, ...],
        at_us: int,
        create: Callable[[], ExecutionEnvironment],
        tenant_id: str | None = None,
    ) -> tuple[ExecutionEnvironment, bool]:
        """An environment for an invocation of `config` starting at `at_us`, and whether it is new.

        `create` makes (and registers with `add`) a new environment. With `tenant_id` (tenant
        isolation mode) only that tenant's environments are reused and a new one is the
        tenant's; the function's tenant environments, busy or idle, are limited
        (`rules.tenancy.max_tenant_environments`). Raises `errors.Throttled` when the
        concurrency rules, that limit or the scaling rate refuse.
        """
        name = config.name
        self.reclaim_idle(at_us, name)
        self._top_up_provisioned(name, at_us)
        fingerprint = (config.fingerprint, code_key)
        env = self._idle(name, fingerprint, at_us, provisioned=True, tenant_id=tenant_id)
        if env is not None:
            return env, False
        reserved = self.reserved_source(config.account_id, config.region)
        throttle = self.limits.check(
            name, busy=self._on_demand_busy(name, reserved, at_us), reserved=reserved,
            provisioned=self.provisioned_totals(),
        )
        if throttle is not None:
            raise _throttled(name, throttle)
        env = self._idle(name, fingerprint, at_us, provisioned=False, tenant_id=tenant_id)
        if env is not None:
            return env, False
        if tenant_id is not None:
            tenant_environments = sum(1 for e in self._by_function.get(name, ()) if e.tenant_id is not None)
            if tenant_environments >= max_tenant_environments(reserved.get(name, self.limits.account_limit)):
                raise _throttled(name, Throttle(TENANT_LIMIT_REASON, "tenant-environments"))
        if self.scaling is not None and not self.scaling.try_take(name, at_us):
            raise _throttled(name, Throttle(REASON_SCALING_RATE, "scaling-rate"))
        env = create()
        env.tenant_id = tenant_id
        env.idle_lifetime_us = self.idle_lifetime.draw_us(self._rng)
        return env, True

    def find_warm(
        self, config: FunctionConfig, code_key: tuple[Any, ...], at_us: int
    ) -> ExecutionEnvironment | None:
        """An idle, initialized environment of this configuration and code (no rules applied)."""
        fingerprint = (config.fingerprint, code_key)
        return self._idle(config.name, fingerprint, at_us, provisioned=True) or self._idle(
            config.name, fingerprint, at_us, provisioned=False)

    def _idle(
        self, name: str, fingerprint: tuple[Any, ...], at_us: int, *, provisioned: bool, tenant_id: str | None = None
    ) -> ExecutionEnvironment | None:
        best: ExecutionEnvironment | None = None
        for env in self._by_function.get(name, ()):
            if (
                env.provisioned is provisioned
                and env.tenant_id == tenant_id
                and env.state == "ready"
                and not env.running
                and env.fingerprint == fingerprint
                and env.busy_until_us <= at_us
                and (best is None or env.last_used_us > best.last_used_us)
            ):
                best = env
        return best

    def _on_demand_busy(self, name: str, reserved: Mapping[str, int], at_us: int) -> dict[str, int]:
        # Only what the rule for `name` reads: its own count if it has reserved concurrency,
        # else the counts of every function sharing the unreserved pool.
        if name in reserved:
            names = [name]
        else:
            names = [n for n in self._by_function.keys() | self._draining if n not in reserved]
        counts: dict[str, int] = {}
        for n in names:
            count = sum(1 for env in self._counted(n, at_us) if not env.provisioned and env.busy_at(at_us))
            if count:
                counts[n] = count
        return counts

    # -- lifecycle ----------------------------------------------------------------------------
    def add(self, env: ExecutionEnvironment) -> None:
        """Register a newly created environment."""
        self._by_function.setdefault(env.function_name, []).append(env)

    def retire(self, env: ExecutionEnvironment, reason: str | None = None, at_us: int | None = None) -> None:
        """Remove an environment (crash, timeout, failed init, idle, function updated or deleted)."""
        envs = self._by_function.get(env.function_name, [])
        if env in envs:
            envs.remove(env)
            self.retired.append(env)
            if env.invocations > 0 and reason != "idle":
                self._draining.setdefault(env.function_name, []).append(env)
        env.state = "retired"
        if env.code is not None and env.code.release is not None:
            env.code.release()
        if env.retired_reason is None:
            env.retired_reason = reason
        if env.retired_at_us is None:
            env.retired_at_us = at_us if at_us is not None else env.busy_until_us

    def release_code(self) -> None:
        """Let go of every live environment's code (worker processes end): the simulation stops."""
        for envs in self._by_function.values():
            for env in envs:
                if env.code is not None and env.code.release is not None:
                    env.code.release()

    def reclaim_idle(self, at_us: int, function_name: str | None = None) -> list[ExecutionEnvironment]:
        """Retire the environments idle past their lifetime by `at_us` (of one function, or all)."""
        names = [function_name] if function_name is not None else list(self._by_function)
        gone = []
        for name in names:
            for env in list(self._by_function.get(name, ())):
                if (
                    not env.provisioned
                    and not env.running
                    and env.busy_until_us <= at_us
                    and IdleLifetime.reclaimed(env.last_used_us, env.idle_lifetime_us, at_us)
                ):
                    assert env.idle_lifetime_us is not None
                    self.retire(env, "idle", env.last_used_us + env.idle_lifetime_us)
                    gone.append(env)
        return gone

    # -- provisioned concurrency --------------------------------------------------------------
    def configure_provisioned(
        self,
        config: FunctionConfig,
        qualifier: str,
        requested: int,
        at_us: int,
        prepare: Callable[[int], ExecutionEnvironment],
    ) -> ProvisionedConfig:
        """PutProvisionedConcurrencyConfig: check the rules, then allocate (`requested` 0 removes).

        Raises `ConfigurationRejected` with the message of AWS's InvalidParameterValueException.
        """
        if config.version == "$LATEST" or qualifier == "$LATEST":
            raise ConfigurationRejected(
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
        if requested < 0:
            raise ConfigurationRejected("ProvisionedConcurrentExecutions must be >= 1.")
        totals = self.provisioned_totals()
        old = self.provisioned_configs.get((config.name, qualifier))
        total = totals.get(config.name, 0) - (old.requested if old else 0) + requested
        problem = provisioned_concurrency_error(
            self.limits.account_limit, self.reserved_source(config.account_id, config.region),
            totals, config.name, total)
        if problem and requested > 0:
            raise ConfigurationRejected(problem)
        cfg = ProvisionedConfig(config.name, qualifier, config.version, requested, at_us, prepare)
        self.set_provisioned(cfg, at_us)
        return cfg

    def set_provisioned(self, cfg: ProvisionedConfig, at_us: int) -> None:
        """Apply a provisioned concurrency configuration: environments are initialised ahead
        (now) up to `cfg.requested`, or retired down to it. `requested` 0 removes it."""
        key = (cfg.function_name, cfg.qualifier)
        if cfg.requested <= 0:
            self.provisioned_configs.pop(key, None)
        else:
            self.provisioned_configs[key] = cfg
        mine = self._provisioned_envs(cfg.function_name, cfg.qualifier)
        surplus = len(mine) - max(0, cfg.requested)
        for env in sorted(mine, key=lambda e: (e.busy_at(at_us), e.last_used_us))[:max(0, surplus)]:
            env.provisioned = False  # finishes what it runs, then lives as on-demand until idle
            env.idle_lifetime_us = self.idle_lifetime.draw_us(self._rng)
        if cfg.requested > 0:
            self._top_up(cfg, at_us)

    def _provisioned_envs(self, function_name: str, qualifier: str) -> list[ExecutionEnvironment]:
        return [e for e in self._by_function.get(function_name, ()) if e.provisioned and e.qualifier == qualifier]

    def _top_up(self, cfg: ProvisionedConfig, at_us: int) -> None:
        missing = cfg.requested - len(self._provisioned_envs(cfg.function_name, cfg.qualifier))
        for _ in range(max(0, missing)):
            env = cfg.prepare(at_us)
            if env.state == "retired":  # its init failed: AWS reports the config as FAILED
                cfg.status_reason = f"FUNCTION_ERROR_INIT_FAILURE: init of environment {env.id} failed"
                return
            env.provisioned = True
            env.qualifier = cfg.qualifier
            env.idle_lifetime_us = None

    def _top_up_provisioned(self, function_name: str, at_us: int) -> None:
        # A provisioned environment that crashed or timed out is replaced (initialised ahead
        # again), as Lambda keeps the requested number allocated.
        for (name, _), cfg in self.provisioned_configs.items():
            if name == function_name and cfg.status_reason is None:
                self._top_up(cfg, at_us)

    def provisioned_status(self, function_name: str, qualifier: str, at_us: int) -> dict[str, Any] | None:
        """GetProvisionedConcurrencyConfig's answer for a configuration, or None if there is none."""
        cfg = self.provisioned_configs.get((function_name, qualifier))
        if cfg is None:
            return None
        envs = self._provisioned_envs(function_name, qualifier)
        ready = sum(1 for e in envs if e.ready_at(at_us))
        if cfg.status_reason is not None:
            status = "FAILED"
        elif ready >= cfg.requested:
            status = "READY"
        else:
            status = "IN_PROGRESS"
        answer: dict[str, Any] = {
            "RequestedProvisionedConcurrentExecutions": cfg.requested,
            "AvailableProvisionedConcurrentExecutions": ready,
            "AllocatedProvisionedConcurrentExecutions": ready,
            "Status": status,
            "LastModified": from_micros(cfg.last_modified_us).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        }
        if cfg.status_reason is not None:
            answer["StatusReason"] = cfg.status_reason
        return answer


def _throttled(function_name: str, throttle: Throttle) -> Throttled:
    exc = Throttled(function_name, throttle.reason, throttle.message)
    exc.limit = throttle.limit  # type: ignore[attr-defined]
    return exc
