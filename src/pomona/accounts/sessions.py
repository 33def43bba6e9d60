"""Browser sessions: server-side records a cookie points at, revocable, listed, expiring.

A session ends at the first of: sign-out, revocation, its idle limit (no request for
``session_idle_minutes``), its absolute limit (``session_max_hours`` after sign-in), the person
being disabled or deleted. A directory person's session is checked against the directory every
``session_recheck_seconds``: gone from the directory, or left with no role, and it ends.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.accounts import roles
from pomona.accounts.directory import Directory, role_specs
from pomona.accounts.models import Account, AccountSession
from pomona.accounts.people import AccountService, row_of, set_grants
from pomona.accounts.values import NewSession, SessionCaller, SessionInfo
from pomona.audit.service import SYSTEM, Who, record
from pomona.db import Database, utcnow
from pomona.settings import Settings

# Recording every request would turn each read into a write; a minute's precision is enough.
_SEEN_PRECISION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        accounts: AccountService,
        directory: Directory | None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.accounts = accounts
        self.directory = directory

    async def open(
        self,
        session: AsyncSession,
        account: Account,
        via: str,
        *,
        client: str | None,
        user_agent: str | None,
    ) -> NewSession:
        """Open a session inside the sign-in's own transaction."""
        now = utcnow()
        secret = secrets.token_urlsafe(32)
        row = AccountSession(
            public_id=secrets.token_hex(8),
            secret_hash=_digest(secret),
            csrf_token=secrets.token_urlsafe(32),
            account_pk=account.pk,
            via=via,
            client=client[:255] if client else None,
            user_agent=user_agent[:255] if user_agent else None,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=self.settings.session_max_hours),
            checked_at=now,
        )
        session.add(row)
        await session.flush()
        return NewSession(_info(row, account.username), secret, row.csrf_token)

    async def resolve(self, secret: str) -> SessionCaller | None:
        """The person behind a cookie; None when the session is unknown or has ended."""
        now = utcnow()
        async with self.db.sessions() as session:
            found = (
                await session.execute(
                    select(AccountSession, Account)
                    .join(Account, Account.pk == AccountSession.account_pk)
                    .where(AccountSession.secret_hash == _digest(secret))
                )
            ).first()
        if found is None:
            return None
        row, account = found
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        if account.disabled or row.expires_at <= now or now - row.last_seen_at >= idle:
            await self._end(row.pk)
            return None
        recheck = timedelta(seconds=self.settings.session_recheck_seconds)
        # An OpenID Connect provider cannot be asked about a person who is not there to sign
        # in: their grants follow their groups at each sign-in, and the session lasts at most
        # session_max_hours. LDAP people are asked again every session_recheck_seconds.
        if account.source == "ldap" and now - row.checked_at >= recheck:
            if not await self._recheck(account):
                await self._end(row.pk)
                return None
            await self._touch(row.pk, last_seen_at=now, checked_at=now)
        elif now - row.last_seen_at >= _SEEN_PRECISION:
            await self._touch(row.pk, last_seen_at=now)
        via = "session" if row.via == "password" else row.via
        caller = await self.accounts.principal(account.username, via)
        if caller is None or not caller.scopes:
            await self._end(row.pk)
            return None
        return SessionCaller(caller, row.public_id, row.csrf_token)

    async def _recheck(self, account: Account) -> bool:
        """Ask the directory again; its grants follow the person's groups now. False: the
        person is gone from it (or no directory is configured any more)."""
        person = await self.directory.lookup(account.username) if self.directory else None
        if person is None:
            return False
        specs = role_specs(person.groups, self.settings.group_roles)
        async with self.db.transaction() as session:
            await set_grants(
                session, account.pk, [g.spec for g in roles.parse_all(specs)], account.source
            )
        return True

    async def _touch(self, pk: int, **values: datetime) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(AccountSession).where(AccountSession.pk == pk).values(values)
            )

    async def _end(self, pk: int) -> None:
        async with self.db.transaction() as session:
            await session.execute(delete(AccountSession).where(AccountSession.pk == pk))

    async def sign_out(self, secret: str, *, who: Who = SYSTEM) -> None:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(AccountSession).where(AccountSession.secret_hash == _digest(secret))
            )
            if row is None:
                return
            await session.delete(row)
            await record(session, who, "session.end", f"session:{row.public_id}")

    async def list_for(self, username: str) -> list[SessionInfo]:
        async with self.db.sessions() as session:
            account = await row_of(session, username)
            rows = await session.scalars(
                select(AccountSession)
                .where(AccountSession.account_pk == account.pk)
                .order_by(AccountSession.created_at.desc(), AccountSession.pk.desc())
            )
            return [_info(row, username) for row in rows]

    async def revoke_all(self, username: str, *, who: Who = SYSTEM) -> int:
        async with self.db.transaction() as session:
            account = await row_of(session, username)
            ended = await session.execute(
                delete(AccountSession).where(AccountSession.account_pk == account.pk)
            )
            count = int(getattr(ended, "rowcount", 0) or 0)
            await record(session, who, "session.revoke", f"user:{username}", f"{count} sessions")
            return count


def _info(row: AccountSession, username: str) -> SessionInfo:
    return SessionInfo(
        id=row.public_id,
        username=username,
        via=row.via,
        client=row.client,
        user_agent=row.user_agent,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )
