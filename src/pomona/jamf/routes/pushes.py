"""HTTP routes of pushes to Jamf Pro (start one, follow it) and of push rules. Parse, call,
answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, Field

from pomona.audit.deps import who
from pomona.audit.service import Who
from pomona.auth.scopes import Principal
from pomona.budget_http import api_router
from pomona.container import Services
from pomona.deps import ServicesDep
from pomona.errors_http import error_responses
from pomona.jamf.deps import Admin, Jamf
from pomona.jamf.values import STEPS, PushInfo, RuleInfo
from pomona.queue.routes import enqueue, job_url
from pomona.times import format_time

PushIdParam = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]


class PushOut(BaseModel):
    id: str
    url: str = Field(description="Where to follow the push")
    jobUrl: str = Field(description="Its job (status, and the errors if it failed)")
    connection: str
    filename: str
    sha256: str
    size: int
    status: str = Field(description="queued, running, succeeded or failed")
    step: str = Field(description=f"The step it is at: {', '.join(STEPS)}")
    bytesSent: int
    packageId: str | None = Field(description="The package record's id in Jamf Pro")
    method: str | None = Field(
        description="multipart (JCDS 2.0), upload (the package upload endpoint), or skip (the "
        "same bytes were there)"
    )
    rule: str | None = Field(description="The tag of the rule that started it")
    error: str | None
    createdAt: str
    updatedAt: str
    finishedAt: str | None


class PushListOut(BaseModel):
    items: list[PushOut]


class PushIn(BaseModel):
    filename: str = Field(min_length=1, max_length=255, description="A package in Pomona's store")
    connection: str = Field(min_length=1, max_length=64)


class RuleIn(BaseModel):
    tag: str = Field(min_length=1, max_length=64)
    connection: str = Field(min_length=1, max_length=64)


class RuleOut(BaseModel):
    tag: str
    connection: str
    createdAt: str


class RuleListOut(BaseModel):
    items: list[RuleOut]


class AppliedOut(BaseModel):
    pushes: list[str] = Field(description="The ids of the pushes queued")


def push_out(info: PushInfo) -> PushOut:
    return PushOut(
        id=info.push_id,
        url=f"/api/v1/jamf/pushes/{info.push_id}",
        jobUrl=job_url(info.job_id),
        connection=info.connection,
        filename=info.filename,
        sha256=info.sha256,
        size=info.size,
        status=info.status,
        step=info.step,
        bytesSent=info.bytes_sent,
        packageId=info.package_id,
        method=info.method,
        rule=info.rule,
        error=info.error,
        createdAt=format_time(info.created_at),
        updatedAt=format_time(info.updated_at),
        finishedAt=format_time(info.finished_at) if info.finished_at else None,
    )


def rule_out(info: RuleInfo) -> RuleOut:
    return RuleOut(tag=info.tag, connection=info.connection, createdAt=format_time(info.created_at))


async def queue_push(found: Services, caller: Principal, by: Who, body: PushIn) -> PushInfo:
    """Record a push and queue its job."""
    job, push = await found.jamf.pushes.queue(body.filename, body.connection, caller=caller, who=by)
    await enqueue(found.jobs, job, found.tasks.jamf)
    return push


api = api_router(prefix="/api/v1/jamf", tags=["jamf"])


@api.post(
    "/pushes",
    status_code=202,
    response_model=PushOut,
    responses=error_responses(401, 403, 404, 422, 503),
)
async def start_push(
    request: Request, response: Response, found: ServicesDep, caller: Admin, body: PushIn
) -> PushOut:
    """Push a package to Jamf Pro, as a job: record, JCDS upload (resumed if interrupted), hash,
    inventory refresh, verification. Follow it at its ``url``."""
    push = await queue_push(found, caller, who(request, caller), body)
    response.headers["Location"] = f"/api/v1/jamf/pushes/{push.push_id}"
    return push_out(push)


@api.get("/pushes", response_model=PushListOut, responses=error_responses(401, 403, 422))
async def list_pushes(
    jamf: Jamf,
    _caller: Admin,
    connection: Annotated[str | None, Query(max_length=64)] = None,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PushListOut:
    """Pushes, newest first."""
    found = await jamf.pushes.search(connection=connection, filename=filename, limit=limit)
    return PushListOut(items=[push_out(p) for p in found])


@api.get("/pushes/{push_id}", response_model=PushOut, responses=error_responses(401, 403, 404, 422))
async def get_push(jamf: Jamf, _caller: Admin, push_id: PushIdParam) -> PushOut:
    """A push's status: its step, bytes sent, and how it ended."""
    return push_out(await jamf.pushes.get(push_id))


@api.get("/rules", response_model=RuleListOut, responses=error_responses(401, 403))
async def list_rules(jamf: Jamf, _caller: Admin) -> RuleListOut:
    return RuleListOut(items=[rule_out(r) for r in await jamf.rules.list()])


@api.post(
    "/rules",
    status_code=201,
    response_model=RuleOut,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def create_rule(request: Request, jamf: Jamf, caller: Admin, body: RuleIn) -> RuleOut:
    """Every package tagged ``tag`` goes to ``connection`` (when the rules run: on the schedule
    of ``jamf_rules_minutes``, or when applied)."""
    created = await jamf.rules.create(body.tag, body.connection, who=who(request, caller))
    return rule_out(created)


@api.delete(
    "/rules/{connection}/{tag}", status_code=204, responses=error_responses(401, 403, 404, 422)
)
async def delete_rule(
    request: Request,
    jamf: Jamf,
    caller: Admin,
    connection: Annotated[str, Path(max_length=64)],
    tag: Annotated[str, Path(max_length=64)],
) -> Response:
    await jamf.rules.delete(tag, connection, who=who(request, caller))
    return Response(status_code=204)


@api.post("/rules/apply", response_model=AppliedOut, responses=error_responses(401, 403, 503))
async def apply_rules(jamf: Jamf, _caller: Admin) -> AppliedOut:
    """Run the rules now: queue a push of every tagged package its connection lacks."""
    return AppliedOut(pushes=await jamf.rules.apply())
