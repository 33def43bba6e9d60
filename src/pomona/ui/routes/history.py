"""A title's history: its revisions, a side-by-side comparison of two, and rollback (a new
revision, as ``TitleService.rollback`` makes it for the API)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import Form, Query, Request, Response

from pomona.titles.access import check_may_write
from pomona.titles.deps import Reader, Titles, Writer, actor_of
from pomona.ui.pages_http import PREFIX, redirect, render, ui_router
from pomona.ui.routes.titles import TABS

router = ui_router(prefix=f"{PREFIX}/titles/{{title_id}}/history")


@dataclass(frozen=True, slots=True)
class Row:
    old: str | None
    new: str | None
    kind: str  # same, changed, removed, added


def side_by_side(old: str, new: str) -> list[Row]:
    """Lines of two pretty-printed documents paired for reading side by side."""
    before, after = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(Row(line, line, "same") for line in before[i1:i2])
            continue
        left, right = before[i1:i2], after[j1:j2]
        for k in range(max(len(left), len(right))):
            a = left[k] if k < len(left) else None
            b = right[k] if k < len(right) else None
            rows.append(
                Row(
                    a,
                    b,
                    "changed"
                    if a is not None and b is not None
                    else "removed"
                    if b is None
                    else "added",
                )
            )
    return rows


def _text(document: str | None) -> str:
    if document is None:
        return "(deleted)"
    return orjson.dumps(orjson.loads(document), option=orjson.OPT_INDENT_2).decode()


@router.get("")
async def history(
    request: Request,
    titles: Titles,
    caller: Reader,
    title_id: str,
    old: Annotated[int | None, Query(ge=1)] = None,
    new: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    revisions, total = await titles.history(title_id, offset=0, limit=200)
    compared = None
    if old is not None and new is not None:
        before, after = await titles.revision(title_id, old), await titles.revision(title_id, new)
        compared = {
            "old": old,
            "new": new,
            "rows": side_by_side(_text(before.document), _text(after.document)),
            "diff": await titles.diff(title_id, old, new),
        }
    current = revisions[0].number if revisions else None
    return render(
        request,
        "title/history.html",
        caller=caller,
        title_id=title_id,
        tabs=TABS,
        tab="history",
        revisions=revisions,
        total=total,
        current=current,
        compared=compared,
        writable=caller.may_write_title(title_id),
    )


@router.post("/rollback")
async def rollback(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    number: Annotated[int, Form(ge=1)],
) -> Response:
    check_may_write(caller, title_id)
    await titles.rollback(title_id, number, actor_of(request, caller))
    return redirect(request, f"{PREFIX}/titles/{title_id}/history")
