"""The receiving side: read a peer's change log from where this site left off and apply it.

``put``: the content is fetched (:mod:`.transfer`) unless this site stores it already, then
published through the package store's own publisher, exactly as a local upload is, and the
package's stage tags set. Its change then shows in this site's change log, so the site relays
it to its own peers; a site that has the content already changes nothing, so a loop ends.
``delete``: the package is removed only if its content is the one named (a tombstone never
removes another file of the same name).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from anyio import to_thread
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import DomainError, NotFound
from pomona.events.outbox import emit
from pomona.packages.hashing import Digests
from pomona.packages.models import Package, PackageBlob, PackageHistory, PackageTag
from pomona.packages.service import PackageService
from pomona.packages.storage import blob_key
from pomona.packages.values import PackageEdit
from pomona.replication import events
from pomona.replication.client import PeerClient, PeerError
from pomona.replication.models import Peer, Transfer
from pomona.replication.peers import PeerService
from pomona.replication.throttle import in_window
from pomona.replication.transfer import Fetcher, Wanted, hold_for
from pomona.settings import Settings
from pomona.times import parse_time

log = logging.getLogger("pomona.replication")


class OutsideWindow(Exception):
    """The peer's transfer window is closed: what is left waits for the next poll."""


class Receiver:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        peers: PeerService,
        client: PeerClient,
        fetcher: Fetcher,
        packages: PackageService,
    ) -> None:
        self.db = db
        self.settings = settings
        self.peers = peers
        self.client = client
        self.fetcher = fetcher
        self.packages = packages
        self.now: Callable[[], datetime] = utcnow

    async def _claim(self, peer: Peer) -> bool:
        """Hold the peer for one pull at a time, across processes (a conditional UPDATE)."""
        now = utcnow()
        until = now + hold_for(self.settings)
        async with self.db.transaction() as session:
            claimed = await session.execute(
                update(Peer)
                .where(
                    Peer.pk == peer.pk,
                    or_(Peer.pulling_until.is_(None), Peer.pulling_until < now),
                )
                .values(pulling_until=until)
            )
        return bool(getattr(claimed, "rowcount", 0) == 1)

    async def _release(self, peer: Peer) -> None:
        async with self.db.transaction() as session:
            await session.execute(update(Peer).where(Peer.pk == peer.pk).values(pulling_until=None))

    async def pull(self, peer_id: str) -> dict[str, Any]:
        """Apply ``peer``'s changes since the cursor; what was done."""
        try:
            peer = await self.peers.row(peer_id)
        except NotFound:
            return {"forgotten": True}  # removed since the pull was queued
        if peer.state != "paired":
            return {"unpaired": True}
        if not await self._claim(peer):
            return {"held": True}
        applied = 0
        try:
            while True:
                asked = {"after": peer.cursor, "stages": self.settings.replication_stages}
                try:
                    answer = await self.client.call(
                        self.peers.target(peer), "POST", "/changes", asked
                    )
                except PeerError as exc:
                    await self.peers.reached(peer, str(exc))
                    raise
                await self.peers.reached(peer, None)
                for entry in answer["changes"]:
                    try:
                        await self._apply(peer, entry)
                    except OutsideWindow:
                        return {"applied": applied, "waiting": True}
                    applied += 1
                    await self._advance(peer, int(entry["seq"]))
                await self._advance(peer, int(answer["next"]))
                if not answer["more"]:
                    return {"applied": applied}
        finally:
            await self._release(peer)

    async def _advance(self, peer: Peer, cursor: int) -> None:
        if cursor <= peer.cursor:
            return
        async with self.db.transaction() as session:
            await session.execute(update(Peer).where(Peer.pk == peer.pk).values(cursor=cursor))
        peer.cursor = cursor

    async def _apply(self, peer: Peer, entry: dict[str, Any]) -> None:
        if entry["kind"] == "delete":
            await self._tombstone(peer, str(entry["filename"]), str(entry["sha256"]))
        else:
            await self._put(peer, entry)

    # -- put ---------------------------------------------------------------------------------

    async def _put(self, peer: Peer, entry: dict[str, Any]) -> None:
        wanted = Wanted(str(entry["filename"]), str(entry["sha256"]), int(entry["size"]))
        tags = sorted(str(t) for t in entry.get("tags", []))
        # A replica's record keeps the time its state was made at the peer (not the time it was
        # copied here), so that a newer change anywhere wins over it.
        stamp = _time(entry.get("updatedAt"))
        async with self.db.sessions() as session:
            current = await session.scalar(
                select(Package).where(Package.filename == wanted.filename)
            )
            if current is not None and current.sha256 == wanted.sha256:
                # The same content: the peer's tags only if its record changed after ours (an
                # older state coming round a loop must not undo a promotion made here since).
                if not entry.get("echo") and not _older(entry.get("updatedAt"), current.updated_at):
                    await self._tags(session, peer, current, tags, stamp)
                await self._report(peer, wanted, {"state": "done", "received": wanted.size})
                return
            if await self._stale(session, wanted, entry.get("changedAt")):
                return
            stored = await self._stored(session, wanted.sha256)
        who = Who(f"peer:{peer.name}")
        if stored:
            path = self.fetcher.directory / f"none-{wanted.sha256}"  # nothing to move
            await self._publish(path, _digests_of(stored), wanted, who, tags, stamp)
        else:
            if not in_window(peer.window, self.now()):
                await self._report(peer, wanted, {"state": "waiting"})
                raise OutsideWindow
            await self._fetch_and_publish(peer, wanted, who, tags, stamp)
        async with self.db.sessions() as session:
            current = await session.scalar(
                select(Package).where(Package.filename == wanted.filename)
            )
            if current is not None:
                await self._tags(session, peer, current, tags, stamp)
        async with self.db.transaction() as session:
            line = f"{wanted.size} bytes, SHA-256 {wanted.sha256}, from {peer.name}"
            await record(session, who, "replication.receive", f"package:{wanted.filename}", line)
            payload = events.ReplicationPayload(
                filename=wanted.filename,
                sha256=wanted.sha256,
                size=wanted.size,
                peerId=peer.peer_id,
            )
            await emit(
                session,
                who,
                events.REPLICATION_COMPLETED,
                payload,
                subject=f"package:{wanted.filename}",
            )
        await self._report(peer, wanted, {"state": "done", "received": wanted.size})

    async def _publish(
        self,
        path: Path,
        digests: Digests,
        wanted: Wanted,
        who: Who,
        tags: list[str],
        stamp: datetime | None,
    ) -> None:
        """Publish a copy as the peer has it: its tags and its time, replacing what is here."""
        await self.packages.publisher.publish(
            path,
            digests,
            wanted.filename,
            who,
            replace=True,
            in_task=True,
            tags=tags,
            updated_at=stamp,
        )

    async def _fetch_and_publish(
        self, peer: Peer, wanted: Wanted, who: Who, tags: list[str], stamp: datetime | None
    ) -> None:
        target = self.peers.target(peer)
        others = [self.peers.target(p) for p in await self.peers.paired() if p.pk != peer.pk]
        transfer: Transfer | None = None
        try:
            transfer = await self.fetcher.transfer_for(peer, wanted, target)
            await self._report(peer, wanted, {"state": "running", "received": transfer.received})
            path, digests = await self.fetcher.fetch(peer, transfer, [target, *others])
            await self._publish(path, digests, wanted, who, tags, stamp)
            await self.fetcher.forget(transfer)
        except (PeerError, DomainError, OSError) as exc:
            error = str(exc)
            if transfer is not None:
                await self.fetcher.set_state(transfer, "failed", error)
            await self._failed(peer, wanted, who, error)
            await self._report(peer, wanted, {"state": "failed", "error": error})
            raise

    async def _failed(self, peer: Peer, wanted: Wanted, who: Who, error: str) -> None:
        log.warning("replication of %s from %s failed: %s", wanted.filename, peer.name, error)
        async with self.db.transaction() as session:
            payload = events.ReplicationFailedPayload(
                filename=wanted.filename,
                sha256=wanted.sha256,
                size=wanted.size,
                peerId=peer.peer_id,
                error=error[:2000],
            )
            await emit(
                session,
                who,
                events.REPLICATION_FAILED,
                payload,
                subject=f"package:{wanted.filename}",
            )

    async def _stale(self, session: AsyncSession, wanted: Wanted, changed: Any) -> bool:
        """Whether this content was replaced here after the peer got it: an old change coming
        round a loop, not a new one."""
        if not isinstance(changed, str):
            return False
        parsed = parse_time(changed)
        if parsed is None:
            return False
        changed_at = parsed[0]
        superseded = await session.scalar(
            select(PackageHistory.superseded_at)
            .where(
                PackageHistory.filename == wanted.filename, PackageHistory.sha256 == wanted.sha256
            )
            .order_by(PackageHistory.superseded_at.desc())
            .limit(1)
        )
        return superseded is not None and superseded > changed_at

    async def _stored(self, session: AsyncSession, sha256: str) -> PackageBlob | None:
        blob = await session.scalar(select(PackageBlob).where(PackageBlob.sha256 == sha256))
        if blob is None or blob.quarantined_at is not None:
            return None
        storage = self.packages.storage
        return blob if await to_thread.run_sync(storage.stat, blob_key(sha256)) else None

    async def _tags(
        self,
        session: AsyncSession,
        peer: Peer,
        package: Package,
        tags: list[str],
        stamp: datetime | None,
    ) -> None:
        have = sorted(
            await session.scalars(select(PackageTag.tag).where(PackageTag.package_pk == package.pk))
        )
        if have != tags:  # only a real change: an equal one would bounce between sites
            await self.packages.catalog.update(
                package.filename, PackageEdit(tags=tags), who=Who(f"peer:{peer.name}"), at=stamp
            )

    # -- delete ------------------------------------------------------------------------------

    async def _tombstone(self, peer: Peer, filename: str, sha256: str) -> None:
        async with self.db.sessions() as session:
            current = await session.scalar(select(Package).where(Package.filename == filename))
        if current is None or current.sha256 != sha256:
            return  # gone already, or another content of the same name: never removed
        who = Who(f"peer:{peer.name}")
        await self.packages.catalog.delete(filename, who=who)
        async with self.db.transaction() as session:
            payload = events.PackageRemovedPayload(
                filename=filename, sha256=sha256, peerId=peer.peer_id
            )
            await emit(
                session, who, events.REPLICATION_REMOVED, payload, subject=f"package:{filename}"
            )
        wanted = Wanted(filename, sha256, current.size)
        await self._report(peer, wanted, {"state": "removed"})

    async def _report(self, peer: Peer, wanted: Wanted, state: dict[str, Any]) -> None:
        """Tell the peer how far this site got with its package; best effort."""
        body = {"filename": wanted.filename, "sha256": wanted.sha256, **state}
        try:
            await self.client.call(self.peers.target(peer), "POST", "/report", body)
        except PeerError as exc:
            log.info("could not report to %s: %s", peer.url, exc)


def _time(changed: Any) -> datetime | None:
    """A time as the change log writes it; None when there is none or it does not read."""
    parsed = parse_time(changed) if isinstance(changed, str) else None
    return parsed[0] if parsed is not None else None


def _older(changed: Any, than: datetime) -> bool:
    """Whether a peer's ``changed`` time (as the change log writes it) is before ``than``. Times
    are kept to the second, so a tie takes the peer's state, as does a peer that sent none."""
    parsed = _time(changed)
    return parsed is not None and parsed < than


def _digests_of(blob: PackageBlob) -> Digests:
    return Digests(
        size=blob.size,
        sha256=blob.sha256,
        md5=blob.md5,
        sha512=blob.sha512,
        chunk_size=blob.chunk_size,
        chunks=orjson.loads(blob.chunks),
    )
