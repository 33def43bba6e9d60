"""Many titles at once: restores and imports (all validated, then all written in one
transaction, or none), the remote-import job, and the export that backups are made of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import orjson
from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.auth.scopes import Principal
from pomona.db import utcnow
from pomona.errors import BadRequest, Conflict, Invalid, Problem
from pomona.queue.jobs import params_of, principal_of, settle
from pomona.queue.models import Job
from pomona.settings import Settings
from pomona.titles.access import check_may_write_all
from pomona.titles.budget import give_back
from pomona.titles.models import Title, TitleRevision, TitleState
from pomona.titles.namespaces import DEFAULT, check_namespaces
from pomona.titles.schemas import SoftwareTitle
from pomona.titles.services.namespaces import require_namespace
from pomona.titles.services.revisions import (
    bump_generation,
    find_titles,
    free_copy_id,
    import_history,
    moment_after,
    new_row,
    next_revision_numbers,
    revision_dict,
    store,
)
from pomona.titles.services.writes import TitleWrites
from pomona.titles.sources import from_remote
from pomona.titles.validation import check_definition
from pomona.titles.values import (
    POLICIES,
    Actor,
    Exported,
    ImportOutcome,
    ImportReport,
    Incoming,
    RemoteImport,
    Then,
)

# Titles written per flush: each flush is one batch of statements, but also one stretch of
# work on the event loop that serves the Jamf feed, so the batches are kept small. Measured
# (bench "load", restores back to back): one flush for all 500 put the feed's p99 at 70 ms;
# 25 per flush, 31-34 ms; 5 per flush, 26-31 ms, for the same number of restores.
FLUSH_EVERY = 5

# One incoming document once validated: where it came from, the title, its warnings.
Checked = tuple[Incoming, SoftwareTitle, list[Problem]]


class _DryRun(Exception):
    """Leave the transaction without writing anything, carrying the outcomes out of it."""

    def __init__(self, outcomes: list[ImportOutcome]) -> None:
        super().__init__()
        self.outcomes = outcomes


class TitleImports(TitleWrites):
    async def apply_items(
        self,
        caller: Principal,
        actor: Actor,
        items: list[Incoming],
        *,
        policy: str,
        dry_run: bool,
        action: str,
        then: Then | None = None,
        namespace: str | None = None,
    ) -> list[ImportOutcome]:
        """Check that ``caller`` may write every title named, then write them all in one
        transaction (each with its revision and audit record), or none. Requests and jobs both
        end here. The ids actually written (a copy's) are checked again once chosen.

        ``items`` is emptied once written or refused: a refusal's traceback keeps the frames
        that saw the documents alive until the collector's next full pass, which may be long
        in coming; emptying the one list they share frees them at once, and ``give_back``
        returns the space to the system."""
        try:
            if not items:
                raise Invalid("no definitions found", code="no_definitions")
            # The ids named are refused before validating anything: that costs a worker thread.
            check_may_write_all(
                caller,
                (
                    (item.source, item.document["id"])
                    for item in items
                    if isinstance(item.document, dict) and isinstance(item.document.get("id"), str)
                ),
            )
            return await self.apply_many(
                items,
                actor,
                caller=caller,
                policy=policy,
                dry_run=dry_run,
                action=action,
                then=then,
                namespace=namespace,
            )
        finally:
            items.clear()
            await to_thread.run_sync(give_back)

    async def apply_many(
        self,
        items: Sequence[Incoming],
        actor: Actor,
        *,
        caller: Principal,
        policy: str,
        dry_run: bool,
        action: str,
        then: Then | None = None,
        namespace: str | None = None,
    ) -> list[ImportOutcome]:
        """Write many titles in one transaction, after every document has passed validation.

        ``policy`` says what happens to an id that exists: ``skip`` leaves it, ``replace``
        makes the incoming document current as a new revision (the old one stays in history),
        ``copy`` stores the incoming one beside it under a free id ``<id>-copy[-N]``. Nothing is
        written if any document is invalid, if ``caller`` may not write an id that would be
        written (a copy's too), nor on a dry run. ``then`` is called with the
        outcomes inside the transaction, before it commits (not on a dry run): a job records its
        end there, so the titles and the job's result are written together or not at all.

        ``namespace`` is where the titles go; without one, each goes where its backup kept it,
        else an existing title stays where it is and a new one goes to the default namespace.
        Ids are unique across namespaces: replacing a title that another namespace holds is
        refused (``title_in_other_namespace``); a copy goes to the namespace asked for.

        Validation of the whole lot runs in a worker thread, before the write lock is taken.
        """
        if policy not in POLICIES:
            raise BadRequest(
                [Problem("/policy", f"policy must be one of {', '.join(POLICIES)}", "query")],
                code="policy_invalid",
            )
        now = utcnow()
        checked = await to_thread.run_sync(check_all, items, now)
        try:
            return await self._write_all(
                checked, actor, caller, policy, dry_run, action, now, then, namespace
            )
        except _DryRun as dry:
            return dry.outcomes

    async def _write_all(
        self,
        checked: list[Checked],
        actor: Actor,
        caller: Principal,
        policy: str,
        dry_run: bool,
        action: str,
        now: datetime,
        then: Then | None,
        namespace: str | None,
    ) -> list[ImportOutcome]:
        outcomes: list[ImportOutcome] = []
        planned: list[tuple[Incoming, SoftwareTitle, ImportOutcome]] = []
        homes: dict[str, str] = {}  # id written -> its namespace
        ids = [title.id for _, title, _ in checked]
        async with self.db.transaction() as session:
            generation = await bump_generation(session)
            rows = await find_titles(session, ids)
            taken = set(rows)
            elsewhere: list[Problem] = []
            for item, title, warnings in checked:
                outcome = ImportOutcome(item.source, title.id, "create", warnings=warnings)
                outcomes.append(outcome)
                into = namespace or item.namespace
                if title.id in rows:
                    held = rows[title.id].namespace
                    if policy == "replace" and into is not None and into != held:
                        elsewhere.append(_elsewhere(item.source, title.id, held, into))
                    into = into or held
                    if policy == "skip":
                        outcome.result = "skip"
                        continue
                    if policy == "copy":
                        outcome.id = await free_copy_id(session, title.id, taken)
                        title = title.model_copy(update={"id": outcome.id})
                        outcome.result = "copy"
                    else:
                        outcome.result = "replace"
                taken.add(outcome.id)
                homes[outcome.id] = into or DEFAULT
                planned.append((item, title, outcome))
            if elsewhere:
                raise Conflict(elsewhere, code="title_in_other_namespace")
            for into in sorted(set(homes.values())):
                await require_namespace(session, into)
            # The ids to be written, copies' included, are known only now; nothing is written
            # yet, and a dry run is refused as the write would be.
            check_may_write_all(caller, ((i.source, o.id) for i, _, o in planned))
            check_namespaces(
                caller.namespaces, ((i.source, o.id, homes[o.id]) for i, _, o in planned)
            )
            if dry_run:
                raise _DryRun(outcomes)
            numbers = await next_revision_numbers(session, [o.id for _, _, o in planned])
            written: list[Title] = []
            for item, title, outcome in planned:
                row = rows.get(outcome.id)
                number = numbers[outcome.id]
                written.append(
                    await self._write_one(
                        session,
                        item,
                        title,
                        outcome,
                        row or new_row(outcome.id, now, homes[outcome.id]),
                        number,
                        generation,
                        actor,
                        action,
                        now,
                    )
                )
                if len(written) % FLUSH_EVERY == 0:
                    await session.flush()
            await session.flush()
            for (_, _, outcome), row in zip(planned, written, strict=True):
                outcome.database_id = row.pk
            if then is not None:
                await then(session, outcomes)
        if planned:
            await self.changed()
        return outcomes

    async def _write_one(
        self,
        session: AsyncSession,
        item: Incoming,
        title: SoftwareTitle,
        outcome: ImportOutcome,
        row: Title,
        number: int,
        generation: int,
        actor: Actor,
        action: str,
        now: datetime,
    ) -> Title:
        """Write one title: ``row`` is its stored row, or a new one (no primary key yet)."""
        moment = now if row.pk is None else moment_after(row.last_modified)
        history_written = False
        if item.history and outcome.result == "create" and number == 1:
            history_written = await import_history(session, outcome.id, item.history)
        written = await store(
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
            # After an imported history, the next number follows it.
            number=None if history_written else number,
            flush=history_written,
        )
        outcome.revision = written.revision
        return row

    async def export(self, *, history: bool, namespace: str | None = None) -> list[Exported]:
        """Every current title (of ``namespace``, or of all) with its state and namespace and,
        if asked, its whole history; for backups."""
        where = [] if namespace is None else [Title.namespace == namespace]
        async with self.db.sessions() as session:
            rows = list(await session.scalars(select(Title).where(*where).order_by(Title.title_id)))
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
                row.namespace,
            )
            for row in rows
        ]

    async def import_remote(self, job: Job, settings: Settings) -> dict[str, Any]:
        """The work of a ``titles.import-remote`` job: fetch, then write as the token that asked.

        The job's result is recorded in the transaction that writes the titles, so a task run
        again after a crash between the two finds the job finished instead of importing twice
        (which, with ``copy``, would store second copies)."""
        asked = RemoteImport.from_params(params_of(job))
        gathered = await from_remote(asked.url, asked.ids, settings)

        def report(outcomes: list[ImportOutcome]) -> dict[str, Any]:
            found = ImportReport(outcomes, gathered.ignored, asked.policy, asked.dry_run)
            return found.as_dict()

        async def finish(session: AsyncSession, outcomes: list[ImportOutcome]) -> None:
            await settle(session, job.job_id, result=report(outcomes))

        caller = principal_of(job)
        outcomes = await self.apply_items(
            caller,
            Actor(job.actor, None, job.client, caller.namespaces),
            gathered.items,
            policy=asked.policy,
            dry_run=asked.dry_run,
            action="import",
            then=finish,
            namespace=asked.namespace,
        )
        return report(outcomes)


def _elsewhere(source: str, title_id: str, held: str, into: str) -> Problem:
    return Problem(
        source,
        f"title '{title_id}' is in namespace '{held}', not '{into}'; ids are unique across "
        "namespaces: restore it into its own namespace, or use policy 'copy'",
    )


def check_all(items: Sequence[Incoming], now: datetime) -> list[Checked]:
    """Validate every document, or raise ``Invalid`` with the problems of all of them, each
    located in its source; an id may come only once."""
    checked: list[Checked] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for item in items:
        try:
            found = check_definition(item.document, now=now)
        except Invalid as exc:
            problems.extend(replace(p, path=item.source + p.path) for p in exc.problems)
            continue
        title_id = found.title.id
        if title_id in seen:
            problems.append(
                Problem(
                    item.source,
                    f"title '{title_id}' is also in {seen[title_id]}; keep one",
                    code="duplicate_title",
                )
            )
            continue
        seen[title_id] = item.source
        checked.append((item, found.title, found.warnings))
    if problems:
        raise Invalid(problems)
    return checked
