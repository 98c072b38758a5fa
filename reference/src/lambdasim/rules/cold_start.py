"""Cold starts: the modelled INIT duration of a new execution environment, the init time limit,
and how long an idle environment lives.

Pure: no moto, no clock. The simulator (`runtime.Runtime`) and the capacity model of issue 7
call the same functions.

What is modelled, and on what basis
-----------------------------------
AWS publishes no per-runtime cold-start figures (any millisecond number found is a third
party's, not AWS's). So the model is explicit and parameterised, and **every
constant below is illustrative, not an AWS figure**: change them (`InitDurationModel(...)`,
`Simulator(init_model=...)`) to match what you measure in your own account. What the model
keeps from the documentation is the *direction* of each factor:

- **Runtime** (lambda-runtime-environment.html: the INIT phase starts the runtime and runs the
  function's static code): a fixed platform part per runtime family (sandbox and runtime
  process start) plus a CPU-bound part (interpreter / VM bootstrap). Families: python, nodejs,
  ruby, java, dotnet, provided (OS-only runtimes: Go, Rust, custom), image (container images).
- **Memory** (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: CPU is
  allocated in proportion to memory; 1,769 MB = one vCPU): the CPU-bound part is stated at one
  vCPU and scaled by 1769 / memory below 1,769 MB. Init is modelled single-threaded, so more
  than one vCPU does not shorten it.
- **Package size** (AWS's guidance: smaller deployment packages load faster; qualitative): a
  term proportional to the deployment package size (`CodeSize`: the zip, or the image).
- **VPC**: nothing. Since the 2019 Hyperplane change, ENIs are created when the function is
  created or its VPC configuration changes, not at cold start
  (https://aws.amazon.com/blogs/compute/announcing-improved-vpc-networking-for-aws-lambda-functions/).
  `vpc_ms` is there to show the pre-2019 world in a lesson; it defaults to 0.
- **The function's own init code**: the virtual time the handler module's init really spends
  (its `time.sleep`s, the calls it waits for) comes on top, unscaled: it is waiting, not CPU.
  Real CPU time of imports is never measured (runs would not be reproducible).

The **init time limit** (lambda-runtime-environment.html): 10 s for on-demand functions; if
init does not finish, Lambda retries it at the first invocation, under the function's timeout.

The **idle lifetime** of a warm environment: AWS documents none (environments are reclaimed
after some idle time, and recycled anyway after some hours). The simulator draws each
environment's idle lifetime from a seeded range, 5 to 15 minutes by default: illustrative.

INIT billing since 2025-08-01 (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/)
is metering's concern; the runtime records `init_duration_ms` on every cold invocation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random
from typing import Final

# configuration-memory.html: "at 1,769 MB, a function has the equivalent of one vCPU".
FULL_VCPU_MEMORY_MB: Final = 1769
# lambda-runtime-environment.html: the INIT phase of an on-demand function is limited to 10 s;
# with provisioned concurrency (or SnapStart) to max(130 s, the function's timeout).
ON_DEMAND_INIT_LIMIT_S: Final = 10
PROVISIONED_INIT_LIMIT_S: Final = 130
MIB: Final = 1024 * 1024

RUNTIME_FAMILIES: Final = ("python", "nodejs", "ruby", "java", "dotnet", "provided", "image")

# Illustrative constants (NOT AWS figures; see the module docstring). Milliseconds.
DEFAULT_PLATFORM_MS: Final[Mapping[str, float]] = {
    "python": 50.0, "nodejs": 60.0, "ruby": 60.0, "java": 80.0, "dotnet": 80.0,
    "provided": 20.0, "image": 150.0,
}
DEFAULT_RUNTIME_CPU_MS: Final[Mapping[str, float]] = {  # at one vCPU
    "python": 4.0, "nodejs": 6.0, "ruby": 8.0, "java": 40.0, "dotnet": 30.0,
    "provided": 1.0, "image": 10.0,
}
DEFAULT_PACKAGE_MS_PER_MIB: Final = 2.0
# Idle lifetime of a warm environment, seconds, drawn uniformly per environment.
DEFAULT_IDLE_LIFETIME_S: Final = (300.0, 900.0)


def runtime_family(runtime: str | None, package_type: str = "Zip") -> str:
    """The runtime family of a function's `Runtime` ("python3.12" -> "python")."""
    if package_type == "Image":
        return "image"
    if not runtime:
        return "provided"
    for family in RUNTIME_FAMILIES:
        if runtime.startswith(family):
            return family
    return "provided"  # provided.al2023, go1.x and anything unknown


def cpu_slowdown(memory_mb: int) -> float:
    """How much longer CPU-bound single-threaded work takes than at one vCPU (>= 1)."""
    if memory_mb <= 0:
        raise ValueError("memory must be > 0 MB")
    return max(1.0, FULL_VCPU_MEMORY_MB / memory_mb)


@dataclass(frozen=True)
class InitDurationModel:
    """The platform part of a cold start's INIT duration (illustrative constants)."""

    platform_ms: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PLATFORM_MS))
    runtime_cpu_ms: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RUNTIME_CPU_MS))
    package_ms_per_mib: float = DEFAULT_PACKAGE_MS_PER_MIB
    vpc_ms: float = 0.0

    def platform_init_ms(
        self,
        *,
        runtime: str | None,
        memory_mb: int,
        package_bytes: int = 0,
        package_type: str = "Zip",
        vpc: bool = False,
    ) -> float:
        """INIT time before the function's own init code runs, in milliseconds."""
        family = runtime_family(runtime, package_type)
        ms = self.platform_ms.get(family, self.platform_ms.get("provided", 0.0))
        ms += self.runtime_cpu_ms.get(family, 0.0) * cpu_slowdown(memory_mb)
        ms += self.package_ms_per_mib * max(0, package_bytes) / MIB
        if vpc:
            ms += self.vpc_ms
        return ms

    def init_duration_ms(
        self,
        *,
        runtime: str | None,
        memory_mb: int,
        package_bytes: int = 0,
        package_type: str = "Zip",
        vpc: bool = False,
        code_init_ms: float = 0.0,
    ) -> float:
        """The whole INIT duration: platform part plus the time the function's init code spends."""
        return self.platform_init_ms(
            runtime=runtime, memory_mb=memory_mb, package_bytes=package_bytes,
            package_type=package_type, vpc=vpc,
        ) + max(0.0, code_init_ms)


# A model without the platform part: INIT is only the time the function's own init code spends
# (the simulator's behaviour before the model; handy where a test or lesson times a handler).
NO_PLATFORM_INIT: Final = InitDurationModel(platform_ms={}, runtime_cpu_ms={}, package_ms_per_mib=0.0)


def provisioned_init_limit_s(timeout_s: int) -> int:
    """The INIT time limit of a provisioned environment: max(130 s, the function's timeout)."""
    return max(PROVISIONED_INIT_LIMIT_S, timeout_s)


def platform_init_us(model: InitDurationModel, **factors: object) -> int:
    """`model.platform_init_ms(**factors)` in integer microseconds (the clock's unit)."""
    return round(model.platform_init_ms(**factors) * 1000)  # type: ignore[arg-type]


@dataclass(frozen=True)
class IdleLifetime:
    """How long an idle environment lives before Lambda reclaims it (AWS documents no figure).

    `seconds` is a fixed lifetime, or a (low, high) range drawn uniformly per environment
    with the simulation's seeded generator. None: never reclaimed.
    """

    seconds: float | tuple[float, float] | None = DEFAULT_IDLE_LIFETIME_S

    def __post_init__(self) -> None:
        s = self.seconds
        if isinstance(s, tuple):
            if len(s) != 2 or not 0 < s[0] <= s[1]:
                raise ValueError("idle lifetime range must be (low, high) with 0 < low <= high")
        elif s is not None and s <= 0:
            raise ValueError("idle lifetime must be > 0 seconds")

    def draw_us(self, rng: Random) -> int | None:
        """One environment's idle lifetime in microseconds (None: never reclaimed)."""
        s = self.seconds
        if s is None:
            return None
        if isinstance(s, tuple):
            low, high = s
            return round(rng.uniform(low, high) * 1_000_000)
        return round(s * 1_000_000)

    @staticmethod
    def reclaimed(last_used_us: int, lifetime_us: int | None, now_us: int) -> bool:
        """Has an environment idle since `last_used_us` been reclaimed by `now_us`?"""
        return lifetime_us is not None and now_us >= last_used_us + lifetime_us
