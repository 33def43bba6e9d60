"""Reading the event log: committed events in the order they committed, after a cursor."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from pomona.db import Database
from pomona.events.models import Event


class EventService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def after(self, cursor: int, limit: int = 100) -> Sequence[Event]:
        """Up to ``limit`` events with a ``pk`` above ``cursor``, oldest first: what a reader
        that has seen everything up to ``cursor`` reads next."""
        async with self.db.sessions() as session:
            query = select(Event).where(Event.pk > cursor).order_by(Event.pk).limit(limit)
            return (await session.scalars(query)).all()


__all__ = ["EventService"]
