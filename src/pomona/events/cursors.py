"""Readers that follow the outbox and keep their place: the webhook dispatcher, the mail
dispatcher. Each has a named, durable cursor (``event_cursors``): the last event it has read.

Events are numbered when written but committed in any order, so a transaction still open may
commit an event below the last one read. A reader therefore handles every event it sees, but
moves its cursor only over the committed run: up to the first hole in the numbering younger than
:data:`GAP_WAIT` (an older hole is a rolled-back write's number, which never comes). Events past
the hole are seen again on the next read, so what a reader does with an event must be done once
whatever the number of reads (both dispatchers record one row per event and recipient, unique).
The cursor moves with a conditional UPDATE in the transaction of the reader's own work, so that
of several processes reading at once one wins each step and the others' work rolls back
(:class:`Overtaken`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.events.models import Event, EventCursor

GAP_WAIT = timedelta(seconds=30)


class Overtaken(Exception):
    """Another process moved the cursor first: this step's work is to be rolled back."""


def committed_run(position: int, rows: Sequence[Event], now: datetime) -> int:
    """Where the cursor may move, past ``rows`` (the events after ``position``, in order)."""
    for event in rows:
        if event.pk != position + 1 and event.at >= now - GAP_WAIT:
            break
        position = event.pk
    return position


@dataclass(frozen=True, slots=True)
class Reading:
    position: int  # where the cursor stood
    events: list[Event]  # every event seen after it
    to: int  # where the cursor moves once they are handled
    full: bool  # a whole batch was read: more may be waiting

    @property
    def moves(self) -> bool:
        return self.to != self.position


class OutboxReader:
    """A reader named ``name``. ``from_present``: a new cursor starts after the last event
    written (a mail dispatcher mails nobody the history); otherwise at the beginning."""

    def __init__(self, name: str, *, batch: int = 500, from_present: bool = False) -> None:
        self.name, self.batch, self.from_present = name, batch, from_present

    async def read(self, session: AsyncSession) -> Reading:
        cursor = await session.get(EventCursor, self.name)
        if cursor is None:
            start = 0
            if self.from_present:
                start = await session.scalar(select(func.max(Event.pk))) or 0
            # Two processes starting at once: one insert fails, and its step with it.
            session.add(EventCursor(name=self.name, position=start))
            await session.flush()
            if self.from_present:
                return Reading(start, [], start, False)
        position = cursor.position if cursor is not None else 0
        rows = list(
            await session.scalars(
                select(Event).where(Event.pk > position).order_by(Event.pk).limit(self.batch)
            )
        )
        to = committed_run(position, rows, datetime.now(UTC))
        return Reading(position, rows, to, len(rows) == self.batch)

    async def move(self, session: AsyncSession, reading: Reading) -> None:
        """To ``reading.to``, or :class:`Overtaken`."""
        if not reading.moves:
            return
        result = await session.execute(
            update(EventCursor)
            .where(EventCursor.name == self.name, EventCursor.position == reading.position)
            .values(position=reading.to)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Overtaken


__all__ = ["GAP_WAIT", "OutboxReader", "Overtaken", "Reading", "committed_run"]
