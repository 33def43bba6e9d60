"""Packages: the list, a package's detail (hashes, stage tags, notes), its edit and safe
delete, and the upload page (tus, resumable, in the browser: ``static/ui.js`` sends the file to
the API's ``/api/v1/uploads/`` with the session's CSRF token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request, Response

from pomona.audit.deps import who
from pomona.errors import Invalid
from pomona.packages.deps import Catalog, Reader, Writer
from pomona.packages.routes.schemas import PackagePatch
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
    request: Request, catalog: Catalog, caller: Reader, filename: str
) -> Response:
    info = await catalog.get(filename)
    return render(request, "packages/detail.html", caller=caller, package=info)


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
