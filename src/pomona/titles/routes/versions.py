"""HTTP routes of a title's versions in the native API: list, add, read, edit, delete.
Parse, call, answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request
from pydantic import Field

from pomona.budget_http import DOCUMENT, accepts, api_router
from pomona.errors import Invalid, Problem
from pomona.errors_http import ProblemOut, error_responses
from pomona.http import read_json
from pomona.titles.access import check_may_write
from pomona.titles.deps import Author, Reader, Titles, Writer
from pomona.titles.routes.answers import (
    Out,
    Strict,
    TitleIdParam,
    VersionParam,
    json_body,
    warnings_out,
)
from pomona.titles.schemas import Patch
from pomona.titles.values import WriteResult


class VersionWriteOut(Out):
    id: str
    namespace: str
    revision: int
    warnings: list[ProblemOut]
    version: Patch | None = Field(description="The version as stored; null after a delete")


def _version_out(result: WriteResult, version: str | None) -> VersionWriteOut:
    # Whitespace around a version is repaired away: look for the version as stored.
    stored = version.strip() if isinstance(version, str) else None
    patch = next((p for p in result.title.patches if p.version == stored), None)
    return VersionWriteOut(
        id=result.title.id,
        namespace=result.namespace,
        revision=result.revision,
        warnings=warnings_out(result),
        version=patch,
    )


api = api_router(prefix="/api/v1/titles", tags=["titles"])


@api.get(
    "/{title_id}/versions",
    response_model=list[Patch],
    responses=error_responses(401, 403, 404, 422),
)
async def list_versions(
    titles: Titles, _caller: Reader, title_id: TitleIdParam
) -> list[dict[str, Any]]:
    """The title's versions, newest first, as Jamf Pro reads them."""
    return await titles.versions(title_id)


@api.post(
    "/{title_id}/versions",
    status_code=201,
    response_model=VersionWriteOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    openapi_extra=json_body("Patch", "One version"),
)
@accepts(DOCUMENT)
async def add_version(
    request: Request,
    titles: Titles,
    caller: Writer,
    actor: Author,
    title_id: TitleIdParam,
    after: Annotated[
        str | None, Query(description="Insert just after (older than) this version")
    ] = None,
    before: Annotated[
        str | None, Query(description="Insert just before (newer than) this version")
    ] = None,
    strict: Strict = False,
    from_: Annotated[
        Literal["newest"] | None,
        Query(
            alias="from",
            description="'newest': make the version from the newest one; only the body's "
            "version (required), releaseDate and minimumOperatingSystem are read",
        ),
    ] = None,
) -> VersionWriteOut:
    """Add a version: the newest by default, or placed with ``after``/``before``; or, with
    ``from=newest``, a clone of the newest version with the new version string wherever the
    old one stood in its criteria."""
    check_may_write(caller, title_id)
    raw = await read_json(request)
    if from_ == "newest":
        version, released, minimum = _from_newest(raw)
        result = await titles.add_version_from_newest(
            title_id, version, actor, release_date=released, minimum_os=minimum
        )
        return _version_out(result, version)
    result = await titles.add_version(
        title_id, raw, actor, after=after, before=before, strict=strict
    )
    return _version_out(result, raw.get("version") if isinstance(raw, dict) else None)


def _from_newest(raw: Any) -> tuple[str, str | None, str | None]:
    """The version, release date and minimum OS of a ``from=newest`` body."""
    body = raw if isinstance(raw, dict) else {}
    problems = [
        Problem(f"/{key}", f"must be a string{' (required)' if key == 'version' else ''}")
        for key in ("version", "releaseDate", "minimumOperatingSystem")
        if not isinstance(body.get(key), str) and (key == "version" or body.get(key) is not None)
    ]
    if problems:
        raise Invalid(problems, code="version_invalid")
    return body["version"], body.get("releaseDate"), body.get("minimumOperatingSystem")


@api.get(
    "/{title_id}/versions/{version}",
    response_model=Patch,
    responses=error_responses(401, 403, 404, 422),
)
async def get_version(
    titles: Titles, _caller: Reader, title_id: TitleIdParam, version: VersionParam
) -> dict[str, Any]:
    """One version of a title."""
    return await titles.version(title_id, version)


@api.put(
    "/{title_id}/versions/{version}",
    response_model=VersionWriteOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    openapi_extra=json_body("Patch", "The version's new content (its version string may change)"),
)
@accepts(DOCUMENT)
async def replace_version(
    request: Request,
    titles: Titles,
    caller: Writer,
    actor: Author,
    title_id: TitleIdParam,
    version: VersionParam,
    strict: Strict = False,
) -> VersionWriteOut:
    """Edit a version in place; it keeps its position."""
    check_may_write(caller, title_id)
    raw = await read_json(request)
    result = await titles.replace_version(title_id, version, raw, actor, strict=strict)
    return _version_out(result, raw.get("version") if isinstance(raw, dict) else None)


@api.delete(
    "/{title_id}/versions/{version}",
    response_model=VersionWriteOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def delete_version(
    titles: Titles,
    caller: Writer,
    actor: Author,
    title_id: TitleIdParam,
    version: VersionParam,
) -> VersionWriteOut:
    """Delete one version; the last version of a title cannot be deleted."""
    check_may_write(caller, title_id)
    result = await titles.delete_version(title_id, version, actor)
    return _version_out(result, None)
