"""HTTP routes of jobs: follow background work by id. Parse, call, answer.

Routes that start a job answer with :func:`accepted`: 202, the job, and its ``Location``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal

import orjson
from fastapi import Path, Response
from pydantic import BaseModel, Field

from pomona.auth.deps import Caller
from pomona.auth.scopes import Principal
from pomona.budget_http import api_router
from pomona.errors import Forbidden, Unavailable
from pomona.errors_http import ProblemOut, error_responses, status_of
from pomona.queue.deps import Jobs
from pomona.queue.jobs import JobService, failure_of, params_of
from pomona.queue.models import Job
from pomona.times import format_time

log = logging.getLogger("pomona.jobs")

JobIdParam = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]


class JobOut(BaseModel):
    id: str
    kind: str = Field(description="What the job does, e.g. titles.import-remote")
    status: Literal["queued", "running", "succeeded", "failed"]
    url: str = Field(description="Where to follow the job: GET it until it has finished")
    actor: str = Field(description="Who asked for it, as the audit log names them")
    request: dict[str, Any] = Field(description="What was asked")
    attempts: int = Field(description="Times a worker started it")
    createdAt: str
    startedAt: str | None
    finishedAt: str | None
    result: dict[str, Any] | None = Field(
        description="On success, the report the work produced (its shape depends on the kind)"
    )
    errorStatus: int | None = Field(
        description="On failure, the HTTP status the request would have answered had it run "
        "at once (404 for something missing, 422 for invalid input...)"
    )
    errors: list[ProblemOut] | None = Field(description="On failure, every problem found")


def job_url(job_id: str) -> str:
    return f"/api/v1/jobs/{job_id}"


def job_out(job: Job) -> JobOut:
    failure = failure_of(job)
    return JobOut(
        id=job.job_id,
        kind=job.kind,
        status=job.status,
        url=job_url(job.job_id),
        actor=job.actor,
        request=params_of(job),
        attempts=job.attempts,
        createdAt=format_time(job.created_at),
        startedAt=format_time(job.started_at) if job.started_at else None,
        finishedAt=format_time(job.finished_at) if job.finished_at else None,
        result=orjson.loads(job.result) if job.result is not None else None,
        errorStatus=status_of(failure) if failure else None,
        errors=[ProblemOut(**p.as_dict()) for p in failure.problems] if failure else None,
    )


async def enqueue(jobs: JobService, job: Job, task: Callable[[str], object]) -> None:
    """Hand ``job`` to the queue through ``task``. When the queue cannot take it (Redis or the
    queue's database unreachable), the job fails and the request answers 503, rather than
    leaving a job queued that no worker will ever see."""
    try:
        task(job.job_id)
    except Exception:
        log.exception("cannot enqueue job %s (%s)", job.job_id, job.kind)
        error = Unavailable(
            "the job queue is unavailable; the server log says why. Try again later"
        )
        await jobs.finish(job.job_id, error=error)
        raise error from None


def accepted(job: Job, response: Response) -> JobOut:
    """The answer of a route that started ``job``: 202 Accepted, with where to follow it."""
    response.status_code = 202
    response.headers["Location"] = job_url(job.job_id)
    return job_out(job)


ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": JobOut,
        "description": "The job is queued; follow it at its url (also the Location header)",
        "headers": {
            "Location": {"description": "The job's url", "schema": {"type": "string"}},
        },
    }
}

api = api_router(prefix="/api/v1/jobs", tags=["jobs"])


@api.get("/{job_id}", response_model=JobOut, responses=error_responses(401, 403, 404, 422))
async def get_job(jobs: Jobs, caller: Caller, job_id: JobIdParam) -> JobOut:
    """A job's status and timestamps; once finished, its report (``result``) or, if it failed,
    its errors in the same format as any error answer. Visible to the token that started it
    and to admin tokens (others get 403)."""
    return job_out(await visible_job(jobs, caller, job_id))


async def visible_job(jobs: JobService, caller: Principal, job_id: str) -> Job:
    """The job, if ``caller`` started it or is an admin (the web UI follows jobs this way too)."""
    job = await jobs.get(job_id)
    if job.actor != caller.name and not caller.allows("admin"):
        raise Forbidden(
            "another token started this job; follow it with that token or an admin token",
            "/authorization",
            "header",
        )
    return job


__all__ = ["ACCEPTED", "JobOut", "accepted", "api", "enqueue", "job_out", "visible_job"]
