"""The dispatcher: reads committed events after a durable cursor, matches them to people's
subscriptions (and admins' default failures), and records one delivery per (event, person).

At least once, and once in normal operation: the deliveries and the cursor's advance commit
together, with a unique (event, person) pair, so a dispatcher run again or in two processes at
once queues nothing twice; the send task marks each delivery sent.

Events are numbered in the order their rows were inserted, not committed: a transaction still
open may commit an event below the last one read. So the cursor stops before a hole in the
numbering until the hole is :data:`GAP_GRACE` old (then it is a rolled-back transaction's
number, never to be filled).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona import wildcards
from pomona.accounts.models import Account, AccountGrant
from pomona.db import Database, utcnow
from pomona.events.models import Event
from pomona.notifications.models import (
    NotificationCursor,
    NotificationDelivery,
    NotificationSubscription,
)

log = logging.getLogger("pomona.notifications")

CURSOR = "mail"
BATCH = 500
GAP_GRACE = timedelta(seconds=60)
# Which of several matching subscriptions decides: the most immediate; one that is ``off``
# silences the event for its person, whatever else matches.
_URGENCY = {"immediate": 0, "hourly": 1, "daily": 2}


@dataclass(frozen=True, slots=True)
class Wish:
    account_pk: int
    pattern: str
    namespace: str | None
    mode: str


@dataclass(frozen=True, slots=True)
class Dispatched:
    read: int  # events read
    immediate: list[int]  # deliveries to mail now
    recorded: int  # deliveries recorded (immediate, digest and skipped)


class Dispatcher:
    def __init__(self, db: Database, admin_defaults: list[str]) -> None:
        self.db, self.admin_defaults = db, admin_defaults

    async def run(self) -> Dispatched:
        async with self.db.transaction() as session:
            cursor = await session.get(NotificationCursor, CURSOR)
            if cursor is None:
                # The first run starts at the present: nobody is mailed the whole history.
                last = await session.scalar(select(func.max(Event.pk)))
                session.add(
                    NotificationCursor(name=CURSOR, position=last or 0, updated_at=utcnow())
                )
                return Dispatched(0, [], 0)
            start = cursor.position
            rows = list(
                await session.scalars(
                    select(Event).where(Event.pk > start).order_by(Event.pk).limit(BATCH)
                )
            )
            events = _committed_run(rows, start)
            if not events:
                return Dispatched(0, [], 0)
            deliveries = await self._match(session, events)
            moved = await session.execute(
                update(NotificationCursor)
                .where(NotificationCursor.name == CURSOR, NotificationCursor.position == start)
                .values(position=events[-1].pk, updated_at=utcnow())
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                await session.rollback()  # another dispatcher read these: it records them
                return Dispatched(0, [], 0)
        immediate = [d.pk for d in deliveries if d.mode == "immediate" and d.skipped is None]
        return Dispatched(len(events), immediate, len(deliveries))

    async def _wishes(self, session: AsyncSession) -> tuple[list[Wish], dict[int, Account]]:
        people = {
            a.pk: a
            for a in await session.scalars(select(Account).where(Account.disabled.is_(False)))
        }
        subscribed = await session.scalars(select(NotificationSubscription))
        wishes = [
            Wish(s.account_pk, s.pattern, s.namespace, s.mode)
            for s in subscribed
            if s.account_pk in people
        ]
        if self.admin_defaults:
            admins = await session.scalars(
                select(AccountGrant.account_pk).where(AccountGrant.spec == "admin")
            )
            for pk in set(admins) & set(people):
                wishes += [Wish(pk, p, None, "immediate") for p in self.admin_defaults]
        return wishes, people

    async def _match(
        self, session: AsyncSession, events: list[Event]
    ) -> list[NotificationDelivery]:
        wishes, people = await self._wishes(session)
        done = {
            (e, a)
            for e, a in await session.execute(
                select(NotificationDelivery.event_pk, NotificationDelivery.account_pk).where(
                    NotificationDelivery.event_pk.in_([e.pk for e in events])
                )
            )
        }
        now = utcnow()
        added: list[NotificationDelivery] = []
        for event in events:
            chosen: dict[int, Wish] = {}
            muted: set[int] = set()
            for wish in wishes:
                if wish.namespace is not None and wish.namespace != event.namespace:
                    continue
                if not wildcards.matches(wish.pattern, event.type):
                    continue
                if wish.mode == "off":
                    muted.add(wish.account_pk)
                    continue
                held = chosen.get(wish.account_pk)
                if held is None or _URGENCY[wish.mode] < _URGENCY[held.mode]:
                    chosen[wish.account_pk] = wish
            for account_pk, wish in chosen.items():
                if (event.pk, account_pk) in done or account_pk in muted:
                    continue
                person = people[account_pk]
                skipped = None if person.email else "no email address"
                if skipped:
                    log.info(
                        "notification of %s (%s) to %s skipped: %s; set one to be mailed",
                        event.type,
                        event.event_id,
                        person.username,
                        skipped,
                    )
                delivery = NotificationDelivery(
                    event_pk=event.pk,
                    account_pk=account_pk,
                    mode=wish.mode,
                    reason=wish.pattern,
                    queued_at=now,
                    sent_at=now if skipped else None,
                    skipped=skipped,
                )
                session.add(delivery)
                added.append(delivery)
        await session.flush()
        return added


def _committed_run(rows: list[Event], start: int) -> list[Event]:
    """The events to read now: up to the first hole in the numbering that is younger than
    :data:`GAP_GRACE` (its transaction may still commit)."""
    taken: list[Event] = []
    expected = start + 1
    recent = utcnow() - GAP_GRACE
    for event in rows:
        if event.pk != expected and event.at > recent:
            break
        taken.append(event)
        expected = event.pk + 1
    return taken
