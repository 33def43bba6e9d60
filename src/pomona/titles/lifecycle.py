"""HTTP routes of a title's lifecycle: history, diff, rollback, enable/disable, version order,
backups, restore and imports. Parse, call, answer."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.deps import who
from pomona.auth.deps import require
from pomona.auth.scopes import Principal
from pomona.deps import services
from pomona.errors import Invalid
from pomona.errors_http import ProblemOut, error_responses
from pomona.queue.jobs import params_of, principal_of, settle
from pomona.queue.models import Job
from pomona.queue.routes import ACCEPTED, JobOut, accepted, enqueue
from pomona.settings import Settings
from pomona.times import format_time
from pomona.titles import importer
from pomona.titles.archive import spool, stream_file, write_archive
from pomona.titles.history import TitleState
from pomona.titles.records import Actor, Incoming, Outcome, Then, WriteResult
from pomona.titles.routes import (
    IfMatch,
    Reason,
    TitleIdParam,
    TitleWriteOut,
    VersionParam,
    _actor,
    _may_write,
    _revision,
    _title_out,
    _titles,
)
from pomona.titles.service import TitleService

Reader = Annotated[Principal, Depends(require("titles:read"))]
Writer = Annotated[Principal, Depends(require("titles:write"))]
Policy = Annotated[
    Literal["skip", "replace", "copy"],
    Query(
        description="What happens to an id that exists: skip it, replace it with the incoming "
        "document as a new revision (the current one stays in history), or copy the incoming one "
        "beside it under '<id>-copy'"
    ),
]
DryRun = Annotated[
    bool, Query(alias="dryRun", description="Report what would happen and write nothing")
]


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


class OutcomeOut(BaseModel):
    source: str = Field(description="Where the document came from (archive member, file, id)")
    id: str
    result: Literal["create", "replace", "copy", "skip"]
    revision: int | None
    warnings: list[ProblemOut]


class ImportOut(BaseModel):
    dryRun: bool
    policy: str
    created: int
    replaced: int
    copied: int
    skipped: int
    items: list[OutcomeOut]
    ignored: list[str] = Field(description="Archive members that are not definitions")


class RemoteImportIn(BaseModel):
    url: str = Field(
        description="The other source's feed base, as Jamf Pro would be given it, e.g. "
        "https://patch.example.com/jamf/v1; <url>/software must list its titles",
        min_length=1,
        max_length=2048,
    )
    ids: list[str] | None = Field(None, description="Titles to import; null for all")
    policy: Literal["skip", "replace", "copy"] = "skip"
    dryRun: bool = False


def _state_out(result: WriteResult) -> StateWriteOut:
    base = _title_out(result)
    return StateWriteOut(
        **base.model_dump(by_alias=False),
        enabled=result.state.enabled,
        disabledVersions=list(result.state.disabled_versions),
        summary=result.summary,
    )


ZIP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A zip: patch_archive/<id>.json per title (PatchServer's layout)",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "A zip archive, a JSON definition or array of definitions, or a multipart "
        "form with any number of 'file' fields (zip or JSON files)",
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                }
            },
        },
    }
}

api = APIRouter(prefix="/api/v1/titles", tags=["title history and control"])
TITLE_ERRORS = (401, 403, 404, 422)


# -- history -------------------------------------------------------------------------------------


@api.get("/{title_id}/history", response_model=HistoryOut, responses=error_responses(*TITLE_ERRORS))
async def history(
    request: Request,
    _caller: Reader,
    title_id: TitleIdParam,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=10_000)] = 50,
) -> HistoryOut:
    """The title's revisions, newest first: who, when, why, and what changed. A deleted title
    keeps its history."""
    per_page = min(per_page, services(request).settings.page_size_max)
    rows, total = await _titles(request).history(
        title_id, offset=(page - 1) * per_page, limit=per_page
    )
    return HistoryOut(
        id=title_id,
        items=[_revision_out(r) for r in rows],
        total=total,
        page=page,
        perPage=per_page,
    )


def _revision_out(row: Any) -> RevisionOut:
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
    request: Request,
    _caller: Reader,
    title_id: TitleIdParam,
    number: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> RevisionDetailOut:
    """One revision: the whole definition as it was, and what Jamf Pro was allowed to see."""
    row = await _titles(request).revision(title_id, number)
    state = TitleState.load(row.state) if row.document is not None else None
    return RevisionDetailOut(
        **_revision_out(row).model_dump(),
        definition=orjson.loads(row.document) if row.document is not None else None,
        enabled=state.enabled if state else None,
        disabledVersions=list(state.disabled_versions) if state else None,
    )


@api.get("/{title_id}/diff", response_model=DiffOut, responses=error_responses(*TITLE_ERRORS))
async def diff(
    request: Request,
    _caller: Reader,
    title_id: TitleIdParam,
    from_: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1, description="A revision")],
    to: Annotated[int, Query(ge=1, le=2**31 - 1, description="A later (or any) revision")],
) -> DiffOut:
    """What changed between two revisions: per title field, per version and per field of each
    version, per extension attribute, and in what Jamf Pro may see."""
    changes = await _titles(request).diff(title_id, from_, to)
    return DiffOut(id=title_id, fromRevision=from_, toRevision=to, changes=changes.as_dict())


@api.post(
    "/{title_id}/rollback",
    response_model=StateWriteOut,
    responses=error_responses(401, 403, 404, 409, 412, 422),
)
async def rollback(
    request: Request,
    caller: Writer,
    title_id: TitleIdParam,
    revision: Annotated[int, Query(ge=1, le=2**31 - 1, description="The revision to bring back")],
    reason: Reason = None,
    if_match: IfMatch = None,
) -> StateWriteOut:
    """Make an earlier revision current again, as a new revision (history is never rewritten).
    Works on a deleted title too: it comes back."""
    _may_write(caller, title_id)
    result = await _titles(request).rollback(
        title_id, revision, _actor(request, caller, reason), if_revision=_revision(if_match)
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
            request: Request,
            caller: Writer,
            title_id: TitleIdParam,
            version: VersionParam,
            reason: Reason = None,
        ) -> StateWriteOut:
            _may_write(caller, title_id)
            result = await _titles(request).set_enabled(
                title_id, enabled, _actor(request, caller, reason), version=version
            )
            return _state_out(result)

        toggle_version.__doc__ = doc
        return toggle_version

    async def toggle_title(
        request: Request, caller: Writer, title_id: TitleIdParam, reason: Reason = None
    ) -> StateWriteOut:
        _may_write(caller, title_id)
        result = await _titles(request).set_enabled(
            title_id, enabled, _actor(request, caller, reason)
        )
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
    request: Request, caller: Writer, title_id: TitleIdParam, body: OrderIn, reason: Reason = None
) -> StateWriteOut:
    """Put the versions in this order (newest first, as Jamf Pro reads them)."""
    _may_write(caller, title_id)
    result = await _titles(request).reorder(
        title_id, body.versions, _actor(request, caller, reason)
    )
    return _state_out(result)


@api.post(
    "/{title_id}/order/sort",
    response_model=StateWriteOut,
    responses=error_responses(*TITLE_ERRORS),
)
async def sort_versions(
    request: Request, caller: Writer, title_id: TitleIdParam, reason: Reason = None
) -> StateWriteOut:
    """Order the versions by version number, newest first: 10.13.10 above 10.13.3, 1.0 above
    1.0b2."""
    _may_write(caller, title_id)
    result = await _titles(request).sort_versions(title_id, _actor(request, caller, reason))
    return _state_out(result)


# -- backups, restore, imports ---------------------------------------------------------------

backups = APIRouter(prefix="/api/v1", tags=["backups and imports"])


async def backup_response(service: TitleService, *, history: bool) -> Response:
    titles = await service.export(history=history)
    target = spool()
    write_archive(titles, history=history, target=target)
    return StreamingResponse(
        stream_file(target),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="patch_archive.zip"'},
    )


@backups.get(
    "/backups",
    response_class=Response,
    responses={**ZIP_RESPONSE, **error_responses(401, 403, 422)},
)
async def backup(
    request: Request,
    _caller: Reader,
    history: Annotated[bool, Query(description="Include every revision of every title")] = False,
) -> Response:
    """A zip of every title (PatchServer's layout, plus Pomona's state and, if asked, history)."""
    return await backup_response(_titles(request), history=history)


async def apply_items(
    titles: TitleService,
    caller: Principal,
    actor: Actor,
    items: list[Incoming],
    *,
    policy: str,
    dry_run: bool,
    action: str,
    then: Then | None = None,
) -> list[Outcome]:
    """Check that ``caller`` may write every title, then write them all in one transaction
    (each with its revision and audit record), or none. Requests and jobs both end here."""
    if not items:
        raise Invalid("no definitions found: send .json definitions or a zip of them")
    for item in items:
        title_id = item.document.get("id") if isinstance(item.document, dict) else None
        if isinstance(title_id, str):
            _may_write(caller, title_id)
    return await titles.apply_many(
        items, actor, policy=policy, dry_run=dry_run, action=action, then=then
    )


async def restore_items(
    request: Request,
    caller: Principal,
    items: list[Incoming],
    *,
    policy: str,
    dry_run: bool,
    action: str,
) -> list[Outcome]:
    return await apply_items(
        _titles(request),
        caller,
        _actor(request, caller, None),
        items,
        policy=policy,
        dry_run=dry_run,
        action=action,
    )


def import_out(
    outcomes: list[Outcome], ignored: list[str], *, policy: str, dry_run: bool
) -> ImportOut:
    count = {r: sum(o.result == r for o in outcomes) for r in ("create", "replace", "copy", "skip")}
    return ImportOut(
        dryRun=dry_run,
        policy=policy,
        created=count["create"],
        replaced=count["replace"],
        copied=count["copy"],
        skipped=count["skip"],
        items=[
            OutcomeOut(
                source=o.source,
                id=o.id,
                result=o.result,
                revision=o.revision,
                warnings=[ProblemOut(**w.as_dict()) for w in o.warnings],
            )
            for o in outcomes
        ],
        ignored=ignored,
    )


async def _import_upload(
    request: Request, caller: Principal, policy: str, dry_run: bool, *, action: str
) -> ImportOut:
    """Restore and import share one path: read the uploaded files, validate all, write all."""
    settings: Settings = services(request).settings
    content = await importer.from_request(request, settings)
    outcomes = await restore_items(
        request, caller, content.items, policy=policy, dry_run=dry_run, action=action
    )
    return import_out(outcomes, content.ignored, policy=policy, dry_run=dry_run)


@backups.post(
    "/backups/restore",
    response_model=ImportOut,
    responses=error_responses(400, 401, 403, 409, 413, 415, 422),
    openapi_extra=UPLOAD_BODY,
)
async def restore(
    request: Request, caller: Writer, policy: Policy = "skip", dry_run: DryRun = False
) -> ImportOut:
    """Restore a backup into this server, empty or not. Every definition is validated first;
    then all are written in one transaction, or none. Try it with ``dryRun=true`` first."""
    return await _import_upload(request, caller, policy, dry_run, action="restore")


@backups.post(
    "/imports",
    response_model=ImportOut,
    responses=error_responses(400, 401, 403, 409, 413, 415, 422),
    openapi_extra=UPLOAD_BODY,
)
async def import_files(
    request: Request, caller: Writer, policy: Policy = "skip", dry_run: DryRun = False
) -> ImportOut:
    """Import many definitions at once: JSON files, zips, or a JSON array, validated together
    and written in one transaction."""
    return await _import_upload(request, caller, policy, dry_run, action="import")


REMOTE_IMPORT = "titles.import-remote"


@backups.post(
    "/imports/remote",
    response_model=JobOut,
    status_code=202,
    responses={**ACCEPTED, **error_responses(400, 401, 403, 413, 422, 503)},
)
async def import_remote(
    request: Request, response: Response, caller: Writer, body: RemoteImportIn
) -> JobOut:
    """Import selected or all titles from another patch source (a PatchServer, a Kinobi or
    Title Editor feed, another Pomona) through its /software and /patch/{id}, as a job.

    The request is checked at once (ids, and the address: loopback, link-local and private
    networks are refused unless allowed in the settings); then the answer is 202 with the job.
    Follow it at its url: once finished it holds the import report (what ``POST /imports``
    answers) or the errors. Everything is validated first, then written in one transaction."""
    settings: Settings = services(request).settings
    await importer.check_remote(body.url, body.ids, settings)
    for title_id in body.ids or ():
        _may_write(caller, title_id)
    job = await services(request).jobs.create(
        REMOTE_IMPORT, caller, who(request, caller), body.model_dump(mode="json")
    )
    await enqueue(services(request).jobs, job, services(request).tasks.import_remote)
    return accepted(job, response)


async def run_remote_import(titles: TitleService, settings: Settings, job: Job) -> dict[str, Any]:
    """The work of a ``titles.import-remote`` job: fetch, then write as the token that asked.

    The job's result is recorded in the transaction that writes the titles, so a task run
    again after a crash between the two finds the job finished instead of importing twice
    (which, with ``copy``, would store second copies)."""
    body = RemoteImportIn.model_validate(params_of(job))
    content = await importer.from_remote(body.url, body.ids, settings)

    def report(outcomes: list[Outcome]) -> dict[str, Any]:
        out = import_out(outcomes, content.ignored, policy=body.policy, dry_run=body.dryRun)
        return out.model_dump(mode="json")

    async def finish(session: AsyncSession, outcomes: list[Outcome]) -> None:
        await settle(session, job.job_id, result=report(outcomes))

    outcomes = await apply_items(
        titles,
        principal_of(job),
        Actor(job.actor, None, job.client),
        content.items,
        policy=body.policy,
        dry_run=body.dryRun,
        action="import",
        then=finish,
    )
    return report(outcomes)
