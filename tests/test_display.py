"""The lessons' output helpers: tables as an HTML table for the page and aligned text for a
terminal; text said line by line and printed as one block, in the order of the calls."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from serverless_course.display import say, show, show_code, show_table


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    outputs: list[dict[str, str]] = []
    monkeypatch.setattr("serverless_course.display.display", lambda data, raw: outputs.append(data))
    return outputs


def test_numbers_are_formatted_and_right_aligned(shown: list[dict[str, str]]) -> None:
    show_table([(1, 1_000_000, 1.4612), (1000, 1_000, 0.5)], ["batch", "invocations", "total $"],
               formats={"total $": "${:.3f}"})
    (output,) = shown
    assert "<td style=\"text-align: right\">1,000,000</td>" in output["text/html"]
    assert "<td style=\"text-align: right\">$1.461</td>" in output["text/html"]
    assert output["text/plain"].splitlines() == [
        "batch  invocations  total $",
        "-----  -----------  -------",
        "    1    1,000,000   $1.461",
        "1,000        1,000   $0.500",
    ]


def test_text_is_escaped_and_left_aligned(shown: list[dict[str, str]]) -> None:
    show_table([("<b>", "PASS")], ["processor", "audit"], caption="a & b")
    html = shown[0]["text/html"]
    assert "<caption>a &amp; b</caption>" in html
    assert '<td style="text-align: left">&lt;b&gt;</td>' in html


def test_formats_can_be_given_by_position_when_names_repeat(shown: list[dict[str, str]]) -> None:
    show_table([(0.5, 0.25)], ["share", "share"], formats=["{:.0%}", None])
    assert shown[0]["text/plain"].splitlines()[-1] == "  50%   0.25"


def test_a_short_row_is_refused(shown: list[dict[str, str]]) -> None:
    with pytest.raises(ValueError, match="2 columns"):
        show_table([(1,)], ["a", "b"])


def test_a_notebook_receives_both_representations(monkeypatch: pytest.MonkeyPatch) -> None:
    shell = InteractiveShell.instance()
    formatted: list[dict[str, str]] = []
    monkeypatch.setattr(shell.display_pub, "publish", lambda data, **kwargs: formatted.append(data))
    show_table([(1, "x")], ["n", "name"])
    assert set(formatted[0]) == {"text/html", "text/plain"}


class RecordedStdout(io.StringIO):
    """stdout that remembers each write, to tell one block from several."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def record_stdout(monkeypatch: pytest.MonkeyPatch) -> RecordedStdout:
    # Called in the test itself: pytest's own capture replaces sys.stdout after the fixtures run.
    recorded = RecordedStdout()
    monkeypatch.setattr("sys.stdout", recorded)
    return recorded


def test_said_lines_are_printed_as_one_block_at_show(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = record_stdout(monkeypatch)
    say("DLQ at", 325.5, "s:", {"messages": 10})
    say()
    say("orders stored:", ["o-1", "o-2"])
    assert stdout.writes == []
    show()
    assert stdout.writes == ["DLQ at 325.5 s: {'messages': 10}\n\norders stored: ['o-1', 'o-2']\n"]


def test_show_with_nothing_said_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = record_stdout(monkeypatch)
    say("once")
    show()
    show()
    assert stdout.writes == ["once\n"]


def test_text_said_before_a_table_is_shown_above_it(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = record_stdout(monkeypatch).writes
    monkeypatch.setattr("serverless_course.display.display", lambda data, raw: outputs.append("<table>"))
    say("80 orders, 5 sent twice")
    show_table([(1,)], ["n"])
    say("after the table")
    show()
    assert outputs == ["80 orders, 5 sent twice\n", "<table>", "after the table\n"]


def test_text_said_before_code_is_shown_above_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    outputs = record_stdout(monkeypatch).writes
    monkeypatch.setattr("serverless_course.display.display", lambda markdown: outputs.append(markdown.data))
    source = tmp_path / "src" / "app.py"
    source.parent.mkdir()
    source.write_text("x = 1\n# --8<-- [start:two]\ny = 2\n# --8<-- [end:two]\n")
    say("the handler:")
    show_code(source, "two")
    assert outputs == ["the handler:\n", "`app.py`\n\n```python\ny = 2\n```"]


def test_a_cell_that_forgets_show_shows_its_lines_itself(capsys: pytest.CaptureFixture[str]) -> None:
    shell = InteractiveShell.instance()
    shell.run_cell("from serverless_course.display import say\nsay('said, never shown')")
    assert capsys.readouterr().out == "said, never shown\n"
    shell.run_cell("say('the next cell')")
    assert capsys.readouterr().out == "the next cell\n"
