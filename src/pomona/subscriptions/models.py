"""Tables of the subscriptions domain.

``subscriptions`` holds one row per followed title: where it comes from (``kind`` is
``definition`` for a remote definition, else the name of a version source plugin), when it is
next checked, the validators of the last answer (for conditional requests), the last good
upstream document, the local overrides laid over it, and the outcome of the last check.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime


class Subscription(Base):
    __tablename__ = "subscriptions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # One subscription per title: the title it keeps current.
    title_id: Mapped[str] = mapped_column(Key, unique=True)
    namespace: Mapped[str] = mapped_column(String(63), default="default")
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    # Canonical JSON: the version source's options ({} for a definition).
    options: Mapped[str] = mapped_column(LongText)
    # Canonical JSON: the overrides laid over the upstream document ({} for none).
    overrides: Mapped[str] = mapped_column(LongText)
    every_seconds: Mapped[int] = mapped_column(Integer)
    # False once detached: the title is local and no longer checked.
    attached: Mapped[bool] = mapped_column(Boolean, server_default=true())
    next_check_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    etag: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    last_modified_header: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The last upstream document that validated (definitions only).
    upstream: Mapped[str | None] = mapped_column(LongText, nullable=True)
    latest_version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(255))


__all__ = ["Subscription"]
