"""How the lessons show their results: tables as tables, text as one block, code from its file.

- `show_table`: a table printed with padded f-strings wraps mid-number in a narrow column (a
  phone, the site's ~720 px content column); an HTML table reflows and scrolls sideways instead.
  It sends both an HTML table (what JupyterLab and the site render) and a plain-text one (what a
  terminal, `nbconvert --to markdown` or a diff of the committed notebook shows).
- `say` and `show`: text that must stay text (sentences, JSON, ledgers). `say` collects lines and
  `show` prints them in one write, so a cell's text is one output in the committed notebook
  however long the cell runs (ipykernel sends what `print` writes in pieces, on a timer, and
  nbval would compare those pieces). The site keeps text's columns and scrolls it sideways.
- `show_code`: a reference file, or one snippet region of it, read when the cell runs.

Output appears in the order of the calls: `show_table` and `show_code` first show what was said
before them, and what is said and not shown by the end of a cell is shown then, never in the
next cell's output.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from IPython import get_ipython
from IPython.display import Markdown, display

__all__ = ["say", "show", "show_code", "show_table"]

_said: list[str] = []


def say(*values: object) -> None:
    """Add a line to the cell's text output: the values separated by spaces, as `print` writes
    them (`say()` adds an empty line). Nothing is printed until `show()`."""
    _said.append(" ".join(str(value) for value in values))
    _show_at_the_end_of_each_cell()


def show() -> None:
    """Print the lines said since the last `show()` as one block of text (nothing if none)."""
    if not _said:
        return
    text = "\n".join(_said) + "\n"
    _said.clear()
    sys.stdout.write(text)


def _show_at_the_end_of_each_cell() -> None:
    # A learner who adds say() to a cell and forgets show() would see the line under the next cell.
    shell = get_ipython()
    if shell is not None and _show_leftovers not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _show_leftovers)


def _show_leftovers(result: object) -> None:  # IPython passes the cell's ExecutionResult
    show()


def show_table(
    rows: Iterable[Sequence[object]],
    columns: Sequence[str],
    *,
    formats: Mapping[str, str] | Sequence[str | None] | None = None,
    caption: str | None = None,
) -> None:
    """Display `rows` under the header `columns` as a table in the notebook.

    `formats` gives `str.format` templates for the values: by column name (for example
    `{"total": "${:,.4f}"}`), or one per column in order (None for the default) when names
    repeat. Without one, integers get thousands separators, floats two decimals and anything
    else `str()`. Numeric columns are right-aligned.
    """
    if formats is None:
        templates: list[str | None] = [None] * len(columns)
    elif isinstance(formats, Mapping):
        templates = [formats.get(column) for column in columns]
    else:
        templates = list(formats)
    if len(templates) != len(columns):
        raise ValueError(f"{len(templates)} formats for {len(columns)} columns")
    rows = [tuple(row) for row in rows]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row {row!r} has {len(row)} values for {len(columns)} columns")
    cells = [[_format(value, template) for template, value in zip(templates, row)] for row in rows]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(columns))]
    show()
    display(
        {"text/html": _html(columns, cells, numeric, caption), "text/plain": _text(columns, cells, numeric, caption)},
        raw=True,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _format(value: object, template: str | None) -> str:
    if template is not None:
        return template.format(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _html(columns: Sequence[str], cells: list[list[str]], numeric: list[bool], caption: str | None) -> str:
    def cell(tag: str, text: str, right: bool) -> str:
        align = ' style="text-align: right"' if right else ' style="text-align: left"'
        return f"<{tag}{align}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", column, right) for column, right in zip(columns, numeric))
    body = "".join(
        "<tr>" + "".join(cell("td", text, right) for text, right in zip(row, numeric)) + "</tr>" for row in cells
    )
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    # The "dataframe" class borrows the table style that JupyterLab and mkdocs-jupyter give pandas.
    return (f'<div class="course-table"><table class="dataframe">{title}'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def _text(columns: Sequence[str], cells: list[list[str]], numeric: list[bool], caption: str | None) -> str:
    widths = [max([len(column)] + [len(row[i]) for row in cells]) for i, column in enumerate(columns)]

    def line(texts: Sequence[str]) -> str:
        return "  ".join(t.rjust(w) if right else t.ljust(w) for t, w, right in zip(texts, widths, numeric)).rstrip()

    lines = [caption] if caption else []
    lines += [line(columns), "  ".join("-" * w for w in widths)] + [line(row) for row in cells]
    return "\n".join(lines)


def show_code(path: str | Path, region: str | None = None) -> None:
    """Display a reference file, or one named snippet region of it (between the markers
    `# --8<-- [start:name]` and `# --8<-- [end:name]` by which the site's pages include it),
    highlighted, under the file's path. Read when the cell runs: what a lesson shows is the code
    the tests run."""
    text = Path(path).read_text(encoding="utf-8")
    if region is not None:
        start, end = f"# --8<-- [start:{region}]\n", f"# --8<-- [end:{region}]"
        if start not in text or end not in text:
            raise ValueError(f"{path} has no snippet region {region!r}")
        text = text.split(start, 1)[1].split(end, 1)[0]
    name = Path(path).as_posix().split("src/")[-1]
    show()
    display(Markdown(f"`{name}`\n\n```python\n{text.rstrip()}\n```"))
