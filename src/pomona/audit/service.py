"""The audit log: who wrote what, from where, and when.

Every domain records its writes with :func:`record`, inside the transaction of the write itself,
so the log and the data can never disagree: a write that rolls back leaves no audit row, and a
write that commits always has one.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.models import AuditEvent
from pomona.db import Database, utcnow
from pomona.ops.logs import request_id

_DETAIL_MAX = 4000


@dataclass(frozen=True, slots=True)
class Who:
    """The caller of a write: a principal name, the token it used, the client's address, and
    for a person how they signed in (``session``, ``token:NAME``, ``ldap``)."""

    actor: str
    token: str | None = None
    client: str | None = None
    via: str | None = None

    @classmethod
    def of(cls, actor: str, client: str | None = None, via: str | None = None) -> Who:
        """``token:NAME`` principals carry their token's name, and so do people calling with a
        personal token (``via="token:NAME"``); others (sessions, CLI, system) none."""
        used = via if via and via.startswith("token:") else actor
        token = used.removeprefix("token:") if used.startswith("token:") else None
        return cls(actor, token, client, via)

    @classmethod
    def command_line(cls) -> Who:
        """The operator of a server-side command: ``cli:<os user>``, with no network address."""
        try:
            user = getpass.getuser()
        except (OSError, KeyError):  # no login name and no passwd entry (some containers)
            user = "unknown"
        return cls(f"cli:{user}")


# Writes nobody asked for over the API or the CLI: test fixtures and internal set-up.
SYSTEM = Who("system")


async def record(
    session: AsyncSession,
    who: Who,
    action: str,
    target: str,
    detail: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Add one audit row to the caller's transaction.

    ``action`` is ``<domain>.<verb>`` (``title.create``, ``package.delete``, ``token.revoke``);
    ``target`` names what was written (``title:Firefox``, ``package:App.pkg``). The row carries
    the id of the HTTP request being answered, if any (``pomona.ops.logs``).
    """
    session.add(
        AuditEvent(
            at=at or utcnow(),
            actor=who.actor[:255],
            token_name=who.token[:255] if who.token else None,
            client=who.client[:255] if who.client else None,
            via=who.via[:255] if who.via else None,
            action=action[:64],
            target=target[:255],
            detail=detail[:_DETAIL_MAX] if detail else None,
            request_id=request_id(),
        )
    )


@dataclass(frozen=True, slots=True)
class AuditPage:
    items: list[AuditEvent]
    total: int


class AuditService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> AuditPage:
        """Newest first. ``action`` and ``target`` ending in ``*`` match as prefixes."""
        where = []
        if actor:
            where.append(AuditEvent.actor == actor)
        for column, value in ((AuditEvent.action, action), (AuditEvent.target, target)):
            if value is None:
                continue
            if value.endswith("*"):
                prefix = value[:-1].replace("!", "!!").replace("%", "!%").replace("_", "!_")
                where.append(column.like(prefix + "%", escape="!"))
            else:
                where.append(column == value)
        if since is not None:
            where.append(AuditEvent.at >= since)
        if until is not None:
            where.append(AuditEvent.at <= until)
        async with self.db.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*where))
            rows = await session.scalars(
                select(AuditEvent)
                .where(*where)
                .order_by(AuditEvent.pk.desc())
                .offset(offset)
                .limit(limit)
            )
            return AuditPage(list(rows), total or 0)
