"""The events the events domain emits itself: changes to webhook endpoints.

An endpoint's URL can be its secret (Slack and Teams URLs are), so payloads name its host only.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from pomona.events.types import EventType


class EndpointChange(BaseModel):
    """A webhook endpoint as the change left it."""

    id: str = Field(description="The endpoint's id (as the webhooks API shows it).")
    kind: str = Field(description="`signed`, `slack`, `teams` or `patchserver`.")
    host: str = Field(description="The host of its URL (the URL itself may be a secret).")
    enabled: bool = Field(description="Whether it receives events now.")
    reason: str | None = Field(None, description="Why it was disabled, when it was.")


def _endpoint(name: str, summary: str) -> EventType[EndpointChange]:
    return EventType(f"webhook.{name}", summary, EndpointChange)


ENDPOINT_CREATED = _endpoint("endpoint_created", "A webhook endpoint was added.")
ENDPOINT_UPDATED = _endpoint("endpoint_updated", "A webhook endpoint was edited.")
ENDPOINT_DELETED = _endpoint("endpoint_deleted", "A webhook endpoint was removed.")
SECRET_ROTATED = _endpoint(
    "secret_rotated", "A signed endpoint's secret was rotated (the old one signs for a while)."
)
ENDPOINT_DISABLED = _endpoint(
    "endpoint_disabled",
    "A webhook endpoint was disabled by the server: it answered 410 Gone, or failed for longer "
    "than `webhook_disable_after_hours`. Enable it again once the receiver is fixed.",
)

TYPES = (ENDPOINT_CREATED, ENDPOINT_UPDATED, ENDPOINT_DELETED, SECRET_ROTATED, ENDPOINT_DISABLED)
