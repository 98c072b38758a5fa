"""The folder being graded, and how graded tests import the learner's code from it.

Only a lab's ``student_files`` are ever taken from a submission: they are copied into a fresh
folder, so anything else a learner left beside them (a conftest.py, edited tests) is never
imported. ``Submission.load`` then imports a file as a brand-new module on every call, so
two loads never share module state and nothing is cached under the file's own name.
"""

from __future__ import annotations

import importlib.util
import itertools
import shutil
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import ModuleType, TracebackType

_load_counter = itertools.count(1)


class SubmissionError(Exception):
    """The learner's code could not be loaded; the message is shown to them as feedback."""


@dataclass(frozen=True)
class Submission:
    """The graded copy of a learner's files (the ``submission`` fixture's value).

    ``path`` is the folder holding the copied ``student_files``; ``problems`` maps a file
    that was not copied to the reason (for example a symbolic link).
    """

    path: Path
    problems: dict[str, str] = field(default_factory=dict)

    def load(self, name: str) -> ModuleType:
        """Import ``<path>/<name>.py`` as a fresh module and return it.

        ``name`` is a module name such as ``"handler"`` (``"handler.py"`` works too). Sibling
        student files it imports are fresh as well. Any failure while importing becomes a
        SubmissionError with a message meant for the learner.
        """
        relative = name[:-3] if name.endswith(".py") else name
        filename = relative.replace(".", "/") + ".py"
        file = self.path / filename
        if filename in self.problems:
            raise SubmissionError(f"{filename} {self.problems[filename]}")
        if not file.is_file():
            raise SubmissionError(f"{filename} is missing from the submission")

        unique = f"_labgrader_submission_{next(_load_counter)}_{relative.replace('.', '_')}"
        spec = importlib.util.spec_from_file_location(unique, file)
        if spec is None or spec.loader is None:  # pragma: no cover - only for odd file names
            raise SubmissionError(f"{filename} could not be imported")
        module = importlib.util.module_from_spec(spec)
        # Registered while it runs: dataclasses, typing and pickle look the module up by name.
        sys.modules[unique] = module
        before = set(sys.modules)
        folder = str(self.path)
        sys.path.insert(0, folder)  # so `import helpers` finds a sibling student file
        alarm = _alarm_handler()
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise SubmissionError(f"{filename} could not be imported: {_describe(exc)}") from None
        except SystemExit as exc:
            raise SubmissionError(
                f"{filename} called sys.exit({exc.code!r}) while being imported: "
                "a module must not exit the process"
            ) from None
        except Exception as exc:  # noqa: BLE001 - anything the learner's module raises
            where = located_in(exc.__traceback__, self.path)
            raise SubmissionError(
                f"{filename} could not be imported: {_describe(exc)}{where}"
            ) from None
        # BaseExceptions other than SystemExit go through untouched: KeyboardInterrupt, and
        # pytest-timeout's failure when an import loops forever (reported as a timeout).
        finally:
            _restore_alarm_handler(alarm)
            if sys.path and sys.path[0] == folder:
                sys.path.pop(0)
            else:
                sys.path[:] = [p for p in sys.path if p != folder]
            # Forget the sibling modules this import pulled in, so the next load re-runs them.
            for new in set(sys.modules) - before:
                origin = getattr(sys.modules.get(new), "__file__", None) or ""
                if _is_within(Path(origin), self.path):
                    sys.modules.pop(new, None)
        return module


def copy_student_files(files: tuple[str, ...], source: Path, dest: Path) -> Submission:
    """Copy the lab's ``files`` from ``source`` into the new folder ``dest``.

    Missing files are left out (loading them says so). Symbolic links are refused: a link
    to the reference solution must not count as the learner's own file.
    """
    dest.mkdir(parents=True, exist_ok=True)
    problems: dict[str, str] = {}
    for name in files:
        src = source / PurePosixPath(name)
        if src.is_symlink():
            problems[name] = "is a symbolic link in the submission: submit the file itself"
        elif src.is_file():
            target = dest / PurePosixPath(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
    return Submission(dest, problems)


def located_in(tb: TracebackType | None, root: Path) -> str:
    """`` (handler.py, line 12)`` for the innermost traceback frame in a file under ``root``."""
    found = ""
    for frame in traceback.extract_tb(tb):
        path = Path(frame.filename)
        if _is_within(path, root):
            found = f" ({path.relative_to(root).as_posix()}, line {frame.lineno})"
    return found


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _alarm_handler() -> object | None:
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM"):
        return signal.getsignal(signal.SIGALRM)
    return None


def _restore_alarm_handler(handler: object | None) -> None:
    # A module that ignores SIGALRM at import would disable pytest-timeout for the rest of
    # the test; put its handler back (a module that then loops at import is still stuck,
    # and the class command's wall-clock limit deals with that).
    if handler is not None and signal.getsignal(signal.SIGALRM) is not handler:
        signal.signal(signal.SIGALRM, handler)  # type: ignore[arg-type]
