"""The delivery log of an endpoint: each delivery with its attempts, and replay by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from pomona.audit.service import Who, record
from pomona.db import Database
from pomona.errors import NotFound
from pomona.events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

STATES = ("pending", "delivered", "failed")


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    delivery: WebhookDelivery
    event_id: str
    event_type: str
    attempts: list[WebhookAttempt]


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    items: list[DeliveryRecord]
    next_cursor: int | None


class DeliveryLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(
        self, endpoint: WebhookEndpoint, *, state: str | None, before: int | None, limit: int
    ) -> DeliveryPage:
        """Newest first; ``before`` is the cursor of the next page (a delivery's id)."""
        where = [WebhookDelivery.endpoint_pk == endpoint.pk]
        if state:
            where.append(WebhookDelivery.state == state)
        if before is not None:
            where.append(WebhookDelivery.pk < before)
        async with self.db.sessions() as session:
            found = await session.execute(
                select(WebhookDelivery, Event.event_id, Event.type)
                .join(Event, Event.pk == WebhookDelivery.event_pk)
                .where(*where)
                .order_by(WebhookDelivery.pk.desc())
                .limit(limit + 1)
            )
            rows = [(delivery, event_id, kind) for delivery, event_id, kind in found]
            more = len(rows) > limit
            rows = rows[:limit]
            attempts: dict[int, list[WebhookAttempt]] = {pk: [] for pk in (r[0].pk for r in rows)}
            if attempts:
                for attempt in await session.scalars(
                    select(WebhookAttempt)
                    .where(WebhookAttempt.delivery_pk.in_(list(attempts)))
                    .order_by(WebhookAttempt.pk)
                ):
                    attempts[attempt.delivery_pk].append(attempt)
        items = [DeliveryRecord(d, eid, etype, attempts[d.pk]) for d, eid, etype in rows]
        return DeliveryPage(items, items[-1].delivery.pk if more else None)

    async def replay(self, endpoint: WebhookEndpoint, delivery_pk: int, who: Who) -> None:
        """Send the delivery again now, from the start of the schedule, whatever its state."""
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(WebhookDelivery).where(
                    WebhookDelivery.pk == delivery_pk,
                    WebhookDelivery.endpoint_pk == endpoint.pk,
                )
            )
            if row is None:
                raise NotFound(
                    f"endpoint {endpoint.endpoint_id} has no delivery {delivery_pk}",
                    "/delivery_id",
                    "path",
                    code="webhook_delivery_not_found",
                )
            row.state, row.tries, row.due_at = "pending", 0, datetime.now(UTC)
            row.held_until = row.queued_at = None
            target = f"webhook:{endpoint.endpoint_id}"
            await record(session, who, "webhook.replay", target, f"delivery {delivery_pk}")


__all__ = ["STATES", "DeliveryLog", "DeliveryPage", "DeliveryRecord"]
