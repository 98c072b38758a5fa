"""Functions: their configuration as moto stores it, and the local Python code that runs them.

On AWS a function's code is a zip in Lambda; here moto keeps a placeholder zip (moto requires
one) and the simulator maps the function to local code instead: either a handler importable
from `sys.path` (`package.module.function`) or a code folder plus `Handler`, as SAM's
`CodeUri` + `Handler` (`handlers.lambda_handler` inside folder X).

Every execution environment loads the handler module into a fresh module object (its own
init, its own globals), so cold starts run the module's init for real and warm invocations see
what the previous invocation left behind, as on AWS. Modules of a code folder are private to
the environment (each environment on AWS is its own process); third-party packages are shared.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import io
import os
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .rules import runtime as rt

_PLACEHOLDER: bytes | None = None


def placeholder_zip() -> bytes:
    """A tiny deployment package for `create_function(Code={"ZipFile": ...})`.

    Deterministic (fixed timestamps), so CodeSha256 is the same on every run. The simulator
    never runs it: invocations run the mapped local handler.
    """
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            info = zipfile.ZipInfo("lambdasim_placeholder.py", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, "# lambdasim: this function runs a local handler mapped by the simulator\n")
        _PLACEHOLDER = buf.getvalue()
    return _PLACEHOLDER


@dataclass(frozen=True)
class FunctionConfig:
    """One function version's configuration, read from moto when an invocation starts."""

    name: str
    arn: str  # unqualified function ARN
    version: str  # "$LATEST" or a published version number
    runtime: str | None
    handler: str | None
    memory_mb: int
    timeout_s: int
    environment: dict[str, str]
    log_group: str
    architectures: tuple[str, ...]
    package_type: str
    code_sha256: str
    code_size: int
    last_modified: str
    region: str
    account_id: str
    vpc: bool = False  # VpcConfig with subnets (cold-start model: no cost since 2019)
    tenant_isolation: bool = False  # TenancyConfig PER_TENANT: environments per tenant (rules/tenancy.py)
    # LoggingConfig (API_LoggingConfig.html): "Text" or "JSON"; the levels apply to JSON only.
    log_format: str = "Text"
    application_log_level: str | None = None
    system_log_level: str | None = None
    tracing_mode: str = "PassThrough"  # TracingConfig Mode: "Active" or "PassThrough" (API_TracingConfig.html)

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever code or configuration changes: environments of an older
        configuration are not reused (AWS starts new environments after an update)."""
        return (
            self.version,
            self.last_modified,
            self.code_sha256,
            self.handler,
            self.runtime,
            self.memory_mb,
            self.timeout_s,
            tuple(sorted(self.environment.items())),
            (self.log_format, self.application_log_level, self.system_log_level, self.tracing_mode),
        )


@dataclass
class HandlerMapping:
    """Where a function's code lives locally.

    `handler` overrides the function's configured Handler (None: use the configuration, so
    `update_function_configuration(Handler=...)` takes effect as on AWS). `code_dir` is the
    folder the handler module is found in (SAM's CodeUri); None means `sys.path`. With
    `isolation` (a `lambdasim.isolation.Isolation`), each environment's code runs in a worker
    process instead of in this one.
    """

    handler: str | None = None
    code_dir: Path | None = None
    isolation: Any = None


@dataclass(eq=False)
class LoadedCode:
    """The handler module of one execution environment and its handler function."""

    module_name: str
    module: ModuleType
    handler: Callable[..., Any]
    release: Callable[[], None] | None = None  # called when the environment is retired


_MISSING = object()
_CODE_CACHE: dict[tuple[str, int, int], Any] = {}


class CodeLoader:
    """Loads handler modules fresh per environment and keeps `sys.modules` tidy.

    While an environment's code runs (its init or an invocation), its handler module is the one
    registered in `sys.modules` under its name (libraries such as dataclasses, pydantic and
    pickle look modules up by name) and, for a code folder, its private modules too; afterwards
    `sys.modules` is back to what it was.
    """

    def __init__(self) -> None:
        # The private module stores of the code-folder activations running now (they nest).
        self._installed: list[dict[str, ModuleType]] = []

    # -- loading ----------------------------------------------------------------------------
    def load(self, handler: str, code_dir: Path | None) -> LoadedCode:
        """Import the handler's module into a fresh module object and find the handler.

        Call it inside `activate(...)`. Raises `rules.runtime.FaultError` with AWS's error type
        and message for a malformed name, a module that cannot be imported, a syntax error or a
        missing handler. Any other exception from the module's init propagates unchanged (the
        runtime reports it as an init error of that exception type).
        """
        modname, fname = rt.split_handler(handler)
        if modname.split(".")[0] in sys.builtin_module_names:
            raise rt.builtin_module_conflict(modname)
        try:
            if code_dir is None:
                module = self._load_from_sys_path(modname)
            else:
                module = self._load_from_code_dir(modname, code_dir)
        except SyntaxError as e:
            raise rt.syntax_error(modname, e) from None
        except ImportError as e:
            raise rt.import_module_error(modname, e) from None
        try:
            fn = getattr(module, fname)
        except AttributeError:
            raise rt.handler_not_found(fname, modname) from None
        return LoadedCode(modname, module, fn)

    @staticmethod
    def _exec_fresh(name: str, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.util.module_from_spec(spec)
        previous = sys.modules.get(name, _MISSING)
        sys.modules[name] = module
        try:
            loader = spec.loader
            assert loader is not None
            if isinstance(loader, importlib.machinery.SourceFileLoader) and spec.origin:
                # Each cold start runs the module again; compiling it again is not needed (and
                # is what a cold start costs most when bytecode caching is off).
                stat = os.stat(spec.origin)
                key = (spec.origin, stat.st_mtime_ns, stat.st_size)
                code = _CODE_CACHE.get(key)
                if code is None:
                    code = _CODE_CACHE[key] = loader.get_code(name)
                assert code is not None
                exec(code, module.__dict__)
            else:
                loader.exec_module(module)
        except BaseException:
            if previous is _MISSING:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous  # type: ignore[assignment]
            raise
        return module

    def _load_from_sys_path(self, modname: str) -> ModuleType:
        parent = modname.rpartition(".")[0]
        if parent:
            importlib.import_module(parent)
        spec = importlib.util.find_spec(modname)
        if spec is None or spec.loader is None:
            raise ModuleNotFoundError(f"No module named '{modname}'", name=modname)
        return self._exec_fresh(modname, spec)

    def _load_from_code_dir(self, modname: str, code_dir: Path) -> ModuleType:
        # Resolve every package level inside the code folder only, so that a same-named module
        # of another function (or of the test suite) can never be picked up instead.
        parts = modname.split(".")
        search: list[str] = [str(code_dir)]
        module: ModuleType | None = None
        for i in range(len(parts)):
            name = ".".join(parts[: i + 1])
            last = i == len(parts) - 1
            existing = sys.modules.get(name)
            if not last and existing is not None and _is_under(existing, code_dir):
                module = existing  # a parent package this environment already loaded
            else:
                spec = importlib.machinery.PathFinder.find_spec(name, search)
                # A folder without __init__.py is a namespace package (no loader): Python, and so
                # Lambda's runtime, imports through it; the handler's own module must be a file.
                namespace_package = spec is not None and spec.loader is None and spec.submodule_search_locations
                if spec is None or (spec.loader is None and (last or not namespace_package)):
                    raise ModuleNotFoundError(f"No module named '{name}'", name=name)
                module = self._exec_fresh(name, spec)
                if namespace_package:
                    # Fixed to the locations found now: a namespace package's own path is
                    # recomputed from its parent in sys.modules, which an environment swaps out.
                    module.__path__ = list(module.__path__)
            search = list(getattr(module, "__path__", []) or [])
        assert module is not None
        return module

    # -- running ----------------------------------------------------------------------------
    @contextmanager
    def activate(
        self,
        code_dir: Path | None,
        private: dict[str, ModuleType],
        module_name: str,
        code: LoadedCode | None,
    ) -> Iterator[None]:
        """Make an environment's modules the ones `import` finds while its code runs.

        `private` is the environment's store of code-folder modules: filled at the end of each
        activation, put back into `sys.modules` at the start of the next. `code` is None during
        init (the module is being loaded). Environments can nest (a handler invoking a function
        synchronously); each activation restores exactly what it found.
        """
        if code_dir is None:
            previous = sys.modules.get(module_name, _MISSING)
            if code is not None:
                sys.modules[module_name] = code.module
            try:
                yield
            finally:
                if previous is _MISSING:
                    sys.modules.pop(module_name, None)
                else:
                    sys.modules[module_name] = previous  # type: ignore[assignment]
            return
        folder = str(code_dir)
        before = dict(sys.modules)
        sys.modules.update(private)
        sys.path.insert(0, folder)
        self._installed.append(private)
        try:
            yield
        finally:
            self._installed.pop()
            try:
                sys.path.remove(folder)
            except ValueError:  # pragma: no cover - the handler removed it itself
                pass
            # Only names that are new, or that this or an enclosing activation installed, can
            # hold this environment's modules: no need to scan all of sys.modules.
            candidates = (sys.modules.keys() - before.keys()) | private.keys()
            for enclosing in self._installed:
                candidates |= enclosing.keys()
            for name in candidates:
                module = sys.modules.get(name)
                if module is None or before.get(name) is module or not _is_under(module, code_dir):
                    continue
                private[name] = module
                if name in before:
                    sys.modules[name] = before[name]
                else:
                    del sys.modules[name]


def _is_under(module: ModuleType, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    prefix = str(folder).rstrip(os.sep) + os.sep
    if file:
        return str(file).startswith(prefix)
    paths = list(getattr(module, "__path__", None) or [])
    return bool(paths) and all(str(p).startswith(prefix) for p in paths)
