"""Ordering version strings as people read them.

``10.13.10`` is newer than ``10.13.3``, ``16.10.18021001`` than ``16.9.18011602``, and ``1.0b2``
(a pre-release) older than ``1.0``. A version is split into runs of digits (compared as numbers)
and runs of letters (compared case-insensitively); separators only separate. Letters sort below
the end of a version, so a suffix such as ``b2`` or ``rc1`` marks a pre-release of what precedes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN = re.compile(r"\d+|[^\W\d_]+")

# (kind, number, text): kinds order letters < end < digits (see the module's docstring).
_Part = tuple[int, int, str]
_LETTERS, _END, _DIGITS = 0, 1, 2


def version_key(version: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    for token in _TOKEN.findall(version):
        if token.isdigit():
            parts.append((_DIGITS, int(token), ""))
        else:
            parts.append((_LETTERS, 0, token.lower()))
    parts.append((_END, 0, ""))
    return tuple(parts)


def newest_first(versions: Iterable[str]) -> list[str]:
    """The versions sorted newest first; equal keys keep their given order."""
    items = list(versions)
    keyed = sorted(range(len(items)), key=lambda i: (_negate(version_key(items[i])), i))
    return [items[i] for i in keyed]


def _negate(key: tuple[_Part, ...]) -> tuple[tuple[int, int, tuple[int, ...]], ...]:
    # Sorting ascending by the negated key is sorting descending by the key, stably.
    return tuple((-kind, -number, (*(-ord(c) for c in text), 1)) for kind, number, text in key)
