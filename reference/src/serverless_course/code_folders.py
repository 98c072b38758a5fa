"""Copies of a stack's code folder with some files replaced: how a lab or a lesson runs one
function of a course stack with other code (the learner's file, a wrong variant) while the
stack's other functions keep the reference code. Each copy is a scratch folder that goes when
the process that made it exits."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path


def scratch_folder(prefix: str) -> Path:
    """A new temporary folder, removed when this process exits (not when a process forked from
    it does: a grading worker's exit must not take its parent's folders)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    creator = os.getpid()

    def remove() -> None:
        if os.getpid() == creator:
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
    return folder


def copy_with(source: Path, files: dict[str, Path], *, prefix: str, leave_out: tuple[str, ...] = ()) -> Path:
    """A new temporary copy of the folder ``source`` (without caches, templates and the
    ``leave_out`` patterns) in which each ``files`` entry, a path inside the folder, is replaced
    by the file it names."""
    folder = scratch_folder(prefix)
    shutil.copytree(source, folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.yaml", *leave_out))
    for name, path in files.items():
        shutil.copyfile(path, folder / name)
    return folder
