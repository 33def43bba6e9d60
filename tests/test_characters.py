"""How messages name characters, and which ones no line of visible text holds."""

from __future__ import annotations

import pytest

from pomona.characters import describe, invisible


def test_a_character_is_named_by_its_code_point_and_name_when_it_has_one() -> None:
    assert describe("\u2215") == "U+2215 DIVISION SLASH"
    assert describe("\x00") == "U+0000"


@pytest.mark.parametrize("char", ["\x00", "\n", "\x7f", "\u200b", "\u202e", "\u2028", "\ud800"])
def test_control_format_and_separator_characters_are_invisible(char: str) -> None:
    assert invisible(char) is not None


@pytest.mark.parametrize("char", ["a", " ", "\u00e9", "\u00a0", "-", "\u4e2d"])
def test_visible_characters_and_spaces_have_a_place_in_a_line(char: str) -> None:
    assert invisible(char) is None
