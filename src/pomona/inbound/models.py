"""Tables of the inbound domain: the Jamf Pro servers that send webhooks, and what they sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime


class InboundSource(Base):
    """A Jamf Pro server posting to ``/hooks/jamf/<name>``, and how it authenticates.

    ``auth`` is ``none``, ``basic`` or ``header``. Secrets are never kept as sent: the Basic
    password as an argon2id hash, each header value as its SHA-256 (``headers`` is a JSON map
    of lower-case header name to hex digest), compared in constant time.
    """

    __tablename__ = "inbound_sources"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Key, unique=True)
    auth: Mapped[str] = mapped_column(String(16))
    allow_unauthenticated: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str | None] = mapped_column(String(255), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    headers: Mapped[str | None] = mapped_column(LongText, nullable=True)
    # JSON list of {"on": "<Jamf event or pattern>", "action": "<registered action>"}.
    rules: Mapped[str] = mapped_column(LongText)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class InboundDelivery(Base):
    """One webhook as received: its raw body (bounded by the request budget) and what became of
    it. ``status`` is ``received`` (queued), ``processed`` or ``failed`` (an action failed)."""

    __tablename__ = "inbound_deliveries"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_pk: Mapped[int] = mapped_column(
        ForeignKey("inbound_sources.pk", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    webhook_event: Mapped[str] = mapped_column(String(64), index=True)
    webhook_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    webhook_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    event_timestamp: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    content_type: Mapped[str] = mapped_column(String(16))  # json or xml
    body: Mapped[str] = mapped_column(LongText)
    client: Mapped[str | None] = mapped_column(String(255), nullable=True)
    event_id: Mapped[str] = mapped_column(String(40))  # its jamf.webhook_received event
    status: Mapped[str] = mapped_column(String(16), index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(LongText, nullable=True)  # JSON


__all__ = ["InboundDelivery", "InboundSource"]
