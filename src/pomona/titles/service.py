"""Titles and their versions: every write validates the whole document and stores a revision.

Every write transaction starts by bumping ``feed_state.generation``. That one row update is the
write lock on every engine (SQLite's writer lock, a row lock on PostgreSQL and MySQL), so two
edits of one title never interleave their read-modify-write, and it tells other processes that
their rendered feed is stale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.db import Database, utcnow
from pomona.errors import ApiError, Conflict, Invalid, NotFound, Problem
from pomona.titles.models import FeedState, Title, TitleRevision
from pomona.titles.schemas import SoftwareTitle
from pomona.titles.validation import check_definition


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the revision record."""

    name: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TitleRecord:
    title: SoftwareTitle
    revision: int
    created_at: datetime


@dataclass(slots=True)
class WriteResult:
    title: SoftwareTitle
    revision: int
    created: bool = False
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Title]
    total: int


def canonical(document: dict[str, Any]) -> str:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


class TitleService:
    def __init__(self, db: Database, *, on_change: Callable[[], None] | None = None) -> None:
        self.db = db
        self._on_change = on_change

    # -- reads ---------------------------------------------------------------------------------

    async def search(self, *, query: str | None, offset: int, limit: int) -> Page:
        where = []
        if query:
            # The query is plain text: '%', '_' and the escape character itself match literally.
            escaped = query.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
            pattern = f"%{escaped}%"
            where.append(
                or_(
                    *(
                        func.lower(column).like(pattern, escape="!")
                        for column in (Title.title_id, Title.name, Title.publisher)
                    )
                )
            )
        async with self.db.sessions() as session:
            total = await session.scalar(select(func.count()).select_from(Title).where(*where))
            rows = await session.scalars(
                select(Title).where(*where).order_by(Title.title_id).offset(offset).limit(limit)
            )
            return Page(list(rows), total or 0)

    async def get(self, title_id: str) -> TitleRecord:
        async with self.db.sessions() as session:
            row = await self._row(session, title_id)
            return _record(row)

    async def versions(self, title_id: str) -> list[dict[str, Any]]:
        record = await self.get(title_id)
        return [p.model_dump(by_alias=True, mode="json") for p in record.title.patches]

    async def version(self, title_id: str, version: str) -> dict[str, Any]:
        for patch in await self.versions(title_id):
            if patch["version"] == version:
                return patch
        raise NotFound(
            f"title '{title_id}' has no version '{version}'; "
            f"list its versions with GET /api/v1/titles/{title_id}/versions"
        )

    # -- writes of whole titles ------------------------------------------------------------------

    async def create(self, raw: Any, actor: Actor, *, strict: bool = False) -> WriteResult:
        async with self.db.transaction() as session:
            generation = await _bump(session)
            now = utcnow()
            checked = check_definition(raw, now=now, strict=strict)
            title_id = checked.title.id
            if await _find(session, title_id) is not None:
                raise Conflict(
                    f"title '{title_id}' exists; replace it with PUT /api/v1/titles/{title_id}",
                    "/id",
                )
            summary = f"created with {_count(checked.title)}"
            row = Title(title_id=title_id, created_at=now, revision=0)
            result = await self._store(
                session, row, checked.title, now, generation, "create", summary, actor
            )
            result.created, result.warnings = True, checked.warnings
        self._changed()
        return result

    async def replace(
        self,
        title_id: str,
        raw: Any,
        actor: Actor,
        *,
        strict: bool = False,
        if_revision: int | None = None,
    ) -> WriteResult:
        async with self.db.transaction() as session:
            generation = await _bump(session)
            row = await self._row(session, title_id)
            _check_revision(row, if_revision)
            now = _moment_after(row.last_modified)
            checked = check_definition(raw, now=now, strict=strict)
            if checked.title.id != title_id:
                raise Invalid(
                    f"the body's id '{checked.title.id}' differs from '{title_id}' in the URL; "
                    "ids cannot be renamed",
                    "/id",
                )
            summary = f"replaced with {_count(checked.title)}"
            result = await self._store(
                session, row, checked.title, now, generation, "replace", summary, actor
            )
            result.warnings = checked.warnings
        self._changed()
        return result

    async def delete(self, title_id: str, actor: Actor, *, if_revision: int | None = None) -> None:
        async with self.db.transaction() as session:
            await _bump(session)
            row = await self._row(session, title_id)
            _check_revision(row, if_revision)
            session.add(
                TitleRevision(
                    title_id=title_id,
                    number=await _next_number(session, title_id),
                    action="delete",
                    summary="deleted",
                    actor=actor.name,
                    reason=actor.reason,
                    created_at=_moment_after(row.last_modified),
                    document=None,
                )
            )
            await session.delete(row)
        self._changed()

    # -- writes of single versions ---------------------------------------------------------------

    async def add_version(
        self,
        title_id: str,
        raw: Any,
        actor: Actor,
        *,
        after: str | None = None,
        before: str | None = None,
        strict: bool = False,
    ) -> WriteResult:
        """Insert a version: newest by default, or right after/before an existing one.

        "After" follows the list as Jamf Pro reads it (newest first): ``after=2.0`` places the
        new version just below 2.0, i.e. as the next older one.
        """
        if after is not None and before is not None:
            raise ApiError(
                400, [Problem("/after", "give either 'after' or 'before', not both", "query")]
            )
        _require_object(raw)

        def edit(patches: list[Any]) -> tuple[int, str]:
            version = raw.get("version")
            if isinstance(version, str) and any(p["version"] == version for p in patches):
                raise Conflict(
                    f"version '{version}' exists in '{title_id}'; edit it with "
                    f"PUT /api/v1/titles/{title_id}/versions/{version}",
                    "/version",
                )
            index = 0
            if after is not None:
                index = _position(patches, after, title_id, "after") + 1
            elif before is not None:
                index = _position(patches, before, title_id, "before")
            patches.insert(index, raw)
            return index, f"added version {version}"

        return await self._edit_patches(title_id, edit, actor, strict=strict, action="add-version")

    async def replace_version(
        self, title_id: str, version: str, raw: Any, actor: Actor, *, strict: bool = False
    ) -> WriteResult:
        _require_object(raw)

        def edit(patches: list[Any]) -> tuple[int, str]:
            index = _position(patches, version, title_id, "version")
            new_version = raw.get("version")
            if new_version != version and any(p["version"] == new_version for p in patches):
                raise Conflict(f"version '{new_version}' exists in '{title_id}'", "/version")
            patches[index] = raw
            renamed = f" (now {new_version})" if new_version != version else ""
            return index, f"edited version {version}{renamed}"

        return await self._edit_patches(title_id, edit, actor, strict=strict, action="edit-version")

    async def delete_version(self, title_id: str, version: str, actor: Actor) -> WriteResult:
        def edit(patches: list[Any]) -> tuple[int, str]:
            index = _position(patches, version, title_id, "version")
            if len(patches) == 1:
                raise Conflict(
                    f"'{version}' is the only version of '{title_id}'; a title needs at least one "
                    f"version. Add another first, or delete the title with "
                    f"DELETE /api/v1/titles/{title_id}"
                )
            del patches[index]
            return -1, f"deleted version {version}"

        return await self._edit_patches(
            title_id, edit, actor, strict=False, action="delete-version"
        )

    # -- internals -----------------------------------------------------------------------------

    async def _edit_patches(
        self,
        title_id: str,
        edit: Callable[[list[Any]], tuple[int, str]],
        actor: Actor,
        *,
        strict: bool,
        action: str,
    ) -> WriteResult:
        """Apply ``edit`` to the version list under the write lock and validate the result.

        Problems inside the edited version are reported relative to the version's own body.
        """
        async with self.db.transaction() as session:
            generation = await _bump(session)
            row = await self._row(session, title_id)
            document = orjson.loads(row.document)
            # The server recomputes currentVersion; leaving it out keeps a warning about a changed
            # newest version out of the answer (and out of strict mode). The stored lastModified
            # is a valid time, so it passes without a warning and is then replaced.
            del document["currentVersion"]
            index, summary = edit(document["patches"])
            now = _moment_after(row.last_modified)
            try:
                checked = check_definition(document, now=now, strict=strict)
            except Invalid as exc:
                raise Invalid(_relocate(exc.problems, index)) from None
            result = await self._store(
                session, row, checked.title, now, generation, action, summary, actor
            )
            result.warnings = _relocate(checked.warnings, index)
        self._changed()
        return result

    async def _store(
        self,
        session: AsyncSession,
        row: Title,
        title: SoftwareTitle,
        now: datetime,
        generation: int,
        action: str,
        summary: str,
        actor: Actor,
    ) -> WriteResult:
        document = canonical(title.to_jamf())
        row.name, row.publisher = title.name, title.publisher
        row.current_version = title.currentVersion
        # The revision is the number of this change in the id's whole history, so it never
        # repeats, even for a title deleted and created again: an old ETag can never match.
        number = await _next_number(session, title.id)
        row.last_modified = now
        row.revision = number
        row.generation = generation
        row.document = document
        session.add(row)
        session.add(
            TitleRevision(
                title_id=title.id,
                number=number,
                action=action,
                summary=summary,
                actor=actor.name,
                reason=actor.reason,
                created_at=now,
                document=document,
            )
        )
        await session.flush()
        return WriteResult(title, row.revision)

    async def _row(self, session: AsyncSession, title_id: str) -> Title:
        row = await _find(session, title_id)
        if row is None:
            raise NotFound(
                f"no title '{title_id}'; create it with POST /api/v1/titles, "
                "or list the titles with GET /api/v1/titles"
            )
        return row

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


async def _find(session: AsyncSession, title_id: str) -> Title | None:
    return await session.scalar(select(Title).where(Title.title_id == title_id))


async def _bump(session: AsyncSession) -> int:
    await session.execute(
        update(FeedState).where(FeedState.pk == 1).values(generation=FeedState.generation + 1)
    )
    generation = await session.scalar(select(FeedState.generation).where(FeedState.pk == 1))
    assert generation is not None, "feed_state is seeded by the first migration"
    return generation


async def _next_number(session: AsyncSession, title_id: str) -> int:
    # Numbering continues across a delete, so a re-created title keeps one unbroken history.
    current = await session.scalar(
        select(func.max(TitleRevision.number)).where(TitleRevision.title_id == title_id)
    )
    return (current or 0) + 1


def _moment_after(previous: datetime) -> datetime:
    """Now, or a second after ``previous`` if that is not earlier.

    Times are kept to the second (Jamf's format), so two writes within one second would show the
    same ``lastModified``; a client comparing it would miss the second write.
    """
    now = utcnow()
    return now if now > previous else previous + timedelta(seconds=1)


def _record(row: Title) -> TitleRecord:
    title = SoftwareTitle.model_validate(orjson.loads(row.document), strict=False)
    return TitleRecord(title, row.revision, row.created_at)


def _check_revision(row: Title, if_revision: int | None) -> None:
    if if_revision is not None and if_revision != row.revision:
        raise ApiError(
            412,
            f"'{row.title_id}' is at revision {row.revision}, not {if_revision}; "
            "fetch it again and reapply your change",
        )


def _count(title: SoftwareTitle) -> str:
    n = len(title.patches)
    return f"{n} version{'s' if n != 1 else ''} (current {title.currentVersion})"


def _require_object(raw: Any) -> None:
    if not isinstance(raw, dict):
        raise Invalid("a version must be a JSON object")


def _position(patches: list[Any], version: str, title_id: str, parameter: str) -> int:
    for index, patch in enumerate(patches):
        if patch["version"] == version:
            return index
    message = (
        f"title '{title_id}' has no version '{version}'; "
        f"list its versions with GET /api/v1/titles/{title_id}/versions"
    )
    if parameter == "version":
        raise NotFound(message)
    raise ApiError(404, [Problem(f"/{parameter}", message, "query")])


def _relocate(problems: Sequence[Problem], index: int) -> list[Problem]:
    """Make problems inside ``/patches/<index>`` relative to that version's own body."""
    prefix = f"/patches/{index}"
    out = []
    for problem in problems:
        if index >= 0 and (problem.path == prefix or problem.path.startswith(prefix + "/")):
            out.append(Problem(problem.path[len(prefix) :], problem.message))
        else:
            out.append(problem)
    return out
