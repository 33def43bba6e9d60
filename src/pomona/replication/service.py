"""The replication domain, composed of its parts; knows no HTTP.

- :class:`~pomona.replication.peers.PeerService`: invitations, pairing, keys, the check of
  every signed request from a peer;
- :class:`~pomona.replication.changes.ChangeLog`: what each peer may see of this site's
  packages, and what it reports back;
- :class:`~pomona.replication.receiving.Receiver` with its
  :class:`~pomona.replication.transfer.Fetcher`: applying a peer's changes here.

The methods that talk to a peer run in queued tasks (:mod:`.tasks`), never in a request.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select

from pomona.audit.service import Who
from pomona.db import Database, utcnow
from pomona.errors import Conflict
from pomona.packages.models import PackageEvent
from pomona.packages.service import PackageService
from pomona.replication.changes import ChangeLog
from pomona.replication.client import PeerClient, PeerError, Target
from pomona.replication.models import Offer, Peer, Transfer
from pomona.replication.peers import PeerService
from pomona.replication.receiving import Receiver
from pomona.replication.throttle import Buckets
from pomona.replication.transfer import Fetcher
from pomona.replication.values import Holding, PeerInfo
from pomona.settings import Settings

log = logging.getLogger("pomona.replication")


def peer_unreachable(error: str) -> Conflict:
    return Conflict(f"the peer could not be reached: {error}", code="peer_unreachable")


@dataclass(frozen=True, slots=True)
class ReplicationService:
    db: Database
    settings: Settings
    peers: PeerService
    changes: ChangeLog
    client: PeerClient
    receiver: Receiver

    @classmethod
    def build(
        cls, db: Database, settings: Settings, packages: PackageService
    ) -> ReplicationService:
        peers = PeerService(db, settings)
        client = PeerClient(settings)
        fetcher = Fetcher(db, settings, client, Buckets(settings.replication_rate_limit))
        receiver = Receiver(db, settings, peers, client, fetcher, packages)
        return cls(db, settings, peers, ChangeLog(db), client, receiver)

    # -- the parts that talk to peers (run by tasks) -------------------------------------------

    async def join(self, code_text: str, who: Who) -> PeerInfo:
        """Complete a pairing on the inviting site, then record it here."""
        code = self.peers.read_code(code_text)
        body, own_id, key = self.peers.join_request(code)
        target = Target(code.url, code.invitation_id, key)
        try:
            answer = await self.client.call(target, "POST", "/pair", body)
        except PeerError as exc:
            raise peer_unreachable(str(exc)) from None
        return await self.peers.joined(code, own_id, key, answer, who)

    async def tell_unpaired(self, peer_id: str) -> None:
        """Tell the peer this site ended the pairing; best effort (it learns on its next call
        otherwise, which is refused)."""
        peer = await self.peers.row(peer_id)
        try:
            await self.client.call(self.peers.target(peer), "POST", "/unpair", {})
        except PeerError as exc:
            log.info("could not tell %s of the unpairing: %s", peer.url, exc)

    async def rotate(self, peer_id: str, who: Who) -> PeerInfo:
        """Agree a new key with the peer (asked with the current one), then use it here."""
        peer = await self.peers.row(peer_id)
        if peer.state != "paired":
            raise Conflict("the peer is not paired", code="peer_unpaired")
        salt = secrets.token_hex(16)
        try:
            await self.client.call(self.peers.target(peer), "POST", "/rotate", {"salt": salt})
        except PeerError as exc:
            raise peer_unreachable(str(exc)) from None
        return PeerInfo.of(await self.peers.rotate(peer_id, salt, who))

    async def announce(self) -> dict[str, Any]:
        """Tell every paired peer that can be reached that this site's change log moved."""
        told, failed = 0, 0
        for peer in await self.peers.paired():
            if not peer.notify:
                continue
            try:
                await self.client.call(self.peers.target(peer), "POST", "/notify", {})
            except PeerError as exc:
                failed += 1
                await self.peers.reached(peer, str(exc))
                continue
            told += 1
            await self.peers.reached(peer, None)
        return {"told": told, "failed": failed}

    # -- status ------------------------------------------------------------------------------

    async def holdings(self, filename: str) -> list[Holding]:
        """Per peer, whether it has ``filename``: offered from here, or fetched from it."""
        found: list[Holding] = []
        async with self.db.sessions() as session:
            offers = await session.execute(
                select(Offer, Peer)
                .join(Peer, Peer.pk == Offer.peer_pk)
                .where(Offer.filename == filename)
            )
            for offer, peer in offers:
                found.append(
                    Holding(
                        peer.peer_id,
                        peer.name,
                        "to",
                        offer.state,
                        offer.sha256,
                        offer.received,
                        None,
                        offer.rate,
                        offer.last_error,
                        offer.updated_at,
                    )
                )
            transfers = await session.execute(
                select(Transfer, Peer)
                .join(Peer, Peer.pk == Transfer.peer_pk)
                .where(Transfer.filename == filename)
            )
            for transfer, peer in transfers:
                found.append(
                    Holding(
                        peer.peer_id,
                        peer.name,
                        "from",
                        transfer.state,
                        transfer.sha256,
                        transfer.received,
                        transfer.size,
                        transfer.rate,
                        transfer.last_error,
                        transfer.updated_at,
                    )
                )
        return found

    async def overview(self) -> dict[str, Any]:
        """Queues and lag: per peer, transfers from it and offers to it not yet done."""
        now = utcnow()
        async with self.db.sessions() as session:
            head = await session.scalar(select(func.max(PackageEvent.pk))) or 0
            peers = list(await session.scalars(select(Peer).order_by(Peer.name, Peer.pk)))
            transfers = list(
                await session.scalars(select(Transfer).where(Transfer.state != "done"))
            )
            offers = list(
                await session.scalars(select(Offer).where(Offer.state.notin_(("done", "removed"))))
            )
        result = []
        for peer in peers:
            incoming = [t for t in transfers if t.peer_pk == peer.pk]
            outgoing = [o for o in offers if o.peer_pk == peer.pk]
            oldest = min((o.updated_at for o in outgoing), default=None)
            result.append(
                {
                    "peer": PeerInfo.of(peer),
                    "incoming": incoming,
                    "outgoing": outgoing,
                    "lagSeconds": int((now - oldest).total_seconds()) if oldest else 0,
                    "cursor": peer.cursor,
                }
            )
        return {"changeLogHead": head, "peers": result}

    @staticmethod
    def stages_of(peer: Peer) -> list[str]:
        found: list[str] = orjson.loads(peer.stages)
        return found
