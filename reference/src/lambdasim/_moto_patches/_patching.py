"""How a patch is described, checked against the installed moto, installed and undone.

Each service module of the adapter lists its patches as `Patch` entries: the owner (a moto
class or module), the attribute, the replacement (or a `wrap` that builds it from moto's own),
and what moto's original must look like for the replacement to be right: the parameter names
of a callable, "property", "instance" (an attribute moto sets in `__init__`), "absent" (moto has
none), "urls" (a route table without the routes the patch `adds`) or "patterns" (moto's list of
services' URL patterns, without the services the patch `adds`). `problems` checks those
expectations and the pinned moto version; nothing is installed while any is unmet.
"""

from __future__ import annotations

import importlib.abc
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import MotoVersionMismatch

EXPECTED_MOTO_VERSION = "5.2.5"

MISSING = object()


@dataclass
class Patch:
    owner: Any
    name: str
    new: Any
    # Parameter names of the original callable, "property", "instance" (an attribute moto sets
    # in __init__, checked in its source), "absent", "urls" or "patterns".
    expect: tuple[str, ...] | str
    why: str
    wrap: Callable[[Any], Any] | None = None  # builds the replacement from moto's original
    adds: tuple[str, ...] = ()  # for "urls": the routes the patch adds; for "patterns": the services
    original: Any = MISSING

    @property
    def label(self) -> str:
        return f"{owner_name(self.owner)}.{self.name}"


def owner_name(owner: Any) -> str:
    return getattr(owner, "__name__", str(owner)).rsplit(".", 1)[-1]


def problems(patches: list[Patch], applied: list[Patch]) -> list[str]:
    """What makes `patches` unsafe for the installed moto (empty: all good). While patches are
    `applied`, their originals are checked rather than the patches."""
    import moto

    found = []
    if moto.__version__ != EXPECTED_MOTO_VERSION:
        found.append(f"moto {moto.__version__} is installed; the patches are for {EXPECTED_MOTO_VERSION}")
    originals = {p.label: p.original for p in applied}
    for patch in patches:
        label = patch.label
        current = originals.get(label, inspect.getattr_static(patch.owner, patch.name, MISSING))
        if patch.expect == "absent":
            if current is not MISSING:
                found.append(f"{label} now exists in moto; the patch would hide it")
        elif patch.expect == "instance":
            source = inspect.getsource(patch.owner.__init__)
            if not re.search(rf"self\.{patch.name}\s*[:=]", source) or current is not MISSING:
                found.append(f"{label} is no longer an attribute set in __init__")
        elif patch.expect == "urls":
            if not isinstance(current, dict) or any(url in current for url in patch.adds):
                found.append(f"{label} is no longer a dict of routes without the simulator's")
        elif patch.expect == "patterns":
            if not isinstance(current, list) or any(entry[0] in patch.adds for entry in current):
                found.append(f"{label} is no longer a list of service URL patterns without the simulator's")
        elif patch.expect == "property":
            if not isinstance(current, property):
                found.append(f"{label} is no longer a property")
        else:
            if isinstance(current, (classmethod, staticmethod)):
                current = current.__func__
            if current is MISSING or not callable(current):
                found.append(f"{label} is missing")
                continue
            params = tuple(inspect.signature(current).parameters)
            if params != patch.expect:
                found.append(f"{label} takes {params}, the patch expects {patch.expect}")
    return found


def install(patches: list[Patch], applied: list[Patch]) -> None:
    """Check `patches`, then install them all and add them to `applied` (or raise
    MotoVersionMismatch and install none)."""
    unmet = problems(patches, applied)
    if unmet:
        raise MotoVersionMismatch("lambdasim cannot patch this moto safely:\n- " + "\n- ".join(unmet))
    for patch in patches:
        patch.original = patch.owner.__dict__.get(patch.name, MISSING) if isinstance(patch.owner, type) \
            else getattr(patch.owner, patch.name, MISSING)
        new = patch.new if patch.wrap is None else patch.wrap(getattr(patch.owner, patch.name))
        setattr(patch.owner, patch.name, new)
        applied.append(patch)


def uninstall(applied: list[Patch]) -> None:
    """Put back what `applied` replaced, last first."""
    while applied:
        patch = applied.pop()
        if patch.original is MISSING:
            delattr(patch.owner, patch.name)
        else:
            setattr(patch.owner, patch.name, patch.original)


class LoaderThen(importlib.abc.Loader):
    """A module's own loader, then `then(module)` once the module has run."""

    def __init__(self, loader: Any, then: Callable[[Any], None]):
        self.loader, self.then = loader, then

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        self.then(module)

    def __getattr__(self, name: str) -> Any:  # get_source, is_package...: the module's loader's
        return getattr(self.loader, name)


class AfterImport(importlib.abc.MetaPathFinder):
    """On sys.meta_path until the module named `name` is first imported: the other finders find
    it, and `then(module)` runs right after it has run."""

    def __init__(self, name: str, then: Callable[[Any], None]):
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None and spec.loader is not None:
                    self.uninstall()
                    spec.loader = LoaderThen(spec.loader, self.then)
                    return spec
        return None

    def install(self) -> None:
        sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
