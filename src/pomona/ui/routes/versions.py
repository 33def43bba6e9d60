"""A title's versions: add one starting from the newest, reorder (drag and drop, or the move
buttons), enable or disable, delete, and a version's own page (components, criteria, kill apps,
capabilities) with its edit. Each is one ``TitleService`` call, as in the API."""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

import orjson
from fastapi import Form, Request, Response

from pomona.db import utcnow
from pomona.errors import Invalid, Problem
from pomona.times import format_time
from pomona.titles.access import check_may_write
from pomona.titles.deps import Reader, Titles, Writer, actor_of
from pomona.titles.services.reads import position
from pomona.ui.fields import problems_by_field
from pomona.ui.pages_http import PREFIX, redirect, ui_router
from pomona.ui.routes.titles import pretty, title_page

router = ui_router(prefix=f"{PREFIX}/titles/{{title_id}}")
Version = Annotated[str, Form(max_length=255)]


def _back(request: Request, title_id: str) -> Response:
    return redirect(request, f"{PREFIX}/titles/{title_id}/versions")


def from_newest(newest: dict[str, Any], version: str, released: str) -> dict[str, Any]:
    """A new version made from the newest: the same components, criteria, kill apps and
    capabilities, with the new version number wherever the old one was the value."""
    old = newest["version"]
    patch = copy.deepcopy(newest)
    patch["version"] = version
    patch["releaseDate"] = released
    for component in patch.get("components", []):
        if component.get("version") == old:
            component["version"] = version
        for criterion in component.get("criteria", []):
            if criterion.get("value") == old:
                criterion["value"] = version
    return patch


@router.post("/-/add")
async def add_version(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    version: Version,
    releaseDate: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_may_write(caller, title_id)
    record = await titles.get(title_id)
    newest = record.title.model_dump(by_alias=True, mode="json")["patches"][0]
    raw = from_newest(newest, version.strip(), releaseDate.strip() or format_time(utcnow()))
    try:
        await titles.add_version(title_id, raw, actor_of(request, caller))
    except Invalid as exc:
        return await title_page(
            request,
            titles,
            caller,
            title_id,
            "versions",
            status=422,
            errors=problems_by_field(exc.problems, ("/version", "/releaseDate"), base="/patches/0"),
            form={"version": version, "releaseDate": releaseDate},
        )
    return _back(request, title_id)


@router.post("/-/order")
async def reorder(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    order: Annotated[list[str], Form()],
) -> Response:
    """The order a drag and drop left (newest first)."""
    check_may_write(caller, title_id)
    await titles.reorder(title_id, order, actor_of(request, caller))
    return _back(request, title_id)


@router.post("/-/move")
async def move(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    version: Version,
    direction: Annotated[Literal["up", "down"], Form()],
) -> Response:
    """One place up (newer) or down (older): the keyboard's way to reorder."""
    check_may_write(caller, title_id)
    order = [p.version for p in (await titles.get(title_id)).title.patches]
    index = position([{"version": v} for v in order], version, title_id, "version")
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
        await titles.reorder(title_id, order, actor_of(request, caller))
    return _back(request, title_id)


@router.post("/-/enabled")
async def set_enabled(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    enabled: Annotated[bool, Form()],
    version: Annotated[str | None, Form(max_length=255)] = None,
) -> Response:
    """Enable or disable a version, or (without ``version``) the whole title."""
    check_may_write(caller, title_id)
    await titles.set_enabled(title_id, enabled, actor_of(request, caller), version=version)
    return redirect(
        request, f"{PREFIX}/titles/{title_id}" + ("/versions" if version is not None else "")
    )


@router.post("/-/delete")
async def delete_version(
    request: Request, titles: Titles, caller: Writer, title_id: str, version: Version
) -> Response:
    check_may_write(caller, title_id)
    await titles.delete_version(title_id, version, actor_of(request, caller))
    return _back(request, title_id)


@router.post("/-/delete-title")
async def delete_title(request: Request, titles: Titles, caller: Writer, title_id: str) -> Response:
    check_may_write(caller, title_id)
    await titles.delete(title_id, actor_of(request, caller))
    return redirect(request, f"{PREFIX}/titles")


@router.get("/versions/{version}")
async def version_page(
    request: Request, titles: Titles, caller: Reader, title_id: str, version: str
) -> Response:
    patch = await titles.version(title_id, version)
    return await title_page(
        request, titles, caller, title_id, "version", patch=patch, text=pretty(patch)
    )


@router.post("/versions/{version}")
async def save_version(
    request: Request,
    titles: Titles,
    caller: Writer,
    title_id: str,
    version: str,
    document: Annotated[str, Form(max_length=2_000_000)],
) -> Response:
    """The version as JSON (components, criteria, kill apps, capabilities in one document);
    problems are shown against the version's own paths."""
    check_may_write(caller, title_id)
    patches = await titles.versions(title_id)
    index = position(patches, version, title_id, "version")
    try:
        try:
            raw = orjson.loads(document)
        except orjson.JSONDecodeError as exc:
            raise Invalid([Problem("", f"not JSON: {exc}")], code="ui_not_json") from None
        result = await titles.replace_version(title_id, version, raw, actor_of(request, caller))
    except Invalid as exc:
        errors = problems_by_field(exc.problems, base=f"/patches/{index}")
        return await title_page(
            request,
            titles,
            caller,
            title_id,
            "version",
            status=422,
            errors=errors,
            patch=patches[index],
            text=document,
        )
    new = next(
        (p.version for p in result.title.patches if p.version == raw.get("version")), version
    )
    return redirect(request, f"{PREFIX}/titles/{title_id}/versions/{new}")
