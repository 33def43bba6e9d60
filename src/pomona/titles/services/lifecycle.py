"""A title's lifecycle: what Jamf Pro may see (enable, disable, version order), its history,
diffs between revisions, and rollbacks."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, select

from pomona.db import utcnow
from pomona.errors import Conflict, Invalid, NotFound, Problem
from pomona.titles.history import Diff, diff
from pomona.titles.models import TitleRevision, TitleState
from pomona.titles.namespaces import home_namespace
from pomona.titles.ordering import newest_first
from pomona.titles.services.namespaces import require_namespace
from pomona.titles.services.reads import position
from pomona.titles.services.revisions import (
    bump_generation,
    check_off_loop,
    check_revision,
    find_revision,
    find_title,
    moment_after,
    new_row,
    parse_document,
    store,
)
from pomona.titles.services.writes import Change, TitleWrites
from pomona.titles.values import Actor, WriteResult


class TitleLifecycle(TitleWrites):
    # -- what Jamf Pro sees: enable, disable, order ----------------------------------------------

    async def set_enabled(
        self, title_id: str, enabled: bool, actor: Actor, *, version: str | None = None
    ) -> WriteResult:
        """Enable or disable the title, or one of its versions; the API keeps showing both."""

        def change(document: dict[str, Any], state: TitleState) -> Change:
            if version is None:
                action = "enable" if enabled else "disable"
                return Change(action, state=TitleState(enabled, state.disabled_versions))
            position(document["patches"], version, title_id, "version")
            disabled = [v for v in state.disabled_versions if v != version]
            if not enabled:
                disabled.append(version)
            action = "enable-version" if enabled else "disable-version"
            disabled_state = TitleState(state.enabled, tuple(disabled))
            return Change(action, state=disabled_state, version=version)

        return await self.rewrite(title_id, change, actor, skip_unchanged=True)

    async def reorder(self, title_id: str, order: list[str], actor: Actor) -> WriteResult:
        """Put the versions in ``order`` (newest first): it must name each version once."""

        def change(document: dict[str, Any], _state: TitleState) -> Change:
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
                raise Invalid(problems, code="version_order_invalid")
            by_version = {p["version"]: p for p in document["patches"]}
            document["patches"] = [by_version[v] for v in order]
            return Change("reorder")

        return await self.rewrite(title_id, change, actor, skip_unchanged=True)

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
                    f"'{title_id}' has no history: no title with this id was ever stored",
                    code="title_never_stored",
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

    async def definition_at(self, title_id: str, number: int) -> dict[str, Any] | None:
        """The definition revision ``number`` of ``title_id`` made (None: it has none, such as a
        deletion): what an event about that revision refers to."""
        async with self.db.sessions() as session:
            document = await session.scalar(
                select(TitleRevision.document).where(
                    TitleRevision.title_id == title_id, TitleRevision.number == number
                )
            )
        return parse_document(document)

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
        self,
        title_id: str,
        number: int,
        actor: Actor,
        *,
        if_revision: int | None = None,
        namespace: str | None = None,
    ) -> WriteResult:
        """Make revision ``number`` current again, as a new revision: history is never rewritten.

        Rolling back to a revision of a deleted title brings the title back, into ``namespace``
        (by default the author's only namespace, else the default one). A revision never
        changes once written, so it is validated before the lock is taken.
        """
        async with self.db.sessions() as session:
            target = await find_revision(session, title_id, number, "revision")
            if target.document is None:
                raise Conflict(
                    f"revision {number} of '{title_id}' is its deletion",
                    "/revision",
                    code="revision_is_deletion",
                )
            if (row := await find_title(session, title_id)) is not None:
                check_revision(row, if_revision)
        checked = await check_off_loop(orjson.loads(target.document))
        async with self.db.transaction() as session:
            generation = await bump_generation(session)
            row = await find_title(session, title_id)
            if row is not None:
                check_revision(row, if_revision)
                now = moment_after(row.last_modified)
            else:
                now = utcnow()
                into = namespace or home_namespace(actor.namespaces)
                await require_namespace(session, into)
                row = new_row(title_id, now, into)
            result = await store(
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
        await self.changed()
        return result
