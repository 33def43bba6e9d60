"""API tokens: created with a random secret shown once, stored as its SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from pomona.audit.service import SYSTEM, Who, record
from pomona.auth.models import ApiToken
from pomona.auth.scopes import SCOPES, Principal
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Invalid, NotFound, Problem
from pomona.titles.namespaces import namespace_limit_problems
from pomona.titles.schemas import ID_PATTERN

TOKEN_PREFIX = "pmn_"  # noqa: S105  (a marker that makes leaked tokens greppable)
# Recording every use would turn each read into a write; a minute's precision is enough.
_LAST_USED_PRECISION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    scopes: list[str]
    titles: list[str] | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    namespaces: list[str] | None = None  # None: every namespace


class TokenService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        name: str,
        scopes: Sequence[str],
        *,
        titles: Sequence[str] | None = None,
        expires_at: datetime | None = None,
        who: Who = SYSTEM,
        namespaces: Sequence[str] | None = None,
    ) -> tuple[TokenInfo, str]:
        """Create a token; returns it with its secret, which is never shown again.

        ``who`` is the creator, for the audit log (the secret never goes there).
        """
        problems = token_problems(name, scopes, titles)
        problems += namespace_limit_problems(scopes, namespaces)
        if problems:
            raise Invalid(problems)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(
            name=name,
            token_hash=hash_secret(secret),
            scopes=" ".join(sorted(set(scopes))),
            titles=orjson.dumps(sorted(set(titles))).decode() if titles is not None else None,
            namespaces=(
                orjson.dumps(sorted(set(namespaces))).decode() if namespaces is not None else None
            ),
            created_at=utcnow(),
            expires_at=expires_at,
        )
        try:
            async with self.db.transaction() as session:
                session.add(row)
                # Flushed first so that a taken name fails before the audit row is added.
                await session.flush()
                await record(session, who, "token.create", f"token:{name}", _summary(row))
        except IntegrityError:
            raise Conflict(
                f"a token named '{name}' exists; pick another name, or revoke the old one with "
                f"`pomona token revoke {name}`",
                "/name",
            ) from None
        return _info(row), secret

    async def list_tokens(self) -> list[TokenInfo]:
        async with self.db.sessions() as session:
            return [
                _info(r) for r in await session.scalars(select(ApiToken).order_by(ApiToken.name))
            ]

    async def revoke(self, name: str, *, who: Who = SYSTEM) -> None:
        async with self.db.transaction() as session:
            row = await session.scalar(select(ApiToken).where(ApiToken.name == name))
            if row is None:
                raise NotFound(f"no token named '{name}'; `pomona token list` shows the names")
            await session.delete(row)
            await record(session, who, "token.revoke", f"token:{name}", _summary(row))

    async def authenticate(self, secret: str) -> Principal | None:
        digest = hash_secret(secret)
        async with self.db.sessions() as session:
            row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
            if row is None:
                return None
            now = utcnow()
            if row.expires_at is not None and row.expires_at <= now:
                return None
            if row.last_used_at is None or now - row.last_used_at >= _LAST_USED_PRECISION:
                await session.execute(
                    update(ApiToken).where(ApiToken.pk == row.pk).values(last_used_at=now)
                )
                await session.commit()
            titles = frozenset(orjson.loads(row.titles)) if row.titles is not None else None
            spaces = frozenset(orjson.loads(row.namespaces)) if row.namespaces is not None else None
            return Principal(f"token:{row.name}", frozenset(row.scopes.split()), titles, spaces)


def token_problems(name: str, scopes: Sequence[str], titles: Sequence[str] | None) -> list[Problem]:
    """Every problem of a token's name, scopes and titles (service and personal tokens)."""
    problems = []
    if not re.fullmatch(ID_PATTERN, name):
        problems.append(Problem("/name", "use letters, digits, '.', '_' and '-' (1 to 255)"))
    if not scopes:
        problems.append(Problem("/scopes", f"give at least one scope: {', '.join(SCOPES)}"))
    for index, scope in enumerate(scopes):
        if scope not in SCOPES:
            problems.append(
                Problem(f"/scopes/{index}", f"unknown scope '{scope}'; known: {', '.join(SCOPES)}")
            )
    if titles is not None:
        if "admin" in scopes:
            problems.append(Problem("/titles", "an admin token cannot be limited to titles"))
        for index, title_id in enumerate(titles):
            if not re.fullmatch(ID_PATTERN, title_id):
                problems.append(
                    Problem(f"/titles/{index}", f"'{title_id}' is not a valid title id")
                )
    return problems


def _summary(row: ApiToken) -> str:
    """For the audit log: ``scopes: admin; expires 2027-01-01 00:00 UTC``."""
    line = f"scopes: {row.scopes}"
    if row.titles is not None:
        line += f"; titles: {', '.join(orjson.loads(row.titles))}"
    if row.namespaces is not None:
        line += f"; namespaces: {', '.join(orjson.loads(row.namespaces))}"
    if row.expires_at is not None:
        line += f"; expires {row.expires_at:%Y-%m-%d %H:%M} UTC"
    return line


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        name=row.name,
        scopes=row.scopes.split(),
        titles=orjson.loads(row.titles) if row.titles is not None else None,
        namespaces=orjson.loads(row.namespaces) if row.namespaces is not None else None,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )
