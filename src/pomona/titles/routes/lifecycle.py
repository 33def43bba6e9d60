"""HTTP routes of a title's lifecycle: history, diff, rollback, enable/disable, version order.
Parse, call, answer."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Path, Query
from pydantic import BaseModel, Field

from pomona.budget_http import api_router
from pomona.deps import SettingsDep
from pomona.errors_http import error_responses
from pomona.times import format_time
from pomona.titles.access import check_may_write
from pomona.titles.deps import Author, Reader, Titles, Writer
from pomona.titles.models import TitleRevision, TitleState
from pomona.titles.namespaces import target_namespace
from pomona.titles.routes.answers import (
    IfMatch,
    NamespaceQuery,
    TitleIdParam,
    TitleWriteOut,
    VersionParam,
    revision_of,
    title_out,
)
from pomona.titles.values import WriteResult


class RevisionOut(BaseModel):
    number: int
    action: str
    summary: str
    actor: str
    reason: str | None
    createdAt: str


class HistoryOut(BaseModel):
    id: str
    items: list[RevisionOut]
    total: int
    page: int
    perPage: int


class RevisionDetailOut(RevisionOut):
    definition: dict[str, Any] | None = Field(description="null for the revision that deleted it")
    enabled: bool | None
    disabledVersions: list[str] | None


class DiffOut(BaseModel):
    id: str
    fromRevision: int
    toRevision: int
    changes: dict[str, Any] = Field(
        description="title, versions (added, removed, changed, order), extensionAttributes, "
        "state, extensionAttributesToAccept, and readable lines"
    )


class StateWriteOut(TitleWriteOut):
    enabled: bool
    disabledVersions: list[str]
    summary: str


class OrderIn(BaseModel):
    versions: list[str] = Field(description="Every version, once, newest first", min_length=1)


def _state_out(result: WriteResult) -> StateWriteOut:
    base = title_out(result)
    return StateWriteOut(
        **base.model_dump(by_alias=False),
        enabled=result.state.enabled,
        disabledVersions=list(result.state.disabled_versions),
        summary=result.summary,
    )


api = api_router(prefix="/api/v1/titles", tags=["title history and control"])
TITLE_ERRORS = (401, 403, 404, 422)


# -- history -------------------------------------------------------------------------------------


@api.get("/{title_id}/history", response_model=HistoryOut, responses=error_responses(*TITLE_ERRORS))
async def history(
    titles: Titles,
    settings: SettingsDep,
    _caller: Reader,
    title_id: TitleIdParam,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> HistoryOut:
    """The title's revisions, newest first: who, when, why, and what changed. A deleted title
    keeps its history."""
    per_page = min(per_page, settings.page_size_max)
    rows, total = await titles.history(title_id, offset=(page - 1) * per_page, limit=per_page)
    return HistoryOut(
        id=title_id,
        items=[_revision_out(r) for r in rows],
        total=total,
        page=page,
        perPage=per_page,
    )


def _revision_out(row: TitleRevision) -> RevisionOut:
    return RevisionOut(
        number=row.number,
        action=row.action,
        summary=row.summary,
        actor=row.actor,
        reason=row.reason,
        createdAt=format_time(row.created_at),
    )


@api.get(
    "/{title_id}/history/{number}",
    response_model=RevisionDetailOut,
    responses=error_responses(*TITLE_ERRORS),
)
async def revision(
    titles: Titles,
    _caller: Reader,
    title_id: TitleIdParam,
    number: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> RevisionDetailOut:
    """One revision: the whole definition as it was, and what Jamf Pro was allowed to see."""
    row = await titles.revision(title_id, number)
    state = TitleState.load(row.state) if row.document is not None else None
    return RevisionDetailOut(
        **_revision_out(row).model_dump(),
        definition=orjson.loads(row.document) if row.document is not None else None,
        enabled=state.enabled if state else None,
        disabledVersions=list(state.disabled_versions) if state else None,
    )


@api.get("/{title_id}/diff", response_model=DiffOut, responses=error_responses(*TITLE_ERRORS))
async def diff(
    titles: Titles,
    _caller: Reader,
    title_id: TitleIdParam,
    from_: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1, description="A revision")],
    to: Annotated[int, Query(ge=1, le=2**31 - 1, description="A later (or any) revision")],
) -> DiffOut:
    """What changed between two revisions: per title field, per version and per field of each
    version, per extension attribute, and in what Jamf Pro may see."""
    changes = await titles.diff(title_id, from_, to)
    return DiffOut(id=title_id, fromRevision=from_, toRevision=to, changes=changes.as_dict())


@api.post(
    "/{title_id}/rollback",
    response_model=StateWriteOut,
    responses=error_responses(401, 403, 404, 409, 412, 422),
)
async def rollback(
    titles: Titles,
    caller: Writer,
    actor: Author,
    title_id: TitleIdParam,
    revision: Annotated[int, Query(ge=1, le=2**31 - 1, description="The revision to bring back")],
    if_match: IfMatch = None,
    namespace: NamespaceQuery = None,
) -> StateWriteOut:
    """Make an earlier revision current again, as a new revision (history is never rewritten).
    Works on a deleted title too: it comes back, into ``namespace`` if given."""
    check_may_write(caller, title_id)
    if namespace is not None:
        target_namespace(caller.namespaces, namespace)  # refused at once if not the caller's
    result = await titles.rollback(
        title_id, revision, actor, if_revision=revision_of(if_match), namespace=namespace
    )
    return _state_out(result)


# -- what Jamf Pro sees ----------------------------------------------------------------------------


def _toggle(enabled: bool, *, version: bool) -> Any:
    verb = "Enable" if enabled else "Disable"
    what = "one version" if version else "the title"
    doc = (
        f"{verb} {what}. Disabled items stay in the API and the preview feed "
        "(/jamf/preview/v1) but leave the Jamf feed; currentVersion follows the newest enabled "
        "version, and a title without an enabled version leaves the feed."
    )

    if version:

        async def toggle_version(
            titles: Titles,
            caller: Writer,
            actor: Author,
            title_id: TitleIdParam,
            version: VersionParam,
        ) -> StateWriteOut:
            check_may_write(caller, title_id)
            result = await titles.set_enabled(title_id, enabled, actor, version=version)
            return _state_out(result)

        toggle_version.__doc__ = doc
        return toggle_version

    async def toggle_title(
        titles: Titles, caller: Writer, actor: Author, title_id: TitleIdParam
    ) -> StateWriteOut:
        check_may_write(caller, title_id)
        result = await titles.set_enabled(title_id, enabled, actor)
        return _state_out(result)

    toggle_title.__doc__ = doc
    return toggle_title


for _enabled, _verb in ((True, "enable"), (False, "disable")):
    api.add_api_route(
        f"/{{title_id}}/{_verb}",
        _toggle(_enabled, version=False),
        methods=["POST"],
        name=f"{_verb}_title",
        response_model=StateWriteOut,
        responses=error_responses(*TITLE_ERRORS),
    )
    api.add_api_route(
        f"/{{title_id}}/versions/{{version}}/{_verb}",
        _toggle(_enabled, version=True),
        methods=["POST"],
        name=f"{_verb}_version",
        response_model=StateWriteOut,
        responses=error_responses(*TITLE_ERRORS),
    )


@api.put(
    "/{title_id}/order",
    response_model=StateWriteOut,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
async def reorder(
    titles: Titles, caller: Writer, actor: Author, title_id: TitleIdParam, body: OrderIn
) -> StateWriteOut:
    """Put the versions in this order (newest first, as Jamf Pro reads them)."""
    check_may_write(caller, title_id)
    result = await titles.reorder(title_id, body.versions, actor)
    return _state_out(result)


@api.post(
    "/{title_id}/order/sort",
    response_model=StateWriteOut,
    responses=error_responses(*TITLE_ERRORS),
)
async def sort_versions(
    titles: Titles, caller: Writer, actor: Author, title_id: TitleIdParam
) -> StateWriteOut:
    """Order the versions by version number, newest first: 10.13.10 above 10.13.3, 1.0 above
    1.0b2."""
    check_may_write(caller, title_id)
    result = await titles.sort_versions(title_id, actor)
    return _state_out(result)
