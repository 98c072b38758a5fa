"""Every notebook cell that draws a figure shows it in the committed notebook.

nbval compares text outputs and skips images, so a figure lost to a non-interactive matplotlib
backend (`MPLBACKEND=Agg` without `%matplotlib inline`) passes nbval while the site shows an
empty cell. This test reads the committed outputs instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*PROJECT_ROOT.glob("notebooks/*/*.ipynb"), *PROJECT_ROOT.glob("labs/*/lab.ipynb")])
DRAWS_A_FIGURE = re.compile(r"\bplt\.(subplots|figure|subplot_mosaic|plot|bar|barh|hist|scatter|step|imshow)\(")


def cells_drawing_figures(notebook: Path) -> list[tuple[int, dict]]:
    cells = json.loads(notebook.read_text())["cells"]
    return [(n, cell) for n, cell in enumerate(cells)
            if cell["cell_type"] == "code" and DRAWS_A_FIGURE.search("".join(cell["source"]))]


def test_the_check_sees_the_lessons_figures() -> None:
    assert sum(len(cells_drawing_figures(nb)) for nb in NOTEBOOKS) >= 10


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_each_figure_has_an_image_output(notebook: Path) -> None:
    missing = [n for n, cell in cells_drawing_figures(notebook)
               if not any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))]
    assert not missing, f"cells {missing} draw a figure but have no image output (is %matplotlib inline set?)"
