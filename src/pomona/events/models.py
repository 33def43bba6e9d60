"""Tables of the events domain: the outbox every domain writes its changes to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, Key, LongText, UtcDateTime


class Event(Base):
    """One change that committed. ``pk`` orders events for cursors and the stream's
    ``Last-Event-ID``; ``event_id`` is the stable id receivers deduplicate on."""

    __tablename__ = "events"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(255))
    # What the event is about, e.g. ``title:Firefox`` or ``package:App.pkg``.
    subject: Mapped[str | None] = mapped_column(Key, nullable=True, index=True)
    # The publisher namespace of a title event; None for the default feed and other domains.
    namespace: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    payload: Mapped[str] = mapped_column(LongText)  # JSON, the type's documented shape


__all__ = ["Event"]
