"""The folder being graded, and how graded tests run the learner's code: never in this process.

Only a lab's ``student_files`` are ever taken from a submission: they are copied into a fresh
folder, so anything else a learner left beside them (a conftest.py, edited tests) is never
imported. ``Submission.load`` imports a file in a worker process of ``lambdasim.isolation`` and
returns a stand-in whose functions run there: the learner's code cannot reach the grader's
objects, its results file or its assertions, and a loop or a crash in it ends only its worker.
An import that fails (or hangs) is tried once per grading run and the same reason is given to
every test that needs it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from lambdasim import isolation as iso
from lambdasim.clock import to_micros

#: The variables every function is given (Lambda sets the Region and credentials).
BASE_ENVIRON = {
    "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing", "PYTHONHASHSEED": "0",
}  # fmt: skip


class SubmissionError(Exception):
    """The learner's code could not be loaded; the message is shown to them as feedback."""


class SubmissionRaised(Exception):
    """Base class of the exceptions the learner's code raised (each keeps its class's name)."""


class SubmissionTimedOut(Exception):
    """The learner's code ran past its real-time limit (an endless loop?) and was stopped."""


class SubmissionCrashed(Exception):
    """The process running the learner's code ended in the middle of a call."""


@dataclass
class Submission:
    """The graded copy of a learner's files (the ``submission`` fixture's value).

    ``path`` is the folder holding the copied ``student_files``; ``problems`` maps a file
    that was not copied to the reason (for example a symbolic link); ``isolation`` runs the
    code (shared by the whole grading run, with the lab's solution files protected).
    """

    path: Path
    problems: dict[str, str] = field(default_factory=dict)
    isolation: iso.Isolation = field(default_factory=iso.Isolation)
    failed_imports: dict[str, str] = field(default_factory=dict)
    loaded: list[RemoteModule] = field(default_factory=list)

    def load(self, name: str, *, code_dir: Path | None = None, environ: Mapping[str, str] | None = None,
             shared: Mapping[str, iso.SharedObject] | None = None, aws: bool = False,
             clock: Any = None, accepts: Iterable[type] = ()) -> RemoteModule:
        """Import ``<path>/<name>.py`` (or module ``name`` of ``code_dir``) in a new worker and
        return its stand-in.

        ``name`` is a module name such as ``"handler"`` (``"handler.py"`` works too);
        ``code_dir`` is a folder that holds it with what it imports (the function's code
        folder). ``environ`` adds environment variables; ``shared`` gives the code objects of
        this process by name; ``aws`` lets its AWS calls through to this process's (moto's)
        AWS; ``clock`` is a freezegun clock whose ``tick`` spends the code's ``time.sleep``;
        ``accepts``: the dataclasses its functions may return. Raises SubmissionError with a
        message meant for the learner when the file cannot be imported.
        """
        relative = name[:-3] if name.endswith(".py") else name
        filename = relative.replace(".", "/") + ".py"
        folder = Path(code_dir) if code_dir is not None else self.path
        if code_dir is None:
            if filename in self.problems:
                raise SubmissionError(f"{filename} {self.problems[filename]}")
            if not (folder / filename).is_file():
                raise SubmissionError(f"{filename} is missing from the submission")
        key = f"{relative}:{self.isolation.fingerprint(folder)}"
        if key in self.failed_imports:
            raise SubmissionError(self.failed_imports[key])
        module = RemoteModule(self, relative, filename, folder, {**BASE_ENVIRON, **(environ or {})},
                              dict(shared or {}), aws, clock, tuple(accepts))
        try:
            module.start()
        except SubmissionError as exc:
            self.failed_imports[key] = str(exc)
            raise
        self.loaded.append(module)
        return module

    def close(self) -> None:
        """End the workers of every module loaded (the fixture does it after each test)."""
        for module in self.loaded:
            module.close()
        self.loaded.clear()


class RemoteModule:
    """A learner's module imported in a worker: its functions are called there."""

    def __init__(self, submission: Submission, module: str, filename: str, folder: Path,
                 environ: dict[str, str], shared: dict[str, iso.SharedObject], aws: bool,
                 clock: Any, accepts: tuple[type, ...]):
        self._submission, self._module, self._filename = submission, module, filename
        self._folder, self._environ, self._shared = folder, environ, shared
        self._aws, self._clock, self._accepts = aws, clock, accepts
        self._worker: iso.Worker | None = None
        self._names: dict[str, str] = {}

    def start(self) -> None:
        """A fresh worker with the module imported (a new execution environment)."""
        isolation = self._submission.isolation
        services = iso.Services(now_us=self._now_us, sleep=self._sleep, shared=self._shared,
                                aws=self._aws)
        try:
            worker = isolation.start(code_dir=self._folder, environ=self._environ,
                                     services=services, fingerprint=isolation.fingerprint(self._folder))
            self._names = worker.load(self._module)
        except iso.FunctionRaised as exc:
            raise SubmissionError(f"{self._filename} could not be imported: "
                                  f"{_describe(exc.payload, self._folder)}") from None
        except iso.FunctionExited as exc:
            raise SubmissionError(f"{self._filename} called sys.exit({exc.status}) while being "
                                  "imported: a module must not exit the process") from None
        except iso.WorkerTimedOut:
            raise SubmissionError(
                f"importing {self._filename} did not finish within "
                f"{isolation.init_time_limit_s:g} s (an endless loop at import?)") from None
        except iso.WorkerCrashed as exc:
            raise SubmissionError(f"{self._filename} could not be imported: {exc}") from None
        self._worker = worker

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or self._names.get(name) is None:
            raise AttributeError(f"{self._filename} has no {name}")
        if self._names[name] != "callable":
            raise AttributeError(f"{self._filename}: {name} is not a function")
        return RemoteFunction(self, name)

    def call(self, function: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if self._worker is None or not self._worker.alive:
            self.start()  # the last call ended its worker: a new environment
        assert self._worker is not None
        try:
            return self._worker.call(function, args, kwargs, accepts=self._accepts)
        except iso.FunctionRaised as exc:
            raise _raised(exc, self._folder) from None
        except iso.FunctionExited as exc:
            raise SystemExit(exc.status) from None
        except iso.WorkerTimedOut as exc:
            raise SubmissionTimedOut(f"{self._filename}: {function} was stopped: {exc}") from None
        except iso.WorkerCrashed as exc:
            raise SubmissionCrashed(f"{self._filename}: {exc}") from None

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()

    def _now_us(self) -> int:
        return to_micros(datetime.now(timezone.utc))  # frozen (freezegun) where a lab freezes it

    def _sleep(self, seconds: float) -> None:
        if self._clock is not None:  # without a clock, a sleep spends no time at all
            self._clock.tick(seconds)


@dataclass(frozen=True)
class RemoteFunction:
    """One function of a RemoteModule, called as if it were here."""

    module: RemoteModule
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.module.call(self.name, list(args), kwargs)


_raised_classes: dict[str, type[SubmissionRaised]] = {}


def _raised(exc: iso.FunctionRaised, folder: Path) -> SubmissionRaised:
    """The learner's exception, as an exception of the same name (its message and location)."""
    name = str(exc.payload.get("errorType") or "Exception")
    cls = _raised_classes.get(name)
    if cls is None:
        cls = _raised_classes[name] = type(name if name.isidentifier() else "Exception",
                                           (SubmissionRaised,), {})
    return cls(f"{exc.payload.get('errorMessage') or ''}{_where(exc.payload, folder)}")


def _describe(payload: Mapping[str, Any], folder: Path) -> str:
    message = str(payload.get("errorMessage") or "")
    kind = str(payload.get("errorType") or "Exception")
    text = f"{kind}: {message}" if message else kind
    return text + _where(payload, folder)


def _where(payload: Mapping[str, Any], folder: Path) -> str:
    """`` (handler.py, line 12)`` for the innermost stack frame in the learner's folder."""
    found = ""
    prefix = f'File "{folder}/'
    for frame in payload.get("stackTrace") or []:
        text = str(frame).strip()
        if text.startswith(prefix):
            file, _, rest = text[len(prefix):].partition('", line ')
            found = f" ({file}, line {rest.split(',')[0]})"
    return found


def copy_student_files(files: tuple[str, ...], source: Path, dest: Path,
                       isolation: iso.Isolation | None = None,
                       failed_imports: dict[str, str] | None = None) -> Submission:
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
    return Submission(dest, problems, isolation or iso.Isolation(),
                      failed_imports if failed_imports is not None else {})
