"""HTTP routes of subscriptions: subscribe (one title, or many of another source as a job),
list, read, edit, delete, detach and re-attach, check now (a job, or a dry run), the served
layers, and the overrides. Parse, call, answer. Reading needs ``titles:read``, writing
``titles:write`` in the title's namespace."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import orjson
from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pomona.audit.deps import who
from pomona.audit.service import Who
from pomona.auth.scopes import Principal
from pomona.budget_http import DOCUMENT, accepts, api_router
from pomona.container import Services
from pomona.deps import ServicesDep
from pomona.errors_http import error_responses
from pomona.queue.models import Job
from pomona.queue.routes import ACCEPTED, JobOut, accepted, enqueue
from pomona.subscriptions.deps import Subscriptions
from pomona.subscriptions.models import Subscription
from pomona.subscriptions.overrides import Overrides
from pomona.subscriptions.services import CHECK, SUBSCRIBE_REMOTE
from pomona.subscriptions.values import DEFINITION, NewSubscription
from pomona.subscriptions.version_sources import PLUGINS
from pomona.times import format_time
from pomona.titles.access import check_may_write
from pomona.titles.deps import Reader, Writer
from pomona.titles.namespaces import SLUG_MAX, check_namespaces, target_namespace
from pomona.titles.sources import check_remote

log = logging.getLogger("pomona.subscriptions")
api = api_router(prefix="/api/v1/subscriptions", tags=["subscriptions"])

SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The subscription's id")]
EVERY = Field(
    None,
    ge=1,
    le=366 * 86400,
    description="Seconds between checks; by default subscription_interval_seconds (1 hour)",
)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionOut(Out):
    id: int
    titleId: str
    namespace: str
    kind: str = Field(description="'definition', or a version source: " + ", ".join(PLUGINS))
    url: str
    options: dict[str, Any]
    overrides: dict[str, Any]
    every: int
    attached: bool
    nextCheckAt: str
    lastCheckedAt: str | None
    lastSuccessAt: str | None
    lastError: str | None
    failures: int
    latestVersion: str | None
    createdAt: str
    createdBy: str


class SubscriptionListOut(Out):
    items: list[SubscriptionOut]


class SubscribeIn(Out):
    url: str = Field(min_length=1, max_length=2048, description="What to follow")
    titleId: str | None = Field(
        None,
        max_length=255,
        description="The local title; by default the id the URL names (/patch/<id>, <id>.json)",
    )
    kind: str = Field(DEFINITION, max_length=32)
    options: dict[str, Any] = Field(default_factory=dict, description="The version source's")
    every: int | None = EVERY
    overrides: Overrides | None = None
    namespace: str | None = Field(None, max_length=SLUG_MAX)


class EditIn(Out):
    url: str | None = Field(None, min_length=1, max_length=2048)
    options: dict[str, Any] | None = None
    every: int | None = EVERY


class BulkIn(Out):
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="The other source's feed base; <url>/software must list its titles",
    )
    ids: list[str] | None = Field(None, description="Titles to follow; null for all")
    every: int | None = EVERY
    namespace: str | None = Field(None, max_length=SLUG_MAX)


class ServedOut(Out):
    upstream: dict[str, Any] | None
    overrides: dict[str, Any]
    served: dict[str, Any] | None
    diff: dict[str, Any] | None = Field(description="From upstream to what is served")
    notes: list[str]


class SourceOut(Out):
    name: str
    summary: str
    requires: list[str]


class SourcesOut(Out):
    items: list[SourceOut]


def _time(value: Any) -> str | None:
    return format_time(value) if value is not None else None


def subscription_out(row: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.pk,
        titleId=row.title_id,
        namespace=row.namespace,
        kind=row.kind,
        url=row.url,
        options=orjson.loads(row.options),
        overrides=orjson.loads(row.overrides),
        every=row.every_seconds,
        attached=row.attached,
        nextCheckAt=format_time(row.next_check_at),
        lastCheckedAt=_time(row.last_checked_at),
        lastSuccessAt=_time(row.last_success_at),
        lastError=row.last_error,
        failures=row.failures,
        latestVersion=row.latest_version,
        createdAt=format_time(row.created_at),
        createdBy=row.created_by,
    )


def may_write(caller: Principal, row: Subscription) -> None:
    check_may_write(caller, row.title_id)
    check_namespaces(caller.namespaces, [("", row.title_id, row.namespace)])


def queue_check(found: Services, pk: int) -> None:
    """Queue a check now; if the queue is away, the periodic scan finds it due anyway."""
    try:
        found.tasks.subscriptions.sync(pk)
    except Exception:
        log.exception("cannot queue the first check of subscription %d", pk)


async def subscribe_title(
    found: Services, caller: Principal, who: Who, body: SubscribeIn
) -> Subscription:
    """Subscribe as ``caller`` may (its namespaces, its titles), and queue the first check at
    once: the API's ``POST /subscriptions`` and the web UI's subscribe form."""
    into = target_namespace(caller.namespaces, body.namespace)
    asked = NewSubscription(
        body.url,
        body.titleId,
        body.kind,
        body.options,
        body.every,
        body.overrides.dump() if body.overrides else {},
        into,
    )
    row = await found.subscriptions.subscribe(asked, who, caller)
    queue_check(found, row.pk)
    return row


async def start_check(
    found: Services, caller: Principal, who: Who, subscription_id: int, dry_run: bool
) -> Job:
    """Check now, as a job (its result is the check's report), if ``caller`` may write the
    title."""
    may_write(caller, await found.subscriptions.get(subscription_id))
    params = {"subscription": subscription_id, "dryRun": dry_run}
    job = await found.jobs.create(CHECK, caller, who, params)
    await enqueue(found.jobs, job, found.tasks.subscriptions.check)
    return job


WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)


@api.get("", response_model=SubscriptionListOut, responses=error_responses(401, 403, 422))
async def list_subscriptions(
    subscriptions: Subscriptions,
    _caller: Reader,
    failing: Annotated[bool | None, Query(description="Only failing (or healthy) ones")] = None,
) -> SubscriptionListOut:
    """Every subscription and version source, with the outcome of its last check."""
    rows = await subscriptions.search(failing=failing)
    return SubscriptionListOut(items=[subscription_out(r) for r in rows])


@api.get("/sources", response_model=SourcesOut, responses=error_responses(401, 403))
async def list_sources(_caller: Reader) -> SourcesOut:
    """The version sources a subscription's ``kind`` may name, and the options each needs."""
    return SourcesOut(
        items=[
            SourceOut(name=p.name, summary=p.summary, requires=list(p.requires))
            for p in PLUGINS.values()
        ]
    )


@api.post("", status_code=201, response_model=SubscriptionOut, responses=WRITE_ERRORS)
@accepts(DOCUMENT)
async def subscribe(
    request: Request, found: ServicesDep, caller: Writer, body: SubscribeIn
) -> SubscriptionOut:
    """Follow a remote definition (a JSON file's URL, or another patch source's
    ``/patch/{id}``), or give a title a version source. The first check is queued at once."""
    return subscription_out(await subscribe_title(found, caller, who(request, caller), body))


@api.post(
    "/bulk",
    status_code=202,
    response_model=JobOut,
    responses={**ACCEPTED, **error_responses(401, 403, 422, 503)},
)
async def subscribe_many(
    request: Request, response: Response, found: ServicesDep, caller: Writer, body: BulkIn
) -> JobOut:
    """Follow every title (or the ``ids``) of another patch source, as a job: its
    ``/software`` is read, then one subscription per title to its ``/patch/{id}``."""
    into = target_namespace(caller.namespaces, body.namespace)
    await check_remote(body.url, body.ids, found.settings)
    for title_id in body.ids or ():
        check_may_write(caller, title_id)
    params = {"url": body.url, "ids": body.ids, "every": body.every, "namespace": into}
    job = await found.jobs.create(SUBSCRIBE_REMOTE, caller, who(request, caller), params)
    await enqueue(found.jobs, job, found.tasks.subscriptions.subscribe_remote)
    return accepted(job, response)


@api.get(
    "/{subscription_id:int}",
    response_model=SubscriptionOut,
    responses=error_responses(401, 403, 404, 422),
)
async def get_subscription(
    subscriptions: Subscriptions, _caller: Reader, subscription_id: SubscriptionId
) -> SubscriptionOut:
    """One subscription: what it follows, its overrides, its schedule and last outcome."""
    return subscription_out(await subscriptions.get(subscription_id))


@api.patch("/{subscription_id:int}", response_model=SubscriptionOut, responses=WRITE_ERRORS)
async def edit_subscription(
    request: Request,
    subscriptions: Subscriptions,
    caller: Writer,
    subscription_id: SubscriptionId,
    body: EditIn,
) -> SubscriptionOut:
    """Change what a subscription follows, its options or how often it is checked."""
    may_write(caller, await subscriptions.get(subscription_id))
    row = await subscriptions.edit(
        subscription_id,
        who(request, caller),
        url=body.url,
        options=body.options,
        every_seconds=body.every,
    )
    return subscription_out(row)


@api.delete("/{subscription_id:int}", status_code=204, responses=WRITE_ERRORS)
async def delete_subscription(
    request: Request, subscriptions: Subscriptions, caller: Writer, subscription_id: SubscriptionId
) -> Response:
    """Stop following; the title stays as it is, a local title."""
    may_write(caller, await subscriptions.get(subscription_id))
    await subscriptions.delete(subscription_id, who(request, caller))
    return Response(status_code=204)


@api.post(
    "/{subscription_id:int}/check",
    status_code=202,
    response_model=JobOut,
    responses={**ACCEPTED, **error_responses(401, 403, 404, 409, 422, 503)},
)
async def check_subscription(
    request: Request,
    response: Response,
    found: ServicesDep,
    caller: Writer,
    subscription_id: SubscriptionId,
    dry_run: Annotated[
        bool, Query(alias="dryRun", description="Say what the check would do; write nothing")
    ] = False,
) -> JobOut:
    """Check now, as a job whose result is the check's report (outcome, diff, versions found,
    error). With ``dryRun`` nothing is written: the report previews the next check."""
    job = await start_check(found, caller, who(request, caller), subscription_id, dry_run)
    return accepted(job, response)


@api.get(
    "/{subscription_id:int}/document",
    response_model=ServedOut,
    responses=error_responses(401, 403, 404, 422),
)
async def served_document(
    subscriptions: Subscriptions, _caller: Reader, subscription_id: SubscriptionId
) -> ServedOut:
    """The upstream document, the overrides, what is served, and the diff from upstream to
    served."""
    layers = await subscriptions.served(subscription_id)
    return ServedOut(
        upstream=layers.upstream,
        overrides=layers.overrides,
        served=layers.served,
        diff=layers.diff,
        notes=layers.notes,
    )


@api.put("/{subscription_id:int}/overrides", response_model=SubscriptionOut, responses=WRITE_ERRORS)
@accepts(DOCUMENT)
async def set_overrides(
    request: Request,
    subscriptions: Subscriptions,
    caller: Writer,
    subscription_id: SubscriptionId,
    body: Overrides,
) -> SubscriptionOut:
    """Replace the local overrides; they apply at once and survive every sync. Overrides that
    would make the title invalid are refused, listing every problem."""
    may_write(caller, await subscriptions.get(subscription_id))
    row = await subscriptions.set_overrides(subscription_id, body.dump(), who(request, caller))
    return subscription_out(row)


async def _attach(
    request: Request,
    subscriptions: Subscriptions,
    caller: Principal,
    subscription_id: int,
    attached: bool,
) -> SubscriptionOut:
    may_write(caller, await subscriptions.get(subscription_id))
    row = await subscriptions.set_attached(subscription_id, attached, who(request, caller))
    return subscription_out(row)


@api.post("/{subscription_id:int}/detach", response_model=SubscriptionOut, responses=WRITE_ERRORS)
async def detach(
    request: Request, subscriptions: Subscriptions, caller: Writer, subscription_id: SubscriptionId
) -> SubscriptionOut:
    """Detach: the title becomes local (kept as it is, no longer checked)."""
    return await _attach(request, subscriptions, caller, subscription_id, False)


@api.post("/{subscription_id:int}/attach", response_model=SubscriptionOut, responses=WRITE_ERRORS)
async def attach(
    request: Request,
    found: ServicesDep,
    subscriptions: Subscriptions,
    caller: Writer,
    subscription_id: SubscriptionId,
) -> SubscriptionOut:
    """Re-attach: the next check (queued at once) makes the title upstream under the
    overrides again, replacing edits made while it was detached."""
    out = await _attach(request, subscriptions, caller, subscription_id, True)
    queue_check(found, subscription_id)
    return out


ROUTERS = (api,)
