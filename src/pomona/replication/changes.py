"""The sending side: each peer's view of this site's change log, the blobs it may read, and what
it reports back.

The change log is the package store's own event table (written in the transaction of every
upload, replacement, edit and deletion). A peer reading it from its cursor gets, for each
package that changed since, the package as it stands now: ``put`` when the peer should have it
(its stage is one the peer accepts), ``delete`` with the content's SHA-256 when the peer was
offered that content and should no longer have it (deleted here, or demoted out of its stages).
A package the peer should never have is not mentioned at all, not even by name.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.db import Database, utcnow
from pomona.errors import NotFound
from pomona.packages.models import Package, PackageBlob, PackageEvent, PackageTag
from pomona.packages.storage import blob_key
from pomona.packages.values import Located
from pomona.replication.models import Offer, Peer
from pomona.times import format_time

PAGE = 200
REPORTED = ("queued", "running", "waiting", "done", "failed", "removed")


def visible(tags: list[str], stages: list[str]) -> bool:
    """Whether a package with ``tags`` goes to a site accepting ``stages`` (none: every one)."""
    return not stages or bool(set(tags) & set(stages))


def blob_not_found(sha256: str) -> NotFound:
    return NotFound(f"no content {sha256} for this peer", "/sha256", "path", code="blob_not_found")


class ChangeLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _tags(self, session: AsyncSession, package: Package) -> list[str]:
        found = await session.scalars(
            select(PackageTag.tag)
            .where(PackageTag.package_pk == package.pk)
            .order_by(PackageTag.tag)
        )
        return list(found)

    async def changes(self, peer: Peer, after: int) -> dict[str, Any]:
        """The changes after ``after`` that ``peer`` should see, the cursor to continue from,
        and whether there are more."""
        stages: list[str] = orjson.loads(peer.stages)
        entries: list[dict[str, Any]] = []
        async with self.db.transaction() as session:
            rows = list(
                await session.execute(
                    select(PackageEvent.pk, PackageEvent.filename)
                    .where(PackageEvent.pk > after)
                    .order_by(PackageEvent.pk)
                    .limit(PAGE)
                )
            )
            latest: dict[str, int] = {}
            for pk, filename in rows:
                latest.pop(filename, None)
                latest[filename] = pk
            for filename, seq in latest.items():
                entry = await self._entry(session, peer, stages, filename, seq)
                if entry is not None:
                    entries.append(entry)
        cursor = rows[-1][0] if rows else after
        return {"changes": entries, "next": cursor, "more": len(rows) == PAGE}

    async def _entry(
        self, session: AsyncSession, peer: Peer, stages: list[str], filename: str, seq: int
    ) -> dict[str, Any] | None:
        package = await session.scalar(select(Package).where(Package.filename == filename))
        offer = await session.scalar(
            select(Offer).where(Offer.peer_pk == peer.pk, Offer.filename == filename)
        )
        tags = await self._tags(session, package) if package is not None else []
        if package is not None and visible(tags, stages):
            blob = await session.scalar(
                select(PackageBlob).where(PackageBlob.sha256 == package.sha256)
            )
            if blob is None or blob.quarantined_at is not None:
                return None  # nothing right to send until its content is uploaded again
            now = utcnow()
            if offer is None:
                offer = Offer(peer_pk=peer.pk, filename=filename, received=0, rate=0)
                session.add(offer)
            if offer.sha256 != package.sha256 or offer.state == "removed":
                offer.sha256, offer.state, offer.received, offer.rate = (
                    package.sha256,
                    "offered",
                    0,
                    0,
                )
                offer.last_error, offer.updated_at = None, now
            # The record's last change was this peer's own state, copied here: the peer takes
            # the content but not the tags from it, or an older state of its own coming back
            # would undo a change made there since (within the same second, times tie).
            echo = await self._actor(session, seq)
            return {
                "seq": seq,
                "kind": "put",
                "filename": filename,
                "sha256": package.sha256,
                "size": package.size,
                "tags": tags,
                "changedAt": format_time(package.uploaded_at),
                # When the record (its tags) last changed: a peer keeps the newer of two.
                "updatedAt": format_time(package.updated_at),
                "echo": echo == f"peer:{peer.name}",
            }
        if offer is None or offer.state == "removed":
            return None  # never offered: the peer does not learn that it exists
        offer.state, offer.updated_at = "removed", utcnow()
        if await self._actor(session, seq) == f"peer:{peer.name}":
            # Removed here because the peer said so (a delete, or a demotion out of this site's
            # stages): its own removal coming back would delete a package it keeps.
            return None
        return {"seq": seq, "kind": "delete", "filename": filename, "sha256": offer.sha256}

    async def _actor(self, session: AsyncSession, seq: int) -> str | None:
        """Who made the change at ``seq``: ``peer:<name>`` when a peer's state was copied."""
        return await session.scalar(select(PackageEvent.actor).where(PackageEvent.pk == seq))

    async def _offered(self, session: AsyncSession, peer: Peer, sha256: str) -> bool:
        """Whether ``peer`` may read the content: it was offered it, or a package it should
        have holds it (another site asking this one for a chunk it could not get right)."""
        offer = await session.scalar(
            select(Offer.pk).where(
                Offer.peer_pk == peer.pk, Offer.sha256 == sha256, Offer.state != "removed"
            )
        )
        if offer is not None:
            return True
        stages: list[str] = orjson.loads(peer.stages)
        for package in await session.scalars(select(Package).where(Package.sha256 == sha256)):
            if visible(await self._tags(session, package), stages):
                return True
        return False

    async def manifest(self, peer: Peer, sha256: str) -> dict[str, Any]:
        async with self.db.sessions() as session:
            blob = await session.scalar(select(PackageBlob).where(PackageBlob.sha256 == sha256))
            if blob is None or blob.quarantined_at is not None:
                raise blob_not_found(sha256)
            if not await self._offered(session, peer, sha256):
                raise blob_not_found(sha256)
        return {
            "sha256": blob.sha256,
            "size": blob.size,
            "chunkSize": blob.chunk_size,
            "chunks": orjson.loads(blob.chunks),
            "md5": blob.md5,
            "sha512": blob.sha512,
        }

    async def locate(self, peer: Peer, sha256: str) -> Located:
        async with self.db.sessions() as session:
            blob = await session.scalar(select(PackageBlob).where(PackageBlob.sha256 == sha256))
            if blob is None or blob.quarantined_at is not None:
                raise blob_not_found(sha256)
            if not await self._offered(session, peer, sha256):
                raise blob_not_found(sha256)
        return Located(sha256, sha256, blob.size, blob.created_at, blob_key(sha256))

    async def report(self, peer: Peer, report: dict[str, Any]) -> None:
        """What the peer says of a package it was offered: how far it got, or that it failed."""
        filename, sha256, state = report.get("filename"), report.get("sha256"), report.get("state")
        if not isinstance(filename, str) or state not in REPORTED:
            return
        async with self.db.transaction() as session:
            offer = await session.scalar(
                select(Offer).where(Offer.peer_pk == peer.pk, Offer.filename == filename)
            )
            if offer is None or offer.sha256 != sha256:
                return
            offer.state = str(state)
            offer.received = int(report.get("received") or 0)
            offer.rate = int(report.get("rate") or 0)
            error = report.get("error")
            offer.last_error = str(error)[:2000] if error else None
            offer.updated_at = utcnow()
