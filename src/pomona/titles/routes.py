"""HTTP routes of the titles domain's native API. Parse, call, answer.

The Jamf feed is answered ahead of the routing, in ``feed_http.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.deps import services
from pomona.errors import Forbidden, PreconditionFailed, Problem
from pomona.errors_http import ProblemOut, error_responses
from pomona.http import read_json
from pomona.times import format_time
from pomona.titles.records import Actor, WriteResult
from pomona.titles.schemas import ID_PATTERN, Patch, SoftwareTitle
from pomona.titles.service import TitleService

# -- response models ----------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class TitleItemOut(Out):
    id: str
    name: str
    publisher: str
    currentVersion: str
    lastModified: str
    revision: int


class TitleListOut(Out):
    items: list[TitleItemOut]
    total: int
    page: int
    perPage: int


class TitleWriteOut(Out):
    id: str
    revision: int
    warnings: list[ProblemOut] = Field(description="What was normalised on the way in")
    definition: SoftwareTitle


class VersionWriteOut(Out):
    id: str
    revision: int
    warnings: list[ProblemOut]
    version: Patch | None = Field(description="The version as stored; null after a delete")


TitleIdParam = Annotated[str, Path(description="The title's id", pattern=ID_PATTERN)]
VersionParam = Annotated[str, Path(description="A version string of the title", min_length=1)]
Strict = Annotated[bool, Query(description="Reject input that needed any normalisation")]
Reason = Annotated[
    str | None, Query(description="Why; kept in the title's history", max_length=2000)
]
IfMatch = Annotated[
    str | None,
    Header(description='Only write if the title is at this revision (its ETag, e.g. "r3")'),
]


def _body(schema: str, description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        }
    }


def _titles(request: Request) -> TitleService:
    return services(request).titles


def _actor(request: Request, caller: Principal, reason: str | None) -> Actor:
    return Actor(caller.name, reason, request.client.host if request.client else None)


def _revision(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None  # "*" matches any current revision (RFC 9110 section 13.1.1)
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.startswith("r") or not tag[1:].isdigit():
        raise PreconditionFailed(
            [
                Problem(
                    "/if-match",
                    f'If-Match must be a title ETag such as "r3", not {if_match}; '
                    "read the ETag with GET /api/v1/titles/{id}",
                    "header",
                )
            ],
        )
    return int(tag[1:])


def _may_write(caller: Principal, title_id: str) -> None:
    if not caller.may_write_title(title_id):
        allowed = ", ".join(sorted(caller.titles or ())) or "no title"
        raise Forbidden(
            f"this token may not write title '{title_id}'; it may write only: {allowed}. "
            "Use a token that is not limited to titles",
        )


def _title_out(result: WriteResult) -> TitleWriteOut:
    return TitleWriteOut(
        id=result.title.id,
        revision=result.revision,
        warnings=[ProblemOut(**w.as_dict()) for w in result.warnings],
        definition=result.title,
    )


def _version_out(result: WriteResult, version: str | None) -> VersionWriteOut:
    patch = next((p for p in result.title.patches if p.version == version), None)
    return VersionWriteOut(
        id=result.title.id,
        revision=result.revision,
        warnings=[ProblemOut(**w.as_dict()) for w in result.warnings],
        version=patch,
    )


Reader = Annotated[Principal, Depends(require("titles:read"))]
Writer = Annotated[Principal, Depends(require("titles:write"))]

api = APIRouter(prefix="/api/v1/titles", tags=["titles"])


@api.get("", response_model=TitleListOut, responses=error_responses(401, 403, 422))
async def list_titles(
    request: Request,
    _caller: Reader,
    q: Annotated[
        str | None, Query(description="Search id, name and publisher", max_length=255)
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> TitleListOut:
    """List titles, ordered by id."""
    per_page = min(per_page, services(request).settings.page_size_max)
    found = await _titles(request).search(query=q, offset=(page - 1) * per_page, limit=per_page)
    items = [
        TitleItemOut(
            id=t.title_id,
            name=t.name,
            publisher=t.publisher,
            currentVersion=t.current_version,
            lastModified=format_time(t.last_modified),
            revision=t.revision,
        )
        for t in found.items
    ]
    return TitleListOut(items=items, total=found.total, page=page, perPage=per_page)


@api.post(
    "",
    status_code=201,
    response_model=TitleWriteOut,
    responses=error_responses(400, 401, 403, 409, 413, 422),
    openapi_extra=_body("SoftwareTitle", "A full patch definition"),
)
async def create_title(
    request: Request, caller: Writer, strict: Strict = False, reason: Reason = None
) -> TitleWriteOut:
    """Create a title from a full definition."""
    raw = await read_json(request)
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        _may_write(caller, raw["id"])
    result = await _titles(request).create(raw, _actor(request, caller, reason), strict=strict)
    return _title_out(result)


@api.get(
    "/{title_id}",
    response_model=SoftwareTitle,
    responses=error_responses(401, 403, 404, 422),
)
async def get_title(
    request: Request, response: Response, _caller: Reader, title_id: TitleIdParam
) -> SoftwareTitle:
    """The title's definition, with its revision as the ETag."""
    record = await _titles(request).get(title_id)
    response.headers["ETag"] = f'"r{record.revision}"'
    return record.title


@api.put(
    "/{title_id}",
    response_model=TitleWriteOut,
    responses=error_responses(400, 401, 403, 404, 412, 413, 422),
    openapi_extra=_body("SoftwareTitle", "The full new definition"),
)
async def replace_title(
    request: Request,
    caller: Writer,
    title_id: TitleIdParam,
    strict: Strict = False,
    reason: Reason = None,
    if_match: IfMatch = None,
) -> TitleWriteOut:
    """Replace a title's whole definition; the old one stays in its history."""
    _may_write(caller, title_id)
    raw = await read_json(request)
    result = await _titles(request).replace(
        title_id,
        raw,
        _actor(request, caller, reason),
        strict=strict,
        if_revision=_revision(if_match),
    )
    return _title_out(result)


@api.delete("/{title_id}", status_code=204, responses=error_responses(401, 403, 404, 412, 422))
async def delete_title(
    request: Request,
    caller: Writer,
    title_id: TitleIdParam,
    reason: Reason = None,
    if_match: IfMatch = None,
) -> Response:
    """Delete a title; it leaves the feed, its history stays."""
    _may_write(caller, title_id)
    await _titles(request).delete(
        title_id, _actor(request, caller, reason), if_revision=_revision(if_match)
    )
    return Response(status_code=204)


@api.get(
    "/{title_id}/versions",
    response_model=list[Patch],
    responses=error_responses(401, 403, 404, 422),
)
async def list_versions(
    request: Request, _caller: Reader, title_id: TitleIdParam
) -> list[dict[str, Any]]:
    """The title's versions, newest first, as Jamf Pro reads them."""
    return await _titles(request).versions(title_id)


@api.post(
    "/{title_id}/versions",
    status_code=201,
    response_model=VersionWriteOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    openapi_extra=_body("Patch", "One version"),
)
async def add_version(
    request: Request,
    caller: Writer,
    title_id: TitleIdParam,
    after: Annotated[
        str | None, Query(description="Insert just after (older than) this version")
    ] = None,
    before: Annotated[
        str | None, Query(description="Insert just before (newer than) this version")
    ] = None,
    strict: Strict = False,
    reason: Reason = None,
) -> VersionWriteOut:
    """Add a version: the newest by default, or placed with ``after``/``before``."""
    _may_write(caller, title_id)
    raw = await read_json(request)
    result = await _titles(request).add_version(
        title_id, raw, _actor(request, caller, reason), after=after, before=before, strict=strict
    )
    return _version_out(result, raw.get("version") if isinstance(raw, dict) else None)


@api.get(
    "/{title_id}/versions/{version}",
    response_model=Patch,
    responses=error_responses(401, 403, 404, 422),
)
async def get_version(
    request: Request, _caller: Reader, title_id: TitleIdParam, version: VersionParam
) -> dict[str, Any]:
    """One version of a title."""
    return await _titles(request).version(title_id, version)


@api.put(
    "/{title_id}/versions/{version}",
    response_model=VersionWriteOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    openapi_extra=_body("Patch", "The version's new content (its version string may change)"),
)
async def replace_version(
    request: Request,
    caller: Writer,
    title_id: TitleIdParam,
    version: VersionParam,
    strict: Strict = False,
    reason: Reason = None,
) -> VersionWriteOut:
    """Edit a version in place; it keeps its position."""
    _may_write(caller, title_id)
    raw = await read_json(request)
    result = await _titles(request).replace_version(
        title_id, version, raw, _actor(request, caller, reason), strict=strict
    )
    return _version_out(result, raw.get("version") if isinstance(raw, dict) else None)


@api.delete(
    "/{title_id}/versions/{version}",
    response_model=VersionWriteOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def delete_version(
    request: Request,
    caller: Writer,
    title_id: TitleIdParam,
    version: VersionParam,
    reason: Reason = None,
) -> VersionWriteOut:
    """Delete one version; the last version of a title cannot be deleted."""
    _may_write(caller, title_id)
    result = await _titles(request).delete_version(
        title_id, version, _actor(request, caller, reason)
    )
    return _version_out(result, None)
