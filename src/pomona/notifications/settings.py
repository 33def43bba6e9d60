"""The settings of email notifications (``notification_*``), inherited by
:class:`pomona.settings.Settings`. Mail itself is sent through the ``smtp_*`` settings."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from pomona import wildcards


class NotificationSettings(BaseModel):
    notification_admin_defaults: list[str] = Field(
        [
            "*.failed",
            "jamf.*failed",
            "job.failed",
            "replication.failed",
            "webhook.endpoint_disabled",
        ],
        description=(
            "Event types (with `*` wildcards) every admin is mailed about, one mail per event, "
            "without subscribing; `[]` mails admins only what they subscribe to."
        ),
    )
    notification_dispatch_minutes: float = Field(
        1.0,
        ge=0,
        le=1440,
        description=(
            "How often the dispatcher reads new events and queues their mails (at least once a "
            "minute counts as every minute); 0 stops notification mail."
        ),
    )
    notification_daily_hour: int = Field(
        7, ge=0, le=23, description="The hour (UTC) daily digests are sent after."
    )

    @field_validator("notification_admin_defaults")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        wrong = [p for p in value if not wildcards.valid(p)]
        if wrong:
            raise ValueError(f"not event type patterns: {wrong} (letters, digits, '.', '_', '*')")
        return value
