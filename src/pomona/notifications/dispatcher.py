"""The dispatcher: reads committed events after a durable cursor, matches them to people's
subscriptions (and admins' default failures), and records one delivery per (event, person).

At least once, and once in normal operation: the deliveries and the cursor's advance commit
together, with a unique (event, person) pair, so a dispatcher run again or in two processes at
once queues nothing twice; the send task marks each delivery sent.

The cursor (``mail``) and the committed run it reads are :mod:`pomona.events.cursors`', shared
with the webhook dispatcher; a new one starts at the present, so nobody is mailed the history.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona import wildcards
from pomona.accounts.models import Account, AccountGrant
from pomona.accounts.roles import parse_all, principal
from pomona.db import Database, utcnow
from pomona.errors import Invalid
from pomona.events.cursors import OutboxReader, Overtaken
from pomona.events.models import Event
from pomona.events.service import ReadLimit
from pomona.notifications.models import NotificationDelivery, NotificationSubscription

log = logging.getLogger("pomona.notifications")

CURSOR = "mail"
# Which of several matching subscriptions decides: the most immediate; one that is ``off``
# silences the event for its person, whatever else matches.
_URGENCY = {"immediate": 0, "hourly": 1, "daily": 2}


@dataclass(frozen=True, slots=True)
class Wish:
    account_pk: int
    pattern: str
    namespace: str | None
    mode: str
    limit: ReadLimit  # the person's own: a publisher is mailed about their namespaces only


@dataclass(frozen=True, slots=True)
class Dispatched:
    read: int  # events read
    immediate: list[int]  # deliveries to mail now
    recorded: int  # deliveries recorded (immediate, digest and skipped)


class Dispatcher:
    def __init__(self, db: Database, admin_defaults: list[str]) -> None:
        self.db, self.admin_defaults = db, admin_defaults

    async def run(self) -> Dispatched:
        reader = OutboxReader(CURSOR, from_present=True)
        try:
            async with self.db.transaction() as session:
                reading = await reader.read(session)
                if not reading.events:
                    return Dispatched(0, [], 0)
                deliveries = await self._match(session, reading.events)
                await reader.move(session, reading)
        except Overtaken:
            return Dispatched(0, [], 0)  # another dispatcher read these: it records them
        immediate = [d.pk for d in deliveries if d.mode == "immediate" and d.skipped is None]
        return Dispatched(len(reading.events), immediate, len(deliveries))

    async def _wishes(self, session: AsyncSession) -> tuple[list[Wish], dict[int, Account]]:
        people = {
            a.pk: a
            for a in await session.scalars(select(Account).where(Account.disabled.is_(False)))
        }
        specs: dict[int, list[str]] = defaultdict(list)
        for pk, spec in await session.execute(select(AccountGrant.account_pk, AccountGrant.spec)):
            specs[pk].append(spec)
        limits = {pk: _limit(a.username, specs[pk]) for pk, a in people.items()}
        subscribed = await session.scalars(select(NotificationSubscription))
        wishes = [
            Wish(s.account_pk, s.pattern, s.namespace, s.mode, limits[s.account_pk])
            for s in subscribed
            if s.account_pk in people
        ]
        if self.admin_defaults:
            admins = {pk for pk in people if "admin" in specs[pk]}
            for pk in admins:
                wishes += [Wish(pk, p, None, "immediate", ReadLimit()) for p in self.admin_defaults]
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
                if not wish.limit.allows(event.namespace, event.subject):
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


def _limit(username: str, specs: list[str]) -> ReadLimit:
    """The namespaces and titles a person's roles limit them to, as when they call the API
    (:func:`~pomona.accounts.roles.principal`); roles that no longer read (stored before a rule
    changed) are read as no access at all, and logged."""
    try:
        found = principal(username, parse_all(specs))
    except Invalid:
        log.warning("the roles of %s cannot be read: %s", username, ", ".join(specs))
        return ReadLimit(frozenset(), frozenset())
    return ReadLimit(found.namespaces, found.titles)
