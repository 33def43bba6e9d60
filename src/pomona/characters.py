"""Characters in messages and in one-line text: how a refusal names a character that may not
show, and which characters no line of visible text holds (package names, versions)."""

from __future__ import annotations

import unicodedata


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
