"""Imports made cheaper for every process that runs the simulator.

jsonschema (imported by moto's API Gateway through openapi-spec-validator, by the SAM translator
and by cfn-lint, that is by every deploy) registers a checker for the `iri` and `iri-reference`
formats if `rfc3987_syntax` is importable, and that package builds its Lark parsers when it is
imported: 0.9-1.6 s on the course's 2-core machines, in every notebook kernel, test worker and
grading process (python-jsonschema/jsonschema issue 1428; a lazily loading fork,
rfc3987-syntax2, exists, which jsonschema does not use). Nothing the simulator runs checks those
two formats, and jsonschema lets a format without a checker pass. So, if jsonschema is not
imported yet, it is imported here with `rfc3987_syntax` out of reach; the package stays
installed (Jupyter's event schemas, in the server's process, use it) and importable afterwards.
"""

from __future__ import annotations

import sys


def import_jsonschema_without_iri_checker() -> None:
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import jsonschema  # noqa: F401
    finally:
        del sys.modules["rfc3987_syntax"]
