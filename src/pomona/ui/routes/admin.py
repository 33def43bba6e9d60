"""Administration pages: namespaces, jobs, the audit log, backups (download, and restore with
the dry run's report first)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Form, Query, Request, Response

from pomona.accounts.deps import Admin
from pomona.audit.deps import Audit, who
from pomona.budget_http import ARCHIVE, accepts
from pomona.deps import SettingsDep
from pomona.queue.deps import Jobs
from pomona.titles.deps import Reader, Titles, Writer, actor_of
from pomona.titles.namespaces import bulk_namespace
from pomona.titles.routes.namespaces import NamespaceIn
from pomona.titles.routes.uploads import read_upload
from pomona.titles.values import ImportReport
from pomona.ui.pages_http import PREFIX, parse, redirect, render, ui_router

router = ui_router(prefix=PREFIX)
Text = Annotated[str | None, Query(max_length=255)]


@router.get("/namespaces")
async def namespaces(request: Request, titles: Titles, caller: Reader) -> Response:
    found = await titles.namespaces()
    return render(request, "admin/namespaces.html", caller=caller, namespaces=found)


@router.post("/namespaces")
async def create_namespace(
    request: Request,
    titles: Titles,
    caller: Admin,
    slug: Annotated[str, Form(max_length=255)],
    displayName: Annotated[str, Form(max_length=1000)],
    decorateIds: Annotated[bool, Form()] = False,
) -> Response:
    body = parse(
        NamespaceIn, {"slug": slug, "displayName": displayName, "decorateIds": decorateIds}
    )
    await titles.create_namespace(
        body.slug, body.displayName, who(request, caller), decorate_ids=body.decorateIds
    )
    return redirect(request, f"{PREFIX}/namespaces")


@router.get("/jobs")
async def jobs(request: Request, found: Jobs, caller: Admin) -> Response:
    return render(request, "admin/jobs.html", caller=caller, jobs=await found.recent())


@router.get("/audit")
async def audit(
    request: Request,
    log: Audit,
    caller: Admin,
    actor: Text = None,
    action: Text = None,
    target: Text = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    size = 100
    found = await log.search(
        actor=actor or None,
        action=action or None,
        target=target or None,
        offset=(page - 1) * size,
        limit=size,
    )
    return render(
        request,
        "admin/audit.html",
        caller=caller,
        found=found,
        filters={"actor": actor or "", "action": action or "", "target": target or ""},
        page=page,
        pages=max(1, -(-found.total // size)),
    )


@router.get("/backups")
async def backups(request: Request, caller: Reader) -> Response:
    return render(request, "admin/backups.html", caller=caller, report=None)


@router.post("/backups/restore")
@accepts(ARCHIVE)
async def restore(
    request: Request,
    titles: Titles,
    settings: SettingsDep,
    caller: Writer,
    policy: Annotated[Literal["skip", "replace", "copy"], Query()] = "skip",
    dry_run: Annotated[bool, Query()] = True,
) -> Response:
    """The API's restore (``titles.apply_items``): a dry run reports what would happen, and the
    page offers the real restore only after it."""
    content = await read_upload(request, settings)
    outcomes = await titles.apply_items(
        caller,
        actor_of(request, caller),
        content.items,
        policy=policy,
        dry_run=dry_run,
        action="restore",
        namespace=bulk_namespace(caller.namespaces, None),
    )
    report = ImportReport(outcomes, content.ignored, policy, dry_run)
    return render(request, "admin/restore_report.html", caller=caller, report=report)
