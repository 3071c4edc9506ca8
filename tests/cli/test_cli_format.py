"""Text tables line up in a terminal whatever the characters in their cells."""

from __future__ import annotations

from asynchyper._cli._format import display_width, format_text, table


def test_wide_and_combining_characters_keep_columns_aligned() -> None:
    cafe = "cafe\u0301"  # "café" with a combining accent
    rows = [["学習率", "1"], ["lr", "22"], [cafe, "333"]]
    out = table(["NAME", "N"], rows, right=[1]).splitlines()
    # Every line's right-aligned column ends in the same terminal column.
    assert {display_width(line) for line in out} == {6 + 2 + 3}
    assert out[1] == "学習率    1"
    assert out[3] == cafe + "    333"


def test_display_width_counts_terminal_columns() -> None:
    assert display_width("abc") == 3
    assert display_width("学習") == 4
    assert display_width("\uff46\uff55\uff4c\uff4c") == 8  # "full" in fullwidth forms
    assert display_width("e\u0301") == 1
    assert display_width("a\u200bb") == 2  # zero-width space


def test_shortened_cells_respect_terminal_columns() -> None:
    cell = format_text("学" * 100, limit=10)
    assert cell == "学" * 4 + "…"
    assert display_width(cell) <= 10
    assert format_text("x" * 10, limit=10) == "x" * 10
