"""The package store: receive, verify, publish, describe and remove packages. Knows no HTTP.

Life of a package's bytes:

1. They are appended to one partial file in the upload directory (a plain ``PUT`` writes one in a
   single request; a tus upload writes one over as many requests as it takes), and hashed on the
   way in (:mod:`pomona.packages.hashing`). Nothing else ever reads or copies them. This part
   is in :mod:`pomona.packages.uploads`.
2. When the last byte is in, the partial file is verified (length and, when the client gave
   them, checksums) and published: moved by rename into the content-addressed store
   (``blobs/<sha256[:2]>/<sha256>``), or uploaded to S3, where the object appears only once
   complete. Content already stored is not stored again.
3. Then one transaction points the filename at the content. Only from this moment can the
   package be listed or downloaded; a crash before it leaves an unreferenced partial file or blob,
   which :meth:`PackageService.cleanup` removes once it is older than the upload expiry.

With remote storage (S3) and a job queue, step 2's upload to the bucket is not done in the
request: the verified file is kept as a pending publication (a row and its file) and the
``packages.finalise`` task stores and publishes it; until then the package is not visible.

The cleanup and the scrub, which reads every stored blob back, are in
:mod:`pomona.packages.maintenance`; the shapes the store hands out are in
:mod:`pomona.packages.records`.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from anyio import to_thread
from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Invalid, NotFound, Problem
from pomona.packages.hashing import Digests
from pomona.packages.maintenance import CleanupReport, Maintenance, ScrubReport
from pomona.packages.models import Package, PackageBlob, PackageEvent, PackagePending, PackageTag
from pomona.packages.records import (
    Located,
    Outcome,
    PackageInfo,
    Page,
    Published,
    blob_key,
    event_row,
    history_row,
)
from pomona.packages.storage import LocalStorage, S3Storage, Storage
from pomona.packages.uploads import (
    CHECKSUMS,
    WRITE_BLOCK,
    Uploads,
    UploadState,
    filename_problems,
    parse_checksum,
)
from pomona.settings import Settings

# The package store's public names, wherever they are defined: callers import them from here.
__all__ = [
    "CHECKSUMS",
    "WRITE_BLOCK",
    "CleanupReport",
    "Located",
    "Outcome",
    "PackageInfo",
    "PackageService",
    "Page",
    "Published",
    "ScrubReport",
    "UploadState",
    "blob_key",
    "build_storage",
    "filename_problems",
    "parse_checksum",
]

TAG_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
_UNSET: Any = object()
_CLIENT = "client"


def build_storage(settings: Settings) -> Storage:
    if settings.package_storage == "s3":
        if not settings.s3_bucket:
            raise ValueError("package_storage is s3 but s3_bucket is not set")
        secret = settings.s3_secret_access_key
        return S3Storage(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
        )
    return LocalStorage(settings.resolved_package_dir)


class PackageService(Uploads, Maintenance):
    """The package store. Receiving uploads (:class:`~pomona.packages.uploads.Uploads`) and the
    cleanup and scrub (:class:`~pomona.packages.maintenance.Maintenance`) are mixed in; the
    publishing and the records are here."""

    def __init__(
        self,
        db: Database,
        storage: Storage,
        settings: Settings,
        *,
        enqueue: Callable[[str], object] | None = None,
    ) -> None:
        self.db = db
        self.storage = storage
        self.settings = settings
        # Enqueues the ``packages.finalise`` task; without a queue, remote stores are written
        # in the request.
        self.enqueue = enqueue
        self.upload_dir = settings.resolved_upload_dir
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        # The state of the uploads in progress (see Uploads).
        self._live = {}
        self._locks = {}

    # -- publishing ---------------------------------------------------------------------------

    async def publish(
        self, path: Path, digests: Digests, filename: str, who: Who, *, replace: bool
    ) -> Published:
        """Make the verified file at ``path`` the content of ``filename``; ``path`` is consumed."""
        key = blob_key(digests.sha256)
        async with self.db.transaction() as session:
            current = await self._package(session, filename)
            blob = await session.scalar(
                select(PackageBlob).where(PackageBlob.sha256 == digests.sha256)
            )
            healthy = blob is not None and blob.quarantined_at is None
            if current is not None and current.sha256 == digests.sha256 and healthy:
                await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
                return Published(await self._info(session, current), "unchanged")
            if current is not None and current.sha256 != digests.sha256 and not replace:
                raise _exists(filename)
            if blob is not None:
                blob.last_used_at = utcnow()  # keeps the cleanup away from it
        stored = (
            blob is not None
            and blob.quarantined_at is None
            and await to_thread.run_sync(self.storage.stat, key) is not None
        )
        if stored:
            await to_thread.run_sync(lambda: path.unlink(missing_ok=True))
        elif self.enqueue is not None and self.storage.local_path(key) is None:
            return await self._stage(path, digests, filename, who, replace)
        else:
            await to_thread.run_sync(self.storage.put_file, key, path)
        try:
            async with self.db.transaction() as session:
                return await self._point(session, filename, digests, who, replace)
        except IntegrityError:
            raise _exists(filename) from None

    def _pending_path(self, pending_id: str) -> Path:
        return self.upload_dir / f"pending-{pending_id}.part"

    async def _stage(
        self, path: Path, digests: Digests, filename: str, who: Who, replace: bool
    ) -> Published:
        """Keep the verified file for the ``packages.finalise`` task, which stores it remotely."""
        pending_id = uuid.uuid4().hex
        await to_thread.run_sync(os.replace, path, self._pending_path(pending_id))
        now = utcnow()
        async with self.db.transaction() as session:
            session.add(
                PackagePending(
                    pending_id=pending_id,
                    filename=filename,
                    sha256=digests.sha256,
                    replace=replace,
                    uploader=who.actor,
                    digests=orjson.dumps(
                        {
                            "size": digests.size,
                            "md5": digests.md5,
                            "sha512": digests.sha512,
                            "chunk_size": digests.chunk_size,
                            "chunks": digests.chunks,
                            # Not a digest: the uploader's address, kept with what the task
                            # needs so that the audit record it writes names it.
                            _CLIENT: who.client,
                        }
                    ).decode(),
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
        path = self._pending_path(pending_id)
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
        except (Conflict, IntegrityError):
            await self._drop_pending(row, _exists(row.filename).problems[0].message)
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
        self._pending_path(row.pending_id).unlink(missing_ok=True)

    async def _point(
        self, session: AsyncSession, filename: str, digests: Digests, who: Who, replace: bool
    ) -> Published:
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
        current = await self._package(session, filename)
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
            return Published(await self._info(session, current), "unchanged")
        elif not replace:
            raise _exists(filename)
        else:
            session.add(history_row(current, now, "replaced"))
            detail = {"previousSha256": current.sha256}
            current.sha256, current.size = digests.sha256, digests.size
            current.uploader, current.uploaded_at, current.updated_at = actor, now, now
            outcome = "replaced"
        await session.flush()
        session.add(
            event_row("uploaded" if outcome == "created" else "replaced", current, actor, detail)
        )
        line = f"{digests.size} bytes, SHA-256 {digests.sha256}"
        if detail is not None:
            line += f" (was {detail['previousSha256']})"
        action = "package.upload" if outcome == "created" else "package.replace"
        await record(session, who, action, f"package:{filename}", line, at=now)
        return Published(await self._info(session, current), outcome)

    # -- records ------------------------------------------------------------------------------

    async def _package(self, session: AsyncSession, filename: str) -> Package | None:
        return await session.scalar(select(Package).where(Package.filename == filename))

    async def _info(self, session: AsyncSession, row: Package) -> PackageInfo:
        return (await self._infos(session, [row]))[0]

    async def _infos(self, session: AsyncSession, rows: Sequence[Package]) -> list[PackageInfo]:
        if not rows:
            return []
        blobs = {
            b.sha256: b
            for b in await session.scalars(
                select(PackageBlob).where(PackageBlob.sha256.in_({r.sha256 for r in rows}))
            )
        }
        tags: dict[int, list[str]] = {}
        for package_pk, tag in await session.execute(
            select(PackageTag.package_pk, PackageTag.tag)
            .where(PackageTag.package_pk.in_([r.pk for r in rows]))
            .order_by(PackageTag.tag)
        ):
            tags.setdefault(package_pk, []).append(tag)
        infos = []
        for row in rows:
            blob = blobs[row.sha256]
            infos.append(
                PackageInfo(
                    filename=row.filename,
                    size=row.size,
                    sha256=row.sha256,
                    md5=blob.md5,
                    sha512=blob.sha512,
                    chunk_size=blob.chunk_size,
                    chunk_count=-(-row.size // blob.chunk_size),
                    notes=row.notes,
                    tags=tags.get(row.pk, []),
                    uploader=row.uploader,
                    created_at=row.created_at,
                    uploaded_at=row.uploaded_at,
                    updated_at=row.updated_at,
                    verified_at=blob.verified_at,
                    quarantined=blob.quarantine_reason if blob.quarantined_at else None,
                )
            )
        return infos

    async def get(self, filename: str) -> PackageInfo:
        async with self.db.sessions() as session:
            row = await self._package(session, filename)
            if row is None:
                raise NotFound(f"no package named '{filename}'")
            return await self._info(session, row)

    async def manifest(self, filename: str) -> tuple[PackageInfo, list[str]]:
        """The package and the SHA-256 of each of its chunks, in order."""
        async with self.db.sessions() as session:
            row = await self._package(session, filename)
            if row is None:
                raise NotFound(f"no package named '{filename}'")
            blob = await session.scalar(select(PackageBlob).where(PackageBlob.sha256 == row.sha256))
            assert blob is not None
            return await self._info(session, row), orjson.loads(blob.chunks)

    async def locate(self, filename: str) -> Located:
        async with self.db.sessions() as session:
            found = (
                await session.execute(
                    select(
                        Package.sha256,
                        Package.size,
                        Package.uploaded_at,
                        PackageBlob.quarantine_reason,
                    )
                    .join(PackageBlob, PackageBlob.sha256 == Package.sha256)
                    .where(Package.filename == filename)
                )
            ).first()
        if found is None:
            raise NotFound(f"no package named '{filename}'")
        sha256, size, uploaded_at, quarantined = found
        if quarantined is not None:
            raise Conflict(
                f"'{filename}' is quarantined: {quarantined}. Upload the package again "
                "(PUT with ?replace=true, or tus) to restore it."
            )
        return Located(filename, sha256, size, uploaded_at, blob_key(sha256))

    async def search(self, *, query: str | None, tag: str | None, offset: int, limit: int) -> Page:
        where = []
        if query:
            pattern = f"%{query.lower()}%"
            where.append(
                or_(
                    func.lower(Package.filename).like(pattern),
                    func.lower(Package.notes).like(pattern),
                )
            )
        if tag:
            where.append(exists().where(PackageTag.package_pk == Package.pk, PackageTag.tag == tag))
        async with self.db.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Package).where(*where))
            rows = list(
                await session.scalars(
                    select(Package)
                    .where(*where)
                    .order_by(Package.filename)
                    .offset(offset)
                    .limit(limit)
                )
            )
            return Page(await self._infos(session, rows), total or 0)

    async def update(
        self, filename: str, *, who: Who, notes: Any = _UNSET, tags: Any = _UNSET
    ) -> PackageInfo:
        """Change notes (a string, or None to clear) and/or replace the stage tags."""
        problems = []
        if notes is not _UNSET and notes is not None and not isinstance(notes, str):
            problems.append(Problem("/notes", "notes are a string or null"))
        if tags is not _UNSET:
            if not isinstance(tags, list):
                problems.append(Problem("/tags", "tags are a list of strings"))
            else:
                for index, tag in enumerate(tags):
                    if not isinstance(tag, str) or not re.fullmatch(TAG_PATTERN, tag):
                        problems.append(
                            Problem(
                                f"/tags/{index}",
                                "a tag has 1 to 64 letters, digits, '.', '_', ':' or '-'",
                            )
                        )
        if problems:
            raise Invalid(problems)
        async with self.db.transaction() as session:
            row = await self._package(session, filename)
            if row is None:
                raise NotFound(f"no package named '{filename}'")
            changes: dict[str, Any] = {}
            if notes is not _UNSET and notes != row.notes:
                row.notes = notes
                changes["notes"] = notes
            if tags is not _UNSET:
                wanted = sorted(set(tags))
                await session.execute(delete(PackageTag).where(PackageTag.package_pk == row.pk))
                session.add_all(PackageTag(package_pk=row.pk, tag=t) for t in wanted)
                changes["tags"] = wanted
            if changes:
                row.updated_at = utcnow()
                session.add(event_row("updated", row, who.actor, changes))
                await record(
                    session,
                    who,
                    "package.update",
                    f"package:{filename}",
                    _changes_line(changes),
                    at=row.updated_at,
                )
            await session.flush()
            return await self._info(session, row)

    async def delete(self, filename: str, *, who: Who) -> None:
        """Remove the package; its content stays in the history until the retention passes."""
        async with self.db.transaction() as session:
            row = await self._package(session, filename)
            if row is None:
                raise NotFound(f"no package named '{filename}'")
            now = utcnow()
            session.add(history_row(row, now, "deleted"))
            session.add(event_row("deleted", row, who.actor, None))
            line = f"{row.size} bytes, SHA-256 {row.sha256} kept in the history"
            await record(session, who, "package.delete", f"package:{filename}", line, at=now)
            await session.execute(delete(PackageTag).where(PackageTag.package_pk == row.pk))
            await session.delete(row)

    async def events(self, filename: str | None = None) -> list[PackageEvent]:
        async with self.db.sessions() as session:
            where = [PackageEvent.filename == filename] if filename else []
            return list(
                await session.scalars(select(PackageEvent).where(*where).order_by(PackageEvent.pk))
            )


def _exists(filename: str) -> Conflict:
    return Conflict(
        f"a package named '{filename}' exists with other content; "
        "add ?replace=true to replace it (the old content is kept in the history)"
    )


def _changes_line(changes: dict[str, Any]) -> str:
    """``notes set; tags: dev, prod`` for the audit log."""
    parts = []
    if "notes" in changes:
        parts.append("notes cleared" if changes["notes"] is None else "notes set")
    if "tags" in changes:
        parts.append(f"tags: {', '.join(changes['tags']) or '(none)'}")
    return "; ".join(parts)
