"""What a package's filename and notes may hold: the one check every way in uses (a plain PUT,
tus creation, an edit of the record), each refusal naming the character and its position.

A filename becomes a path on a distribution point and a line in Jamf Pro, so it is NFC-normalised
(``é`` typed on macOS and on Windows is one name, not two) and refuses what could make it mean
another file or hide what it is: separators and characters drawn like them, control and
invisible characters, and U+FFFD, which is what bytes that are not UTF-8 were decoded to (two
different bad names would otherwise be stored as the same one).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from pomona.characters import describe, invisible
from pomona.errors import Invalid, Location, Problem

# Drawn like '/' or '\' but not decomposed to them by NFKC, so a reader of a listing would take
# a name holding one for a path. The fullwidth and small forms are caught by NFKC below.
SLASH_LOOKALIKES = frozenset(
    "\u2044"  # FRACTION SLASH
    "\u2215"  # DIVISION SLASH
    "\u2216"  # SET MINUS
    "\u2571"  # BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT
    "\u2572"  # BOX DRAWINGS LIGHT DIAGONAL UPPER LEFT TO LOWER RIGHT
    "\u27cb"  # MATHEMATICAL RISING DIAGONAL
    "\u27cd"  # MATHEMATICAL FALLING DIAGONAL
    "\u29f5"  # REVERSE SOLIDUS OPERATOR
    "\u29f8"  # BIG SOLIDUS
    "\u29f9"  # BIG REVERSE SOLIDUS
    "\u0337"  # COMBINING SHORT SOLIDUS OVERLAY
    "\u0338"  # COMBINING LONG SOLIDUS OVERLAY
)
# Line breaks and tabs are how notes are laid out; every other control character is refused.
NOTES_LAYOUT = frozenset("\t\n\r")
MAX_NAME_BYTES = 255


def _refused_in_name(char: str) -> str | None:
    """Why ``char`` cannot be part of a filename (``None``: it can)."""
    if char in "/\\":
        return "is a path separator"
    if char == "\ufffd":
        return "stands for bytes that are not valid UTF-8"
    if char in SLASH_LOOKALIKES or any(c in "/\\" for c in unicodedata.normalize("NFKC", char)):
        return "looks like a slash"
    return invisible(char)


def package_filename(
    name: str,
    extensions: Sequence[str],
    path: str = "/filename",
    location: Location = "path",
) -> str:
    """``name`` as it is stored (NFC), or :class:`Invalid` (``filename_invalid``) listing every
    problem at ``path`` in ``location``."""
    messages = []
    for position, char in enumerate(name, 1):
        why = _refused_in_name(char)
        if why is not None:
            messages.append(f"character {position} ({describe(char)}) {why}")
    name = unicodedata.normalize("NFC", name)
    if not name or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        messages.append(f"a filename has 1 to {MAX_NAME_BYTES} bytes (UTF-8)")
    if name in (".", ".."):
        messages.append("a filename cannot be '.' or '..'")
    elif name.startswith((".", "-")):
        messages.append("a filename cannot start with '.' or '-'")
    if name != name.strip():
        messages.append("a filename cannot start or end with a space")
    if not name.lower().endswith(tuple(e.lower() for e in extensions)):
        messages.append(f"the filename must end with one of: {', '.join(extensions)}")
    if messages:
        raise Invalid([Problem(path, m, location) for m in messages], code="filename_invalid")
    return name


def package_notes(notes: str | None, path: str = "/notes") -> str | None:
    """``notes`` as stored, or :class:`Invalid` (``notes_invalid``) naming each character that
    notes cannot hold (control characters other than tabs and line breaks)."""
    if notes is None:
        return None
    # Formatting characters stay: notes are prose, in scripts that need direction marks.
    messages = [
        f"character {position} ({describe(char)}) {invisible(char)}"
        for position, char in enumerate(notes, 1)
        if char not in NOTES_LAYOUT and unicodedata.category(char) in ("Cc", "Cs")
    ]
    if messages:
        raise Invalid([Problem(path, m) for m in messages], code="notes_invalid")
    return notes
