"""An event exists exactly when its change committed: emitted in a transaction that rolls back,
it leaves nothing; committed, it is one row with its type, actor, subject and payload. On every
database engine."""

from __future__ import annotations

import orjson
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import select

from pomona.audit.service import Who
from pomona.db import Database
from pomona.events.models import Event
from pomona.events.outbox import emit
from pomona.events.service import EventFilter, EventService
from pomona.events.types import EventType


class _Probe(BaseModel):
    name: str
    count: int


PROBE = EventType("probe.happened", "A probe happened.", _Probe)


async def _emit_then_fail(database: Database) -> None:
    try:
        async with database.transaction() as session:
            await emit(session, Who("bob"), PROBE, _Probe(name="b", count=2))
            raise RuntimeError("the change failed")
    except RuntimeError:
        return
    raise AssertionError("the transaction did not fail")


async def test_an_event_commits_with_its_change_and_rolls_back_with_it(app: FastAPI) -> None:
    database = app.state.services.db
    async with database.transaction() as session:
        kept = await emit(session, Who("alice"), PROBE, _Probe(name="a", count=1), subject="x:a")
    await _emit_then_fail(database)
    async with database.sessions() as session:
        rows = (await session.scalars(select(Event))).all()
    assert [(row.event_id, row.type, row.actor, row.subject) for row in rows] == [
        (kept, "probe.happened", "alice", "x:a")
    ]
    assert orjson.loads(rows[0].payload) == {"name": "a", "count": 1}
    assert kept.startswith("evt_")
    assert len(kept) == 36


def test_an_event_type_is_named_domain_dot_snake_case() -> None:
    with pytest.raises(ValueError, match=r"<domain>\.<snake_case>"):
        EventType("TitleCreated", "no domain", _Probe)
    assert PROBE.domain == "probe"
    assert PROBE.schema()["required"] == ["name", "count"]


async def test_a_payload_of_another_model_is_refused(app: FastAPI) -> None:
    class _Other(BaseModel):
        name: str

    async with app.state.services.db.sessions() as session:
        with pytest.raises(TypeError, match="takes _Probe"):
            await emit(session, Who("alice"), PROBE, _Other(name="a"))  # type: ignore[arg-type]


async def test_readers_page_through_committed_events_in_order(app: FastAPI) -> None:
    database = app.state.services.db
    for count in range(5):
        async with database.transaction() as session:
            await emit(session, Who("alice"), PROBE, _Probe(name="n", count=count))
    events, everything = EventService(database), EventFilter()
    first = await events.after(0, everything, limit=3)
    rest = await events.after(first[-1].pk, everything, limit=10)
    counts = [view.data["count"] for view in [*first, *rest]]
    assert counts == [0, 1, 2, 3, 4]
    assert await events.after(rest[-1].pk, everything, limit=10) == []
