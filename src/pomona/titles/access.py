"""Which titles a caller may write: tokens can be limited to some titles."""

from __future__ import annotations

from pomona.auth.scopes import Principal
from pomona.errors import Forbidden


def check_may_write(caller: Principal, title_id: str) -> None:
    """Refuse, with ``title_forbidden``, a caller whose token is limited to other titles."""
    if not caller.may_write_title(title_id):
        allowed = ", ".join(sorted(caller.titles or ())) or "no title"
        raise Forbidden(
            f"this token may not write title '{title_id}'; it may write only: {allowed}",
            code="title_forbidden",
        )
