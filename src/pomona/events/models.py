"""Tables of the events domain: the outbox every domain writes its changes to, and the webhook
endpoints, deliveries and attempts that carry events to other systems."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
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
    # The publisher namespace of a title event (`default` for the main feed); None elsewhere.
    namespace: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    payload: Mapped[str] = mapped_column(LongText)  # JSON, the type's documented shape


class EventCursor(Base):
    """How far a reader of the outbox has got (the webhook dispatcher: ``webhooks``). Moved by
    a conditional UPDATE, so that of several processes reading at once one wins each step."""

    __tablename__ = "event_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class WebhookEndpoint(Base):
    """Where events go: a URL, the kind of message it takes, and which events it wants."""

    __tablename__ = "webhook_endpoints"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(LongText)
    kind: Mapped[str] = mapped_column(String(16))  # signed | slack | teams | patchserver
    event_types: Mapped[str] = mapped_column(LongText)  # JSON list of patterns (``title.*``)
    namespace: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(String(255))
    # The signing secret (``whsec_...``): the server must sign with it, so it keeps it whole.
    secret: Mapped[str] = mapped_column(String(128))
    # The secret before the last rotation, still signed with until ``previous_until``.
    previous_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    previous_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # PatchServer's ``send_definition``: the legacy payload carries the whole definition.
    send_definition: Mapped[bool] = mapped_column(Boolean)
    # Since when every attempt has failed (None: the last one succeeded), and why it stopped.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One event to one endpoint: created once (unique pair), sent until it succeeds, fails for
    good, or its endpoint is disabled."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("event_pk", "endpoint_pk", name="uq_webhook_delivery"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.pk", ondelete="CASCADE"), index=True)
    endpoint_pk: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.pk", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending|delivered|failed
    # Attempts in the current round of the retry schedule (a replay starts a new round).
    tries: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # When a task was last queued for it, and until when a sender holds it.
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    held_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookAttempt(Base):
    """One request to an endpoint and how it went."""

    __tablename__ = "webhook_attempts"

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_pk: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.pk", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no answer
    duration_ms: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(String(1024), nullable=True)  # first 1 KB
    error: Mapped[str | None] = mapped_column(String(1024), nullable=True)


__all__ = ["Event", "EventCursor", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]
