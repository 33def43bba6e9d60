"""Email notifications: subscriptions (:mod:`.subscriptions`), the dispatcher
(:mod:`.dispatcher`), and sending: one mail per event, or one digest per person and period.

Mail goes through the same SMTP sender as sign-up and password reset
(:func:`pomona.accounts.mail.send`). Sending is at least once: a delivery is marked sent after
the SMTP server took it, so a worker lost in between sends that one mail again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from pomona.accounts import mail as smtp
from pomona.accounts.mail import Mail
from pomona.accounts.models import Account
from pomona.db import Database, utcnow
from pomona.events.models import Event
from pomona.notifications import messages
from pomona.notifications.dispatcher import Dispatched, Dispatcher
from pomona.notifications.models import NotificationDelivery
from pomona.notifications.subscriptions import SubscriptionService
from pomona.settings import Settings

log = logging.getLogger("pomona.notifications")

Mailer = Callable[[Mail], Awaitable[None]]


def digest_due(mode: str, now: datetime, daily_hour: int) -> datetime:
    """The start of the current period: deliveries queued before it are due in a digest."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    if mode == "hourly":
        return hour
    today = hour.replace(hour=daily_hour)
    return today if now >= today else today - timedelta(days=1)


class NotificationService:
    def __init__(self, db: Database, settings: Settings, mailer: Mailer | None = None) -> None:
        self.db, self.settings = db, settings
        self.subscriptions = SubscriptionService(db)
        self.dispatcher = Dispatcher(db, settings.notification_admin_defaults)
        self._mailer = mailer

    @property
    def enabled(self) -> bool:
        """Mail needs an SMTP server; without one, nothing is recorded or sent."""
        return bool(self.settings.smtp_host)

    async def _send(self, mail: Mail) -> None:
        if self._mailer is not None:
            await self._mailer(mail)
        else:
            await smtp.send(self.settings, mail)

    async def dispatch(self) -> Dispatched:
        if not self.enabled:
            return Dispatched(0, [], 0)
        return await self.dispatcher.run()

    async def send(self, delivery_pk: int) -> dict[str, Any]:
        """Mail one event to one person, unless it was mailed (or skipped) already."""
        async with self.db.sessions() as session:
            found = (
                await session.execute(
                    select(NotificationDelivery, Account, Event)
                    .join(Account, Account.pk == NotificationDelivery.account_pk)
                    .join(Event, Event.pk == NotificationDelivery.event_pk, isouter=True)
                    .where(NotificationDelivery.pk == delivery_pk)
                )
            ).first()
        if found is None or found[0].sent_at is not None:
            return {"delivery": delivery_pk, "skipped": "sent already, or removed"}
        delivery, person, event = found
        if event is None or not person.email:
            why = "the event was pruned" if event is None else "no email address"
            log.info("notification %d to %s skipped: %s", delivery_pk, person.username, why)
            await self._mark([delivery_pk], skipped=why)
            return {"delivery": delivery_pk, "skipped": why}
        await self._send(
            messages.one_event(self.settings.public_url, person.email, event, delivery.reason)
        )
        await self._mark([delivery_pk])
        return {"delivery": delivery_pk, "to": person.email, "event": event.event_id}

    async def digests(self, now: datetime | None = None) -> dict[str, int]:
        """Send every digest due: per person and period, one mail listing the events queued
        before the period began."""
        now = now or utcnow()
        sent = 0
        for mode in ("hourly", "daily"):
            due = digest_due(mode, now, self.settings.notification_daily_hour)
            async with self.db.sessions() as session:
                rows = (
                    await session.execute(
                        select(NotificationDelivery, Account, Event)
                        .join(Account, Account.pk == NotificationDelivery.account_pk)
                        .join(Event, Event.pk == NotificationDelivery.event_pk)
                        .where(
                            NotificationDelivery.mode == mode,
                            NotificationDelivery.sent_at.is_(None),
                            NotificationDelivery.queued_at < due,
                        )
                        .order_by(NotificationDelivery.account_pk, Event.pk)
                    )
                ).all()
            people: dict[int, tuple[Account, list[int], list[Event]]] = {}
            for delivery, person, event in rows:
                _, pks, events = people.setdefault(person.pk, (person, [], []))
                pks.append(delivery.pk)
                events.append(event)
            for person, pks, events in people.values():
                if not person.email:
                    await self._mark(pks, skipped="no email address")
                    continue
                await self._send(
                    messages.digest(self.settings.public_url, person.email, events, mode)
                )
                await self._mark(pks)
                sent += 1
        return {"digests": sent}

    async def _mark(self, pks: list[int], skipped: str | None = None) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(NotificationDelivery)
                .where(NotificationDelivery.pk.in_(pks), NotificationDelivery.sent_at.is_(None))
                .values(sent_at=utcnow(), skipped=skipped)
            )


__all__ = ["NotificationService", "digest_due"]
