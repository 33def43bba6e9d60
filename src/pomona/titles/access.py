"""Which titles a caller may write: tokens can be limited to some titles.

What is checked is every id a write stores, not only the ids a request names: a restore with
``policy=copy`` names ``Composer`` and writes ``Composer-copy``, and it is the latter that a
token limited to ``Composer`` may not write.
"""

from __future__ import annotations

from collections.abc import Iterable

from pomona.auth.scopes import Principal
from pomona.errors import Forbidden, Problem


def check_may_write(caller: Principal, title_id: str) -> None:
    """Refuse, with ``title_forbidden``, a caller whose token is limited to other titles."""
    check_may_write_all(caller, [("", title_id)])


def check_may_write_all(caller: Principal, written: Iterable[tuple[str, str]]) -> None:
    """Refuse, with ``title_forbidden`` and one problem for each, every id of ``written``
    (``(path, title id)`` pairs, the path locating where the id came from) the caller may not
    write: all at once, so that one answer says everything to take out."""
    allowed = ", ".join(sorted(caller.titles or ())) or "no title"
    problems: list[Problem] = []
    refused: set[str] = set()
    for path, title_id in written:
        if title_id in refused or caller.may_write_title(title_id):
            continue
        refused.add(title_id)
        problems.append(
            Problem(
                path, f"this token may not write title '{title_id}'; it may write only: {allowed}"
            )
        )
    if problems:
        raise Forbidden(problems, code="title_forbidden")
