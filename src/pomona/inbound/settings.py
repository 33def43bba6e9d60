"""The settings of Jamf Pro webhooks in (``inbound_*``), inherited by
:class:`pomona.settings.Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class InboundSettings(BaseModel):
    inbound_keep_days: float = Field(
        30.0,
        ge=0,
        description=(
            "How long Jamf Pro webhooks received are kept (their bodies, status and outcome); "
            "0 keeps them for ever. Their events stay in the event log by its own rules."
        ),
    )
