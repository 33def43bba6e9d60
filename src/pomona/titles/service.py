"""Titles and their versions: every write validates the whole document and stores a revision.

Every write transaction starts by bumping ``feed_state.generation``. That one row update is the
write lock on every engine (SQLite's writer lock, a row lock on PostgreSQL and MySQL), so two
edits of one title never interleave their read-modify-write, and it tells other processes that
their rendered feed is stale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import record
from pomona.db import Database, utcnow
from pomona.errors import BadRequest, Conflict, Invalid, NotFound, Problem
from pomona.titles.history import Diff, TitleState, diff, ea_notice
from pomona.titles.models import Title, TitleRevision
from pomona.titles.records import (
    POLICIES,
    Actor,
    Exported,
    Incoming,
    Outcome,
    Page,
    Then,
    TitleRecord,
    WriteResult,
)
from pomona.titles.rows import (
    bump_generation,
    canonical,
    check_revision,
    clip,
    find_revision,
    find_title,
    free_copy_id,
    import_history,
    jamf_time,
    moment_after,
    new_row,
    next_revision_number,
    parse_document,
    revision_dict,
    title_record,
    write_tombstone,
)
from pomona.titles.schemas import SoftwareTitle
from pomona.titles.validation import check_definition
from pomona.titles.versions import newest_first


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
            return title_record(row)

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
            generation = await bump_generation(session)
            now = utcnow()
            checked = check_definition(raw, now=now, strict=strict)
            title_id = checked.title.id
            if await find_title(session, title_id) is not None:
                raise Conflict(
                    f"title '{title_id}' exists; replace it with PUT /api/v1/titles/{title_id}",
                    "/id",
                )
            summary = f"created with {_count(checked.title)}"
            result = await self._store(
                session,
                new_row(title_id, now),
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
            generation = await bump_generation(session)
            row = await self._row(session, title_id)
            check_revision(row, if_revision)
            now = moment_after(row.last_modified)
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
            await bump_generation(session)
            row = await self._row(session, title_id)
            check_revision(row, if_revision)
            await write_tombstone(session, row, actor)
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
            raise BadRequest(
                [Problem("/after", "give either 'after' or 'before', not both", "query")]
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
            return await find_revision(session, title_id, number)

    async def diff(self, title_id: str, old: int, new: int) -> Diff:
        """What changed from revision ``old`` to revision ``new`` (either order works)."""
        async with self.db.sessions() as session:
            before = await find_revision(session, title_id, old, "from")
            after = await find_revision(session, title_id, new, "to")
        return diff(
            parse_document(before.document),
            TitleState.load(before.state),
            parse_document(after.document),
            TitleState.load(after.state),
        )

    async def rollback(
        self, title_id: str, number: int, actor: Actor, *, if_revision: int | None = None
    ) -> WriteResult:
        """Make revision ``number`` current again, as a new revision: history is never rewritten.

        Rolling back to a revision of a deleted title brings the title back.
        """
        async with self.db.transaction() as session:
            generation = await bump_generation(session)
            target = await find_revision(session, title_id, number, "revision")
            if target.document is None:
                raise Conflict(
                    f"revision {number} of '{title_id}' is its deletion; roll back to a revision "
                    "before it",
                    "/revision",
                )
            row = await find_title(session, title_id)
            if row is not None:
                check_revision(row, if_revision)
                now = moment_after(row.last_modified)
            else:
                row, now = new_row(title_id, utcnow()), utcnow()
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
            raise BadRequest(
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
            generation = await bump_generation(session)
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
                        outcome.id = await free_copy_id(session, title.id, taken)
                        title = title.model_copy(update={"id": outcome.id})
                        outcome.result = "copy"
                    else:
                        outcome.result = "replace"
                taken.add(outcome.id)
                outcomes.append(outcome)
                if dry_run:
                    continue
                row = await find_title(session, outcome.id)
                moment = now if row is None else moment_after(row.last_modified)
                if moment != now:
                    title = title.model_copy(update={"lastModified": jamf_time(moment)})
                if row is None:
                    row = new_row(outcome.id, moment)
                history_written = False
                if item.history and outcome.result == "create":
                    history_written = await import_history(session, outcome.id, item.history)
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
                generation = await bump_generation(session)
                row = await self._row(session, title_id)
                document = orjson.loads(row.document)
                old_state = TitleState.load(row.state)
                order = [p["version"] for p in document["patches"]]
                state, action = change(document, old_state)
                if state == old_state and [p["version"] for p in document["patches"]] == order:
                    unchanged = WriteResult(
                        title_record(row).title,
                        row.revision,
                        database_id=row.pk,
                        state=state,
                        summary="no change",
                    )
                    raise _Undo(unchanged)  # nothing to write: not even the generation bump
                now = moment_after(row.last_modified)
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
            generation = await bump_generation(session)
            row = await self._row(session, title_id)
            document = orjson.loads(row.document)
            # The server recomputes currentVersion; leaving it out keeps a warning about a changed
            # newest version out of the answer (and out of strict mode). The stored lastModified
            # is a valid time, so it passes without a warning and is then replaced.
            del document["currentVersion"]
            index, summary = edit(document["patches"])
            now = moment_after(row.last_modified)
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
        row = await find_title(session, title_id)
        if row is None:
            raise NotFound(
                f"no title '{title_id}'; create it with POST /api/v1/titles, "
                "or list the titles with GET /api/v1/titles"
            )
        return row

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


class _Undo(Exception):
    """Leave a transaction without writing anything, carrying the answer out of it."""

    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result


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
    raise NotFound([Problem(f"/{parameter}", message, "query")])


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
