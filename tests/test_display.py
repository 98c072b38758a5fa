"""The lessons' table helper: an HTML table for the page and aligned text for a terminal."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from serverless_course.display import show_table


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
