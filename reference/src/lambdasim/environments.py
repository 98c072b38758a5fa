"""Execution environments: the sandboxes that run a function's code.

An environment belongs to one function version and configuration. It is created *cold* (the
handler module's init runs in it, in a fresh module object) and then reused *warm* while idle.
An environment runs one invocation at a time (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html),
so a second invocation that arrives while all are busy gets a new environment.

What is modelled now: creation, reuse (most recently used idle environment first), retirement
after a crash or timeout or an update of the function. Not yet: init-duration model, idle
reclaim, concurrency limits and throttling, provisioned concurrency. `EnvironmentPool.acquire`
is the single place those plug in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any, Literal

from .clock import from_micros
from .functions import FunctionConfig, LoadedCode

EnvironmentState = Literal["new", "ready", "retired"]


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


class EnvironmentPool:
    """All execution environments of all functions, by function name."""

    def __init__(self) -> None:
        self._by_function: dict[str, list[ExecutionEnvironment]] = {}
        self.retired: list[ExecutionEnvironment] = []

    def environments(self, function_name: str) -> list[ExecutionEnvironment]:
        """The live environments of a function (all versions), oldest first."""
        return list(self._by_function.get(function_name, []))

    def all(self) -> list[ExecutionEnvironment]:
        """Every live environment."""
        return [env for envs in self._by_function.values() for env in envs]

    def find_warm(
        self, config: FunctionConfig, code_key: tuple[Any, ...], at_us: int
    ) -> ExecutionEnvironment | None:
        """An idle, initialized environment of this configuration and code, most recently used first."""
        fingerprint = (config.fingerprint, code_key)
        best: ExecutionEnvironment | None = None
        for env in self._by_function.get(config.name, ()):
            if (
                env.state == "ready"
                and not env.running
                and env.fingerprint == fingerprint
                and env.busy_until_us <= at_us
                and (best is None or env.last_used_us > best.last_used_us)
            ):
                best = env
        return best

    def add(self, env: ExecutionEnvironment) -> None:
        """Register a newly created environment."""
        self._by_function.setdefault(env.function_name, []).append(env)

    def retire(self, env: ExecutionEnvironment) -> None:
        """Remove an environment (crash, timeout, failed init, function updated or deleted)."""
        envs = self._by_function.get(env.function_name, [])
        if env in envs:
            envs.remove(env)
            self.retired.append(env)
        env.state = "retired"
