"""HTTP routes of backups, restores and imports (files, or another patch source as a job).
Parse, call, answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Annotated, Literal

from anyio import to_thread
from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from pomona.audit.deps import who
from pomona.auth.scopes import Principal
from pomona.budget_http import ARCHIVE, accepts, api_router
from pomona.deps import ServicesDep, SettingsDep
from pomona.errors_http import ProblemOut, error_responses
from pomona.queue.routes import ACCEPTED, JobOut, accepted, enqueue
from pomona.settings import Settings
from pomona.titles.access import check_may_write
from pomona.titles.archive import spool, write_archive
from pomona.titles.deps import Reader, Titles, Writer, actor_of
from pomona.titles.namespaces import SLUG_MAX, bulk_namespace
from pomona.titles.routes.answers import UPLOAD_BODY, ZIP_RESPONSE, NamespaceQuery
from pomona.titles.routes.uploads import read_upload
from pomona.titles.services import TitleService
from pomona.titles.sources import check_remote
from pomona.titles.tasks import REMOTE_IMPORT
from pomona.titles.values import ImportReport, RemoteImport

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
_CHUNK = 64 * 1024


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
    namespace: str | None = Field(
        None,
        description="The namespace the titles go to; by default the caller's only one, else "
        "the default namespace",
        max_length=SLUG_MAX,
    )


async def _stream(spooled: IO[bytes]) -> AsyncIterator[bytes]:
    """The spooled file's bytes; reads happen in a worker thread, as the file may be on disk."""
    try:
        spooled.seek(0)
        while chunk := await to_thread.run_sync(spooled.read, _CHUNK):
            yield chunk
    finally:
        spooled.close()


async def backup_response(
    titles: TitleService, *, history: bool, namespace: str | None = None
) -> Response:
    """A zip of every title, compressed in a worker thread and streamed."""
    exported = await titles.export(history=history, namespace=namespace)
    target = spool()

    def write() -> None:
        write_archive(exported, history=history, target=target)

    await to_thread.run_sync(write)
    return StreamingResponse(
        _stream(target),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="patch_archive.zip"'},
    )


backups = api_router(prefix="/api/v1", tags=["backups and imports"])


@backups.get(
    "/backups",
    response_class=Response,
    responses={**ZIP_RESPONSE, **error_responses(401, 403, 422)},
)
async def backup(
    titles: Titles,
    _caller: Reader,
    history: Annotated[bool, Query(description="Include every revision of every title")] = False,
    namespace: Annotated[
        str | None, Query(description="Only this namespace's titles", max_length=SLUG_MAX)
    ] = None,
) -> Response:
    """A zip of every title (PatchServer's layout, plus Pomona's state, each title's namespace
    and, if asked, history)."""
    return await backup_response(titles, history=history, namespace=namespace)


async def _import_upload(
    request: Request,
    titles: TitleService,
    settings: Settings,
    caller: Principal,
    policy: str,
    dry_run: bool,
    *,
    action: str,
    namespace: str | None = None,
) -> ImportOut:
    """Restore and import share one path: read the uploaded files, validate all, write all."""
    into = bulk_namespace(caller.namespaces, namespace)
    content = await read_upload(request, settings)
    outcomes = await titles.apply_items(
        caller,
        actor_of(request, caller),
        content.items,
        policy=policy,
        dry_run=dry_run,
        action=action,
        namespace=into,
    )
    report = ImportReport(outcomes, content.ignored, policy, dry_run)
    return ImportOut.model_validate(report.as_dict())


def _upload_route(action: str, summary: str) -> Callable[..., Awaitable[ImportOut]]:
    """A route that reads uploaded definitions and restores or imports them (``action``)."""

    async def handler(
        request: Request,
        titles: Titles,
        settings: SettingsDep,
        caller: Writer,
        policy: Policy = "skip",
        dry_run: DryRun = False,
        namespace: NamespaceQuery = None,
    ) -> ImportOut:
        return await _import_upload(
            request, titles, settings, caller, policy, dry_run, action=action, namespace=namespace
        )

    handler.__doc__ = summary
    return accepts(ARCHIVE)(handler)


for _path, _name, _action, _summary in (
    (
        "/backups/restore",
        "restore",
        "restore",
        "Restore a backup into this server, empty or not. Every definition is validated first; "
        "then all are written in one transaction, or none. Try it with ``dryRun=true`` first.",
    ),
    (
        "/imports",
        "import_files",
        "import",
        "Import many definitions at once: JSON files, zips, or a JSON array, validated together "
        "and written in one transaction.",
    ),
):
    backups.add_api_route(
        _path,
        _upload_route(_action, _summary),
        methods=["POST"],
        name=_name,
        response_model=ImportOut,
        responses=error_responses(400, 401, 403, 409, 413, 415, 422),
        openapi_extra=UPLOAD_BODY,
    )


@backups.post(
    "/imports/remote",
    response_model=JobOut,
    status_code=202,
    responses={**ACCEPTED, **error_responses(400, 401, 403, 413, 422, 503)},
)
async def import_remote(
    request: Request,
    response: Response,
    found: ServicesDep,
    caller: Writer,
    body: RemoteImportIn,
) -> JobOut:
    """Import selected or all titles from another patch source (a PatchServer, a Kinobi or
    Title Editor feed, another Pomona) through its /software and /patch/{id}, as a job.

    The request is checked at once (ids, and the address: loopback, link-local and private
    networks are refused unless allowed in the settings); then the answer is 202 with the job.
    Follow it at its url: once finished it holds the import report (what ``POST /imports``
    answers) or the errors. Everything is validated first, then written in one transaction."""
    into = bulk_namespace(caller.namespaces, body.namespace)
    asked = RemoteImport(body.url, body.ids, body.policy, body.dryRun, into)
    await check_remote(asked.url, asked.ids, found.settings)
    for title_id in asked.ids or ():
        check_may_write(caller, title_id)
    job = await found.jobs.create(REMOTE_IMPORT, caller, who(request, caller), asked.as_params())
    await enqueue(found.jobs, job, found.tasks.import_remote)
    return accepted(job, response)
