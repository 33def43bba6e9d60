"""The settings of the event log (``events_*``) and of webhook delivery (``webhook_*``),
inherited by :class:`pomona.settings.Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EventSettings(BaseModel):
    events_retention_days: int = Field(
        90,
        ge=0,
        description=(
            "Days an event is kept in the log (the events API) before the periodic prune "
            "removes it, with its webhook deliveries. 0: keep every event."
        ),
    )
    events_stream_poll_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="How often an open event stream (`/api/v1/events/stream`) looks for events.",
    )
    events_stream_heartbeat_seconds: float = Field(
        15.0,
        gt=0,
        le=300,
        description=(
            "Seconds between the comments an idle event stream sends, so proxies and clients "
            "keep it open."
        ),
    )
    webhook_timeout_seconds: float = Field(
        15.0, gt=0, le=120, description="Time limit of one webhook request, in seconds."
    )
    webhook_retry_scale: float = Field(
        1.0,
        gt=0,
        le=10,
        description=(
            "Multiplies the retry schedule of failed webhook deliveries (5 s, 5 min, 30 min, 2 h, "
            "5 h, 10 h, 14 h, 20 h, 24 h, about three days in all). Lower it to test receivers."
        ),
    )
    webhook_disable_after_hours: float = Field(
        72.0,
        gt=0,
        description=(
            "An endpoint whose deliveries have all failed for this long is disabled, with a "
            "`webhook.endpoint_disabled` event."
        ),
    )
    webhook_secret_overlap_hours: float = Field(
        24.0,
        ge=0,
        description=(
            "After a signing secret is rotated, the old one keeps signing (beside the new one) "
            "for this long, so receivers can switch without losing a delivery."
        ),
    )
    webhook_poll_seconds: float = Field(
        1.0,
        ge=0,
        le=60,
        description=(
            "How often each process running the job queue looks for new events to deliver and "
            "for retries that are due. 0: this process does not dispatch."
        ),
    )
