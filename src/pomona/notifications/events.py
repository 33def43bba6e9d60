"""The event types of the notifications domain: subscriptions added and removed."""

from __future__ import annotations

from pydantic import BaseModel

from pomona.events.types import EventType


class SubscriptionChanged(BaseModel):
    username: str
    id: int
    pattern: str
    namespace: str | None
    mode: str


SUBSCRIPTION_CREATED = EventType(
    "notification.subscription_created",
    "A person subscribed to mail about events.",
    SubscriptionChanged,
)
SUBSCRIPTION_DELETED = EventType(
    "notification.subscription_deleted", "A mail subscription was removed.", SubscriptionChanged
)

TYPES = (SUBSCRIPTION_CREATED, SUBSCRIPTION_DELETED)
