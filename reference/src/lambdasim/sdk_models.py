"""botocore's service models, read once per process and shared by every session.

Each botocore session has its own loader, which reads and parses a service's model files (for
DynamoDB, 1 MB of JSON with its endpoint rules) the first time a client of that session needs
them. Handler code and libraries make sessions of their own: Powertools' idempotency layer makes
one per persistence layer, that is at every cold start of a function that uses it. A chaos run
of 200 messages read the same files 224 times. While a simulation runs, every session created
with the same data path (AWS_DATA_PATH, usually unset) shares one loader, and its cache.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any


class _UniqueSearchPaths(list):
    """A loader's search path that keeps one copy of each folder.

    `boto3.Session()` appends boto3's data folder to its botocore session's loader every time;
    on a shared loader the list, which every model lookup walks, would grow with each session.
    """

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)

    def extend(self, paths: Iterable[str]) -> None:
        for path in paths:
            self.append(path)


@functools.cache
def shared_loader(search_path_string: str | None = None) -> Any:
    """The process's botocore loader for a data path (botocore.loaders.create_loader's argument)."""
    import botocore.loaders

    # botocore's create_loader parses the data path; Loader keeps the list object it is given.
    paths = _UniqueSearchPaths(botocore.loaders.create_loader(search_path_string).search_paths)
    return botocore.loaders.Loader(extra_search_paths=paths, include_default_search_paths=False)


def share_loaders() -> Callable[[], None]:
    """Make every botocore session created from now on use `shared_loader`; returns the undo."""
    import botocore.session

    create_loader = botocore.session.create_loader
    botocore.session.create_loader = shared_loader

    def restore() -> None:
        botocore.session.create_loader = create_loader

    return restore
