"""Title rows and their revisions, read and written inside the service's transactions.

Every write transaction starts with :func:`bump_generation` (see ``pomona.titles.services``);
the helpers here assume the caller holds that transaction. Validation is not done here: it runs
before the lock is taken (:func:`check_off_loop`), so the lock is held only for the writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
from anyio import to_thread
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import record
from pomona.db import utcnow
from pomona.errors import Conflict, NotFound, PreconditionFailed, Problem
from pomona.events.outbox import emit
from pomona.times import format_time, parse_time
from pomona.titles import events
from pomona.titles.history import diff, ea_notice
from pomona.titles.models import FeedState, Title, TitleRevision, TitleState
from pomona.titles.namespaces import DEFAULT, check_namespaces
from pomona.titles.schemas import SoftwareTitle
from pomona.titles.validation import Checked, check_definition
from pomona.titles.values import Actor, TitleRecord, WriteResult


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


async def require_title(session: AsyncSession, title_id: str) -> Title:
    row = await find_title(session, title_id)
    if row is None:
        raise NotFound(f"no title '{title_id}'", code="title_not_found")
    return row


async def check_off_loop(raw: Any, *, strict: bool = False) -> Checked:
    """``check_definition`` in a worker thread: a 200-version title takes tens of milliseconds,
    which the event loop serving the Jamf feed must not wait for. ``lastModified`` is set to
    now; a write sets it to its own moment with :func:`at_moment` once it holds the lock."""
    return await to_thread.run_sync(partial(check_definition, raw, now=utcnow(), strict=strict))


def at_moment(title: SoftwareTitle, moment: datetime) -> SoftwareTitle:
    """``title`` as written at ``moment``: the server owns ``lastModified``."""
    stamp = format_time(moment)
    return (
        title if title.lastModified == stamp else title.model_copy(update={"lastModified": stamp})
    )


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


async def next_revision_numbers(session: AsyncSession, title_ids: Sequence[str]) -> dict[str, int]:
    """:func:`next_revision_number` of many ids, a query per 500 rather than one each."""
    found: dict[str, int] = {}
    for start in range(0, len(title_ids), IN_LIST):
        chunk = title_ids[start : start + IN_LIST]
        rows = await session.execute(
            select(TitleRevision.title_id, func.max(TitleRevision.number))
            .where(TitleRevision.title_id.in_(chunk))
            .group_by(TitleRevision.title_id)
        )
        found.update((title_id, number) for title_id, number in rows)
    return {title_id: found.get(title_id, 0) + 1 for title_id in title_ids}


async def find_titles(session: AsyncSession, title_ids: Sequence[str]) -> dict[str, Title]:
    """The rows of the ids that exist, a query per 500 rather than one each."""
    found: dict[str, Title] = {}
    for start in range(0, len(title_ids), IN_LIST):
        chunk = title_ids[start : start + IN_LIST]
        rows = await session.scalars(select(Title).where(Title.title_id.in_(chunk)))
        found.update((row.title_id, row) for row in rows)
    return found


# Ids per IN (...) list: well within every engine's limit on bound parameters.
IN_LIST = 500


def moment_after(previous: datetime) -> datetime:
    """Now, or a second after ``previous`` if that is not earlier.

    Times are kept to the second (Jamf's format), so two writes within one second would show the
    same ``lastModified``; a client comparing it would miss the second write.
    """
    now = utcnow()
    return now if now > previous else previous + timedelta(seconds=1)


def title_record(row: Title) -> TitleRecord:
    title = SoftwareTitle.model_validate(orjson.loads(row.document), strict=False)
    return TitleRecord(title, row.revision, row.created_at, namespace=row.namespace)


def check_revision(row: Title, if_revision: int | None) -> None:
    if if_revision is not None and if_revision != row.revision:
        raise PreconditionFailed(
            f"'{row.title_id}' is at revision {row.revision}, not {if_revision}",
            code="revision_mismatch",
        )


def new_row(title_id: str, now: datetime, namespace: str = DEFAULT) -> Title:
    return Title(title_id=title_id, created_at=now, revision=0, namespace=namespace)


def check_author(actor: Actor, row: Title) -> None:
    """Refuse (``namespace_forbidden``) an author whose token is limited to other namespaces
    than the title's: every write of a title passes here, under the write lock."""
    check_namespaces(actor.namespaces, [("", row.title_id, row.namespace)])


def parse_document(text: str | None) -> dict[str, Any] | None:
    return orjson.loads(text) if text is not None else None


def clip(text: str) -> str:
    return text if len(text) <= 1024 else text[:1023] + "…"


async def write_tombstone(session: AsyncSession, row: Title, actor: Actor) -> None:
    check_author(actor, row)
    now = moment_after(row.last_modified)
    number = await next_revision_number(session, row.title_id)
    session.add(
        TitleRevision(
            title_id=row.title_id,
            number=number,
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
    await _emit(session, actor, "delete", row, number, versions=0, summary="deleted")
    await session.delete(row)


async def _emit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    row: Title,
    number: int,
    *,
    versions: int,
    summary: str,
    version: str | None = None,
    new: bool = False,
) -> None:
    """The event of a title write, in its transaction: ``action`` is the revision's."""
    kind = events.BY_ACTION.get(action, events.UPDATED)
    if new and action == "import":
        kind = events.CREATED
    change = events.TitleChange(
        id=row.title_id,
        name=row.name,
        namespace=row.namespace,
        revision=number,
        currentVersion=row.current_version if versions else None,
        version=version,
        versions=versions,
        summary=summary,
    )
    await emit(
        session, actor.who, kind, change, subject=f"title:{row.title_id}", namespace=row.namespace
    )


async def find_revision(
    session: AsyncSession, title_id: str, number: int, parameter: str | None = None
) -> TitleRevision:
    found = await session.scalar(
        select(TitleRevision).where(
            TitleRevision.title_id == title_id, TitleRevision.number == number
        )
    )
    if found is None:
        message = f"'{title_id}' has no revision {number}"
        if parameter is None:
            raise NotFound(message, code="revision_not_found")
        raise NotFound([Problem(f"/{parameter}", message, "query")], code="revision_not_found")
    return found


async def free_copy_id(session: AsyncSession, base: str, taken: set[str]) -> str:
    """``<base>-copy``, then ``<base>-copy-2``...: the first id neither stored nor planned."""
    for n in range(1, 10_000):
        suffix = "-copy" if n == 1 else f"-copy-{n}"
        candidate = base[: 255 - len(suffix)] + suffix
        if candidate not in taken and await find_title(session, candidate) is None:
            return candidate
    raise Conflict(f"no free id for a copy of '{base}'", code="copy_id_exhausted")


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


async def store(
    session: AsyncSession,
    row: Title,
    title: SoftwareTitle,
    now: datetime,
    generation: int,
    action: str,
    actor: Actor,
    *,
    summary: str | None = None,
    warnings: Sequence[Problem] = (),
    state: TitleState | None = None,
    with_changes: bool = False,
    number: int | None = None,
    flush: bool = True,
    version: str | None = None,
) -> WriteResult:
    """Make ``title`` current, add its revision and its audit record.

    ``summary`` names the operation; without one, or ``with_changes``, the diff against the
    previous document says what changed. Either way the summary says whether Jamf Pro must
    accept an extension attribute again. The title's ``lastModified`` becomes ``now``.

    Writing many titles, a caller gives each its revision ``number`` (from
    :func:`next_revision_numbers`) and flushes once at the end (``flush=False``; the result's
    ``database_id`` of a new title is known only then): one round trip to the database for the
    lot instead of several per title.
    """
    check_author(actor, row)
    title = at_moment(title, now)
    document = title.to_jamf()
    old = orjson.loads(row.document) if row.pk is not None else None
    old_state = TitleState.load(row.state)
    versions = [p.version for p in title.patches]
    new_state = (state or old_state).pruned(versions)
    changes = diff(old, old_state, document, new_state)
    accept = changes.ea_scripts_changed if old is not None else []
    if summary is None or (with_changes and old is not None):
        described = changes.summary() if old is not None else action
        line = f"{summary}: {described}" if summary else described
    else:
        line = summary + (f"; {ea_notice(accept)}" if accept else "")
    notices = [
        Problem(
            f"/extensionAttributes/{i}/value",
            f"the script of extension attribute '{ea.key}' is new or changed: Jamf Pro runs it "
            "only after an admin accepts it again (Settings > Computer Management > Patch "
            f"Management > {title.name} > Extension Attributes)",
            code="extension_attribute_changed",
        )
        for i, ea in enumerate(title.extensionAttributes)
        if ea.key in accept
    ]
    text = canonical(document)
    row.name, row.publisher = title.name, title.publisher
    row.current_version = title.currentVersion
    # The revision is the number of this change in the id's whole history, so it never
    # repeats, even for a title deleted and created again: an old ETag can never match.
    if number is None:
        number = await next_revision_number(session, title.id)
    row.last_modified = now
    row.revision = number
    row.generation = generation
    row.document = text
    row.state = new_state.dump()
    session.add(row)
    line = clip(line)
    session.add(
        TitleRevision(
            title_id=title.id,
            number=number,
            action=action,
            summary=line,
            actor=actor.name,
            reason=actor.reason,
            created_at=now,
            document=text,
            state=row.state,
        )
    )
    await record(session, actor.who, f"title.{action}", f"title:{title.id}", line, at=now)
    await _emit(
        session,
        actor,
        action,
        row,
        number,
        versions=len(versions),
        summary=line,
        version=version,
        new=old is None,
    )
    if flush:
        await session.flush()
    return WriteResult(
        title,
        row.revision,
        warnings=[*warnings, *notices],
        database_id=row.pk,
        state=new_state,
        summary=line,
        namespace=row.namespace,
    )
