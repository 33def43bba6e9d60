"""Jamf Pro connections: where a server is and how to sign in to it. Secrets are sealed before
they are stored and never handed out; every write is audited and emits its event."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Invalid, NotFound, Problem
from pomona.events.outbox import emit
from pomona.jamf import events
from pomona.jamf.client import JamfClient, Login, TokenCache
from pomona.jamf.models import JamfConnection, JamfPush, JamfRule
from pomona.jamf.secret_box import SecretBox
from pomona.jamf.values import ConnectionEdit, ConnectionInfo, HashType
from pomona.net import FetchPolicy, check_url
from pomona.settings import Settings

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy.from_settings(
        settings.fetch_allowed_networks,
        timeout=settings.jamf_timeout_seconds,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
    )


def connection_not_found(name: str) -> NotFound:
    return NotFound(
        f"no Jamf Pro connection '{name}'; `pomona jamf connections` lists them",
        "/connection",
        code="jamf_connection_not_found",
    )


def _info(row: JamfConnection) -> ConnectionInfo:
    return ConnectionInfo(
        row.name,
        row.url,
        "client" if row.auth == "client" else "user",
        row.principal,
        "MD5" if row.hash_type == "MD5" else "SHA_512",
        row.created_at,
        row.updated_at,
    )


def _url(url: str) -> str:
    """The server's base URL as stored: scheme and host (and port, and a path prefix), no
    trailing slash, no query."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise Invalid(
            f"'{url[:200]}' is not the URL of a Jamf Pro server, such as "
            "https://example.jamfcloud.com",
            "/url",
            code="jamf_url_invalid",
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


class Connections:
    def __init__(self, db: Database, settings: Settings, tokens: TokenCache) -> None:
        self.db = db
        self.settings = settings
        self.box = SecretBox(settings)
        self.tokens = tokens

    async def _row(self, session: AsyncSession, name: str) -> JamfConnection:
        row = await session.scalar(select(JamfConnection).where(JamfConnection.name == name))
        if row is None:
            raise connection_not_found(name)
        return row

    async def list(self) -> list[ConnectionInfo]:
        async with self.db.sessions() as session:
            rows = await session.scalars(select(JamfConnection).order_by(JamfConnection.name))
            return [_info(r) for r in rows]

    async def get(self, name: str) -> ConnectionInfo:
        async with self.db.sessions() as session:
            return _info(await self._row(session, name))

    async def login(self, name: str) -> Login:
        async with self.db.sessions() as session:
            row = await self._row(session, name)
        return Login(row.url, _info(row).auth, row.principal, self.box.open(row.secret))

    async def client(self, name: str) -> JamfClient:
        """A client of the named server; use it as ``async with``."""
        return JamfClient(
            await self.login(name),
            self.tokens,
            fetch_policy(self.settings),
            self.settings.jamf_timeout_seconds,
        )

    async def create(
        self,
        name: str,
        url: str,
        auth: str,
        principal: str,
        secret: str,
        hash_type: HashType,
        *,
        who: Who,
    ) -> ConnectionInfo:
        problems = []
        if not NAME.match(name):
            problems.append(
                Problem(
                    "/name",
                    "a connection's name is 1 to 64 lower-case letters, digits, '-' and '_', "
                    "starting with a letter or digit",
                    code="jamf_connection_name_invalid",
                )
            )
        try:
            url = _url(url)
        except Invalid as exc:
            problems += exc.problems
        if problems:
            raise Invalid(problems)
        await check_url(url, fetch_policy(self.settings))
        now = utcnow()
        async with self.db.transaction() as session:
            taken = await session.scalar(select(JamfConnection).where(JamfConnection.name == name))
            if taken is not None:
                raise Conflict(
                    f"a connection named '{name}' exists; edit it, or choose another name",
                    "/name",
                    code="jamf_connection_exists",
                )
            row = JamfConnection(
                name=name,
                url=url,
                auth=auth,
                principal=principal,
                secret=self.box.seal(secret),
                hash_type=hash_type,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await record(session, who, "jamf.connection.create", f"jamf:{name}", f"{url} ({auth})")
            await emit(
                session,
                who,
                events.CONNECTION_CREATED,
                events.ConnectionPayload(connection=name, url=url, auth=auth),
                subject=f"jamf:{name}",
            )
        return _info(row)

    async def update(self, name: str, edit: ConnectionEdit, *, who: Who) -> ConnectionInfo:
        url = _url(edit.url) if edit.url is not None else None
        if url is not None:
            await check_url(url, fetch_policy(self.settings))
        async with self.db.transaction() as session:
            row = await self._row(session, name)
            changed = []
            for column, value in (
                ("url", url),
                ("auth", edit.auth),
                ("principal", edit.principal),
                ("hash_type", edit.hash_type),
            ):
                if value is not None and getattr(row, column) != value:
                    setattr(row, column, value)
                    changed.append(column)
            if edit.secret is not None:
                row.secret = self.box.seal(edit.secret)
                changed.append("secret")
            if changed:
                row.updated_at = utcnow()
                await record(
                    session, who, "jamf.connection.update", f"jamf:{name}", ", ".join(changed)
                )
                await emit(
                    session,
                    who,
                    events.CONNECTION_UPDATED,
                    events.ConnectionPayload(connection=name, url=row.url, auth=row.auth),
                    subject=f"jamf:{name}",
                )
            return _info(row)

    async def delete(self, name: str, *, who: Who) -> None:
        async with self.db.transaction() as session:
            row = await self._row(session, name)
            busy = await session.scalar(
                select(JamfPush.push_id).where(
                    JamfPush.connection == name, JamfPush.status.in_(("queued", "running"))
                )
            )
            if busy is not None:
                raise Conflict(
                    f"push {busy} to '{name}' has not finished; wait for it, then delete",
                    "/connection",
                    code="jamf_connection_busy",
                )
            for rule in await session.scalars(select(JamfRule).where(JamfRule.connection == name)):
                await session.delete(rule)
            await session.delete(row)
            await record(session, who, "jamf.connection.delete", f"jamf:{name}", row.url)
            await emit(
                session,
                who,
                events.CONNECTION_DELETED,
                events.ConnectionPayload(connection=name, url=row.url, auth=row.auth),
                subject=f"jamf:{name}",
            )
