"""Writing events: :func:`emit` adds one to the caller's transaction.

The event is a row in the same transaction as the change it describes, so it exists exactly
when the change committed: a write that rolls back leaves no event, and a crash after the commit
loses none. Delivery (webhooks, chat, mail) reads the table afterwards, never the caller.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who
from pomona.db import utcnow
from pomona.events.models import Event
from pomona.events.types import EventType, P


def new_event_id() -> str:
    """``evt_`` and 32 hex digits: unique, opaque, and the idempotency key of every delivery."""
    return f"evt_{uuid.uuid4().hex}"


async def emit(
    session: AsyncSession,
    who: Who,
    event_type: EventType[P],
    payload: P,
    *,
    subject: str | None = None,
    namespace: str | None = None,
) -> str:
    """Add an event of ``event_type`` to the caller's transaction and return its id.

    ``payload`` must be an instance of the type's model: the type checker and this check keep
    each event to its documented shape.
    """
    if not isinstance(payload, event_type.payload):
        raise TypeError(f"{event_type.name} takes {event_type.payload.__name__}")
    event_id = new_event_id()
    session.add(
        Event(
            event_id=event_id,
            type=event_type.name,
            at=utcnow(),
            actor=who.actor[:255],
            subject=subject[:255] if subject else None,
            namespace=namespace,
            payload=payload.model_dump_json(by_alias=True),
        )
    )
    return event_id


__all__ = ["emit", "new_event_id"]
