"""Publishing: a verified file becomes the content of a filename.

1. The file (a finished upload, already hashed) is moved by rename into the content-addressed
   store (``blobs/<sha256[:2]>/<sha256>``), or uploaded to S3, where the object appears only
   once complete. Content already stored is not stored again.
2. Then one transaction points the filename at the content. Only from this moment can the
   package be listed or downloaded; a crash before it leaves an unreferenced partial file or
   blob, which the cleanup (:mod:`.maintenance`) removes once it is older than the upload
   expiry.

With remote storage (S3) and a job queue, step 1 is not done in the request: the verified file
is kept as a pending publication (a row and its file) and the ``packages.finalise`` task stores
and publishes it; until then the package is not visible.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson
from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict
from pomona.events.outbox import emit
from pomona.packages.catalog import PackageCatalog
from pomona.packages.events import PUBLISHED, REPLACED, PackageChange
from pomona.packages.hashing import Digests
from pomona.packages.models import (
    Package,
    PackageBlob,
    PackageEvent,
    PackageHistory,
    PackagePending,
)
from pomona.packages.storage import Storage, blob_key
from pomona.packages.values import Outcome, PackageInfo, Published
from pomona.settings import Settings

# Not a digest: the uploader's address, kept in a pending publication's JSON beside what the
# task needs, so that the audit record the task writes names it.
_CLIENT = "client"


def package_exists(filename: str) -> Conflict:
    return Conflict(
        f"a package named '{filename}' exists with other content; it is replaced only when "
        "asked to (the old content is then kept in the history)",
        code="package_exists",
    )


class Publisher:
    """Stores verified files and points filenames at them.

    ``enqueue`` queues the ``packages.finalise`` task; without it, remote stores are written in
    the request.
    """

    def __init__(
        self,
        db: Database,
        storage: Storage,
        settings: Settings,
        catalog: PackageCatalog,
        *,
        enqueue: Callable[[str], object] | None = None,
    ) -> None:
        self.db = db
        self.storage = storage
        self.catalog = catalog
        self.enqueue = enqueue
        # Pending publications wait beside the uploads: same file system, so moved by rename.
        self.directory = settings.resolved_upload_dir
        self.directory.mkdir(parents=True, exist_ok=True)

    def pending_path(self, pending_id: str) -> Path:
        return self.directory / f"pending-{pending_id}.part"

    async def publish(
        self,
        path: Path,
        digests: Digests,
        filename: str,
        who: Who,
        *,
        replace: bool,
        in_task: bool = False,
        tags: list[str] | None = None,
        updated_at: datetime | None = None,
    ) -> Published:
        """Make the verified file at ``path`` the content of ``filename``; ``path`` is consumed.

        ``in_task``: the caller is a queued task (replication), which stores the file remotely
        itself rather than queueing another task for it. ``tags``: the stage tags the record
        takes in the same transaction (a replica's, so that its change log never shows the
        package without them to the sites it relays to); given, the file is stored here.
        ``updated_at``: the time the record's state was made, if not now (a replica's)."""
        key = blob_key(digests.sha256)
        async with self.db.transaction() as session:
            current = await self.catalog.row(session, filename)
            blob = await session.scalar(
                select(PackageBlob).where(PackageBlob.sha256 == digests.sha256)
            )
            healthy = blob is not None and blob.quarantined_at is None
            if current is not None and current.sha256 == digests.sha256 and healthy:
                await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
                return Published(await self.catalog.info(session, current), "unchanged")
            if current is not None and current.sha256 != digests.sha256 and not replace:
                raise package_exists(filename)
            if blob is not None:
                blob.last_used_at = utcnow()  # keeps the cleanup away from it
        stored = (
            blob is not None
            and blob.quarantined_at is None
            and await to_thread.run_sync(self.storage.stat, key) is not None
        )
        if stored:
            await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        elif (
            self.enqueue is not None
            and self.storage.local_path(key) is None
            and not in_task
            and tags is None
        ):
            return await self._stage(path, digests, filename, who, replace)
        else:
            await to_thread.run_sync(self.storage.put_file, key, path)
        try:
            async with self.db.transaction() as session:
                published = await self._point(
                    session, filename, digests, who, replace, tags, updated_at
                )
        except IntegrityError:
            raise package_exists(filename) from None
        if published.outcome != "unchanged":
            self.catalog.changed()
        return published

    async def _stage(
        self, path: Path, digests: Digests, filename: str, who: Who, replace: bool
    ) -> Published:
        """Keep the verified file for the ``packages.finalise`` task, which stores it remotely."""
        pending_id = uuid.uuid4().hex
        await to_thread.run_sync(os.replace, path, self.pending_path(pending_id))
        now = utcnow()
        values = {
            "size": digests.size,
            "md5": digests.md5,
            "sha512": digests.sha512,
            "chunk_size": digests.chunk_size,
            "chunks": digests.chunks,
            _CLIENT: who.client,
        }
        async with self.db.transaction() as session:
            session.add(
                PackagePending(
                    pending_id=pending_id,
                    filename=filename,
                    sha256=digests.sha256,
                    replace=replace,
                    uploader=who.actor,
                    digests=orjson.dumps(values).decode(),
                    created_at=now,
                )
            )
        assert self.enqueue is not None
        self.enqueue(pending_id)
        info = PackageInfo(
            filename=filename,
            size=digests.size,
            sha256=digests.sha256,
            md5=digests.md5,
            sha512=digests.sha512,
            chunk_size=digests.chunk_size,
            chunk_count=len(digests.chunks),
            notes=None,
            tags=[],
            uploader=who.actor,
            created_at=now,
            uploaded_at=now,
            updated_at=now,
        )
        return Published(info, "pending")

    async def finalise(self, pending_id: str) -> Outcome | None:
        """Store a pending publication and point its filename at it (the finalise task).

        Idempotent: run again after a crash at any point, it finishes the job or finds it done.
        """
        async with self.db.sessions() as session:
            row = await session.scalar(
                select(PackagePending).where(PackagePending.pending_id == pending_id)
            )
        if row is None:
            return None  # done already
        values = orjson.loads(row.digests)
        who = Who.of(row.uploader, values.pop(_CLIENT, None))
        digests = Digests(sha256=row.sha256, **values)
        key = blob_key(row.sha256)
        path = self.pending_path(pending_id)
        if await to_thread.run_sync(self.storage.stat, key) is None or await self._quarantined(
            row.sha256
        ):
            if not path.exists():
                await self._drop_pending(
                    row, "the received file is gone before it could be stored; upload it again"
                )
                return None
            # put_file removes the file only once the object is complete.
            await to_thread.run_sync(self.storage.put_file, key, path)
        outcome: Outcome | None
        try:
            async with self.db.transaction() as session:
                published = await self._point(session, row.filename, digests, who, row.replace)
                await session.execute(
                    delete(PackagePending).where(PackagePending.pending_id == pending_id)
                )
            outcome = published.outcome
            if outcome != "unchanged":
                self.catalog.changed()
        except (Conflict, IntegrityError):
            await self._drop_pending(row, package_exists(row.filename).problems[0].message)
            outcome = None
        await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        return outcome

    async def _quarantined(self, sha256: str) -> bool:
        async with self.db.sessions() as session:
            found = await session.scalar(
                select(PackageBlob.quarantined_at).where(PackageBlob.sha256 == sha256)
            )
        return found is not None

    async def _drop_pending(self, row: PackagePending, reason: str) -> None:
        """Give up a pending publication, recording why for the uploader."""
        async with self.db.transaction() as session:
            await session.execute(
                delete(PackagePending).where(PackagePending.pending_id == row.pending_id)
            )
            session.add(
                PackageEvent(
                    kind="rejected",
                    filename=row.filename,
                    sha256=row.sha256,
                    size=None,
                    actor=row.uploader,
                    created_at=utcnow(),
                    detail=orjson.dumps({"reason": reason}).decode(),
                )
            )
        self.pending_path(row.pending_id).unlink(missing_ok=True)

    async def _point(
        self,
        session: AsyncSession,
        filename: str,
        digests: Digests,
        who: Who,
        replace: bool,
        tags: list[str] | None = None,
        updated_at: datetime | None = None,
    ) -> Published:
        """Record the blob (once) and point ``filename`` at it, with its event and audit entry."""
        now = utcnow()
        actor = who.actor
        blob = await session.scalar(select(PackageBlob).where(PackageBlob.sha256 == digests.sha256))
        if blob is None:
            session.add(
                PackageBlob(
                    sha256=digests.sha256,
                    size=digests.size,
                    md5=digests.md5,
                    sha512=digests.sha512,
                    chunk_size=digests.chunk_size,
                    chunks=orjson.dumps(digests.chunks).decode(),
                    created_at=now,
                    last_used_at=now,
                )
            )
        else:
            blob.last_used_at = now
            if blob.quarantined_at is not None:  # the right bytes were just stored again
                blob.quarantined_at = blob.quarantine_reason = None
                blob.verified_at = now
        current = await self.catalog.row(session, filename)
        outcome: Outcome
        if current is None:
            current = Package(
                filename=filename,
                sha256=digests.sha256,
                size=digests.size,
                uploader=actor,
                created_at=now,
                uploaded_at=now,
                updated_at=now,
            )
            session.add(current)
            outcome = "created"
            detail = None
        elif current.sha256 == digests.sha256:
            await session.flush()
            return Published(await self.catalog.info(session, current), "unchanged")
        elif not replace:
            raise package_exists(filename)
        else:
            session.add(PackageHistory.superseding(current, now, "replaced"))
            detail = {"previousSha256": current.sha256}
            current.sha256, current.size = digests.sha256, digests.size
            current.uploader, current.uploaded_at, current.updated_at = actor, now, now
            outcome = "replaced"
        await session.flush()
        if tags is not None:
            await self.catalog.set_tags(session, current, tags)
        if updated_at is not None:
            current.updated_at = updated_at
        kind = "uploaded" if outcome == "created" else "replaced"
        session.add(PackageEvent.about(kind, current, actor, detail))
        line = f"{digests.size} bytes, SHA-256 {digests.sha256}"
        if detail is not None:
            line += f" (was {detail['previousSha256']})"
        action = "package.upload" if outcome == "created" else "package.replace"
        await record(session, who, action, f"package:{filename}", line, at=now)
        change = PackageChange(
            filename=filename,
            sha256=digests.sha256,
            size=digests.size,
            previousSha256=detail["previousSha256"] if detail else None,
        )
        happened = PUBLISHED if outcome == "created" else REPLACED
        await emit(session, who, happened, change, subject=f"package:{filename}")
        return Published(await self.catalog.info(session, current), outcome)
