"""Packages: the list, a package's detail (hashes, stage tags, notes, where it is: each peer,
each Jamf Pro connection), its edit, promotion, push to Jamf Pro and safe delete, and the
upload page (tus, resumable, in the browser: ``static/ui.js`` sends the file to the API's
``/api/v1/uploads/`` with the session's CSRF token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request, Response

from pomona.audit.deps import who
from pomona.deps import ServicesDep
from pomona.errors import Invalid
from pomona.jamf.deps import Admin as JamfAdmin
from pomona.jamf.routes.pushes import PushIn, queue_push
from pomona.packages.deps import Catalog, Reader, Writer
from pomona.packages.routes.schemas import PackagePatch
from pomona.ui.deps import Ui
from pomona.ui.pages_http import PREFIX, parse, redirect, render, ui_router

router = ui_router(prefix=f"{PREFIX}/packages")


@router.get("")
async def package_list(
    request: Request,
    catalog: Catalog,
    caller: Reader,
    q: Annotated[str | None, Query(max_length=255)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    found = await catalog.search(query=q or None, tag=tag or None, offset=0, limit=1000)
    return render(
        request, "packages/list.html", caller=caller, found=found, q=q or "", tag=tag or ""
    )


@router.get("/{filename}")
async def package_page(
    request: Request, catalog: Catalog, ui: Ui, caller: Reader, filename: str
) -> Response:
    info = await catalog.get(filename)
    where = await ui.places(info.filename, caller)
    return render(request, "packages/detail.html", caller=caller, package=info, where=where)


@router.get("/{filename}/where")
async def package_places(
    request: Request, catalog: Catalog, ui: Ui, caller: Reader, filename: str
) -> Response:
    """Where the package is (its peers, its Jamf Pro pushes): the part of its page that
    follows a push or a transfer under way."""
    info = await catalog.get(filename)
    where = await ui.places(info.filename, caller)
    return render(request, "packages/where.html", caller=caller, package=info, where=where)


@router.post("/{filename}/push")
async def push(
    request: Request,
    found: ServicesDep,
    caller: JamfAdmin,
    filename: str,
    connection: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    """Push to Jamf Pro, as the API's ``POST /api/v1/jamf/pushes`` does; the page follows it."""
    body = parse(PushIn, {"filename": filename, "connection": connection})
    await queue_push(found, caller, who(request, caller), body)
    return redirect(request, f"{PREFIX}/packages/{filename}")


@router.post("/{filename}/promote")
async def promote(
    request: Request,
    catalog: Catalog,
    caller: Writer,
    filename: str,
    stage: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    """Add a stage tag (the package then goes where that stage goes: peers, push rules)."""
    info, stage = await catalog.get(filename), stage.strip()
    if not stage or stage in info.tags:
        raise Invalid("choose a stage the package does not have yet", "/stage", code="ui_stage")
    patch = parse(PackagePatch, {"tags": [*info.tags, stage]})
    await catalog.update(filename, patch.edit(), who=who(request, caller))
    return redirect(request, f"{PREFIX}/packages/{filename}")


@router.post("/{filename}")
async def edit_package(
    request: Request,
    catalog: Catalog,
    caller: Writer,
    filename: str,
    notes: Annotated[str, Form(max_length=10_000)] = "",
    tags: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    """Notes and stage tags (comma or space separated), checked by the API's own model."""
    patch = parse(PackagePatch, {"notes": notes or None, "tags": tags.replace(",", " ").split()})
    await catalog.update(filename, patch.edit(), who=who(request, caller))
    return redirect(request, f"{PREFIX}/packages/{filename}")


@router.post("/{filename}/delete")
async def delete_package(
    request: Request,
    catalog: Catalog,
    caller: Writer,
    filename: str,
    confirm: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Safe delete: the user types the filename again, so a slip of the mouse deletes nothing."""
    if confirm != filename:
        raise Invalid("type the package's filename to delete it", "/confirm", code="ui_confirm")
    await catalog.delete(filename, who=who(request, caller))
    return redirect(request, f"{PREFIX}/packages")
