"""The catalog of published packages: their records, read and edited, and their removal.

A package appears here only once its bytes are stored and verified (:mod:`.publishing`); the
catalog never touches bytes, only the rows that describe them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict, NotFound
from pomona.events.outbox import emit
from pomona.packages.events import DELETED, PackageChange
from pomona.packages.models import Package, PackageBlob, PackageEvent, PackageHistory, PackageTag
from pomona.packages.names import package_notes
from pomona.packages.storage import blob_key
from pomona.packages.values import KEEP, Located, PackageEdit, PackageInfo, Page


def package_not_found(filename: str) -> NotFound:
    return NotFound(f"no package named '{filename}'", code="package_not_found")


class PackageCatalog:
    """Reads and edits of package records, on ``db``."""

    def __init__(self, db: Database, *, on_change: Callable[[], object] | None = None) -> None:
        self.db = db
        self.on_change = on_change

    def changed(self) -> None:
        """Tell the listener (replication) that a package change committed."""
        if self.on_change is not None:
            self.on_change()

    # -- rows, for this catalog and the publisher ----------------------------------------------

    async def row(self, session: AsyncSession, filename: str) -> Package | None:
        # Names are stored NFC (:mod:`.names`): a name typed decomposed (macOS) finds its record.
        filename = unicodedata.normalize("NFC", filename)
        return await session.scalar(select(Package).where(Package.filename == filename))

    async def info(self, session: AsyncSession, row: Package) -> PackageInfo:
        return (await self.infos(session, [row]))[0]

    async def infos(self, session: AsyncSession, rows: Sequence[Package]) -> list[PackageInfo]:
        """The records of ``rows``, with their blobs' hashes and their tags (two queries)."""
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

    async def _existing(self, session: AsyncSession, filename: str) -> Package:
        row = await self.row(session, filename)
        if row is None:
            raise package_not_found(filename)
        return row

    # -- reads ------------------------------------------------------------------------------

    async def get(self, filename: str) -> PackageInfo:
        async with self.db.sessions() as session:
            return await self.info(session, await self._existing(session, filename))

    async def manifest(self, filename: str) -> tuple[PackageInfo, list[str]]:
        """The package and the SHA-256 of each of its chunks, in order."""
        async with self.db.sessions() as session:
            row = await self._existing(session, filename)
            blob = await session.scalar(select(PackageBlob).where(PackageBlob.sha256 == row.sha256))
            assert blob is not None
            return await self.info(session, row), orjson.loads(blob.chunks)

    async def locate(self, filename: str) -> Located:
        """Where a download finds the package's bytes; a quarantined package is refused."""
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
                    .where(Package.filename == unicodedata.normalize("NFC", filename))
                )
            ).first()
        if found is None:
            raise package_not_found(filename)
        sha256, size, uploaded_at, quarantined = found
        if quarantined is not None:
            raise Conflict(
                f"'{filename}' is quarantined: {quarantined}. Uploading its content again "
                "restores it.",
                code="package_quarantined",
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
            return Page(await self.infos(session, rows), total or 0)

    async def events(self, filename: str | None = None) -> list[PackageEvent]:
        async with self.db.sessions() as session:
            where = [PackageEvent.filename == filename] if filename else []
            return list(
                await session.scalars(select(PackageEvent).where(*where).order_by(PackageEvent.pk))
            )

    # -- writes -----------------------------------------------------------------------------

    async def update(
        self, filename: str, edit: PackageEdit, *, who: Who, at: datetime | None = None
    ) -> PackageInfo:
        """Change the notes and/or replace the stage tags; ``at``: when the change was made, if
        not now (a replica copying its peer's record keeps the peer's time)."""
        if edit.notes is not KEEP:
            package_notes(edit.notes)
        async with self.db.transaction() as session:
            row = await self._existing(session, filename)
            changes: dict[str, Any] = {}
            if edit.notes is not KEEP and edit.notes != row.notes:
                row.notes = edit.notes
                changes["notes"] = edit.notes
            if edit.tags is not KEEP:
                changes["tags"] = await self.set_tags(session, row, edit.tags)
            if changes:
                now = utcnow()
                row.updated_at = at or now
                session.add(PackageEvent.about("updated", row, who.actor, changes))
                line = _changes_line(changes)
                await record(session, who, "package.update", f"package:{filename}", line, at=now)
            await session.flush()
            info = await self.info(session, row)
        if changes:
            self.changed()
        return info

    async def set_tags(self, session: AsyncSession, row: Package, tags: list[str]) -> list[str]:
        """Replace ``row``'s stage tags (in the caller's transaction); the tags as stored."""
        wanted = sorted(set(tags))
        await session.execute(delete(PackageTag).where(PackageTag.package_pk == row.pk))
        session.add_all(PackageTag(package_pk=row.pk, tag=t) for t in wanted)
        return wanted

    async def delete(self, filename: str, *, who: Who) -> None:
        """Remove the package; its content stays in the history until the retention passes."""
        async with self.db.transaction() as session:
            row = await self._existing(session, filename)
            now = utcnow()
            session.add(PackageHistory.superseding(row, now, "deleted"))
            session.add(PackageEvent.about("deleted", row, who.actor, None))
            line = f"{row.size} bytes, SHA-256 {row.sha256} kept in the history"
            await record(session, who, "package.delete", f"package:{filename}", line, at=now)
            change = PackageChange(filename=filename, sha256=row.sha256, size=row.size)
            await emit(session, who, DELETED, change, subject=f"package:{filename}")
            await session.execute(delete(PackageTag).where(PackageTag.package_pk == row.pk))
            await session.delete(row)
        self.changed()


def _changes_line(changes: dict[str, Any]) -> str:
    """``notes set; tags: dev, prod`` for the audit log."""
    parts = []
    if "notes" in changes:
        parts.append("notes cleared" if changes["notes"] is None else "notes set")
    if "tags" in changes:
        parts.append(f"tags: {', '.join(changes['tags']) or '(none)'}")
    return "; ".join(parts)
