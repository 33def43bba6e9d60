"""Pushes: a package from Pomona's store to a Jamf Pro server, as one durable job.

:meth:`Pushes.queue` records the push and its job (the route then enqueues the job's task);
:meth:`Pushes.run` is the job's work: it runs the steps of :mod:`pomona.jamf.push_steps`, keeping
the push's row up to date (step, bytes sent, the multipart upload to resume), and records how it
ended with its audit row and event in one transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from pomona.audit.service import Who, record
from pomona.auth.scopes import Principal
from pomona.db import Database, utcnow
from pomona.errors import DomainError, NotFound
from pomona.events.outbox import emit
from pomona.jamf import events
from pomona.jamf.connections import Connections
from pomona.jamf.models import JamfPush
from pomona.jamf.push_steps import PushRun, Resumable
from pomona.jamf.values import PushInfo
from pomona.packages.service import PackageService
from pomona.queue.jobs import JobService
from pomona.queue.models import Job
from pomona.settings import Settings

PUSH = "jamf.push"  # the kind of a push's job


def push_info(row: JamfPush) -> PushInfo:
    return PushInfo(
        row.push_id,
        row.job_id,
        row.connection,
        row.filename,
        row.sha256,
        row.size,
        row.status,  # type: ignore[arg-type]
        row.step,
        row.bytes_sent,
        row.package_id,
        row.method,
        row.rule,
        row.error,
        row.created_at,
        row.updated_at,
        row.finished_at,
    )


def push_not_found(push_id: str) -> NotFound:
    return NotFound(
        f"no push '{push_id}'; `pomona jamf pushes` lists them",
        "/push_id",
        "path",
        code="jamf_push_not_found",
    )


def _payload(row: JamfPush) -> events.PushPayload:
    return events.PushPayload(
        pushId=row.push_id,
        connection=row.connection,
        filename=row.filename,
        sha256=row.sha256,
        size=row.size,
        packageId=row.package_id,
        method=row.method,
        rule=row.rule,
    )


class Pushes:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        connections: Connections,
        packages: PackageService,
        jobs: JobService,
    ) -> None:
        self.db = db
        self.settings = settings
        self.connections = connections
        self.packages = packages
        self.jobs = jobs

    async def queue(
        self,
        filename: str,
        connection: str,
        *,
        caller: Principal,
        who: Who,
        rule: str | None = None,
    ) -> tuple[Job, PushInfo]:
        """Record a push of the package ``filename`` to ``connection`` and its job (queued)."""
        package = await self.packages.catalog.get(filename)
        await self.connections.get(connection)
        job = await self.jobs.create(
            PUSH, caller, who, {"filename": package.filename, "connection": connection}
        )
        now = utcnow()
        row = JamfPush(
            push_id=uuid.uuid4().hex,
            job_id=job.job_id,
            connection=connection,
            filename=package.filename,
            sha256=package.sha256,
            size=package.size,
            status="queued",
            step="queued",
            bytes_sent=0,
            rule=rule,
            created_at=now,
            updated_at=now,
        )
        async with self.db.transaction() as session:
            session.add(row)
            await record(
                session, who, "jamf.push", f"package:{package.filename}", f"to {connection}"
            )
            await emit(
                session, who, events.PUSH_QUEUED, _payload(row), subject=f"package:{filename}"
            )
        return job, push_info(row)

    async def get(self, push_id: str) -> PushInfo:
        async with self.db.sessions() as session:
            row = await session.scalar(select(JamfPush).where(JamfPush.push_id == push_id))
        if row is None:
            raise push_not_found(push_id)
        return push_info(row)

    async def search(
        self,
        *,
        connection: str | None = None,
        filename: str | None = None,
        limit: int = 50,
    ) -> list[PushInfo]:
        """Newest first."""
        query = select(JamfPush).order_by(JamfPush.pk.desc()).limit(limit)
        if connection is not None:
            query = query.where(JamfPush.connection == connection)
        if filename is not None:
            query = query.where(JamfPush.filename == filename)
        async with self.db.sessions() as session:
            return [push_info(r) for r in await session.scalars(query)]

    async def _save(self, push_id: str, **fields: Any) -> None:
        async with self.db.transaction() as session:
            row = await session.scalar(select(JamfPush).where(JamfPush.push_id == push_id))
            assert row is not None
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = utcnow()

    async def _resumable(self, row: JamfPush) -> Resumable | None:
        """The multipart upload this push (or an earlier push of the same bytes to the same
        server, which stopped) started, so that it is finished rather than begun again."""
        async with self.db.transaction() as session:
            found = await session.scalar(
                select(JamfPush)
                .where(
                    JamfPush.connection == row.connection,
                    JamfPush.filename == row.filename,
                    JamfPush.sha256 == row.sha256,
                    JamfPush.upload_id.is_not(None),
                )
                .order_by(JamfPush.pk.desc())
            )
            if found is None or found.object_key is None or found.part_size is None:
                return None
            taken = Resumable(found.upload_id or "", found.object_key, found.part_size)
            if found.push_id != row.push_id:
                found.upload_id = found.object_key = found.part_size = None
                mine = await session.scalar(select(JamfPush).where(JamfPush.pk == row.pk))
                assert mine is not None
                mine.upload_id, mine.object_key = taken.upload_id, taken.object_key
                mine.part_size = taken.part_size
            return taken

    async def run(self, job: Job) -> dict[str, Any]:
        """The work of a ``jamf.push`` job."""
        async with self.db.sessions() as session:
            row = await session.scalar(select(JamfPush).where(JamfPush.job_id == job.job_id))
        if row is None:
            raise push_not_found(job.job_id)
        push_id = row.push_id

        async def save(**fields: Any) -> None:
            await self._save(push_id, **fields)

        try:
            package = await self.packages.catalog.get(row.filename)
            if package.sha256 != row.sha256:  # replaced in the store since: push what it is now
                await save(
                    sha256=package.sha256,
                    size=package.size,
                    upload_id=None,
                    object_key=None,
                    part_size=None,
                )
                row.sha256 = package.sha256
            await save(status="running", error=None)
            connection = await self.connections.get(row.connection)
            resumable = await self._resumable(row)
            async with await self.connections.client(row.connection) as jamf:
                steps = PushRun(
                    jamf,
                    self.settings,
                    self.packages.storage,
                    package,
                    connection.hash_type,
                    save,
                    resumable,
                )
                report = await steps.run()
        except DomainError as exc:
            await self._ended(push_id, exc)
            raise
        except Exception as exc:
            # The queue runs the job again (a lost database, a bug): the push stays running.
            await save(error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        await self._ended(push_id, None)
        return {"pushId": push_id, **report}

    async def _ended(self, push_id: str, error: DomainError | None) -> None:
        who = Who("system")
        async with self.db.transaction() as session:
            row = await session.scalar(select(JamfPush).where(JamfPush.push_id == push_id))
            assert row is not None
            job = await session.scalar(select(Job).where(Job.job_id == row.job_id))
            if job is not None:
                who = Who(job.actor, client=job.client)
            row.finished_at = row.updated_at = utcnow()
            subject = f"package:{row.filename}"
            if error is None:
                row.status, row.step, row.error = "succeeded", "done", None
                await record(session, who, "jamf.push.complete", subject, f"to {row.connection}")
                await emit(session, who, events.PUSH_COMPLETED, _payload(row), subject=subject)
                return
            row.status = "failed"
            row.error = str(error)[:2000]
            await record(session, who, "jamf.push.fail", subject, row.error)
            payload = events.PushFailedPayload(
                **_payload(row).model_dump(), step=row.step, error=row.error
            )
            await emit(session, who, events.PUSH_FAILED, payload, subject=subject)
