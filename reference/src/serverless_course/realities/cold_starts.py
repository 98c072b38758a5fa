"""Cold starts from data: what the course measures, what a public benchmark publishes, and a model built from both.

A cold start's INIT phase starts the runtime and then runs the function's module-level code
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). AWS publishes no
per-runtime INIT figures, so the two parts come from two data sets, each stored beside this
module with how it was obtained:

- **The code's part, measured here** (`cold_start_imports.json`, written by
  `reference/benchmarks/cold_start_imports.py`): the import time of real dependency sets (a bare
  handler, boto3 with a client, Powertools, Powertools' parser on pydantic, numpy), each in a
  fresh interpreter, median of several repetitions, on the machine named in the file.
- **The runtime's part, published** (`cold_start_published.json`): the `Init Duration` of
  hello-world functions per runtime from the maxday/lambda-perf daily benchmark (10 cold starts
  each, the day and the URL in the file). It is a third party's measurement, not AWS's.

`published_init_model()` turns the published medians into the simulator's
`InitDurationModel`; `init_ms()` adds the measured imports on top, scaled by CPU share.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lambdasim.rules.cold_start import InitDurationModel, cpu_slowdown

HERE = Path(__file__).parent
MEASURED_FILE = HERE / "cold_start_imports.json"
PUBLISHED_FILE = HERE / "cold_start_published.json"

# One runtime stands for its family in the model: the newest in the data set whose family the
# simulator knows (python3.12 is also the course's own runtime, in its SAM templates).
FAMILY_REPRESENTATIVES = {
    "python": "python3.12",
    "nodejs": "nodejs22.x",
    "ruby": "ruby3.4",
    "java": "java21",
    "dotnet": "dotnet8",
    "provided": "go (provided.al2023)",
}
# The memory size the published platform part is read at (the smallest in the data set).
REFERENCE_MEMORY_MB = 128


@dataclass(frozen=True)
class ImportTime:
    """One dependency set's import, measured in fresh interpreters."""

    name: str
    source: str
    median_ms: float
    runs_ms: tuple[float, ...]
    modules_loaded: int
    module_files_mib: float


@dataclass(frozen=True)
class PublishedInit:
    """The published `Init Duration`s of one hello-world function (runtime and memory size)."""

    runtime: str
    family: str
    memory_mb: int
    runs_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)


@cache
def measured() -> dict:
    """The measurement file as written: method, machine, versions, repetitions, and the sets."""
    return json.loads(MEASURED_FILE.read_text())


@cache
def published() -> dict:
    """The published data set as stored: source, URL, date, method, and the runs."""
    return json.loads(PUBLISHED_FILE.read_text())


def measured_imports() -> list[ImportTime]:
    """The measured dependency sets, in the benchmark's order (smallest first)."""
    return [ImportTime(name, s["source"], s["median_ms"], tuple(s["import_ms"]), s["modules_loaded"],
                       s["module_files_mib"])
            for name, s in measured()["dependency_sets"].items()]


def import_ms(name: str) -> float:
    """The median import time of one measured dependency set, in milliseconds."""
    return measured()["dependency_sets"][name]["median_ms"]


def published_inits() -> list[PublishedInit]:
    """Every published run of the stored subset."""
    return [PublishedInit(r["runtime"], r["family"], r["memory_mb"], tuple(r["init_ms"]))
            for r in published()["runs"]]


def published_median_ms(runtime: str, memory_mb: int = REFERENCE_MEMORY_MB) -> float:
    """The median published `Init Duration` of a hello-world function of `runtime` at `memory_mb`."""
    for run in published_inits():
        if run.runtime == runtime and run.memory_mb == memory_mb:
            return run.median_ms
    raise KeyError(f"no published runs for {runtime} at {memory_mb} MB")


def memory_effect() -> dict[str, float]:
    """Per runtime: the relative change of the median from the smallest to the largest memory size.

    Near zero for hello-world functions: their INIT is the runtime's start, which more memory
    (more CPU) barely shortens in this data.
    """
    by_runtime: dict[str, dict[int, float]] = {}
    for run in published_inits():
        by_runtime.setdefault(run.runtime, {})[run.memory_mb] = run.median_ms
    return {runtime: medians[max(medians)] / medians[min(medians)] - 1 for runtime, medians in by_runtime.items()}


def published_init_model() -> InitDurationModel:
    """The simulator's INIT model with its runtime part taken from the published medians.

    Each family's platform part is its representative's hello-world median at 128 MB; it is not
    scaled with memory, since the published medians barely move with it (`memory_effect`).
    Families the data set lacks (container images) keep the simulator's defaults, and so does
    the package-size term: the data set has one package size per runtime.
    """
    default = InitDurationModel()
    platform = dict(default.platform_ms)
    runtime_cpu = dict(default.runtime_cpu_ms)
    for family, runtime in FAMILY_REPRESENTATIVES.items():
        platform[family] = published_median_ms(runtime)
        runtime_cpu[family] = 0.0
    return InitDurationModel(platform_ms=platform, runtime_cpu_ms=runtime_cpu,
                             package_ms_per_mib=default.package_ms_per_mib)


def code_init_ms(import_ms_at_full_core: float, memory_mb: int) -> float:
    """The import time on a function of `memory_mb`, if this machine's core is one Lambda vCPU.

    Imports are CPU-bound and single-threaded; Lambda allocates CPU in proportion to memory, one
    vCPU at 1,769 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html),
    so below that the same import takes 1,769 / memory times longer. That this machine's core
    equals one Lambda vCPU is an assumption: check it against your own `Init Duration`s.
    """
    return import_ms_at_full_core * cpu_slowdown(memory_mb)


def init_ms(runtime: str, memory_mb: int, import_ms_at_full_core: float,
            model: InitDurationModel | None = None) -> float:
    """A cold start's INIT: the runtime's published part plus the measured imports at this memory."""
    model = model or published_init_model()
    return model.init_duration_ms(runtime=runtime, memory_mb=memory_mb,
                                  code_init_ms=code_init_ms(import_ms_at_full_core, memory_mb))
