"""Tables of the audit domain: one row per write, whatever the domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(255), index=True)
    token_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    client: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # How a person signed in: session, token:NAME, ldap; None for service tokens and the CLI.
    via: Mapped[str | None] = mapped_column(String(255), nullable=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(Key, index=True)
    # The id of the HTTP request that made the write (X-Request-ID), to find its log lines.
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    # One line a person can read, e.g. the revision summary of a title write.
    detail: Mapped[str | None] = mapped_column(LongText, nullable=True)


__all__ = ["AuditEvent"]
