"""The package store's upkeep: the cleanup of what is no longer needed, and the scrub.

The cleanup removes expired uploads, expired history and stored bytes nothing refers to any
more. The scrub reads every stored blob back; one whose bytes no longer match is quarantined: no
package using it is served until the content is uploaded again. Both run as queue tasks
(:mod:`pomona.packages.tasks`).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any, cast

from anyio import to_thread
from sqlalchemy import CursorResult, delete, exists, select, update

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import NotFound
from pomona.events.outbox import emit
from pomona.packages.events import QUARANTINED, PackageChange
from pomona.packages.models import (
    Package,
    PackageBlob,
    PackageEvent,
    PackageHistory,
    PackagePending,
    PackageUpload,
)
from pomona.packages.storage import Storage, blob_key
from pomona.packages.uploads import UploadService
from pomona.packages.values import CleanupReport, ScrubReport
from pomona.settings import Settings

log = logging.getLogger("pomona.packages")
SCRUB = Who("system:scrub")


class Maintenance:
    """The cleanup and the scrub of the store in ``storage``; expired uploads are dropped
    through ``uploads``, which owns their partial files."""

    def __init__(
        self, db: Database, storage: Storage, settings: Settings, uploads: UploadService
    ) -> None:
        self.db = db
        self.storage = storage
        self.settings = settings
        self.uploads = uploads

    # -- cleanup ------------------------------------------------------------------------------

    async def cleanup(self, now: datetime | None = None) -> CleanupReport:
        """Remove expired uploads, expired history and bytes nothing refers to any more.

        Bytes are removed only when unreferenced for longer than the upload expiry, so that a
        publish in progress (stored, not yet recorded) is never robbed of its blob.
        """
        now = now or utcnow()
        grace = now - timedelta(hours=self.settings.upload_expiry_hours)
        report = CleanupReport()
        async with self.db.sessions() as session:
            stale = list(
                await session.scalars(
                    select(PackageUpload.upload_id).where(PackageUpload.updated_at < grace)
                )
            )
        for upload_id in stale:
            try:
                await self.uploads.terminate(upload_id)
                report.uploads += 1
            except NotFound:
                pass
        async with self.db.sessions() as session:
            open_uploads = set(await session.scalars(select(PackageUpload.upload_id)))
            pending = list(
                await session.execute(select(PackagePending.pending_id, PackagePending.created_at))
            )
        open_uploads |= {pending_id for pending_id, _ in pending}
        stall = now - timedelta(minutes=10)
        report.stalled = [pending_id for pending_id, created in pending if created < stall]
        for path in self.uploads.directory.glob("*.part"):
            upload_id = path.stem.removeprefix("tus-").removeprefix("pending-")
            if upload_id in open_uploads:
                continue
            try:
                if path.stat().st_mtime < grace.timestamp():
                    path.unlink()
                    report.partial_files += 1
            except FileNotFoundError:
                pass
        keep_after = now - timedelta(days=self.settings.package_history_days)
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(PackageHistory).where(PackageHistory.superseded_at < keep_after)
            )
            report.history = cast(CursorResult[Any], result).rowcount
        async with self.db.transaction() as session:
            unused = list(
                await session.scalars(
                    select(PackageBlob).where(
                        PackageBlob.last_used_at < grace,
                        ~exists().where(Package.sha256 == PackageBlob.sha256),
                        ~exists().where(PackageHistory.sha256 == PackageBlob.sha256),
                        ~exists().where(PackagePending.sha256 == PackageBlob.sha256),
                    )
                )
            )
            for blob in unused:
                await session.delete(blob)
        for blob in unused:
            await to_thread.run_sync(self.storage.delete, blob_key(blob.sha256))
            report.blobs += 1
            report.removed_keys.append(blob_key(blob.sha256))
        async with self.db.sessions() as session:
            known = set(await session.scalars(select(PackageBlob.sha256)))
            known |= set(await session.scalars(select(PackagePending.sha256)))
        objects = await to_thread.run_sync(lambda: list(self.storage.list("blobs/")))
        for item in objects:
            if item.key.rsplit("/", 1)[-1] not in known and item.modified < grace:
                await to_thread.run_sync(self.storage.delete, item.key)
                report.orphans += 1
                report.removed_keys.append(item.key)
        return report

    # -- scrub --------------------------------------------------------------------------------

    async def scrub(self) -> ScrubReport:
        """Read every stored blob back; quarantine those whose bytes no longer match.

        Each blob is checked against the SHA-256 it is stored under. A quarantined blob's
        packages answer 409 on download and show ``quarantined`` in their record, and a
        ``quarantined`` event is recorded for each, until the content is uploaded again.
        """
        report = ScrubReport()
        async with self.db.sessions() as session:
            blobs = list(
                await session.execute(
                    select(PackageBlob.sha256, PackageBlob.size).where(
                        PackageBlob.quarantined_at.is_(None)
                    )
                )
            )
        for sha256, size in blobs:
            found, length = await to_thread.run_sync(self._rehash, blob_key(sha256))
            report.checked += 1
            report.bytes += length
            if found == sha256 and length == size:
                async with self.db.transaction() as session:
                    await session.execute(
                        update(PackageBlob)
                        .where(PackageBlob.sha256 == sha256)
                        .values(verified_at=utcnow())
                    )
                continue
            reason = (
                "its stored file is missing"
                if found is None
                else f"its stored bytes changed ({length} bytes with SHA-256 {found}, "
                f"expected {size} bytes with SHA-256 {sha256})"
            )
            names = await self._quarantine(sha256, reason)
            log.warning("scrub: quarantined %s (%s): %s", sha256, ", ".join(names), reason)
            report.quarantined.append({"sha256": sha256, "reason": reason})
        return report

    def _rehash(self, key: str) -> tuple[str | None, int]:
        if self.storage.stat(key) is None:
            return None, 0
        digest = hashlib.sha256()
        length = 0
        for chunk in self.storage.open_range(key):
            digest.update(chunk)
            length += len(chunk)
        return digest.hexdigest(), length

    async def _quarantine(self, sha256: str, reason: str) -> list[str]:
        now = utcnow()
        async with self.db.transaction() as session:
            await session.execute(
                update(PackageBlob)
                .where(PackageBlob.sha256 == sha256)
                .values(quarantined_at=now, quarantine_reason=reason)
            )
            rows = list(await session.scalars(select(Package).where(Package.sha256 == sha256)))
            for row in rows:
                session.add(PackageEvent.about("quarantined", row, "scrub", {"reason": reason}))
                await record(
                    session, SCRUB, "package.quarantine", f"package:{row.filename}", reason, at=now
                )
                change = PackageChange(
                    filename=row.filename, sha256=row.sha256, size=row.size, reason=reason
                )
                await emit(session, SCRUB, QUARANTINED, change, subject=f"package:{row.filename}")
        return [row.filename for row in rows]
