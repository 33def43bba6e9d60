"""A job followed from a page: its status, refreshed while it runs, then its report (a
template per kind under ``templates/jobs/``, when the kind has one) or its problems. The pages
that start a job (a Jamf Pro check, a pairing, a key rotation) show it here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Request, Response

from pomona.auth.deps import Caller
from pomona.auth.scopes import Principal
from pomona.queue.deps import Jobs
from pomona.queue.jobs import JobService
from pomona.queue.routes import JobOut, job_out, visible_job
from pomona.ui.pages_http import PREFIX, render, ui_router

router = ui_router(prefix=f"{PREFIX}/jobs")
JobId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]
# A page that started a job names it in its query (``?job=<id>``) and shows it.
Followed = Annotated[str | None, Query(max_length=32, pattern=r"^[0-9a-f]+$")]


async def followed(jobs: JobService, caller: Principal, job_id: str | None) -> JobOut | None:
    """The job a page follows, if any, as its starter or an admin may see it."""
    return job_out(await visible_job(jobs, caller, job_id)) if job_id else None


@router.get("/{job_id}")
async def job_page(request: Request, jobs: Jobs, caller: Caller, job_id: JobId) -> Response:
    """Visible, as in the API, to whoever started the job and to admins."""
    job = job_out(await visible_job(jobs, caller, job_id))
    return render(request, "jobs/follow.html", caller=caller, job=job)
