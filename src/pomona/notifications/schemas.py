"""The shapes of the notifications API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["immediate", "hourly", "daily", "off"]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(
        min_length=1,
        max_length=64,
        description="An event type, or a pattern with `*`: `title.*`, `*.failed`, `*`.",
    )
    namespace: str | None = Field(
        None, min_length=1, max_length=64, description="Only events of this namespace."
    )
    mode: Mode = Field(
        "immediate",
        description=(
            "One mail per event, an hourly or daily digest, or `off`: no mail about what it "
            "matches, whatever else does (an admin's default failures included)."
        ),
    )


class SubscriptionOut(BaseModel):
    id: int
    pattern: str
    namespace: str | None
    mode: Mode
    createdAt: str


class SubscriptionsOut(BaseModel):
    username: str
    email: str | None = Field(description="Where the mail goes; none: nothing is sent.")
    items: list[SubscriptionOut]
    adminDefaults: list[str] = Field(
        description="The failures an admin is mailed about without subscribing (a setting)."
    )
