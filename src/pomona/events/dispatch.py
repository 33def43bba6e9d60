"""The dispatcher: from committed events to deliveries, and from due deliveries to the queue.

Every process that runs the job queue calls :meth:`Dispatcher.pump` every
``webhook_poll_seconds``. It reads the events after the ``webhooks`` cursor, adds one delivery
per (event, matching endpoint) (a unique pair, so reading an event twice adds nothing), moves
the cursor with a conditional UPDATE (of several processes, one wins each step), then queues
the deliveries that are due. The database is the schedule: a task lost with its worker, or
queued on a queue that lost it, is queued again once its hold and its queueing have expired.

The cursor and the committed run it reads are :mod:`pomona.events.cursors`', shared with the
mail dispatcher.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from pomona.db import Database
from pomona.events import patterns
from pomona.events.cursors import OutboxReader, Overtaken
from pomona.events.endpoints import event_types_of
from pomona.events.models import Event, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("pomona.webhooks")

CURSOR = "webhooks"
BATCH = 500
BATCHES_PER_PUMP = 20
# A delivery queued this long ago and still not taken is queued again (its task was lost).
REQUEUE_AFTER = timedelta(seconds=120)


def wants(endpoint: WebhookEndpoint, event: Event) -> bool:
    return (
        endpoint.created_at <= event.at
        and (endpoint.namespace is None or endpoint.namespace == event.namespace)
        and patterns.matches_any(event_types_of(endpoint), event.type)
    )


class Dispatcher:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.reader = OutboxReader(CURSOR, batch=BATCH)

    async def pump(self) -> list[int]:
        """Dispatch new events, then take the due deliveries: their ids, to queue."""
        for _ in range(BATCHES_PER_PUMP):
            try:
                if not await self.dispatch():
                    break
            except (Overtaken, IntegrityError):
                break  # another process is dispatching these; its work stands
        return await self.due()

    async def dispatch(self) -> bool:
        """One batch of events; whether a full batch was read (more may be waiting)."""
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            reading = await self.reader.read(session)
            events = reading.events
            if not events:
                return False
            endpoints = list(
                await session.scalars(
                    select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
                )
            )
            if endpoints:
                pairs = await session.execute(
                    select(WebhookDelivery.event_pk, WebhookDelivery.endpoint_pk).where(
                        WebhookDelivery.event_pk.in_([e.pk for e in events])
                    )
                )
                existing = {(event_pk, endpoint_pk) for event_pk, endpoint_pk in pairs}
                session.add_all(
                    WebhookDelivery(
                        event_pk=event.pk,
                        endpoint_pk=endpoint.pk,
                        state="pending",
                        tries=0,
                        due_at=now,
                        created_at=now,
                    )
                    for event in events
                    for endpoint in endpoints
                    if (event.pk, endpoint.pk) not in existing and wants(endpoint, event)
                )
            await self.reader.move(session, reading)
        return reading.full and reading.moves

    async def due(self, limit: int = BATCH) -> list[int]:
        """The deliveries to send now (due, not held by a sender, not queued lately), marked
        queued."""
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            pks = list(
                await session.scalars(
                    select(WebhookDelivery.pk)
                    .join(WebhookEndpoint, WebhookEndpoint.pk == WebhookDelivery.endpoint_pk)
                    .where(
                        WebhookDelivery.state == "pending",
                        WebhookDelivery.due_at <= now,
                        WebhookEndpoint.enabled.is_(True),
                        or_(WebhookDelivery.held_until.is_(None), WebhookDelivery.held_until < now),
                        or_(
                            WebhookDelivery.queued_at.is_(None),
                            WebhookDelivery.queued_at < now - REQUEUE_AFTER,
                        ),
                    )
                    .order_by(WebhookDelivery.due_at, WebhookDelivery.pk)
                    .limit(limit)
                )
            )
            if pks:
                await session.execute(
                    update(WebhookDelivery).where(WebhookDelivery.pk.in_(pks)).values(queued_at=now)
                )
        return pks


__all__ = ["CURSOR", "Dispatcher", "wants"]
