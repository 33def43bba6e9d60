"""Package filenames and notes: every refusal names the character and where it is."""

from __future__ import annotations

import unicodedata

import pytest

from pomona.errors import Invalid
from pomona.packages.names import package_filename, package_notes

EXTENSIONS = [".pkg", ".dmg"]


@pytest.mark.parametrize(
    ("name", "char", "position"),
    [
        ("ab\u2215c.pkg", "U+2215", 3),  # DIVISION SLASH
        ("ab\u2044c.pkg", "U+2044", 3),  # FRACTION SLASH
        ("ab\uff0fc.pkg", "U+FF0F", 3),  # FULLWIDTH SOLIDUS
        ("ab\u29f8c.pkg", "U+29F8", 3),  # BIG SOLIDUS
        ("ab\uff3cc.pkg", "U+FF3C", 3),  # FULLWIDTH REVERSE SOLIDUS
        ("a/b.pkg", "U+002F", 2),
        ("a\\b.pkg", "U+005C", 2),
        ("nul\x00.pkg", "U+0000", 4),
        ("tab\t.pkg", "U+0009", 4),
        ("del\x7f.pkg", "U+007F", 4),
        ("bad\ufffd.pkg", "U+FFFD", 4),  # what undecodable bytes became
        ("rtl\u202egkp.exe.pkg", "U+202E", 4),
        ("zw\u200bj.pkg", "U+200B", 3),
    ],
)
def test_a_refused_character_is_named_with_its_position(
    name: str, char: str, position: int
) -> None:
    with pytest.raises(Invalid) as refused:
        package_filename(name, EXTENSIONS)
    assert refused.value.code == "filename_invalid"
    messages = [p.message for p in refused.value.problems]
    assert any(f"character {position} ({char}" in m for m in messages), messages
    assert all(p.code == "filename_invalid" for p in refused.value.problems)


def test_names_are_nfc_and_ordinary_ones_pass() -> None:
    decomposed = unicodedata.normalize("NFD", "Café Ünïcode.pkg")
    assert package_filename(decomposed, EXTENSIONS) == unicodedata.normalize("NFC", decomposed)
    assert package_filename("Firefox 120.0 (x64) ¼.dmg", EXTENSIONS) == "Firefox 120.0 (x64) ¼.dmg"


def test_every_problem_is_listed_at_the_path_given() -> None:
    with pytest.raises(Invalid) as refused:
        package_filename(".a\u2215b\x01.txt", EXTENSIONS, "/Upload-Metadata/filename", "header")
    problems = refused.value.problems
    assert len(problems) == 4  # two characters, the leading dot, the extension
    assert {(p.path, p.location) for p in problems} == {("/Upload-Metadata/filename", "header")}


def test_notes_refuse_control_characters_but_keep_layout() -> None:
    # Arabic text with a right-to-left mark: formatting characters are kept in notes.
    kept = "Line one\n\tindented\r\n\u0645\u0631\u062d\u0628\u0627\u200f"
    assert package_notes(kept) == kept
    assert package_notes(None) is None
    with pytest.raises(Invalid) as refused:
        package_notes("ok\x00then\x1b[31m")
    assert refused.value.code == "notes_invalid"
    assert [p.message for p in refused.value.problems] == [
        "character 3 (U+0000) is a control character",
        "character 8 (U+001B) is a control character",
    ]
