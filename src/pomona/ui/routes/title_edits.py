"""Edits of a title's tabs: its fields, its extension attribute, its requirements. Each edit
reads the current definition, changes what the form holds and replaces the definition through
``TitleService.replace`` (validation, namespace checks, history, audit), guarded by the revision
the form was made from, so a concurrent edit is refused rather than overwritten."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Form, Request, Response

from pomona.errors import Invalid
from pomona.titles.access import check_may_write
from pomona.titles.deps import Titles, Writer, actor_of
from pomona.ui.fields import problems_by_field
from pomona.ui.pages_http import PREFIX, redirect, ui_router
from pomona.ui.routes.titles import title_page

router = ui_router(prefix=f"{PREFIX}/titles")
Field = Annotated[str, Form(max_length=255)]
Revision = Annotated[int, Form(ge=1)]
FIELDS = ("/name", "/publisher", "/appName", "/bundleId", "/currentVersion")
EA_FIELDS = (
    "/extensionAttributes/0/key",
    "/extensionAttributes/0/displayName",
    "/extensionAttributes/0/value",
)


async def _save(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    revision: int,
    tab: str,
    edit: Any,
    fields: tuple[str, ...] | None,
    form: dict[str, Any],
) -> Response:
    """Apply ``edit`` to the current definition and replace it; on problems, the tab again with
    each one next to its field and what the user typed kept."""
    check_may_write(caller, title_id)
    record = await titles.get(title_id)
    document = record.title.model_dump(by_alias=True, mode="json")
    edit(document)
    try:
        await titles.replace(title_id, document, actor_of(request, caller), if_revision=revision)
    except Invalid as exc:
        return await title_page(
            request,
            titles,
            caller,
            title_id,
            tab,
            status=422,
            errors=problems_by_field(exc.problems, fields),
            form=form,
        )
    return redirect(request, f"{PREFIX}/titles/{title_id}" + ("" if tab == "fields" else f"/{tab}"))


@router.post("/{title_id}")
async def save_fields(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    revision: Revision,
    name: Field = "",
    publisher: Field = "",
    appName: Field = "",
    bundleId: Field = "",
    currentVersion: Field = "",
) -> Response:
    form = {
        "name": name,
        "publisher": publisher,
        "appName": appName,
        "bundleId": bundleId,
        "currentVersion": currentVersion,
    }

    def edit(document: dict[str, Any]) -> None:
        for key, value in form.items():
            if key in ("appName", "bundleId") and not value:
                document.pop(key, None)
            else:
                document[key] = value

    return await _save(request, titles, caller, title_id, revision, "fields", edit, FIELDS, form)


@router.post("/{title_id}/ea")
async def save_extension_attribute(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    revision: Revision,
    key: Field = "",
    displayName: Field = "",
    script: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """The title's extension attribute (the first; Jamf Pro shows one per title). Empty key and
    script remove it."""

    def edit(document: dict[str, Any]) -> None:
        attributes = document.setdefault("extensionAttributes", [])
        if not key and not script.strip():
            del attributes[:1]
            return
        value = base64.b64encode(script.replace("\r\n", "\n").encode()).decode()
        attribute = {"key": key, "displayName": displayName, "value": value}
        attributes[:1] = [attribute]

    form = {"key": key, "displayName": displayName, "script": script}
    return await _save(request, titles, caller, title_id, revision, "ea", edit, EA_FIELDS, form)


@router.post("/{title_id}/requirements")
async def save_requirements(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    revision: Revision,
    name: Annotated[list[str], Form()],
    operator: Annotated[list[str], Form()],
    value: Annotated[list[str], Form()],
    type: Annotated[list[str], Form()],
    join: Annotated[list[str], Form()],
    remove: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    """The criteria builder: one row per criterion in order; a row without a name is the blank
    row for a new one; ``remove`` lists the rows to drop."""
    rows = [
        {"name": n, "operator": o, "value": v, "type": t, "and": j != "or"}
        for index, (n, o, v, t, j) in enumerate(
            zip(name, operator, value, type, join, strict=False)
        )
        if n.strip() and index not in set(remove)
    ]

    def edit(document: dict[str, Any]) -> None:
        document["requirements"] = rows

    return await _save(
        request, titles, caller, title_id, revision, "requirements", edit, None, {"rows": rows}
    )
