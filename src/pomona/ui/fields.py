"""Where a problem goes on a form: each located problem's JSON pointer names a field.

The services locate problems by JSON pointer into the document they checked (``/name``,
``/patches/0/components/0/version``); a form names its inputs by the same pointers, so a problem
is shown next to the input whose name is its path, or the nearest enclosing one; what no input
on the form matches is listed at the top of the form (key ``""``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pomona.errors import Problem


def problems_by_field(
    problems: Iterable[Problem], fields: Iterable[str] | None = None, *, base: str = ""
) -> dict[str, list[str]]:
    """Messages by the form field they concern. ``fields``: the pointers the form has inputs
    for (None: every pointer is a field); ``base``: the pointer of the form's object in the
    document (``/patches/0`` for a version's form)."""
    known = set(fields) if fields is not None else None
    found: dict[str, list[str]] = {}
    for problem in problems:
        path = problem.path
        if base and (path == base or path.startswith(base + "/")):
            path = path[len(base) :]
        found.setdefault(_nearest(path, known), []).append(problem.message)
    return found


def _nearest(path: str, known: set[str] | None) -> str:
    if known is None:
        return path
    while path:
        if path in known:
            return path
        path = path.rsplit("/", 1)[0]
    return ""


def field_id(pointer: str) -> str:
    """An HTML id for a field's pointer (``/patches/0/version`` -> ``f-patches-0-version``)."""
    return "f" + "".join(c if c.isalnum() else "-" for c in pointer)
