"""The one rule for version strings, on its own: what it refuses, and how it says so."""

from __future__ import annotations

import pytest

from pomona.errors import Invalid
from pomona.titles.version_strings import refusal, require_version, surrounding_whitespace


@pytest.mark.parametrize("value", ["1.0", "2.0 beta (build 5)", "v3?x#y%2F", "…", "x" * 255])
def test_usable_versions_pass(value: str) -> None:
    assert refusal(value) is None
    assert require_version(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "must not be empty"),
        (" \t", "must not be blank"),
        ("x" * 256, "must be at most 255 characters long"),
        ("..", "'..' cannot be a version"),
        ("1/0", "contains '/' at character 2"),
        ("1.0\r", "contains the control character U+000D at character 4"),
        ("1\u2029", "contains the control character U+2029 PARAGRAPH SEPARATOR at character 2"),
        ("1\ufeff", "contains the control character U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        (" 1.0", "has whitespace around it (U+0020 SPACE at character 1); remove it"),
        ("1.0\u00a0", "has whitespace around it (U+00A0 NO-BREAK SPACE at character 4)"),
    ],
)
def test_refusals_name_the_character_and_its_position(value: str, message: str) -> None:
    found = refusal(value)
    assert found is not None
    assert found.startswith(message)
    with pytest.raises(Invalid) as caught:
        require_version(value, "/after", "query")
    [problem] = caught.value.problems
    assert (problem.path, problem.location, problem.code) == ("/after", "query", "version_invalid")
    assert caught.value.code == "version_invalid"


def test_surrounding_whitespace_points_at_the_first_one() -> None:
    assert surrounding_whitespace("1.0  ").endswith("at character 4)")
