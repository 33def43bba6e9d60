"""A job followed from a page: its status, refreshed while it runs, then its report (a
template per kind under ``templates/jobs/``, when the kind has one) or its problems. The pages
that start a job (a Jamf Pro check, a pairing, a key rotation) name it in their query
(``?job=<id>``) and show it with :func:`show`, which also shows a form the server refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response

from pomona.auth.deps import Caller
from pomona.auth.scopes import Principal
from pomona.container import Services
from pomona.errors import Invalid
from pomona.queue.deps import Jobs
from pomona.queue.routes import job_out, visible_job
from pomona.ui.fields import problems_by_field
from pomona.ui.pages_http import PREFIX, render, ui_router

router = ui_router(prefix=f"{PREFIX}/jobs")
JobId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]
Followed = Annotated[str | None, Query(max_length=32, pattern=r"^[0-9a-f]+$")]


@dataclass(frozen=True, slots=True)
class Shown:
    """What a page shows beside its data: its status, the job it follows, and a refused form's
    problems by field pointer with what was typed, by the same pointers."""

    status: int = 200
    job: str | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    form: dict[str, Any] = field(default_factory=dict)


def refusal(exc: Invalid, typed: dict[str, Any], under: str = "") -> Shown:
    """A form refused: each problem next to its field, what was typed kept. The form's inputs
    are ``typed``'s names, its fields' pointers ``<under>/<name>`` (``under`` tells apart the
    forms of one page, e.g. ``/peers/<id>``); what no field matches goes on top (``""``)."""
    fields = [f"/{name}" for name in typed]
    errors = {
        (under + key if key else ""): messages
        for key, messages in problems_by_field(exc.problems, fields).items()
    }
    return Shown(422, None, errors, {f"{under}/{name}": value for name, value in typed.items()})


async def show(
    request: Request,
    found: Services,
    caller: Principal,
    template: str,
    shown: Shown,
    **context: Any,
) -> Response:
    job = job_out(await visible_job(found.jobs, caller, shown.job)) if shown.job else None
    return render(
        request,
        template,
        shown.status,
        caller=caller,
        job=job,
        errors=shown.errors,
        form=shown.form,
        **context,
    )


@router.get("/{job_id}")
async def job_page(request: Request, jobs: Jobs, caller: Caller, job_id: JobId) -> Response:
    """Visible, as in the API, to whoever started the job and to admins."""
    job = job_out(await visible_job(jobs, caller, job_id))
    return render(request, "jobs/follow.html", caller=caller, job=job)
