"""Writes of whole titles and of single versions: every write validates the whole document and
stores a revision.

Validation runs before the write lock is taken, in a worker thread (a 200-version title takes
tens of milliseconds); the lock is held only to check what the write depends on (the title
exists, is still at the revision the change was made from, matches ``If-Match``) and to write.
An edit of the current document that finds the title changed meanwhile is made again from the
new document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from pomona.db import utcnow
from pomona.errors import Conflict, Invalid, Problem
from pomona.titles.models import Title, TitleState
from pomona.titles.namespaces import DEFAULT
from pomona.titles.schemas import SoftwareTitle
from pomona.titles.services.namespaces import require_namespace
from pomona.titles.services.reads import TitleReads, position
from pomona.titles.services.revisions import (
    bump_generation,
    check_author,
    check_off_loop,
    check_revision,
    find_title,
    moment_after,
    new_row,
    require_title,
    store,
    title_record,
    write_tombstone,
)
from pomona.titles.templates import from_newest
from pomona.titles.validation import Checked
from pomona.titles.values import Actor, WriteResult

# Edits of one title made again because another write got there first, before giving up the
# optimism and validating under the lock.
ATTEMPTS = 4


@dataclass(slots=True)
class Change:
    """What an edit of the current document did: the action and summary its revision records,
    the new state (None keeps it) and the index of the version it edited (-1 for none), which
    problems are reported relative to."""

    action: str
    summary: str | None = None
    state: TitleState | None = None
    index: int = -1
    version: str | None = None  # the version a version edit is about, for its event


# Applied to a copy of the current document (without ``currentVersion``) and its state.
Edit = Callable[[dict[str, Any], TitleState], Change]


class _Stale(Exception):
    """The title changed between reading it and taking the lock."""


class _Unchanged(Exception):
    """The edit changes nothing: leave the transaction without writing, not even the bump."""

    def __init__(self, result: WriteResult) -> None:
        super().__init__()
        self.result = result


class TitleWrites(TitleReads):
    async def create(
        self, raw: Any, actor: Actor, *, strict: bool = False, namespace: str = DEFAULT
    ) -> WriteResult:
        """Create a title in ``namespace``. Ids are unique across namespaces: an id another
        namespace holds is taken."""
        checked = await check_off_loop(raw, strict=strict)
        title_id = checked.title.id
        async with self.db.transaction() as session:
            generation = await bump_generation(session)
            await require_namespace(session, namespace)
            if (found := await find_title(session, title_id)) is not None:
                where = f" in namespace '{found.namespace}'" if found.namespace != namespace else ""
                raise Conflict(f"title '{title_id}' exists{where}", "/id", code="title_exists")
            now = utcnow()
            result = await store(
                session,
                new_row(title_id, now, namespace),
                checked.title,
                now,
                generation,
                "create",
                actor,
                summary=f"created with {_count(checked.title)}",
                warnings=checked.warnings,
            )
            result.created = True
        await self.changed()
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
        # Checked before validating, so a missing title or a stale If-Match answers as such
        # whatever the body; checked again under the lock, where it counts.
        seen = await self.row(title_id)
        check_author(actor, seen)  # refused before validating; again under the lock
        check_revision(seen, if_revision)
        checked = await check_off_loop(raw, strict=strict)
        if checked.title.id != title_id:
            raise Invalid(
                f"the body's id '{checked.title.id}' differs from '{title_id}' in the URL; "
                "ids cannot be renamed",
                "/id",
                code="title_id_mismatch",
            )
        async with self.db.transaction() as session:
            generation = await bump_generation(session)
            row = await require_title(session, title_id)
            check_revision(row, if_revision)
            result = await store(
                session,
                row,
                checked.title,
                moment_after(row.last_modified),
                generation,
                "replace",
                actor,
                summary="replaced",
                warnings=checked.warnings,
                with_changes=True,
            )
        await self.changed()
        return result

    async def delete(self, title_id: str, actor: Actor, *, if_revision: int | None = None) -> None:
        async with self.db.transaction() as session:
            await bump_generation(session)
            row = await require_title(session, title_id)
            check_revision(row, if_revision)
            await write_tombstone(session, row, actor)
        await self.changed()

    # -- single versions -------------------------------------------------------------------------

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
            raise Invalid(
                [Problem("/after", "give either 'after' or 'before', not both", "query")],
                code="after_and_before",
            )
        _require_object(raw)

        def edit(document: dict[str, Any], _state: TitleState) -> Change:
            patches = document["patches"]
            version = raw.get("version")
            if isinstance(version, str) and any(p["version"] == version for p in patches):
                raise Conflict(
                    f"version '{version}' exists in '{title_id}'", "/version", code="version_exists"
                )
            index = 0
            if after is not None:
                index = position(patches, after, title_id, "after") + 1
            elif before is not None:
                index = position(patches, before, title_id, "before")
            patches.insert(index, raw)
            added = version if isinstance(version, str) else None
            return Change("add-version", f"added version {version}", index=index, version=added)

        return await self.rewrite(title_id, edit, actor, strict=strict)

    async def add_version_from_newest(
        self,
        title_id: str,
        version: str,
        actor: Actor,
        *,
        release_date: str | None = None,
        minimum_os: str | None = None,
        draft: bool = False,
        source: str | None = None,
    ) -> WriteResult:
        """Add ``version`` as the newest, a clone of the newest version with the version
        substituted (``templates.from_newest``), made from the document under the lock. A
        ``draft`` is added disabled, in the same revision, for an admin to enable."""

        def edit(document: dict[str, Any], state: TitleState) -> Change:
            patches = document["patches"]
            if any(p["version"] == version for p in patches):
                raise Conflict(
                    f"version '{version}' exists in '{title_id}'", "/version", code="version_exists"
                )
            patches.insert(
                0,
                from_newest(document, version, release_date=release_date, minimum_os=minimum_os),
            )
            summary = f"added version {version} from the newest" + (
                f" ({source})" if source else ""
            )
            held = TitleState(state.enabled, (*state.disabled_versions, version))
            return Change(
                "add-version",
                summary + (", as a draft (disabled)" if draft else ""),
                state=held if draft else None,
                index=0,
            )

        return await self.rewrite(title_id, edit, actor)

    async def replace_version(
        self, title_id: str, version: str, raw: Any, actor: Actor, *, strict: bool = False
    ) -> WriteResult:
        _require_object(raw)

        def edit(document: dict[str, Any], _state: TitleState) -> Change:
            patches = document["patches"]
            index = position(patches, version, title_id, "version")
            new_version = raw.get("version")
            if new_version != version and any(p["version"] == new_version for p in patches):
                raise Conflict(
                    f"version '{new_version}' exists in '{title_id}'",
                    "/version",
                    code="version_exists",
                )
            patches[index] = raw
            renamed = f" (now {new_version})" if new_version != version else ""
            return Change(
                "edit-version", f"edited version {version}{renamed}", index=index, version=version
            )

        return await self.rewrite(title_id, edit, actor, strict=strict)

    async def delete_version(self, title_id: str, version: str, actor: Actor) -> WriteResult:
        def edit(document: dict[str, Any], _state: TitleState) -> Change:
            patches = document["patches"]
            index = position(patches, version, title_id, "version")
            if len(patches) == 1:
                raise Conflict(
                    f"'{version}' is the only version of '{title_id}'; a title needs at least "
                    "one version",
                    code="last_version",
                )
            del patches[index]
            return Change("delete-version", f"deleted version {version}", version=version)

        return await self.rewrite(title_id, edit, actor)

    # -- edits of the current document -----------------------------------------------------------

    async def rewrite(
        self,
        title_id: str,
        edit: Edit,
        actor: Actor,
        *,
        strict: bool = False,
        skip_unchanged: bool = False,
    ) -> WriteResult:
        """Apply ``edit`` to the title's current document and state and write the result.

        The edit and its validation happen before the lock; under the lock the title must still
        be at the revision edited, or it is done again from the new one (the last attempt
        validates under the lock, so a busy title is written all the same). With
        ``skip_unchanged``, an edit that changes neither the state nor the version order
        writes nothing and answers the title as it is.
        """
        try:
            for attempt in range(ATTEMPTS):
                seen = await self.row(title_id)
                # Refused before the edit, also when it would change nothing and so not write.
                check_author(actor, seen)
                change, checked = await _apply(seen, edit, strict, skip_unchanged)
                try:
                    async with self.db.transaction() as session:
                        generation = await bump_generation(session)
                        row = await require_title(session, title_id)
                        if row.revision != seen.revision:
                            if attempt < ATTEMPTS - 1:
                                raise _Stale
                            change, checked = await _apply(row, edit, strict, skip_unchanged)
                        result = await store(
                            session,
                            row,
                            checked.title,
                            moment_after(row.last_modified),
                            generation,
                            change.action,
                            actor,
                            summary=change.summary,
                            warnings=relocate(checked.warnings, change.index),
                            state=change.state,
                            version=change.version,
                        )
                except _Stale:
                    continue
                await self.changed()
                return result
        except _Unchanged as unchanged:
            return unchanged.result
        raise AssertionError("the last attempt writes or raises")


async def _apply(
    row: Title, edit: Edit, strict: bool, skip_unchanged: bool
) -> tuple[Change, Checked]:
    """Edit a copy of ``row``'s document and validate it (in a worker thread)."""
    document = orjson.loads(row.document)
    # The server recomputes currentVersion; leaving it out keeps a warning about a changed
    # newest version out of the answer (and out of strict mode). The stored lastModified is a
    # valid time, so it passes without a warning and is then replaced.
    del document["currentVersion"]
    state = TitleState.load(row.state)
    order = _order(document)
    change = edit(document, state)
    if skip_unchanged and (change.state or state) == state and _order(document) == order:
        title = title_record(row).title
        raise _Unchanged(
            WriteResult(
                title,
                row.revision,
                database_id=row.pk,
                state=state,
                summary="no change",
                namespace=row.namespace,
            )
        )
    try:
        checked = await check_off_loop(document, strict=strict)
    except Invalid as exc:
        raise Invalid(relocate(exc.problems, change.index)) from None
    return change, checked


def _order(document: dict[str, Any]) -> list[str]:
    return [p["version"] for p in document["patches"]]


def _count(title: SoftwareTitle) -> str:
    n = len(title.patches)
    return f"{n} version{'s' if n != 1 else ''} (current {title.currentVersion})"


def _require_object(raw: Any) -> None:
    if not isinstance(raw, dict):
        raise Invalid("a version must be a JSON object", code="version_not_object")


def relocate(problems: Sequence[Problem], index: int) -> list[Problem]:
    """Make problems inside ``/patches/<index>`` relative to that version's own body."""
    prefix = f"/patches/{index}"
    return [
        replace(problem, path=problem.path[len(prefix) :])
        if index >= 0 and (problem.path == prefix or problem.path.startswith(prefix + "/"))
        else problem
        for problem in problems
    ]
