"""Titles and their versions: every write validates the whole document and stores a revision.

Every write transaction starts by bumping ``feed_state.generation``. That one row update is the
write lock on every engine (SQLite's writer lock, a row lock on PostgreSQL and MySQL), so two
edits of one title never interleave their read-modify-write, and it tells other processes that
their rendered feed is stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import Database, utcnow
from pomona.errors import ApiError, Conflict, Invalid, NotFound, Problem
from pomona.titles.history import Diff, TitleState, diff, ea_notice
from pomona.titles.models import FeedState, Title, TitleRevision
from pomona.titles.schemas import SoftwareTitle
from pomona.titles.validation import check_definition, format_time, parse_time
from pomona.titles.versions import newest_first


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change, for the revision record."""

    name: str
    reason: str | None = None
    client: str | None = None  # the caller's address, for the audit log

    @property
    def who(self) -> Who:
        return Who.of(self.name, self.client)


@dataclass(frozen=True, slots=True)
class TitleRecord:
    title: SoftwareTitle
    revision: int
    created_at: datetime
    state: TitleState = field(default_factory=TitleState)


@dataclass(slots=True)
class WriteResult:
    title: SoftwareTitle
    revision: int
    created: bool = False
    warnings: list[Problem] = field(default_factory=list)
    database_id: int = 0
    state: TitleState = field(default_factory=TitleState)
    summary: str = ""


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
            result = await self._store(
                session,
                _new_row(title_id, now),
                checked.title,
                now,
                generation,
                "create",
                actor,
                summary=summary,
                warnings=checked.warnings,
            )
            result.created = True
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
            result = await self._store(
                session,
                row,
                checked.title,
                now,
                generation,
                "replace",
                actor,
                summary="replaced",
                warnings=checked.warnings,
                with_changes=True,
            )
        self._changed()
        return result

    async def delete(self, title_id: str, actor: Actor, *, if_revision: int | None = None) -> None:
        async with self.db.transaction() as session:
            await _bump(session)
            row = await self._row(session, title_id)
            _check_revision(row, if_revision)
            await _tombstone(session, row, actor)
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

    # -- what Jamf Pro sees: enable, disable, order ----------------------------------------------

    async def set_enabled(
        self, title_id: str, enabled: bool, actor: Actor, *, version: str | None = None
    ) -> WriteResult:
        """Enable or disable the title, or one of its versions; the API keeps showing both."""

        def change(document: dict[str, Any], state: TitleState) -> tuple[TitleState, str]:
            if version is None:
                return TitleState(
                    enabled, state.disabled_versions
                ), "enable" if enabled else "disable"
            _position(document["patches"], version, title_id, "version")
            disabled = [v for v in state.disabled_versions if v != version]
            if not enabled:
                disabled.append(version)
            verb = "enable-version" if enabled else "disable-version"
            return TitleState(state.enabled, tuple(disabled)), verb

        return await self._restate(title_id, actor, change)

    async def reorder(self, title_id: str, order: list[str], actor: Actor) -> WriteResult:
        """Put the versions in ``order`` (newest first): it must name each version once."""

        def change(document: dict[str, Any], state: TitleState) -> tuple[TitleState, str]:
            current = [p["version"] for p in document["patches"]]
            problems = []
            if len(order) != len(set(order)):
                problems.append(Problem("/versions", "a version is named more than once"))
            missing = [v for v in current if v not in order]
            unknown = [v for v in order if v not in current]
            if missing:
                problems.append(Problem("/versions", f"missing versions: {', '.join(missing)}"))
            for index, v in enumerate(order):
                if v in unknown:
                    problems.append(
                        Problem(f"/versions/{index}", f"'{title_id}' has no version '{v}'")
                    )
            if problems:
                raise Invalid(problems)
            by_version = {p["version"]: p for p in document["patches"]}
            document["patches"] = [by_version[v] for v in order]
            return state, "reorder"

        return await self._restate(title_id, actor, change)

    async def sort_versions(self, title_id: str, actor: Actor) -> WriteResult:
        """Order the versions by version number, newest first (``10.13.10`` above ``10.13.3``)."""
        record = await self.get(title_id)
        order = newest_first(p.version for p in record.title.patches)
        return await self.reorder(title_id, order, actor)

    # -- history --------------------------------------------------------------------------------

    async def history(
        self, title_id: str, *, offset: int, limit: int
    ) -> tuple[list[TitleRevision], int]:
        """The title's revisions, newest first; a deleted title keeps its history."""
        where = TitleRevision.title_id == title_id
        async with self.db.sessions() as session:
            total = await session.scalar(
                select(func.count()).select_from(TitleRevision).where(where)
            )
            if not total:
                raise NotFound(
                    f"'{title_id}' has no history: no title with this id was ever stored; list "
                    "the titles with GET /api/v1/titles"
                )
            rows = await session.scalars(
                select(TitleRevision)
                .where(where)
                .order_by(TitleRevision.number.desc())
                .offset(offset)
                .limit(limit)
            )
            return list(rows), total

    async def revision(self, title_id: str, number: int) -> TitleRevision:
        async with self.db.sessions() as session:
            return await _revision(session, title_id, number)

    async def diff(self, title_id: str, old: int, new: int) -> Diff:
        """What changed from revision ``old`` to revision ``new`` (either order works)."""
        async with self.db.sessions() as session:
            before = await _revision(session, title_id, old, "from")
            after = await _revision(session, title_id, new, "to")
        return diff(
            _document(before.document),
            TitleState.load(before.state),
            _document(after.document),
            TitleState.load(after.state),
        )

    async def rollback(
        self, title_id: str, number: int, actor: Actor, *, if_revision: int | None = None
    ) -> WriteResult:
        """Make revision ``number`` current again, as a new revision: history is never rewritten.

        Rolling back to a revision of a deleted title brings the title back.
        """
        async with self.db.transaction() as session:
            generation = await _bump(session)
            target = await _revision(session, title_id, number, "revision")
            if target.document is None:
                raise Conflict(
                    f"revision {number} of '{title_id}' is its deletion; roll back to a revision "
                    "before it",
                    "/revision",
                )
            row = await _find(session, title_id)
            if row is not None:
                _check_revision(row, if_revision)
                now = _moment_after(row.last_modified)
            else:
                row, now = _new_row(title_id, utcnow()), utcnow()
            checked = check_definition(orjson.loads(target.document), now=now)
            result = await self._store(
                session,
                row,
                checked.title,
                now,
                generation,
                "rollback",
                actor,
                summary=f"rolled back to revision {number}",
                state=TitleState.load(target.state),
                with_changes=True,
            )
        self._changed()
        return result

    # -- many titles at once: restore and import -------------------------------------------------

    async def apply_many(
        self,
        items: Sequence[Incoming],
        actor: Actor,
        *,
        policy: str,
        dry_run: bool,
        action: str,
        then: Then | None = None,
    ) -> list[Outcome]:
        """Write many titles in one transaction, after every document has passed validation.

        ``policy`` says what happens to an id that exists: ``skip`` leaves it, ``replace``
        makes the incoming document current as a new revision (the old one stays in history),
        ``copy`` stores the incoming one beside it under a free id ``<id>-copy[-N]``. Nothing is
        written if any document is invalid, nor on a dry run. ``then`` is called with the
        outcomes inside the transaction, before it commits (not on a dry run): a job records its
        end there, so the titles and the job's result are written together or not at all.
        """
        if policy not in POLICIES:
            raise ApiError(
                400,
                [Problem("/policy", f"policy must be one of {', '.join(POLICIES)}", "query")],
            )
        now = utcnow()
        checked_items: list[tuple[Incoming, SoftwareTitle, list[Problem]]] = []
        problems: list[Problem] = []
        seen: dict[str, str] = {}
        for item in items:
            try:
                checked = check_definition(item.document, now=now)
            except Invalid as exc:
                problems.extend(Problem(item.source + p.path, p.message) for p in exc.problems)
                continue
            title_id = checked.title.id
            if title_id in seen:
                problems.append(
                    Problem(
                        item.source, f"title '{title_id}' is also in {seen[title_id]}; keep one"
                    )
                )
                continue
            seen[title_id] = item.source
            checked_items.append((item, checked.title, checked.warnings))
        if problems:
            raise Invalid(problems)
        try:
            return await self._apply(checked_items, seen, actor, policy, dry_run, action, now, then)
        except _Undo as undo:
            return undo.result  # type: ignore[no-any-return]

    async def _apply(
        self,
        checked_items: list[tuple[Incoming, SoftwareTitle, list[Problem]]],
        seen: dict[str, str],
        actor: Actor,
        policy: str,
        dry_run: bool,
        action: str,
        now: datetime,
        then: Then | None,
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self.db.transaction() as session:
            generation = await _bump(session)
            existing = (
                set(
                    await session.scalars(
                        select(Title.title_id).where(Title.title_id.in_(list(seen)))
                    )
                )
                if seen
                else set()
            )
            taken = set(existing)
            for item, title, warnings in checked_items:
                outcome = Outcome(item.source, title.id, "create", warnings=warnings)
                if title.id in existing:
                    if policy == "skip":
                        outcome.result = "skip"
                        outcomes.append(outcome)
                        continue
                    if policy == "copy":
                        outcome.id = await _free_id(session, title.id, taken)
                        title = title.model_copy(update={"id": outcome.id})
                        outcome.result = "copy"
                    else:
                        outcome.result = "replace"
                taken.add(outcome.id)
                outcomes.append(outcome)
                if dry_run:
                    continue
                row = await _find(session, outcome.id)
                moment = now if row is None else _moment_after(row.last_modified)
                if moment != now:
                    title = title.model_copy(update={"lastModified": _jamf_time(moment)})
                if row is None:
                    row = _new_row(outcome.id, moment)
                history_written = False
                if item.history and outcome.result == "create":
                    history_written = await _import_history(session, outcome.id, item.history)
                written = await self._store(
                    session,
                    row,
                    title,
                    moment,
                    generation,
                    action,
                    actor,
                    summary=f"{action}d from {item.source}"
                    + (" with its history" if history_written else ""),
                    state=item.state,
                    with_changes=True,
                )
                outcome.revision = written.revision
                outcome.database_id = written.database_id
            if dry_run:
                raise _Undo(outcomes)
            if then is not None:
                await then(session, outcomes)
        if not dry_run and any(o.result != "skip" for o in outcomes):
            self._changed()
        return outcomes

    async def database_id(self, title_id: str) -> int:
        async with self.db.sessions() as session:
            return (await self._row(session, title_id)).pk

    async def export(self, *, history: bool) -> list[Exported]:
        """Every current title with its state and, if asked, its whole history; for backups."""
        async with self.db.sessions() as session:
            rows = list(await session.scalars(select(Title).order_by(Title.title_id)))
            revisions: dict[str, list[dict[str, Any]]] = {}
            if history:
                for revision in await session.scalars(
                    select(TitleRevision).order_by(TitleRevision.title_id, TitleRevision.number)
                ):
                    revisions.setdefault(revision.title_id, []).append(revision_dict(revision))
        return [
            Exported(
                row.title_id,
                orjson.loads(row.document),
                TitleState.load(row.state),
                row.revision,
                revisions.get(row.title_id, []),
            )
            for row in rows
        ]

    # -- internals -----------------------------------------------------------------------------

    async def _restate(
        self,
        title_id: str,
        actor: Actor,
        change: Callable[[dict[str, Any], TitleState], tuple[TitleState, str]],
    ) -> WriteResult:
        """Change the state or the version order under the write lock; a no-op writes nothing."""
        try:
            async with self.db.transaction() as session:
                generation = await _bump(session)
                row = await self._row(session, title_id)
                document = orjson.loads(row.document)
                old_state = TitleState.load(row.state)
                order = [p["version"] for p in document["patches"]]
                state, action = change(document, old_state)
                if state == old_state and [p["version"] for p in document["patches"]] == order:
                    unchanged = WriteResult(
                        _record(row).title,
                        row.revision,
                        database_id=row.pk,
                        state=state,
                        summary="no change",
                    )
                    raise _Undo(unchanged)  # nothing to write: not even the generation bump
                now = _moment_after(row.last_modified)
                del document["currentVersion"]
                checked = check_definition(document, now=now)
                result = await self._store(
                    session, row, checked.title, now, generation, action, actor, state=state
                )
        except _Undo as undo:
            return undo.result  # type: ignore[no-any-return]
        self._changed()
        return result

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
                session,
                row,
                checked.title,
                now,
                generation,
                action,
                actor,
                summary=summary,
                warnings=_relocate(checked.warnings, index),
            )
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
        actor: Actor,
        *,
        summary: str | None = None,
        warnings: Sequence[Problem] = (),
        state: TitleState | None = None,
        with_changes: bool = False,
    ) -> WriteResult:
        """Make ``title`` current, add its revision and its audit record.

        ``summary`` names the operation; without one, or ``with_changes``, the diff against the
        previous document says what changed. Either way the summary says whether Jamf Pro must
        accept an extension attribute again.
        """
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
            )
            for i, ea in enumerate(title.extensionAttributes)
            if ea.key in accept
        ]
        text = canonical(document)
        row.name, row.publisher = title.name, title.publisher
        row.current_version = title.currentVersion
        # The revision is the number of this change in the id's whole history, so it never
        # repeats, even for a title deleted and created again: an old ETag can never match.
        number = await _next_number(session, title.id)
        row.last_modified = now
        row.revision = number
        row.generation = generation
        row.document = text
        row.state = new_state.dump()
        session.add(row)
        line = _clip(line)
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
        await session.flush()
        return WriteResult(
            title,
            row.revision,
            warnings=[*warnings, *notices],
            database_id=row.pk,
            state=new_state,
            summary=line,
        )

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


POLICIES = ("skip", "replace", "copy")


class _Undo(Exception):
    """Leave a transaction without writing anything, carrying the answer out of it."""

    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result


@dataclass(frozen=True, slots=True)
class Incoming:
    """One document to restore or import, and where it came from (for error paths)."""

    source: str
    document: Any
    state: TitleState | None = None
    history: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class Outcome:
    source: str
    id: str
    result: str  # create, replace, copy or skip
    revision: int | None = None
    database_id: int | None = None
    warnings: list[Problem] = field(default_factory=list)


# Work done inside a bulk write's transaction, with its outcomes (``apply_many``).
Then = Callable[[AsyncSession, list[Outcome]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Exported:
    id: str
    document: dict[str, Any]
    state: TitleState
    revision: int
    history: list[dict[str, Any]]


def revision_dict(revision: TitleRevision) -> dict[str, Any]:
    """A revision as backups keep it."""
    return {
        "number": revision.number,
        "action": revision.action,
        "summary": revision.summary,
        "actor": revision.actor,
        "reason": revision.reason,
        "createdAt": format_time(revision.created_at),
        "definition": _document(revision.document),
        "state": TitleState.load(revision.state).as_dict() if revision.document else None,
    }


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


def _new_row(title_id: str, now: datetime) -> Title:
    return Title(title_id=title_id, created_at=now, revision=0)


def _document(text: str | None) -> dict[str, Any] | None:
    return orjson.loads(text) if text is not None else None


def _jamf_time(moment: datetime) -> str:
    return format_time(moment)


def _clip(text: str) -> str:
    return text if len(text) <= 1024 else text[:1023] + "…"


async def _tombstone(session: AsyncSession, row: Title, actor: Actor) -> None:
    now = _moment_after(row.last_modified)
    session.add(
        TitleRevision(
            title_id=row.title_id,
            number=await _next_number(session, row.title_id),
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


async def _revision(
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
        raise ApiError(404, [Problem(f"/{parameter}", message, "query")])
    return found


async def _free_id(session: AsyncSession, base: str, taken: set[str]) -> str:
    """``<base>-copy``, then ``<base>-copy-2``...: the first id neither stored nor planned."""
    for n in range(1, 10_000):
        suffix = "-copy" if n == 1 else f"-copy-{n}"
        candidate = base[: 255 - len(suffix)] + suffix
        if candidate not in taken and await _find(session, candidate) is None:
            return candidate
    raise Conflict(f"no free id for a copy of '{base}'; delete old copies first")


async def _import_history(
    session: AsyncSession, title_id: str, history: list[dict[str, Any]]
) -> bool:
    """Keep an archived history as it was, for an id this server never had; else nothing."""
    if await _next_number(session, title_id) != 1:
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
                summary=_clip(str(item.get("summary", ""))),
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
