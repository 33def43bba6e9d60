"""A title's Subscription tab: what it follows (a remote definition or a version source), the
outcome of its last check, the overrides and the diff from upstream to what is served; check
now (a job, or a dry run that previews it), subscribe, detach and re-attach, stop following.
Writes go through the subscription service with the API's checks (``subscribe_title``,
``start_check``, ``may_write``)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Form, Path, Request, Response

from pomona.audit.deps import who
from pomona.deps import ServicesDep
from pomona.errors import Invalid, NotFound, Problem
from pomona.queue.jobs import FINISHED, failure_of, params_of
from pomona.queue.routes import visible_job
from pomona.subscriptions.models import Subscription
from pomona.subscriptions.routes import (
    SubscribeIn,
    may_write,
    queue_check,
    start_check,
    subscribe_title,
)
from pomona.subscriptions.services import CHECK
from pomona.subscriptions.values import DEFINITION
from pomona.subscriptions.version_sources import PLUGINS
from pomona.titles.deps import Reader, Titles, Writer
from pomona.ui.fields import problems_by_field
from pomona.ui.pages_http import PREFIX, parse, redirect, ui_router
from pomona.ui.routes.titles import title_page

router = ui_router(prefix=f"{PREFIX}/titles/{{title_id}}/subscription")
Text = Annotated[str, Form(max_length=2048)]
FIELDS = ("/url", "/kind", "/options", "/every", "/titleId")
OVERRIDE_FIELDS = ("/currentVersion", "/hideVersions")
JobId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]
# Sent when a check's job has finished: the tab's status reloads on it.
CHECKED = "subscription-checked"


async def _row(found: ServicesDep, title_id: str) -> Subscription | None:
    try:
        return await found.subscriptions.of_title(title_id)
    except NotFound:
        return None


async def _tab(
    request: Request,
    found: ServicesDep,
    titles: Titles,
    caller: Reader,
    title_id: str,
    **context: Any,
) -> Response:
    row = await _row(found, title_id)
    served = None
    if row is not None and row.kind == DEFINITION:
        served = await found.subscriptions.served(row.pk)
    return await title_page(
        request,
        titles,
        caller,
        title_id,
        "subscription",
        sub=row,
        options=orjson.loads(row.options) if row else {},
        overrides=orjson.loads(row.overrides) if row else {},
        served=served,
        kinds=[DEFINITION, *sorted(PLUGINS)],
        plugins=PLUGINS,
        form=context.pop("form", {}),
        **context,
    )


async def _writable(found: ServicesDep, caller: Writer, title_id: str) -> Subscription:
    row = await _row(found, title_id)
    if row is None:
        raise NotFound(f"'{title_id}' has no subscription", code="subscription_not_found")
    may_write(caller, row)
    return row


@router.get("")
async def subscription_tab(
    request: Request, found: ServicesDep, titles: Titles, caller: Reader, title_id: str
) -> Response:
    return await _tab(request, found, titles, caller, title_id)


def _options(text: str) -> Any:
    try:
        return orjson.loads(text) if text.strip() else {}
    except orjson.JSONDecodeError:
        raise Invalid(
            [Problem("/options", 'the settings are a JSON object, e.g. {"pattern": "..."}')],
            code="ui_options_json",
        ) from None


@router.post("")
async def subscribe(
    request: Request,
    found: ServicesDep,
    titles: Titles,
    caller: Writer,
    title_id: str,
    url: Text = "",
    kind: Annotated[str, Form(max_length=32)] = DEFINITION,
    options: Annotated[str, Form(max_length=10_000)] = "",
    every: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Follow ``url`` for this title: a remote definition, or a version source; the first
    check is queued at once."""
    form = {"url": url, "kind": kind, "options": options, "every": every}
    try:
        body = parse(
            SubscribeIn,
            {
                "url": url,
                "titleId": title_id,
                "kind": kind,
                "options": _options(options),
                "every": every.strip() or None,
            },
        )
        await subscribe_title(found, caller, who(request, caller), body)
    except Invalid as exc:
        errors = problems_by_field(exc.problems, FIELDS)
        return await _tab(
            request, found, titles, caller, title_id, status=422, errors=errors, form=form
        )
    return redirect(request, f"{PREFIX}/titles/{title_id}/subscription")


@router.post("/check")
async def check_now(
    request: Request,
    found: ServicesDep,
    titles: Titles,
    caller: Writer,
    title_id: str,
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    """Check now as a job, or preview the next check (``dry_run``: nothing is written); the
    tab follows the job until its report is in."""
    row = await _writable(found, caller, title_id)
    job = await start_check(found, caller, who(request, caller), row.pk, dry_run)
    return await _tab(request, found, titles, caller, title_id, job=job, dry=dry_run)


@router.get("/check/{job_id}")
async def check_report(
    request: Request,
    found: ServicesDep,
    titles: Titles,
    caller: Reader,
    title_id: str,
    job_id: JobId,
) -> Response:
    """The check's job: still running, or its report (the outcome, the diff, the error)."""
    job = await visible_job(found.jobs, caller, job_id)
    if job.kind != CHECK:
        raise NotFound(f"job {job_id} is not a check", "/job_id", "path", code="job_not_found")
    done = job.status in FINISHED
    page = await _tab(
        request,
        found,
        titles,
        caller,
        title_id,
        job=job,
        dry=bool(params_of(job).get("dryRun")),
        report=orjson.loads(job.result) if done and job.result else None,
        failure=failure_of(job) if done else None,
    )
    if done:
        page.headers["HX-Trigger"] = CHECKED
    return page


@router.post("/overrides")
async def set_overrides(
    request: Request,
    found: ServicesDep,
    titles: Titles,
    caller: Writer,
    title_id: str,
    currentVersion: Annotated[str, Form(max_length=255)] = "",
    hideVersions: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Hold the current version and hide versions; the other overrides (set through the API)
    are kept as they are."""
    row = await _writable(found, caller, title_id)
    merged = {
        **orjson.loads(row.overrides),
        "currentVersion": currentVersion.strip() or None,
        "hideVersions": hideVersions.replace(",", " ").split(),
    }
    try:
        await found.subscriptions.set_overrides(row.pk, merged, who(request, caller))
    except Invalid as exc:
        errors = problems_by_field(exc.problems, OVERRIDE_FIELDS)
        form = {"currentVersion": currentVersion, "hideVersions": hideVersions}
        return await _tab(
            request, found, titles, caller, title_id, status=422, errors=errors, form=form
        )
    return redirect(request, f"{PREFIX}/titles/{title_id}/subscription")


async def _attach(
    request: Request, found: ServicesDep, caller: Writer, title_id: str, to: bool
) -> Response:
    row = await _writable(found, caller, title_id)
    await found.subscriptions.set_attached(row.pk, to, who(request, caller))
    if to:
        queue_check(found, row.pk)
    return redirect(request, f"{PREFIX}/titles/{title_id}/subscription")


@router.post("/detach")
async def detach(request: Request, found: ServicesDep, caller: Writer, title_id: str) -> Response:
    """The title becomes local: kept as it is, no longer checked."""
    return await _attach(request, found, caller, title_id, False)


@router.post("/attach")
async def attach(request: Request, found: ServicesDep, caller: Writer, title_id: str) -> Response:
    """Follow again: the next check, queued now, makes the title upstream under the overrides."""
    return await _attach(request, found, caller, title_id, True)


@router.post("/delete")
async def unsubscribe(
    request: Request, found: ServicesDep, caller: Writer, title_id: str
) -> Response:
    """Stop following; the title stays as it is, a local title."""
    row = await _writable(found, caller, title_id)
    await found.subscriptions.delete(row.pk, who(request, caller))
    return redirect(request, f"{PREFIX}/titles/{title_id}/subscription")
