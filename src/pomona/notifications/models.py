"""Tables of the notifications domain: who wants mail about which events, how far the
dispatcher has read the event log, and one record per event and person mailed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pomona.db import Base, UtcDateTime


class NotificationSubscription(Base):
    """A person's wish for mail about events whose type matches ``pattern`` (``title.*``),
    in ``namespace`` only when set. ``mode`` is ``immediate``, ``hourly``, ``daily`` or
    ``off`` (no mail about what it matches, an admin's default failures included)."""

    __tablename__ = "notification_subscriptions"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_pk: Mapped[int] = mapped_column(
        ForeignKey("accounts.pk", ondelete="CASCADE"), index=True
    )
    pattern: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str | None] = mapped_column(String(64), nullable=True)
    mode: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NotificationDelivery(Base):
    """One event to mail to one person: the idempotency record. Its unique pair keeps a
    dispatcher run again from queueing the mail twice; ``sent_at`` keeps a send task run
    again from sending it twice. ``skipped`` says why nothing was sent (no email address)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("event_pk", "account_pk"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_pk: Mapped[int] = mapped_column(Integer)
    account_pk: Mapped[int] = mapped_column(
        ForeignKey("accounts.pk", ondelete="CASCADE"), index=True
    )
    mode: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))  # the pattern that matched
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    skipped: Mapped[str | None] = mapped_column(String(255), nullable=True)


__all__ = ["NotificationDelivery", "NotificationSubscription"]
