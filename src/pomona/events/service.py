"""Reading the event log: the list with its filters and cursor, the stream's polls, and the
pruning of old events.

The stream polls the table (``pk`` greater than the last one sent) rather than listening on an
in-memory bus: events are written by every process (web, workers), and one indexed query per
second per open stream costs less than a bus shared across processes would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, delete, select

from pomona.db import Database, utcnow
from pomona.events import patterns
from pomona.events.models import Event

# Events deleted per statement when pruning: short transactions on a big table.
PRUNE_BATCH = 500


@dataclass(frozen=True, slots=True)
class ReadLimit:
    """What a reader limited to namespaces or titles (a publisher, a token for some titles)
    may read of the event log: those titles' events, and none of the other domains' (packages,
    peers, Jamf Pro), which belong to the whole site. None in a field: no limit there. Held in
    two forms, for the query of the API and for the mail dispatcher, which reads events once
    for everyone."""

    namespaces: frozenset[str] | None = None
    titles: frozenset[str] | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.namespaces is not None:
            found.append(Event.namespace.in_(sorted(self.namespaces)))
        if self.titles is not None:
            found.append(Event.subject.in_([f"title:{t}" for t in sorted(self.titles)]))
        return found

    def allows(self, namespace: str | None, subject: str | None) -> bool:
        if self.namespaces is not None and namespace not in self.namespaces:
            return False
        return self.titles is None or subject in {f"title:{t}" for t in self.titles}


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a reader wants. ``types`` are patterns (``title.*``); ``subject`` ending in
    ``*`` matches as a prefix (``title:*``)."""

    types: Sequence[str] = ()
    subject: str | None = None
    namespace: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: ReadLimit = field(default_factory=ReadLimit)  # the reader's own

    def check(self) -> None:
        patterns.check(self.types, "/type", "query")

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.types:
            found.append(patterns.where(Event.type, self.types))
        if self.subject:
            if self.subject.endswith("*"):
                prefix = self.subject[:-1].replace("!", "!!").replace("%", "!%")
                found.append(Event.subject.like(prefix.replace("_", "!_") + "%", escape="!"))
            else:
                found.append(Event.subject == self.subject)
        if self.namespace:
            found.append(Event.namespace == self.namespace)
        if self.since is not None:
            found.append(Event.at >= self.since)
        if self.until is not None:
            found.append(Event.at <= self.until)
        return found + self.limit.conditions()


@dataclass(frozen=True, slots=True)
class EventView:
    """An event as readers get it: the Standard Webhooks payload and its place in the log."""

    pk: int
    id: str
    type: str
    at: datetime
    actor: str
    subject: str | None
    namespace: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, row: Event) -> EventView:
        data = orjson.loads(row.payload)
        return cls(
            row.pk, row.event_id, row.type, row.at, row.actor, row.subject, row.namespace, data
        )


@dataclass(frozen=True, slots=True)
class EventPage:
    items: list[EventView]
    next_cursor: int | None  # the ``after`` of the next page; None: this is the last


class EventService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, wanted: EventFilter, *, after: int = 0, limit: int = 50) -> EventPage:
        """Oldest first from ``after`` (a ``pk``), ``limit`` at most: a cursor never skips nor
        repeats an event, however many are written meanwhile."""
        wanted.check()
        items = await self.after(after, wanted, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return EventPage(items, items[-1].pk if more else None)

    async def after(self, after: int, wanted: EventFilter, *, limit: int) -> list[EventView]:
        """The events after ``after`` that ``wanted`` takes, oldest first."""
        async with self.db.sessions() as session:
            rows = await session.scalars(
                select(Event)
                .where(Event.pk > after, *wanted.conditions())
                .order_by(Event.pk)
                .limit(limit)
            )
            return [EventView.of(row) for row in rows]

    async def last(self) -> int:
        """The ``pk`` of the newest event (0: none): where a stream with no history starts."""
        async with self.db.sessions() as session:
            found = await session.scalar(select(Event.pk).order_by(Event.pk.desc()).limit(1))
        return found or 0

    async def prune(self, retention_days: int) -> int:
        """Delete events older than ``retention_days`` (0: keep them all); how many went. Their
        webhook deliveries go with them."""
        if retention_days <= 0:
            return 0
        cutoff = utcnow() - timedelta(days=retention_days)
        removed = 0
        while True:
            async with self.db.transaction() as session:
                pks = list(
                    await session.scalars(
                        select(Event.pk)
                        .where(Event.at < cutoff)
                        .order_by(Event.pk)
                        .limit(PRUNE_BATCH)
                    )
                )
                if not pks:
                    return removed
                await session.execute(delete(Event).where(Event.pk.in_(pks)))
                removed += len(pks)
