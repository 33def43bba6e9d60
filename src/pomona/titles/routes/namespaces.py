"""HTTP routes of namespaces (publishers, each with a Jamf feed of its own): list and read them
with a token that reads titles; create, edit and delete them as an admin. Parse, call, answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Response
from pydantic import BaseModel, Field

from pomona.audit.deps import who
from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.budget_http import api_router
from pomona.errors_http import error_responses
from pomona.times import format_time
from pomona.titles.deps import Reader, Titles
from pomona.titles.feed_http import FEED
from pomona.titles.namespaces import DEFAULT, DISPLAY_NAME_MAX, SLUG_MAX, NamespaceInfo

Admin = Annotated[Principal, Depends(require("admin"))]
SlugParam = Annotated[str, Path(description="The namespace's slug", max_length=SLUG_MAX)]


class NamespaceOut(BaseModel):
    slug: str
    displayName: str
    decorateIds: bool = Field(
        description="The feed shows ids as '<id>_<Slug>' and names as '<name> (<display name>)'"
    )
    createdAt: str | None = Field(description="None for the default namespace until edited")
    titles: int = Field(description="How many titles the namespace holds")
    feed: str = Field(description="The feed's base path, as Jamf Pro is given it")


class NamespaceListOut(BaseModel):
    items: list[NamespaceOut]


class NamespaceIn(BaseModel):
    slug: str = Field(
        description="Lower-case letters, digits and '-'; it never changes (it is in the feed's "
        "URL)",
        max_length=SLUG_MAX,
    )
    displayName: str = Field(max_length=DISPLAY_NAME_MAX)
    decorateIds: bool = False


class NamespaceEditIn(BaseModel):
    displayName: str | None = Field(None, max_length=DISPLAY_NAME_MAX)
    decorateIds: bool | None = None


def namespace_out(info: NamespaceInfo) -> NamespaceOut:
    return NamespaceOut(
        slug=info.slug,
        displayName=info.display_name,
        decorateIds=info.decorate_ids,
        createdAt=format_time(info.created_at) if info.created_at else None,
        titles=info.titles,
        feed=f"{FEED}/" if info.slug == DEFAULT else f"{FEED}/{info.slug}/",
    )


api = api_router(prefix="/api/v1/namespaces", tags=["namespaces"])


@api.get("", response_model=NamespaceListOut, responses=error_responses(401, 403))
async def list_namespaces(titles: Titles, _caller: Reader) -> NamespaceListOut:
    """Every namespace, the default (the main feed) first."""
    return NamespaceListOut(items=[namespace_out(i) for i in await titles.namespaces()])


@api.post(
    "",
    status_code=201,
    response_model=NamespaceOut,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def create_namespace(
    request: Request, titles: Titles, caller: Admin, body: NamespaceIn
) -> NamespaceOut:
    """Create a namespace; its feed is at ``/jamf/v1/<slug>/`` at once. Needs ``admin``."""
    created = await titles.create_namespace(
        body.slug, body.displayName, who(request, caller), decorate_ids=body.decorateIds
    )
    return namespace_out(created)


@api.get("/{slug}", response_model=NamespaceOut, responses=error_responses(401, 403, 404, 422))
async def get_namespace(titles: Titles, _caller: Reader, slug: SlugParam) -> NamespaceOut:
    """One namespace."""
    return namespace_out(await titles.namespace(slug))


@api.patch(
    "/{slug}",
    response_model=NamespaceOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
async def edit_namespace(
    request: Request, titles: Titles, caller: Admin, slug: SlugParam, body: NamespaceEditIn
) -> NamespaceOut:
    """Change the display name or the decoration; the slug never changes. Needs ``admin``."""
    edited = await titles.edit_namespace(
        slug,
        who(request, caller),
        display_name=body.displayName,
        decorate_ids=body.decorateIds,
    )
    return namespace_out(edited)


@api.delete("/{slug}", status_code=204, responses=error_responses(401, 403, 404, 409, 422))
async def delete_namespace(
    request: Request, titles: Titles, caller: Admin, slug: SlugParam
) -> Response:
    """Delete an empty namespace; one that holds titles is refused (409) with their ids, and
    the default namespace cannot be deleted. Needs ``admin``."""
    await titles.delete_namespace(slug, who(request, caller))
    return Response(status_code=204)
