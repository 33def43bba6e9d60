"""HTTP routes of the package records: list, show, manifest, edit, delete. Thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from pomona.audit.deps import who
from pomona.budget_http import api_router
from pomona.deps import SettingsDep
from pomona.http import read_json
from pomona.packages.deps import Catalog, Reader, Writer
from pomona.packages.routes.schemas import (
    ManifestOut,
    PackageListOut,
    PackageOut,
    PackagePatch,
    responses,
)
from pomona.replication.deps import PackagePeers

Filename = Annotated[str, Path(description="The package's filename", min_length=1, max_length=255)]

api = api_router(prefix="/api/v1/packages", tags=["packages"])


@api.get("", response_model=PackageListOut, responses=responses(401, 403, 422))
async def list_packages(
    catalog: Catalog,
    settings: SettingsDep,
    _caller: Reader,
    q: Annotated[
        str | None, Query(description="Search filenames and notes", max_length=255)
    ] = None,
    tag: Annotated[
        str | None, Query(description="Only packages with this tag", max_length=64)
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> PackageListOut:
    """List packages, ordered by filename."""
    per_page = min(per_page, settings.page_size_max)
    found = await catalog.search(query=q, tag=tag, offset=(page - 1) * per_page, limit=per_page)
    return PackageListOut(
        items=[PackageOut.of(i) for i in found.items],
        total=found.total,
        page=page,
        perPage=per_page,
    )


@api.get("/{filename}", response_model=PackageOut, responses=responses(401, 403, 404, 422))
async def get_package(
    catalog: Catalog, filename: Filename, _caller: Reader, peers: PackagePeers
) -> PackageOut:
    """A package's record: size, hashes, chunks, tags, notes, and per peer whether it has it."""
    found = PackageOut.of(await catalog.get(filename))
    found.peers = await peers(found.filename)
    return found


@api.get(
    "/{filename}/manifest", response_model=ManifestOut, responses=responses(401, 403, 404, 422)
)
async def get_manifest(catalog: Catalog, filename: Filename, _caller: Reader) -> ManifestOut:
    """The SHA-256 of every chunk, to fetch and verify a package piece by piece."""
    info, chunks = await catalog.manifest(filename)
    return ManifestOut(
        filename=info.filename,
        sha256=info.sha256,
        size=info.size,
        chunkSize=info.chunk_size,
        chunks=chunks,
    )


@api.patch(
    "/{filename}",
    response_model=PackageOut,
    responses=responses(400, 401, 403, 404, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PackagePatch"}}
            },
        }
    },
)
async def patch_package(
    request: Request, catalog: Catalog, filename: Filename, caller: Writer
) -> PackageOut:
    """Set notes and/or the stage tags (the list replaces the current tags)."""
    # Read here rather than declared as a body parameter: the body's size limit and the 400
    # for what is not JSON are the house's, as on every JSON route.
    body = await read_json(request)
    try:
        patch = PackagePatch.model_validate(body)
    except ValidationError as exc:
        # Every problem, located in the body, answered by the one validation handler.
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None
    return PackageOut.of(await catalog.update(filename, patch.edit(), who=who(request, caller)))


@api.delete("/{filename}", status_code=204, responses=responses(401, 403, 404, 422))
async def delete_package(
    request: Request, catalog: Catalog, filename: Filename, caller: Writer
) -> Response:
    """Remove a package; its content is kept in the history until the retention passes."""
    await catalog.delete(filename, who=who(request, caller))
    return Response(status_code=204)
