"""Tables of the titles domain.

``titles`` holds the current document of each title (what the feed serves); ``title_revisions``
holds every document each title has ever had, with its enabled state, including a tombstone
when it is deleted, so that nothing is lost and history survives a delete.
``feed_state.generation`` grows with every write: processes compare it to know when their
rendered feed is stale. ``namespaces`` holds the publishers that have a feed of their own; every
title names its namespace, the default one (the main feed) unless told otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Boolean, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime


@dataclass(frozen=True, slots=True)
class TitleState:
    """What Jamf Pro may see of a title, kept outside its document: the value of the ``state``
    columns below (canonical JSON, so that equal states are equal text)."""

    enabled: bool = True
    disabled_versions: tuple[str, ...] = ()

    @classmethod
    def load(cls, text: str | None) -> TitleState:
        if not text:
            return cls()
        data = orjson.loads(text)
        return cls(bool(data.get("enabled", True)), tuple(data.get("disabledVersions", ())))

    def dump(self) -> str:
        return orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS).decode()

    def as_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "disabledVersions": list(self.disabled_versions)}

    def pruned(self, versions: list[str]) -> TitleState:
        """Forget disabled versions the document no longer has (deleted or renamed)."""
        kept = tuple(v for v in versions if v in self.disabled_versions)
        return TitleState(self.enabled, kept)


class Title(Base):
    __tablename__ = "titles"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title_id: Mapped[str] = mapped_column(Key, unique=True)
    name: Mapped[str] = mapped_column(String(255))
    publisher: Mapped[str] = mapped_column(String(255))
    current_version: Mapped[str] = mapped_column(String(255))
    last_modified: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revision: Mapped[int] = mapped_column(Integer)
    generation: Mapped[int] = mapped_column(BigInteger, index=True)
    document: Mapped[str] = mapped_column(LongText)
    # What Jamf Pro may see, kept beside the document (never in it): canonical JSON
    # {"enabled": bool, "disabledVersions": [...]}; None means enabled with every version.
    state: Mapped[str | None] = mapped_column(LongText, nullable=True)
    # The namespace (publisher) whose feed serves the title. Not a foreign key: the default
    # namespace exists without a row of its own (see ``pomona.titles.namespaces``).
    namespace: Mapped[str] = mapped_column(
        String(63), default="default", server_default="default", index=True
    )


class Namespace(Base):
    """A publisher with its own feed. The default namespace needs no row; it gets one when an
    admin edits it."""

    __tablename__ = "namespaces"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    decorate_ids: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TitleRevision(Base):
    __tablename__ = "title_revisions"
    __table_args__ = (UniqueConstraint("title_id", "number"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title_id: Mapped[str] = mapped_column(Key)  # indexed by the unique (title_id, number)
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(1024))
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # None marks the revision that deleted the title.
    document: Mapped[str | None] = mapped_column(LongText, nullable=True)
    # The title's state after this revision, as in ``titles.state``, so rollback restores it.
    state: Mapped[str | None] = mapped_column(LongText, nullable=True)


class FeedState(Base):
    __tablename__ = "feed_state"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)


__all__ = ["FeedState", "Namespace", "Title", "TitleRevision", "TitleState"]
