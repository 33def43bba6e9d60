"""The events the Jamf Pro companion emits, with their payloads (add fields, never remove)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pomona.events.types import EventType


class ConnectionPayload(BaseModel):
    connection: str = Field(description="The connection's name")
    url: str = Field(description="The Jamf Pro server's URL")
    auth: str = Field(description="client (an API client) or user")


class PushPayload(BaseModel):
    pushId: str = Field(description="The push's id (`/api/v1/jamf/pushes/<id>`)")
    connection: str = Field(description="The Jamf Pro connection pushed to")
    filename: str = Field(description="The package's name")
    sha256: str = Field(description="Its content's SHA-256")
    size: int = Field(description="Its size in bytes")
    packageId: str | None = Field(None, description="The package record's id in Jamf Pro")
    method: str | None = Field(
        None, description="multipart (JCDS 2.0), upload (the package upload endpoint) or skip"
    )
    rule: str | None = Field(None, description="The tag of the rule that started the push")


class PushFailedPayload(PushPayload):
    step: str = Field(
        description="The step that failed (record, compare, upload, hash, inventory, verify)"
    )
    error: str = Field(description="Why it failed")


class RemovalPayload(BaseModel):
    connection: str = Field(description="The Jamf Pro connection")
    filename: str = Field(description="The package's name")
    record: bool = Field(description="The package record was deleted too, not only the file")
    forced: bool = Field(description="Whether it was removed although something used it")


class RulePayload(BaseModel):
    tag: str = Field(description="The stage tag the rule pushes")
    connection: str = Field(description="The Jamf Pro connection it pushes to")


class LinkPayload(BaseModel):
    connection: str = Field(description="The Jamf Pro connection")
    changes: list[str] = Field(description="What was created, changed or removed in Jamf Pro")


CONNECTION_CREATED = EventType(
    "jamf.connection_created", "A Jamf Pro connection was added.", ConnectionPayload
)
CONNECTION_UPDATED = EventType(
    "jamf.connection_updated", "A Jamf Pro connection was changed.", ConnectionPayload
)
CONNECTION_DELETED = EventType(
    "jamf.connection_deleted", "A Jamf Pro connection was removed.", ConnectionPayload
)
PUSH_QUEUED = EventType(
    "jamf.push_queued", "A package push to Jamf Pro was asked for.", PushPayload
)
PUSH_COMPLETED = EventType(
    "jamf.push_completed",
    "A package reached Jamf Pro: file, record and checksum verified.",
    PushPayload,
)
PUSH_FAILED = EventType(
    "jamf.push_failed", "A package push to Jamf Pro stopped on an error.", PushFailedPayload
)
PACKAGE_REMOVED = EventType(
    "jamf.package_removed",
    "A package's file (and perhaps its record) was deleted from Jamf Pro.",
    RemovalPayload,
)
RULE_CREATED = EventType("jamf.rule_created", "A push rule was added.", RulePayload)
RULE_DELETED = EventType("jamf.rule_deleted", "A push rule was removed.", RulePayload)
CONNECTED = EventType(
    "jamf.connected", "Pomona was registered with a Jamf Pro server.", LinkPayload
)
DISCONNECTED = EventType(
    "jamf.disconnected", "Pomona's registration with a Jamf Pro server was undone.", LinkPayload
)

TYPES = (
    CONNECTION_CREATED,
    CONNECTION_UPDATED,
    CONNECTION_DELETED,
    PUSH_QUEUED,
    PUSH_COMPLETED,
    PUSH_FAILED,
    PACKAGE_REMOVED,
    RULE_CREATED,
    RULE_DELETED,
    CONNECTED,
    DISCONNECTED,
)
