"""The events the subscriptions domain emits, each with its payload's model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pomona.events.types import EventType


class _Payload(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    subscription_id: int = Field(alias="subscriptionId", description="The subscription's id")
    title_id: str = Field(alias="titleId", description="The title it keeps current")
    kind: str = Field(description="'definition', or the version source's name ('github', ...)")
    url: str = Field(description="What it follows: a definition's URL or the source's")


class SubscriptionChanged(_Payload):
    """A subscription was created, edited, detached, re-attached or deleted."""

    action: str = Field(description="created, edited, detached, attached or deleted")


class Synced(_Payload):
    revision: int | None = Field(description="The title's new revision; null when unchanged")
    changed: bool = Field(description="Whether the served title changed")
    summary: str = Field(description="What changed, in one line")


class Failed(_Payload):
    error: str = Field(description="Why the check failed")
    failures: int = Field(description="Failed checks in a row")


class VersionDiscovered(_Payload):
    version: str = Field(description="The version found")
    added: bool = Field(description="Whether the version was added to the title")


SUBSCRIPTION_CHANGED = EventType(
    "subscription.changed",
    "A subscription was created, edited, detached, re-attached or deleted",
    SubscriptionChanged,
)
SYNCED = EventType(
    "subscription.synced", "A check of a subscription succeeded (changed or not)", Synced
)
FAILED = EventType(
    "subscription.failed",
    "A check failed (unreachable, not valid): the title keeps its last good state",
    Failed,
)
VERSION_DISCOVERED = EventType(
    "title.version_discovered",
    "A subscription or version source found a version the title did not have",
    VersionDiscovered,
)

TYPES = (SUBSCRIPTION_CHANGED, SYNCED, FAILED, VERSION_DISCOVERED)

__all__ = ["FAILED", "SUBSCRIPTION_CHANGED", "SYNCED", "TYPES", "VERSION_DISCOVERED"]
