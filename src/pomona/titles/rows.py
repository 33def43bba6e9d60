"""Title rows and their revisions, read and written inside the service's transactions.

Every write transaction starts with :func:`bump_generation` (see ``service``); the helpers here
assume the caller holds that transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import record
from pomona.db import utcnow
from pomona.errors import Conflict, NotFound, PreconditionFailed, Problem
from pomona.times import format_time, parse_time
from pomona.titles.history import TitleState
from pomona.titles.models import FeedState, Title, TitleRevision
from pomona.titles.records import Actor, TitleRecord
from pomona.titles.schemas import SoftwareTitle


def canonical(document: dict[str, Any]) -> str:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


def revision_dict(revision: TitleRevision) -> dict[str, Any]:
    """A revision as backups keep it."""
    return {
        "number": revision.number,
        "action": revision.action,
        "summary": revision.summary,
        "actor": revision.actor,
        "reason": revision.reason,
        "createdAt": format_time(revision.created_at),
        "definition": parse_document(revision.document),
        "state": TitleState.load(revision.state).as_dict() if revision.document else None,
    }


async def find_title(session: AsyncSession, title_id: str) -> Title | None:
    return await session.scalar(select(Title).where(Title.title_id == title_id))


async def bump_generation(session: AsyncSession) -> int:
    await session.execute(
        update(FeedState).where(FeedState.pk == 1).values(generation=FeedState.generation + 1)
    )
    generation = await session.scalar(select(FeedState.generation).where(FeedState.pk == 1))
    assert generation is not None, "feed_state is seeded by the first migration"
    return generation


async def next_revision_number(session: AsyncSession, title_id: str) -> int:
    # Numbering continues across a delete, so a re-created title keeps one unbroken history.
    current = await session.scalar(
        select(func.max(TitleRevision.number)).where(TitleRevision.title_id == title_id)
    )
    return (current or 0) + 1


def moment_after(previous: datetime) -> datetime:
    """Now, or a second after ``previous`` if that is not earlier.

    Times are kept to the second (Jamf's format), so two writes within one second would show the
    same ``lastModified``; a client comparing it would miss the second write.
    """
    now = utcnow()
    return now if now > previous else previous + timedelta(seconds=1)


def title_record(row: Title) -> TitleRecord:
    title = SoftwareTitle.model_validate(orjson.loads(row.document), strict=False)
    return TitleRecord(title, row.revision, row.created_at)


def check_revision(row: Title, if_revision: int | None) -> None:
    if if_revision is not None and if_revision != row.revision:
        raise PreconditionFailed(
            f"'{row.title_id}' is at revision {row.revision}, not {if_revision}; "
            "fetch it again and reapply your change",
        )


def new_row(title_id: str, now: datetime) -> Title:
    return Title(title_id=title_id, created_at=now, revision=0)


def parse_document(text: str | None) -> dict[str, Any] | None:
    return orjson.loads(text) if text is not None else None


def jamf_time(moment: datetime) -> str:
    return format_time(moment)


def clip(text: str) -> str:
    return text if len(text) <= 1024 else text[:1023] + "…"


async def write_tombstone(session: AsyncSession, row: Title, actor: Actor) -> None:
    now = moment_after(row.last_modified)
    session.add(
        TitleRevision(
            title_id=row.title_id,
            number=await next_revision_number(session, row.title_id),
            action="delete",
            summary="deleted",
            actor=actor.name,
            reason=actor.reason,
            created_at=now,
            document=None,
            state=None,
        )
    )
    await record(session, actor.who, "title.delete", f"title:{row.title_id}", "deleted", at=now)
    await session.delete(row)


async def find_revision(
    session: AsyncSession, title_id: str, number: int, parameter: str | None = None
) -> TitleRevision:
    found = await session.scalar(
        select(TitleRevision).where(
            TitleRevision.title_id == title_id, TitleRevision.number == number
        )
    )
    if found is None:
        message = (
            f"'{title_id}' has no revision {number}; list its revisions with "
            f"GET /api/v1/titles/{title_id}/history"
        )
        if parameter is None:
            raise NotFound(message)
        raise NotFound([Problem(f"/{parameter}", message, "query")])
    return found


async def free_copy_id(session: AsyncSession, base: str, taken: set[str]) -> str:
    """``<base>-copy``, then ``<base>-copy-2``...: the first id neither stored nor planned."""
    for n in range(1, 10_000):
        suffix = "-copy" if n == 1 else f"-copy-{n}"
        candidate = base[: 255 - len(suffix)] + suffix
        if candidate not in taken and await find_title(session, candidate) is None:
            return candidate
    raise Conflict(f"no free id for a copy of '{base}'; delete old copies first")


async def import_history(
    session: AsyncSession, title_id: str, history: list[dict[str, Any]]
) -> bool:
    """Keep an archived history as it was, for an id this server never had; else nothing."""
    if await next_revision_number(session, title_id) != 1:
        return False
    for item in history:
        created = parse_time(str(item.get("createdAt", "")))
        definition = item.get("definition")
        state = item.get("state")
        session.add(
            TitleRevision(
                title_id=title_id,
                number=int(item["number"]),
                action=str(item.get("action", "restore"))[:32],
                summary=clip(str(item.get("summary", ""))),
                actor=str(item.get("actor", "unknown"))[:255],
                reason=item.get("reason") if isinstance(item.get("reason"), str) else None,
                created_at=created[0] if created else utcnow(),
                document=canonical(definition) if isinstance(definition, dict) else None,
                state=(
                    TitleState(
                        bool(state.get("enabled", True)),
                        tuple(str(v) for v in state.get("disabledVersions", [])),
                    ).dump()
                    if isinstance(state, dict)
                    else None
                ),
            )
        )
    await session.flush()
    return True
