"""Mail subscriptions: a person's own, and (for admins) anybody's. Every write is audited and
emits its event in its own transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona import wildcards
from pomona.accounts.models import Account
from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Invalid, NotFound
from pomona.events.outbox import emit
from pomona.notifications.events import (
    SUBSCRIPTION_CREATED,
    SUBSCRIPTION_DELETED,
    SubscriptionChanged,
)
from pomona.notifications.models import NotificationSubscription

MAX_PER_PERSON = 100


@dataclass(frozen=True, slots=True)
class Subscriptions:
    """A person's subscriptions, and where their mail goes."""

    username: str
    email: str | None
    items: list[NotificationSubscription]


async def _account(session: AsyncSession, username: str) -> Account:
    found = await session.scalar(select(Account).where(Account.username == username))
    if found is None:
        raise NotFound(f"nobody is named '{username}'", "/name", "path", code="account_not_found")
    return found


class SubscriptionService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list_for(self, username: str) -> Subscriptions:
        async with self.db.sessions() as session:
            account = await _account(session, username)
            rows = await session.scalars(
                select(NotificationSubscription)
                .where(NotificationSubscription.account_pk == account.pk)
                .order_by(NotificationSubscription.pk)
            )
            return Subscriptions(account.username, account.email, list(rows))

    async def add(
        self, username: str, pattern: str, namespace: str | None, mode: str, who: Who
    ) -> NotificationSubscription:
        if not wildcards.valid(pattern):
            raise Invalid(
                "an event type, or a pattern with '*' (letters, digits, '.', '_')",
                "/pattern",
                code="notification_pattern_invalid",
            )
        async with self.db.transaction() as session:
            account = await _account(session, username)
            mine = NotificationSubscription.account_pk == account.pk
            count = await session.scalar(select(func.count()).where(mine))
            if (count or 0) >= MAX_PER_PERSON:
                raise Invalid(
                    f"at most {MAX_PER_PERSON} subscriptions a person; use wildcards",
                    "/pattern",
                    code="notification_too_many",
                )
            same = await session.scalar(
                select(NotificationSubscription).where(
                    mine,
                    NotificationSubscription.pattern == pattern,
                    NotificationSubscription.namespace.is_(None)
                    if namespace is None
                    else NotificationSubscription.namespace == namespace,
                )
            )
            if same is not None:
                raise Conflict(
                    f"'{username}' is subscribed to '{pattern}' already (id {same.pk}); "
                    "remove it to change its mode",
                    "/pattern",
                    code="notification_exists",
                )
            row = NotificationSubscription(
                account_pk=account.pk,
                pattern=pattern,
                namespace=namespace,
                mode=mode,
                created_at=utcnow(),
            )
            session.add(row)
            await session.flush()
            await self._written(session, who, username, row, "create")
        return row

    async def delete(self, username: str, subscription: int, who: Who) -> None:
        async with self.db.transaction() as session:
            account = await _account(session, username)
            row = await session.scalar(
                select(NotificationSubscription).where(
                    NotificationSubscription.pk == subscription,
                    NotificationSubscription.account_pk == account.pk,
                )
            )
            if row is None:
                raise NotFound(
                    f"'{username}' has no subscription {subscription}",
                    "/subscription",
                    "path",
                    code="notification_not_found",
                )
            await session.delete(row)
            await self._written(session, who, username, row, "delete")

    @staticmethod
    async def _written(
        session: AsyncSession, who: Who, username: str, row: NotificationSubscription, verb: str
    ) -> None:
        target = f"notification:{username}/{row.pk}"
        await record(session, who, f"notification.subscription_{verb}", target, row.pattern)
        payload = SubscriptionChanged(
            username=username,
            id=row.pk,
            pattern=row.pattern,
            namespace=row.namespace,
            mode=row.mode,
        )
        kind = SUBSCRIPTION_CREATED if verb == "create" else SUBSCRIPTION_DELETED
        await emit(session, who, kind, payload, subject=f"account:{username}")
