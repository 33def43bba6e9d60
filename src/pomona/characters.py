"""Characters in messages and in one-line text: how a refusal names a character that may not
show, and which characters no line of visible text holds (package names, versions)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable


def describe(char: str) -> str:
    """``U+2215 DIVISION SLASH``: a character as a message names it, visible whatever it is."""
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")  # control characters have none
    return f"{code} {name}" if name else code


def invisible(char: str) -> str | None:
    """Why ``char`` has no place in a line of visible text, or None when it has one."""
    category = unicodedata.category(char)
    if category == "Cc":
        return "is a control character"
    if category == "Cs":
        return "is a lone surrogate, not a character"
    # Format characters (zero-width spaces, direction marks) hide or reorder what is shown; the
    # line and paragraph separators end a line as a newline does.
    if category in ("Cf", "Zl", "Zp"):
        return "is an invisible formatting character"
    return None


@functools.cache
def is_number(text: str) -> bool:
    """Whether ``text`` is ASCII digits, which ``int()`` reads: ``str.isdigit()`` also accepts
    "²" and other digits ``int()`` refuses, so client input checked with it alone can raise."""
    return text.isascii() and text.isdigit()


def is_hex_digest(value: object, length: int) -> bool:
    """Whether ``value`` is a hex digest of ``length`` lower-case digits, as ``hexdigest()``
    writes them (for digests another site sends)."""
    return (
        isinstance(value, str)
        and len(value) == length
        and value.isascii()
        and all(c in "0123456789abcdef" for c in value)
    )


def invisible_class() -> str:
    """The characters ``invisible`` refuses, as the body of a regular expression's character
    class (``\\u0000-\\u001f\\u007f-\\u009f...``), for documents that state the rule as a
    pattern. The basic plane only, and no surrogates: no URL or UTF-8 text carries a lone
    surrogate, and fuzzers and ECMA-262 engines read the plane's escapes alike (the few invisible
    characters beyond it are still refused, by the rule itself). Built once, on first use."""
    return _class(lambda char: invisible(char) is not None and not _SURROGATE.match(char), 0xFFFF)


_SURROGATE = re.compile("[\ud800-\udfff]")


@functools.cache
def space_class() -> str:
    """The whitespace characters (``str.isspace``), as the body of a character class."""
    return _class(str.isspace, 0x3000)  # U+3000 IDEOGRAPHIC SPACE is the last


def _class(member: Callable[[str], bool], last: int) -> str:
    ranges: list[tuple[int, int]] = []
    for code in range(last + 1):
        if not member(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(
        _escape(first) if first == last else f"{_escape(first)}-{_escape(last)}"
        for first, last in ranges
    )


def _escape(code: int) -> str:
    # An escape every regular expression dialect reads alike (JSON Schema's is ECMA-262's).
    return f"\\u{code:04x}"
