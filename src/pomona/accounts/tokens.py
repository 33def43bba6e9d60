"""Personal API tokens: made by a person, with a subset of their own rights and an expiry.

The token keeps the scopes (and titles) it was given; at every use they are checked against the
owner's rights *now*, so a token stops working the moment its owner is disabled, deleted, or
loses a right the token carries. Only the SHA-256 of the secret is kept.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from pomona.accounts import roles
from pomona.accounts.models import Account, PersonalToken
from pomona.accounts.people import AccountService, row_of
from pomona.accounts.values import PersonalTokenInfo
from pomona.audit.service import SYSTEM, Who, record
from pomona.auth.scopes import Principal
from pomona.auth.service import hash_secret, token_problems
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from pomona.titles.schemas import ID_PATTERN

PREFIX = "pmp_"
MAX_DAYS = 366
_LAST_USED_PRECISION = timedelta(minutes=1)


class PersonalTokens:
    def __init__(self, db: Database, accounts: AccountService) -> None:
        self.db = db
        self.accounts = accounts

    async def create(
        self,
        owner: Principal,
        name: str,
        scopes: Sequence[str],
        *,
        titles: Sequence[str] | None,
        expires_at: datetime,
        who: Who = SYSTEM,
    ) -> tuple[PersonalTokenInfo, str]:
        assert owner.user is not None, "a personal token belongs to a person"
        problems = _check(name, scopes, titles, expires_at)
        if problems:
            raise Invalid(problems)
        wanted = frozenset(titles) if titles is not None else None
        if roles.narrow(owner, scopes, wanted) is None:
            beyond = roles.exceeding(owner, scopes)
            held = ", ".join(sorted(owner.scopes))
            what = f"the scopes {', '.join(beyond)}" if beyond else "those titles"
            raise Forbidden(
                f"a personal token cannot carry more than you hold: you do not hold {what}; "
                f"you hold {held}"
                + (f" on the titles {', '.join(sorted(owner.titles))}" if owner.titles else ""),
                "/scopes",
                code="token_exceeds_owner",
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        try:
            async with self.db.transaction() as session:
                account = await row_of(session, owner.user)
                row = PersonalToken(
                    account_pk=account.pk,
                    name=name,
                    token_hash=hash_secret(secret),
                    scopes=" ".join(sorted(set(scopes))),
                    titles=orjson.dumps(sorted(wanted)).decode() if wanted is not None else None,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
                session.add(row)
                await session.flush()
                target = f"user:{owner.user}/token:{name}"
                detail = f"scopes: {row.scopes}; expires {expires_at:%Y-%m-%d %H:%M} UTC"
                await record(session, who, "user.token_create", target, detail)
        except IntegrityError:
            raise Conflict(
                f"you have a token named '{name}'; pick another name or delete it first",
                "/name",
                code="token_name_taken",
            ) from None
        return _info(row), secret

    async def list_for(self, username: str) -> list[PersonalTokenInfo]:
        async with self.db.sessions() as session:
            account = await row_of(session, username)
            rows = await session.scalars(
                select(PersonalToken)
                .where(PersonalToken.account_pk == account.pk)
                .order_by(PersonalToken.name)
            )
            return [_info(row) for row in rows]

    async def delete(self, username: str, name: str, *, who: Who = SYSTEM) -> None:
        if not re.fullmatch(ID_PATTERN, name):  # a name no token can have
            raise _no_token(name)
        async with self.db.transaction() as session:
            account = await row_of(session, username)
            gone = await session.execute(
                delete(PersonalToken).where(
                    PersonalToken.account_pk == account.pk, PersonalToken.name == name
                )
            )
            if not getattr(gone, "rowcount", 0):
                raise _no_token(name)
            await record(session, who, "user.token_delete", f"user:{username}/token:{name}")

    async def authenticate(self, secret: str) -> Principal | None:
        """The token's rights, within its owner's current ones; None when it is unknown,
        expired, or asks for more than its owner now holds."""
        now = utcnow()
        async with self.db.sessions() as session:
            found = (
                await session.execute(
                    select(PersonalToken, Account.username)
                    .join(Account, Account.pk == PersonalToken.account_pk)
                    .where(PersonalToken.token_hash == hash_secret(secret))
                )
            ).first()
        if found is None:
            return None
        row, username = found
        if row.expires_at <= now:
            return None
        via = f"token:{row.name}"
        owner = await self.accounts.principal(username, via)
        if owner is None:
            return None
        titles = frozenset(orjson.loads(row.titles)) if row.titles is not None else None
        effective = roles.narrow(owner, row.scopes.split(), titles, user=username, via=via)
        if effective is None:
            return None
        if row.last_used_at is None or now - row.last_used_at >= _LAST_USED_PRECISION:
            async with self.db.transaction() as session:
                await session.execute(
                    update(PersonalToken).where(PersonalToken.pk == row.pk).values(last_used_at=now)
                )
        return effective


def _no_token(name: str) -> NotFound:
    return NotFound(f"you have no token named {name!r}", "/name", "path", code="token_not_found")


def _check(
    name: str, scopes: Sequence[str], titles: Sequence[str] | None, expires_at: datetime
) -> list[Problem]:
    problems = token_problems(name, scopes, titles)
    now = utcnow()
    if expires_at <= now or expires_at > now + timedelta(days=MAX_DAYS):
        problems.append(
            Problem("/expiresAt", f"give an expiry in the future, at most {MAX_DAYS} days away")
        )
    return problems


def _info(row: PersonalToken) -> PersonalTokenInfo:
    return PersonalTokenInfo(
        name=row.name,
        scopes=row.scopes.split(),
        titles=orjson.loads(row.titles) if row.titles is not None else None,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )
