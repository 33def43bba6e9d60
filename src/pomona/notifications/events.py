"""The event types of the notifications domain: subscriptions added and removed."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pomona.events.types import EventType


class SubscriptionChanged(BaseModel):
    username: str = Field(description="The person mailed")
    id: int = Field(description="The subscription's id")
    pattern: str = Field(description="The event types it matches, e.g. `title.*`")
    namespace: str | None = Field(description="The namespace it is limited to, if any")
    mode: str = Field(description="`immediate`, `hourly`, `daily` or `off`")


SUBSCRIPTION_CREATED = EventType(
    "notification.subscription_created",
    "A person subscribed to mail about events.",
    SubscriptionChanged,
)
SUBSCRIPTION_DELETED = EventType(
    "notification.subscription_deleted", "A mail subscription was removed.", SubscriptionChanged
)

TYPES = (SUBSCRIPTION_CREATED, SUBSCRIPTION_DELETED)
