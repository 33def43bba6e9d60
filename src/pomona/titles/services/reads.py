"""Reading titles and their versions; the base every part of the title service builds on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import defer

from pomona.db import Database
from pomona.errors import NotFound, Problem
from pomona.titles.models import Title
from pomona.titles.services.revisions import require_title, title_record
from pomona.titles.values import TitlePage, TitleRecord


class TitleReads:
    """Searches and reads; holds the database and who to tell when titles change."""

    def __init__(
        self, db: Database, *, on_change: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.db = db
        self.on_change = on_change

    async def changed(self) -> None:
        """Tell the listener (the web process's feed cache) that titles were written, and wait
        for it: the writer is answered once its write is on this process's feed."""
        if self.on_change is not None:
            await self.on_change()

    async def search(
        self,
        *,
        query: str | None,
        offset: int,
        limit: int,
        namespace: str | None = None,
        documents: bool = True,
    ) -> TitlePage:
        """Titles by id. ``documents=False`` leaves each row's document unloaded (the web UI's
        list shows only the columns: 500 documents read for nothing cost it most of its time)."""
        where = [] if namespace is None else [Title.namespace == namespace]
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
                select(Title)
                .options(*([] if documents else [defer(Title.document)]))
                .where(*where)
                .order_by(Title.title_id)
                .offset(offset)
                .limit(limit)
            )
            return TitlePage(list(rows), total or 0)

    async def get(self, title_id: str) -> TitleRecord:
        async with self.db.sessions() as session:
            return title_record(await require_title(session, title_id))

    async def row(self, title_id: str) -> Title:
        """The title's row as it is now, read without the write lock."""
        async with self.db.sessions() as session:
            return await require_title(session, title_id)

    async def database_id(self, title_id: str) -> int:
        return (await self.row(title_id)).pk

    async def versions(self, title_id: str) -> list[dict[str, Any]]:
        record = await self.get(title_id)
        return [p.model_dump(by_alias=True, mode="json") for p in record.title.patches]

    async def version(self, title_id: str, version: str) -> dict[str, Any]:
        patches = await self.versions(title_id)
        return patches[position(patches, version, title_id, "version")]


def position(patches: list[Any], version: str, title_id: str, parameter: str) -> int:
    """Where ``version`` is in the title's version list; ``parameter`` names the path or query
    parameter that gave it, for the problem's location."""
    for index, patch in enumerate(patches):
        if patch["version"] == version:
            return index
    message = f"title '{title_id}' has no version '{version}'"
    if parameter == "version":
        raise NotFound(message, code="version_not_found")
    raise NotFound([Problem(f"/{parameter}", message, "query")], code="version_not_found")
