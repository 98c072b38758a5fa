"""Copies of a stack's code folder with some files replaced: how a lab or a lesson runs one
function of a course stack with other code (the learner's file, a wrong variant) while the
stack's other functions keep the reference code."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def copy_with(source: Path, files: dict[str, Path], *, prefix: str, leave_out: tuple[str, ...] = ()) -> Path:
    """A new temporary copy of the folder ``source`` (without caches, templates and the
    ``leave_out`` patterns) in which each ``files`` entry, a path inside the folder, is replaced
    by the file it names."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.copytree(source, folder, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.yaml", *leave_out))
    for name, path in files.items():
        shutil.copyfile(path, folder / name)
    return folder
