"""The values the title service takes and returns: who writes, what was written, bulk items."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pomona.audit.service import Who
from pomona.errors import Problem
from pomona.titles.history import TitleState
from pomona.titles.models import Title
from pomona.titles.schemas import SoftwareTitle


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


POLICIES = ("skip", "replace", "copy")


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
