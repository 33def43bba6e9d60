"""HTTP routes of whole titles in the native API: list, create, read, replace, delete.
Parse, call, answer.

The Jamf feed is answered ahead of the routing, in ``feed_http.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from pomona.budget_http import DOCUMENT, accepts, api_router
from pomona.deps import SettingsDep
from pomona.errors_http import error_responses
from pomona.http import read_json
from pomona.times import format_time
from pomona.titles.access import check_may_write
from pomona.titles.deps import Author, Reader, Titles, Writer
from pomona.titles.namespaces import SLUG_MAX, target_namespace
from pomona.titles.routes.answers import (
    IfMatch,
    NamespaceQuery,
    Out,
    Strict,
    TitleIdParam,
    TitleWriteOut,
    json_body,
    revision_of,
    title_out,
)
from pomona.titles.schemas import SoftwareTitle


class TitleItemOut(Out):
    id: str
    namespace: str
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


api = api_router(prefix="/api/v1/titles", tags=["titles"])


@api.get("", response_model=TitleListOut, responses=error_responses(401, 403, 422))
async def list_titles(
    titles: Titles,
    settings: SettingsDep,
    _caller: Reader,
    q: Annotated[
        str | None, Query(description="Search id, name and publisher", max_length=255)
    ] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
    namespace: Annotated[
        str | None, Query(description="Only this namespace's titles", max_length=SLUG_MAX)
    ] = None,
) -> TitleListOut:
    """List titles, ordered by id."""
    per_page = min(per_page, settings.page_size_max)
    found = await titles.search(
        query=q, offset=(page - 1) * per_page, limit=per_page, namespace=namespace
    )
    items = [
        TitleItemOut(
            id=t.title_id,
            namespace=t.namespace,
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
    openapi_extra=json_body("SoftwareTitle", "A full patch definition"),
)
@accepts(DOCUMENT)
async def create_title(
    request: Request,
    titles: Titles,
    caller: Writer,
    actor: Author,
    strict: Strict = False,
    namespace: NamespaceQuery = None,
) -> TitleWriteOut:
    """Create a title from a full definition, in a namespace (publisher)."""
    into = target_namespace(caller.namespaces, namespace)
    raw = await read_json(request)
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        check_may_write(caller, raw["id"])
    return title_out(await titles.create(raw, actor, strict=strict, namespace=into))


@api.get(
    "/{title_id}",
    response_model=SoftwareTitle,
    responses=error_responses(401, 403, 404, 422),
)
async def get_title(
    titles: Titles, response: Response, _caller: Reader, title_id: TitleIdParam
) -> SoftwareTitle:
    """The title's definition, with its revision as the ETag and its namespace in
    ``Pomona-Namespace`` (the definition is the Jamf format, which has no place for it)."""
    record = await titles.get(title_id)
    response.headers["ETag"] = f'"r{record.revision}"'
    response.headers["Pomona-Namespace"] = record.namespace
    return record.title


@api.put(
    "/{title_id}",
    response_model=TitleWriteOut,
    responses=error_responses(400, 401, 403, 404, 412, 413, 422),
    openapi_extra=json_body("SoftwareTitle", "The full new definition"),
)
@accepts(DOCUMENT)
async def replace_title(
    request: Request,
    titles: Titles,
    caller: Writer,
    actor: Author,
    title_id: TitleIdParam,
    strict: Strict = False,
    if_match: IfMatch = None,
) -> TitleWriteOut:
    """Replace a title's whole definition; the old one stays in its history."""
    check_may_write(caller, title_id)
    raw = await read_json(request)
    result = await titles.replace(
        title_id, raw, actor, strict=strict, if_revision=revision_of(if_match)
    )
    return title_out(result)


@api.delete("/{title_id}", status_code=204, responses=error_responses(401, 403, 404, 412, 422))
async def delete_title(
    titles: Titles,
    caller: Writer,
    actor: Author,
    title_id: TitleIdParam,
    if_match: IfMatch = None,
) -> Response:
    """Delete a title; it leaves the feed, its history stays."""
    check_may_write(caller, title_id)
    await titles.delete(title_id, actor, if_revision=revision_of(if_match))
    return Response(status_code=204)
