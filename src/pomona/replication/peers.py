"""Peers: invitations, pairing, listing, unpairing, key rotation, and the check every request
from a peer passes (its signature and nonce).

Nothing here talks to another host: what the pairing needs from the other side is asked by the
queued tasks (:mod:`.tasks`) through :mod:`.client`, and handed in.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import socket
import uuid
from datetime import timedelta
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Gone, Invalid, NotFound, Unauthenticated
from pomona.events.outbox import emit
from pomona.events.types import EventType
from pomona.replication import events
from pomona.replication.client import Target
from pomona.replication.invitations import (
    Code,
    new_secret,
    pair_key,
    read_code,
    rotated_key,
    secret_hash,
)
from pomona.replication.models import Invitation, Nonce, Peer
from pomona.replication.signing import Refused, key_id_of, verify
from pomona.replication.throttle import check_window
from pomona.replication.values import Invited, PeerEdit, PeerInfo
from pomona.settings import Settings

log = logging.getLogger("pomona.replication")


def peer_not_found(peer_id: str) -> NotFound:
    return NotFound(f"no peer '{peer_id}'", "/peer_id", "path", code="peer_not_found")


def invitation_gone() -> Gone:
    return Gone(
        "this invitation was used or has expired; ask for a new one "
        "(`pomona peers invite` on the inviting site)",
        "/invitation",
        code="invitation_gone",
    )


def refused(reason: str) -> Unauthenticated:
    return Unauthenticated(
        f"the peer request is refused: {reason}", "/signature", "header", code="peer_refused"
    )


class PeerService:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.skew = timedelta(seconds=settings.replication_clock_skew_seconds)

    # -- this site -------------------------------------------------------------------------

    @property
    def site_name(self) -> str:
        return self.settings.replication_site_name or socket.gethostname()

    @property
    def site_url(self) -> str:
        url = self.settings.replication_site_url or self.settings.public_url
        if not url:
            raise Conflict(
                "this site has no URL its peers can reach it at: set replication_site_url "
                "(or public_url), then invite again",
                code="site_url_missing",
            )
        return url.rstrip("/")

    def introduction(self) -> dict[str, Any]:
        """What this site tells a peer about itself when pairing."""
        return {
            "name": self.site_name,
            "stages": self.settings.replication_stages,
            "firewalled": self.settings.replication_firewalled,
        }

    # -- invitations and pairing --------------------------------------------------------------

    async def invite(self, who: Who, hours: float | None = None) -> Invited:
        url = self.site_url
        secret = new_secret()
        now = utcnow()
        row = Invitation(
            invitation_id=uuid.uuid4().hex,
            secret_hash=secret_hash(secret),
            created_by=who.actor[:255],
            created_at=now,
            expires_at=now + timedelta(hours=hours or self.settings.replication_invitation_hours),
        )
        async with self.db.transaction() as session:
            session.add(row)
            line = (
                f"invitation {row.invitation_id}, valid until {row.expires_at:%Y-%m-%d %H:%M} UTC"
            )
            await record(session, who, "peer.invite", f"invitation:{row.invitation_id}", line)
        return Invited(Code(url, row.invitation_id, secret).text(), row.expires_at)

    def read_code(self, text: str) -> Code:
        return read_code(text)

    async def accept(
        self, method: str, url: str, headers: dict[str, str], body: bytes, client: str | None
    ) -> dict[str, Any]:
        """The inviting side of a pairing: check the invitation and the request signed with the
        key derived from it, record the peer, answer with this site's side."""
        try:
            asked = orjson.loads(body)
            invitation_id, secret, salt = asked["invitation"], asked["secret"], asked["salt"]
            remote_id, name, peer_url = asked["peerId"], asked["name"], asked["url"]
            stages, firewalled = asked.get("stages", []), bool(asked.get("firewalled", False))
            if not all(isinstance(v, str) for v in (invitation_id, secret, salt, remote_id, name)):
                raise TypeError
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise Invalid("not a pairing request", code="pairing_invalid") from None
        now = utcnow()
        async with self.db.sessions() as session:
            found = await session.scalar(
                select(Invitation).where(Invitation.invitation_id == invitation_id)
            )
        good = found is not None and hmac.compare_digest(found.secret_hash, secret_hash(secret))
        if found is None or not good:
            log.warning("pairing refused from %s: unknown invitation or wrong secret", client)
            raise refused("unknown invitation")
        if found.used_at is not None or found.expires_at < now:
            log.warning("pairing refused from %s: invitation used or expired", client)
            raise invitation_gone()
        key = pair_key(secret, salt)
        await self._check_signature(method, url, headers, body, [key], client)
        async with self.db.transaction() as session:
            claimed = await session.execute(
                update(Invitation)
                .where(Invitation.pk == found.pk, Invitation.used_at.is_(None))
                .values(used_at=now)
            )
            if cast(CursorResult[Any], claimed).rowcount != 1:  # used meanwhile
                raise invitation_gone()
            peer = self._new_peer(remote_id, name, peer_url, key, stages, not firewalled)
            session.add(peer)
            await session.flush()
            await self._paired(session, Who.of(f"peer:{name}", client), peer)
        return {"peerId": peer.peer_id, **self.introduction()}

    def _new_peer(
        self, remote_id: str, name: str, url: str, key: str, stages: list[str], notify: bool
    ) -> Peer:
        now = utcnow()
        return Peer(
            peer_id=uuid.uuid4().hex,
            remote_id=remote_id[:32],
            name=str(name)[:255],
            url=str(url)[:1000],
            key=key,
            key_rotated_at=now,
            state="paired",
            remote_state="paired",
            stages=orjson.dumps(sorted({str(s) for s in stages})).decode(),
            notify=notify,
            rate_limit=0,
            cursor=0,
            created_at=now,
            last_seen_at=now,
            reachable=True,
        )

    def join_request(self, code: Code) -> tuple[dict[str, Any], str, str]:
        """The joining side's request body, its own id for the inviting site, and the pair key."""
        salt, own_id = secrets.token_hex(16), uuid.uuid4().hex
        body = {
            "invitation": code.invitation_id,
            "secret": code.secret,
            "salt": salt,
            "peerId": own_id,
            "url": self.site_url,
            **self.introduction(),
        }
        return body, own_id, pair_key(code.secret, salt)

    async def joined(
        self, code: Code, own_id: str, key: str, answer: dict[str, Any], who: Who
    ) -> PeerInfo:
        """Record the inviting site once it accepted the pairing."""
        try:
            remote_id, name = str(answer["peerId"]), str(answer["name"])
            stages = [str(s) for s in answer.get("stages", [])]
        except (KeyError, TypeError):
            raise Invalid("the inviting site answered no pairing", code="pairing_invalid") from None
        peer = self._new_peer(remote_id, name, code.url, key, stages, True)
        peer.peer_id = own_id
        async with self.db.transaction() as session:
            session.add(peer)
            await session.flush()
            await self._paired(session, who, peer)
        return PeerInfo.of(peer)

    async def _paired(self, session: AsyncSession, who: Who, peer: Peer) -> None:
        line = f"paired with {peer.name} at {peer.url}"
        await record(session, who, "peer.pair", f"peer:{peer.peer_id}", line)
        await self._emit(session, who, events.PEER_PAIRED, peer)

    async def _emit(
        self, session: AsyncSession, who: Who, kind: EventType[Any], peer: Peer, **more: Any
    ) -> None:
        payload = kind.payload(peerId=peer.peer_id, name=peer.name, url=peer.url, **more)
        await emit(session, who, kind, payload, subject=f"peer:{peer.peer_id}")

    # -- reads -----------------------------------------------------------------------------

    async def all(self) -> list[PeerInfo]:
        async with self.db.sessions() as session:
            rows = await session.scalars(select(Peer).order_by(Peer.name, Peer.pk))
            return [PeerInfo.of(r) for r in rows]

    async def row(self, peer_id: str) -> Peer:
        async with self.db.sessions() as session:
            found = await session.scalar(select(Peer).where(Peer.peer_id == peer_id))
        if found is None:
            raise peer_not_found(peer_id)
        return found

    async def paired(self) -> list[Peer]:
        async with self.db.sessions() as session:
            return list(await session.scalars(select(Peer).where(Peer.state == "paired")))

    def target(self, peer: Peer) -> Target:
        return Target(peer.url, peer.remote_id, peer.key)

    # -- writes ----------------------------------------------------------------------------

    async def unpair(self, peer_id: str, who: Who, *, by_peer: bool = False) -> Peer:
        """End the pairing on this side (``by_peer``: the peer ended it on its side)."""
        async with self.db.transaction() as session:
            peer = await session.scalar(select(Peer).where(Peer.peer_id == peer_id))
            if peer is None:
                raise peer_not_found(peer_id)
            if by_peer:
                peer.remote_state = "unpaired"
            peer.state = "unpaired"
            peer.poll_token = None
            line = "unpaired by the peer" if by_peer else "unpaired"
            await record(session, who, "peer.unpair", f"peer:{peer_id}", line)
            await self._emit(session, who, events.PEER_UNPAIRED, peer)
            return peer

    async def remove(self, peer_id: str, who: Who) -> None:
        """Forget an unpaired peer, with its transfers and offers."""
        async with self.db.transaction() as session:
            peer = await session.scalar(select(Peer).where(Peer.peer_id == peer_id))
            if peer is None:
                raise peer_not_found(peer_id)
            await session.delete(peer)
            await record(session, who, "peer.remove", f"peer:{peer_id}", peer.name)

    async def rotate(self, peer_id: str, salt: str, who: Who) -> Peer:
        """Replace the pair's key by one derived from it and ``salt``; the old one is accepted
        until the clock skew has passed, for requests already on their way."""
        async with self.db.transaction() as session:
            peer = await session.scalar(select(Peer).where(Peer.peer_id == peer_id))
            if peer is None:
                raise peer_not_found(peer_id)
            peer.previous_key, peer.key = peer.key, rotated_key(peer.key, salt)
            peer.key_rotated_at = utcnow()
            await record(session, who, "peer.rotate", f"peer:{peer_id}", "key rotated")
            await self._emit(session, who, events.PEER_KEY_ROTATED, peer)
            return peer

    async def edit(self, peer_id: str, edit: PeerEdit, who: Who) -> PeerInfo:
        if edit.window is not None:
            check_window(edit.window)
        async with self.db.transaction() as session:
            peer = await session.scalar(select(Peer).where(Peer.peer_id == peer_id))
            if peer is None:
                raise peer_not_found(peer_id)
            changes = []
            if edit.rate_limit is not None:
                peer.rate_limit = edit.rate_limit
                changes.append(f"rate limit {edit.rate_limit} B/s")
            if edit.window is not None or edit.clear_window:
                peer.window = None if edit.clear_window else edit.window
                changes.append(f"window {peer.window or 'none'}")
            if edit.notify is not None:
                peer.notify = edit.notify
                changes.append(f"notify {'on' if edit.notify else 'off'}")
            if changes:
                await record(session, who, "peer.update", f"peer:{peer_id}", "; ".join(changes))
                await self._emit(session, who, events.PEER_UPDATED, peer)
            await session.flush()
            return PeerInfo.of(peer)

    async def set_stages(self, peer: Peer, stages: list[str]) -> None:
        """The stages a peer accepts, as it says on each request for the change log."""
        value = orjson.dumps(sorted(set(stages))).decode()
        if value == peer.stages:
            return
        async with self.db.transaction() as session:
            found = await session.get(Peer, peer.pk)
            if found is not None:
                found.stages = value
                line = f"accepts {', '.join(sorted(set(stages))) or 'every stage'}"
                await record(
                    session, Who(f"peer:{peer.name}"), "peer.stages", f"peer:{peer.peer_id}", line
                )
        peer.stages = value

    async def reached(self, peer: Peer, error: str | None) -> None:
        """Record whether the last request to the peer went through; the first failure after a
        success is a ``peer.unreachable`` event."""
        async with self.db.transaction() as session:
            found = await session.get(Peer, peer.pk)
            if found is None:
                return
            if error is None:
                found.reachable, found.last_seen_at = True, utcnow()
                return
            found.last_error = error[:2000]
            if found.reachable:
                found.reachable = False
                log.warning("peer %s (%s) is unreachable: %s", found.name, found.url, error)
                who = Who("system")
                await record(session, who, "peer.unreachable", f"peer:{found.peer_id}", error)
                await self._emit(session, who, events.PEER_UNREACHABLE, found, error=error[:2000])

    # -- the check of every request from a peer ----------------------------------------------

    async def authenticate(
        self, method: str, url: str, headers: dict[str, str], body: bytes, client: str | None
    ) -> Peer:
        """The paired peer that signed this request; refused (and logged, with the reason) when
        the signature is missing, wrong, stale, replayed, or by a peer no longer paired."""
        key_id = key_id_of(headers)
        async with self.db.sessions() as session:
            peer = None
            if key_id is not None:
                peer = await session.scalar(select(Peer).where(Peer.peer_id == key_id))
        if peer is None or peer.state != "paired":
            reason = "no signature" if key_id is None else f"unknown or unpaired key {key_id}"
            log.warning("peer request refused from %s: %s (%s %s)", client, reason, method, url)
            raise refused(reason)
        keys = [peer.key]
        if peer.previous_key and utcnow() - peer.key_rotated_at < self.skew:
            keys.append(peer.previous_key)
        await self._check_signature(method, url, headers, body, keys, client)
        async with self.db.transaction() as session:
            found = await session.get(Peer, peer.pk)
            if found is not None:
                found.last_seen_at, found.remote_state = utcnow(), "paired"
        return peer

    async def _check_signature(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        keys: list[str],
        client: str | None,
    ) -> None:
        """Verify the signature, then remember its nonce in a transaction of its own: the
        unique key refuses the second of two identical requests, even at the same instant."""
        try:
            signed = verify(method, url, headers, body, [bytes.fromhex(k) for k in keys], self.skew)
        except Refused as exc:
            log.warning("peer request refused from %s: %s (%s %s)", client, exc, method, url)
            raise refused(str(exc)) from None
        now = utcnow()
        try:
            async with self.db.transaction() as session:
                session.add(
                    Nonce(key_id=signed.key_id, nonce=signed.nonce, expires_at=now + 2 * self.skew)
                )
                if secrets.randbelow(64) == 0:  # now and then, forget nonces past their time
                    await session.execute(delete(Nonce).where(Nonce.expires_at < now))
        except IntegrityError:
            log.warning("peer request refused from %s: replayed nonce (%s %s)", client, method, url)
            raise refused("the request was replayed (its nonce was seen before)") from None
