"""Jobs: background work a client asked for and follows by id, whatever the domain.

A route validates what it can at once, creates a job (``queued``) and enqueues a task naming the
job's id; the task runs the work through :meth:`JobService.run`, which marks the job ``running``,
then ``succeeded`` with the work's report or ``failed`` with the errors the request would have
answered. The job carries who asked and the rights they had, so the task acts as them (the audit
log names them) and never with more than they could do themselves.

Tasks can run twice (a retry, a lease requeued after a lost worker): a job already finished is
left as it is, so the work is not done again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who
from pomona.auth.scopes import Principal
from pomona.db import Database, utcnow
from pomona.errors import KINDS, DomainError, Internal, NotFound, Problem
from pomona.events.outbox import emit
from pomona.queue.events import FAILED, JobFailure
from pomona.queue.models import Job

log = logging.getLogger("pomona.jobs")

STATUSES = ("queued", "running", "succeeded", "failed")
FINISHED = ("succeeded", "failed")
INTERNAL = "the job stopped on an internal error; the server log has the details. Try again"


def params_of(job: Job) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(job.params)
    return value


def failure_of(job: Job) -> DomainError | None:
    """The error a failed job ended with, as it was raised."""
    if job.error_kind is None:
        return None
    problems = [Problem(**p) for p in orjson.loads(job.errors or "[]")]
    return KINDS.get(job.error_kind, Internal)(problems)


def principal_of(job: Job) -> Principal:
    """Who asked for the job, with the rights they had then."""
    rights = orjson.loads(job.rights)
    titles = rights.get("titles")
    namespaces = rights.get("namespaces")  # absent from jobs made before namespaces: all
    return Principal(
        job.actor,
        frozenset(rights.get("scopes", ())),
        frozenset(titles) if titles is not None else None,
        frozenset(namespaces) if namespaces is not None else None,
    )


async def settle(
    session: AsyncSession,
    job_id: str,
    *,
    result: dict[str, Any] | None = None,
    error: DomainError | None = None,
) -> None:
    """Record how the job ended, in ``session``: work that writes to the database records its
    end in its own transaction, so that a task run again after a crash finds the job finished
    rather than doing the work twice. A job already finished is left as it is."""
    job = await session.scalar(select(Job).where(Job.job_id == job_id))
    if job is None or job.status in FINISHED:
        return
    job.finished_at = utcnow()
    if error is None:
        job.status = "succeeded"
        job.result = orjson.dumps(result).decode()
    else:
        job.status = "failed"
        job.error_kind = error.kind
        job.errors = orjson.dumps([p.as_dict() for p in error.problems]).decode()
        first = error.problems[0] if error.problems else None
        failure = JobFailure(
            id=job.job_id,
            kind=job.kind,
            errorKind=error.kind,
            message=first.message if first else str(error),
            code=first.code if first else None,
        )
        await emit(session, Who(job.actor), FAILED, failure, subject=f"job:{job.job_id}")


class JobService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, kind: str, caller: Principal, who: Who, params: dict[str, Any]) -> Job:
        rights = {
            "scopes": sorted(caller.scopes),
            "titles": sorted(caller.titles) if caller.titles is not None else None,
            "namespaces": sorted(caller.namespaces) if caller.namespaces is not None else None,
        }
        job = Job(
            job_id=uuid.uuid4().hex,
            kind=kind,
            status="queued",
            actor=who.actor[:255],
            client=who.client[:255] if who.client else None,
            rights=orjson.dumps(rights).decode(),
            params=orjson.dumps(params).decode(),
            attempts=0,
            created_at=utcnow(),
        )
        async with self.db.transaction() as session:
            session.add(job)
        return job

    async def get(self, job_id: str) -> Job:
        async with self.db.sessions() as session:
            job = await session.scalar(select(Job).where(Job.job_id == job_id))
        if job is None:
            raise NotFound(
                f"no job '{job_id}'; a job is known by the id in the answer that started it",
                "/job_id",
                "path",
                code="job_not_found",
            )
        return job

    async def recent(self, limit: int = 50) -> list[Job]:
        """The latest jobs, newest first (the web UI's jobs page)."""
        async with self.db.sessions() as session:
            rows = await session.scalars(select(Job).order_by(Job.pk.desc()).limit(limit))
            return list(rows)

    async def start(self, job_id: str) -> Job | None:
        """Mark the job running; None when it is already finished (a task run again)."""
        async with self.db.transaction() as session:
            job = await session.scalar(select(Job).where(Job.job_id == job_id))
            if job is None or job.status in FINISHED:
                return None
            job.status = "running"
            job.attempts += 1
            job.started_at = utcnow()
        return job

    async def finish(
        self,
        job_id: str,
        *,
        result: dict[str, Any] | None = None,
        error: DomainError | None = None,
    ) -> None:
        async with self.db.transaction() as session:
            await settle(session, job_id, result=result, error=error)

    async def run(
        self,
        job_id: str,
        work: Callable[[Job], Awaitable[dict[str, Any]]],
        *,
        last_attempt: bool,
    ) -> None:
        """Run ``work`` for the job and record how it ended.

        A ``DomainError`` is the answer the request would have had: the job fails with it, and is
        not retried (the same input fails the same way). Anything else (the database away, a
        bug) is raised again so the queue retries the task; on the last attempt the job fails.
        """
        job = await self.start(job_id)
        if job is None:
            log.info("job %s is finished or gone; nothing to do", job_id)
            return
        try:
            result = await work(job)
        except DomainError as exc:
            await self.finish(job_id, error=exc)
            return
        except Exception:
            if last_attempt:
                log.exception("job %s (%s) failed on its last attempt", job_id, job.kind)
                await self.finish(job_id, error=Internal([Problem("", INTERNAL)]))
            raise
        await self.finish(job_id, result=result)


__all__ = [
    "FINISHED",
    "STATUSES",
    "JobService",
    "failure_of",
    "params_of",
    "principal_of",
    "settle",
]
