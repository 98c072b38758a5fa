"""The simulator's import contract (reference/importlinter.ini; the layers are drawn in
reference/src/lambdasim/README.md): layers point one way, from the `Simulator` facade down to
the pure rules, and no package has an import cycle. import-linter checks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contract_is_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint_imports), "--config", str(ROOT / "reference" / "importlinter.ini")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout
