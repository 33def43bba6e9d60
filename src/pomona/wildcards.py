"""Names matched against patterns with ``*`` wildcards: ``title.*``, ``*.failed``,
``jamf.*failed``, ``Computer*``. Shared by the inbound rules and the notification
subscriptions; nothing else is special (no ``?``, no character classes)."""

from __future__ import annotations

import functools
import re

PATTERN = re.compile(r"^[A-Za-z0-9_.*]{1,64}$")


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def matches(pattern: str, name: str) -> bool:
    """Whether ``name`` is matched by ``pattern`` as a whole, ``*`` standing for any run of
    characters (dots included, so ``*.failed`` matches ``replication.push.failed``)."""
    return _compiled(pattern).fullmatch(name) is not None


def valid(pattern: str) -> bool:
    return PATTERN.fullmatch(pattern) is not None


__all__ = ["matches", "valid"]
