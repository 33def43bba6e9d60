"""Namespaces (publishers): list, create, edit and delete them.

A namespace's display name and decoration show on its feed, so each write bumps
``feed_state.generation`` like a title write: every process renders the feed again. The default
namespace always exists; it is stored only once an admin edits it, and cannot be deleted.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who, record
from pomona.db import utcnow
from pomona.errors import Conflict, Invalid, NotFound, Problem
from pomona.titles.models import Namespace, Title
from pomona.titles.namespaces import (
    DEFAULT,
    NamespaceInfo,
    display_name_problems,
    slug_problems,
)
from pomona.titles.services.reads import TitleReads
from pomona.titles.services.revisions import bump_generation

# What the default namespace is called until an admin names it.
DEFAULT_DISPLAY_NAME = "Main feed"
# Titles a refused deletion names, at most: enough to act on, never a huge answer.
LISTED = 100


async def require_namespace(session: AsyncSession, slug: str, path: str = "/namespace") -> None:
    """Refuse (``namespace_not_found``) a namespace that does not exist; the default always
    does."""
    if slug == DEFAULT:
        return
    if await session.scalar(select(Namespace.pk).where(Namespace.slug == slug)) is None:
        raise NotFound(
            [
                Problem(
                    path,
                    f"no namespace '{slug}'; `pomona namespaces list` shows them",
                    "query",
                )
            ],
            code="namespace_not_found",
        )


def _not_found(slug: str) -> NotFound:
    return NotFound(
        f"no namespace '{slug}'; `pomona namespaces list` shows them",
        "/slug",
        "path",
        code="namespace_not_found",
    )


def _info(row: Namespace | None, slug: str, titles: int) -> NamespaceInfo:
    if row is None:
        return NamespaceInfo(slug, DEFAULT_DISPLAY_NAME, False, None, titles)
    return NamespaceInfo(row.slug, row.display_name, row.decorate_ids, row.created_at, titles)


def _summary(row: Namespace) -> str:
    return f"display name: {row.display_name}; decorate ids: {'yes' if row.decorate_ids else 'no'}"


class TitleNamespaces(TitleReads):
    async def namespaces(self) -> list[NamespaceInfo]:
        """Every namespace, the default first, each with how many titles it holds."""
        async with self.db.sessions() as session:
            rows = {r.slug: r for r in await session.scalars(select(Namespace))}
            counts = dict(
                (
                    await session.execute(
                        select(Title.namespace, func.count()).group_by(Title.namespace)
                    )
                ).all()
            )
        slugs = [DEFAULT, *sorted(s for s in rows if s != DEFAULT)]
        return [_info(rows.get(s), s, counts.get(s, 0)) for s in slugs]

    async def namespace(self, slug: str) -> NamespaceInfo:
        async with self.db.sessions() as session:
            row = await session.scalar(select(Namespace).where(Namespace.slug == slug))
            if row is None and slug != DEFAULT:
                raise _not_found(slug)
            count = await session.scalar(
                select(func.count()).select_from(Title).where(Title.namespace == slug)
            )
        return _info(row, slug, count or 0)

    async def create_namespace(
        self, slug: str, display_name: str, who: Who, *, decorate_ids: bool = False
    ) -> NamespaceInfo:
        problems = [*slug_problems(slug), *display_name_problems(display_name)]
        if problems:
            raise Invalid(problems)
        row = Namespace(
            slug=slug,
            display_name=display_name.strip(),
            decorate_ids=decorate_ids,
            created_at=utcnow(),
        )
        try:
            async with self.db.transaction() as session:
                await bump_generation(session)
                if slug == DEFAULT or await session.scalar(
                    select(Namespace.pk).where(Namespace.slug == slug)
                ):
                    raise Conflict(f"namespace '{slug}' exists", "/slug", code="namespace_exists")
                session.add(row)
                await session.flush()
                await record(session, who, "namespace.create", f"namespace:{slug}", _summary(row))
        except IntegrityError:  # created by another request between the check and the insert
            raise Conflict(f"namespace '{slug}' exists", "/slug", code="namespace_exists") from None
        await self.changed()
        return _info(row, slug, 0)

    async def edit_namespace(
        self,
        slug: str,
        who: Who,
        *,
        display_name: str | None = None,
        decorate_ids: bool | None = None,
    ) -> NamespaceInfo:
        """Change what is given. The slug never changes: it is in the feed's URL that every
        Jamf Pro server using the feed was given."""
        if display_name is not None and (problems := display_name_problems(display_name)):
            raise Invalid(problems)
        async with self.db.transaction() as session:
            await bump_generation(session)
            row = await session.scalar(select(Namespace).where(Namespace.slug == slug))
            if row is None:
                if slug != DEFAULT:
                    raise _not_found(slug)
                row = Namespace(
                    slug=DEFAULT,
                    display_name=DEFAULT_DISPLAY_NAME,
                    decorate_ids=False,
                    created_at=utcnow(),
                )
            if display_name is not None:
                row.display_name = display_name.strip()
            if decorate_ids is not None:
                row.decorate_ids = decorate_ids
            session.add(row)
            await session.flush()
            await record(session, who, "namespace.edit", f"namespace:{slug}", _summary(row))
        await self.changed()
        return await self.namespace(slug)

    async def delete_namespace(self, slug: str, who: Who) -> None:
        """Delete an empty namespace; one that holds titles is refused with their ids."""
        if slug == DEFAULT:
            raise Conflict(
                "the default namespace is the main feed and cannot be deleted",
                "/slug",
                "path",
                code="namespace_default",
            )
        async with self.db.transaction() as session:
            await bump_generation(session)
            row = await session.scalar(select(Namespace).where(Namespace.slug == slug))
            if row is None:
                raise _not_found(slug)
            held = list(
                await session.scalars(
                    select(Title.title_id)
                    .where(Title.namespace == slug)
                    .order_by(Title.title_id)
                    .limit(LISTED + 1)
                )
            )
            if held:
                shown = ", ".join(held[:LISTED]) + (", ..." if len(held) > LISTED else "")
                raise Conflict(
                    f"namespace '{slug}' holds titles: {shown}; delete them first",
                    "/slug",
                    "path",
                    code="namespace_not_empty",
                )
            await session.delete(row)
            await record(session, who, "namespace.delete", f"namespace:{slug}", _summary(row))
        await self.changed()
