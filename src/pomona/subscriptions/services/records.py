"""Subscriptions as records: subscribe, list, read, edit, detach, re-attach, delete, and the
scan that finds those due for a check. Each write is audited and emits its event in its own
transaction. Nothing here talks to another host: checks are in ``checks.py`` and run in tasks.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.auth.scopes import Principal
from pomona.db import Database, utcnow
from pomona.errors import Conflict, Invalid, NotFound, Problem
from pomona.events.outbox import emit
from pomona.events.types import EventType, P
from pomona.net import check_url
from pomona.packages.catalog import PackageCatalog
from pomona.settings import Settings
from pomona.subscriptions.events import SUBSCRIPTION_CHANGED
from pomona.subscriptions.models import Subscription
from pomona.subscriptions.overrides import Overrides, load
from pomona.subscriptions.values import DEFINITION, NewSubscription, SourceSummary
from pomona.subscriptions.version_sources import PLUGINS, SourceOptions
from pomona.titles.access import check_may_write
from pomona.titles.models import Title
from pomona.titles.namespaces import check_namespaces
from pomona.titles.schemas import ID_PATTERN
from pomona.titles.services import TitleService
from pomona.titles.sources import fetch_policy


def canonical(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def options_of(row: Subscription) -> SourceOptions:
    return SourceOptions.model_validate(orjson.loads(row.options))


def overrides_of(row: Subscription) -> Overrides:
    return load(orjson.loads(row.overrides))


def upstream_of(row: Subscription) -> dict[str, Any] | None:
    return orjson.loads(row.upstream) if row.upstream else None


def subject(row: Subscription) -> str:
    return f"subscription:{row.pk}"


async def announce(
    session: AsyncSession, who: Who, row: Subscription, event_type: EventType[P], **fields: Any
) -> None:
    """Emit ``event_type`` about ``row`` in the caller's transaction: the fields every
    subscription event has come from the row, ``fields`` add the type's own."""
    payload = event_type.payload(
        subscription_id=row.pk, title_id=row.title_id, kind=row.kind, url=row.url, **fields
    )
    namespace = None if row.namespace == "default" else row.namespace
    await emit(
        session, who, event_type, payload, subject=f"title:{row.title_id}", namespace=namespace
    )


async def changed(session: AsyncSession, who: Who, row: Subscription, action: str) -> None:
    """The audit record and the event of a change to ``row``, in the caller's transaction."""
    await session.flush()  # a new row's pk
    await record(session, who, f"subscription.{action}", subject(row), f"{row.title_id} {row.url}")
    await announce(session, who, row, SUBSCRIPTION_CHANGED, action=action)


class SubscriptionRecords:
    def __init__(
        self,
        db: Database,
        titles: TitleService,
        settings: Settings,
        packages: PackageCatalog | None = None,
    ) -> None:
        self.db, self.titles, self.settings = db, titles, settings
        # Where "wait for package" looks for a version's package (None: nothing waits).
        self.packages = packages

    # -- reads -----------------------------------------------------------------------------------

    async def get(self, pk: int) -> Subscription:
        async with self.db.sessions() as session:
            return await _require(session, pk)

    async def of_title(self, title_id: str) -> Subscription:
        async with self.db.sessions() as session:
            row = await session.scalar(
                select(Subscription).where(Subscription.title_id == title_id)
            )
        if row is None:
            raise NotFound(f"'{title_id}' has no subscription", code="subscription_not_found")
        return row

    async def titles_named(self, name: str) -> list[str]:
        """The ids of the subscribed titles called ``name``, in one query."""
        query = (
            select(Subscription.title_id)
            .join(Title, Title.title_id == Subscription.title_id)
            .where(Title.name == name)
            .order_by(Subscription.title_id)
        )
        async with self.db.sessions() as session:
            return list(await session.scalars(query))

    async def summaries(self) -> dict[str, SourceSummary]:
        """Every subscribed title's source, by title id, in one query (for lists of titles)."""
        query = select(
            Subscription.title_id,
            Subscription.kind,
            Subscription.attached,
            Subscription.failures,
            Subscription.latest_version,
            Subscription.last_error,
        )
        async with self.db.sessions() as session:
            rows = (await session.execute(query)).all()
        return {row[0]: SourceSummary(*row) for row in rows}

    async def search(self, *, failing: bool | None = None) -> list[Subscription]:
        query = select(Subscription).order_by(Subscription.title_id)
        if failing is not None:
            query = query.where(
                Subscription.failures > 0 if failing else Subscription.failures == 0
            )
        async with self.db.sessions() as session:
            return list(await session.scalars(query))

    # -- writes ----------------------------------------------------------------------------------

    async def subscribe(
        self, asked: NewSubscription, who: Who, caller: Principal | None = None
    ) -> Subscription:
        """Check what can be checked without fetching (the URL's address, the kind and its
        options, the title id, the interval, that ``caller`` may write the title where it is)
        and store the subscription, due at once. An existing title keeps its namespace."""
        await check_url(asked.url, fetch_policy(self.settings))
        problems: list[Problem] = []
        title_id = asked.title_id or (title_id_of(asked.url) if asked.kind == DEFINITION else None)
        if title_id is None:
            problems.append(
                Problem(
                    "/titleId",
                    "give the title's id: the URL does not name one",
                    code="title_id_required",
                )
            )
        elif not re.fullmatch(ID_PATTERN, title_id):
            problems.append(
                Problem(
                    "/titleId",
                    f"'{title_id[:100]}' is not a valid title id",
                    code="title_id_invalid",
                )
            )
        options = self._options(asked.kind, asked.options, problems)
        every = self._every(asked.every_seconds, problems)
        overrides = canonical(load(asked.overrides).dump()) if asked.overrides else "{}"
        if problems:
            raise Invalid(problems)
        assert title_id is not None
        namespace = asked.namespace
        try:
            existing = await self.titles.row(title_id)
        except NotFound:
            if asked.kind != DEFINITION:
                raise  # a version source adds to a title that exists
        else:
            namespace = existing.namespace
        if caller is not None:
            check_may_write(caller, title_id)
            check_namespaces(caller.namespaces, [("/titleId", title_id, namespace)])
        now = utcnow()
        row = Subscription(
            title_id=title_id,
            namespace=namespace,
            kind=asked.kind,
            url=asked.url,
            options=canonical(options),
            overrides=overrides,
            every_seconds=every,
            attached=True,
            next_check_at=now,
            failures=0,
            created_at=now,
            created_by=who.actor[:255],
        )
        async with self.db.transaction() as session:
            if await session.scalar(
                select(Subscription.pk).where(Subscription.title_id == title_id)
            ):
                raise Conflict(
                    f"'{title_id}' already has a subscription; edit or delete it",
                    "/titleId",
                    code="subscription_exists",
                )
            session.add(row)
            await changed(session, who, row, "created")
        return row

    async def edit(
        self,
        pk: int,
        who: Who,
        *,
        url: str | None = None,
        options: dict[str, Any] | None = None,
        every_seconds: int | None = None,
    ) -> Subscription:
        if url is not None:
            await check_url(url, fetch_policy(self.settings))
        problems: list[Problem] = []
        row = await self.get(pk)
        checked = self._options(row.kind, options, problems) if options is not None else None
        every = self._every(every_seconds, problems) if every_seconds is not None else None
        if problems:
            raise Invalid(problems)
        async with self.db.transaction() as session:
            row = await _require(session, pk)
            if url is not None and url != row.url:
                row.url, row.etag, row.last_modified_header = url, None, None
            if checked is not None:
                row.options, row.etag, row.last_modified_header = canonical(checked), None, None
            if every is not None:
                row.every_seconds = every
                row.next_check_at = min(row.next_check_at, utcnow() + timedelta(seconds=every))
            await changed(session, who, row, "edited")
        return row

    async def set_attached(self, pk: int, attached: bool, who: Who) -> Subscription:
        """Detach (the title becomes local: it stays as it is, and is no longer checked) or
        re-attach (due at once; the next check fetches in full and replaces local edits with
        upstream under the overrides)."""
        async with self.db.transaction() as session:
            row = await _require(session, pk)
            if row.attached == attached:
                return row
            row.attached = attached
            if attached:
                row.next_check_at, row.etag, row.last_modified_header = utcnow(), None, None
            await changed(session, who, row, "attached" if attached else "detached")
        return row

    async def delete(self, pk: int, who: Who) -> None:
        """Stop following; the title stays, as it is, a local title."""
        async with self.db.transaction() as session:
            row = await _require(session, pk)
            await changed(session, who, row, "deleted")
            await session.delete(row)

    async def due_now(self, pk: int) -> Subscription:
        """Make ``pk`` due (a webhook said upstream changed); the caller queues the check."""
        async with self.db.transaction() as session:
            row = await _require(session, pk)
            row.next_check_at = utcnow()
        return row

    async def claim_due(self, limit: int) -> list[int]:
        """The attached subscriptions due for a check, each moved to its next time by a
        conditional update, so that two processes scanning at once never both claim one."""
        now = utcnow()
        async with self.db.sessions() as session:
            rows = (
                await session.execute(
                    select(Subscription.pk, Subscription.next_check_at, Subscription.every_seconds)
                    .where(Subscription.attached.is_(True), Subscription.next_check_at <= now)
                    .order_by(Subscription.next_check_at)
                    .limit(limit)
                )
            ).all()
        claimed: list[int] = []
        for pk, due, every in rows:
            async with self.db.transaction() as session:
                done = await session.execute(
                    update(Subscription)
                    .where(Subscription.pk == pk, Subscription.next_check_at == due)
                    .values(next_check_at=next_time(now, every))
                )
            if getattr(done, "rowcount", 0) == 1:
                claimed.append(pk)
        return claimed

    # -- checks of input -------------------------------------------------------------------------

    def _options(
        self, kind: str, given: dict[str, Any] | None, problems: list[Problem]
    ) -> dict[str, Any]:
        if kind == DEFINITION:
            if given:
                problems.append(
                    Problem(
                        "/options",
                        "a definition subscription takes no options",
                        code="source_option_invalid",
                    )
                )
            return {}
        plugin = PLUGINS.get(kind)
        if plugin is None:
            known = ", ".join([DEFINITION, *sorted(PLUGINS)])
            problems.append(
                Problem(
                    "/kind",
                    f"'{kind[:50]}' is not a kind; use one of: {known}",
                    code="kind_unknown",
                )
            )
            return {}
        try:
            options = SourceOptions.model_validate(given or {})
            plugin.check(options)
        except ValidationError as exc:
            problems.extend(
                Problem(
                    "/options/" + "/".join(str(p) for p in e["loc"]),
                    e["msg"],
                    code="source_option_invalid",
                )
                for e in exc.errors()
            )
            return {}
        except Invalid as exc:
            problems.extend(exc.problems)
            return {}
        return options.model_dump(by_alias=True, exclude_defaults=True)

    def _every(self, seconds: int | None, problems: list[Problem]) -> int:
        every = seconds if seconds is not None else self.settings.subscription_interval_seconds
        floor = self.settings.subscription_min_interval_seconds
        if every < floor or every > 366 * 86400:
            problems.append(
                Problem(
                    "/every",
                    f"{every} s; checks are from every {floor} s to once a year "
                    "(subscription_min_interval_seconds)",
                    code="interval_invalid",
                )
            )
        return every


def next_time(now: datetime, every: int) -> datetime:
    return now + timedelta(seconds=every)


def title_id_of(url: str) -> str | None:
    """The title id a definition URL names: ``.../patch/<id>``, or ``<id>.json``."""
    path = PurePosixPath(unquote(urlsplit(url).path))
    if path.parent.name == "patch" and path.name:
        return path.name
    if path.suffix.lower() == ".json" and path.stem:
        return path.stem
    return None


async def _require(session: AsyncSession, pk: int) -> Subscription:
    row = await session.get(Subscription, pk)
    if row is None:
        raise NotFound(
            f"no subscription {pk}", "/subscription_id", "path", code="subscription_not_found"
        )
    return row


__all__ = [
    "SubscriptionRecords",
    "announce",
    "canonical",
    "changed",
    "next_time",
    "options_of",
    "overrides_of",
    "subject",
    "title_id_of",
    "upstream_of",
]
