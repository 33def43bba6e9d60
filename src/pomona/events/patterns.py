"""Event type patterns: ``title.version_added``, ``title.*`` (one domain), ``*.failed`` (every
failure), ``*`` (everything); ``*`` stands for any run of characters, as in
:mod:`pomona.wildcards`, which the notification subscriptions and Jamf webhook rules use too.

Endpoints filter by them and the event list and stream take them; they are checked against the
catalogue so that a typo (``titles.*``) is refused rather than silently matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from pomona import wildcards
from pomona.errors import Invalid, Location, Problem
from pomona.events.catalog import catalog

_PATTERN = re.compile(r"^[a-z*][a-z0-9_.*]*$")


def problems(patterns: Sequence[str], path: str, location: Location = "body") -> list[Problem]:
    """Every pattern that is malformed or matches no known type, located at ``path/i``."""
    found = []
    names = list(catalog())
    for index, pattern in enumerate(patterns):
        where = f"{path}/{index}" if location == "body" else path
        if not _PATTERN.match(pattern) or len(pattern) > 64:
            message = (
                f"'{pattern[:80]}' is not an event type or a pattern such as title.* or *.failed"
            )
            found.append(Problem(where, message, location, code="event_type_invalid"))
        elif not any(matches(pattern, name) for name in names):
            message = f"'{pattern}' matches no event type; the event catalogue lists them"
            found.append(Problem(where, message, location, code="event_type_unknown"))
    return found


def check(patterns: Sequence[str], path: str, location: Location = "body") -> None:
    if found := problems(patterns, path, location):
        raise Invalid(found, code=found[0].code)


def matches(pattern: str, name: str) -> bool:
    return wildcards.matches(pattern, name)


def matches_any(patterns: Iterable[str], name: str) -> bool:
    return any(matches(p, name) for p in patterns)


def where(column: InstrumentedAttribute[str], patterns: Sequence[str]) -> ColumnElement[bool]:
    """The SQL condition of ``patterns`` on a type column: LIKE where there is a ``*`` (``_``,
    which names contain, escaped; patterns hold no ``%`` or ``!``)."""
    conditions: list[ColumnElement[bool]] = []
    for pattern in patterns:
        if pattern == "*":
            return or_(column.is_not(None))
        if "*" in pattern:
            conditions.append(column.like(pattern.replace("_", "!_").replace("*", "%"), escape="!"))
        else:
            conditions.append(column == pattern)
    return or_(*conditions)
