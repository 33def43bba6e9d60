"""The shapes of the inbound API: sources as written and as shown, and stored deliveries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AuthMode = Literal["none", "basic", "header"]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: str = Field(
        min_length=1,
        max_length=64,
        description=(
            "A Jamf event name or a pattern with `*`: `PatchSoftwareTitleUpdated`, "
            "`Computer*`, `*`."
        ),
    )
    action: str = Field(
        min_length=1, max_length=64, description="`notify`, or an action a domain offers."
    )


class SourceEdit(BaseModel):
    """What may change; a field left out keeps its value. Changing ``auth`` needs its secrets."""

    model_config = ConfigDict(extra="forbid")

    auth: AuthMode | None = Field(
        None, description="`none`, `basic` or `header`, as Jamf Pro offers."
    )
    allowUnauthenticated: bool | None = Field(
        None, description="Needed, and true, for `auth: none`: anyone may then post to the source."
    )
    username: str | None = Field(
        None, min_length=1, max_length=255, description="Basic: the user name."
    )
    password: str | None = Field(
        None,
        min_length=1,
        max_length=1024,
        description="Basic: the password; kept hashed, never shown.",
    )
    headers: dict[str, str] | None = Field(
        None,
        description=(
            'Header mode: the headers Jamf Pro sends, e.g. {"Authorization": "Bearer <token>"}; '
            "values kept hashed."
        ),
    )
    rules: list[RuleIn] | None = Field(None, max_length=100)
    enabled: bool | None = None


class SourceIn(SourceEdit):
    name: str = Field(
        min_length=1,
        max_length=64,
        description="Lower-case letters, digits, `.`, `_` and `-`; the path `/hooks/jamf/<name>`.",
    )
    auth: AuthMode = "header"


class RuleOut(BaseModel):
    on: str
    action: str


class SourceOut(BaseModel):
    name: str
    url: str = Field(description="The path Jamf Pro posts to, on this server.")
    auth: AuthMode
    allowUnauthenticated: bool
    username: str | None
    headerNames: list[str] = Field(description="The headers checked; their values are never shown.")
    rules: list[RuleOut]
    enabled: bool
    createdAt: str
    updatedAt: str
    lastReceivedAt: str | None


class SourcesOut(BaseModel):
    items: list[SourceOut]


class DeliveryOut(BaseModel):
    id: int
    receivedAt: str
    webhookEvent: str
    webhookId: int | None
    webhookName: str | None
    eventTimestamp: str | None
    contentType: str
    status: str = Field(description="`received` (queued), `processed` or `failed`.")
    processedAt: str | None
    outcome: dict[str, Any] | None
    eventId: str
    client: str | None
    body: str = Field(description="The body as Jamf Pro sent it.")


class DeliveriesOut(BaseModel):
    items: list[DeliveryOut]
    total: int
    page: int
    perPage: int


class ReceivedOut(BaseModel):
    delivery: int
    webhookEvent: str
    eventId: str


__all__ = [
    "DeliveriesOut",
    "DeliveryOut",
    "ReceivedOut",
    "RuleIn",
    "RuleOut",
    "SourceEdit",
    "SourceIn",
    "SourceOut",
    "SourcesOut",
]
