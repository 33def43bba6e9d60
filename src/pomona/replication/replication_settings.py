"""The settings of replication (``replication_*``), inherited by
:class:`pomona.settings.Settings`."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

_STAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ReplicationSettings(BaseModel):
    replication_site_name: str = Field(
        "",
        max_length=255,
        description="This site's name as its peers list it; empty: the machine's host name.",
    )
    replication_site_url: str | None = Field(
        None,
        description=(
            "The URL peers reach this site at (put in the invitations it makes); unset: "
            "`public_url`."
        ),
    )
    replication_stages: list[str] = Field(
        [],
        description=(
            'The stages (package tags) this site accepts, e.g. `["test", "prod"]`; a package '
            "replicates here only when it carries one of them. Empty: every package."
        ),
    )
    replication_firewalled: bool = Field(
        False,
        description=(
            "This site cannot be reached by its peers: they do not notify it, it polls them "
            "every `replication_poll_seconds`."
        ),
    )
    replication_invitation_hours: float = Field(
        1.0, gt=0, le=720, description="How long a pairing invitation can be used."
    )
    replication_clock_skew_seconds: float = Field(
        300.0,
        ge=1,
        le=3600,
        description=(
            "How old (or how far ahead) a signed peer request may be; each request's nonce is "
            "remembered this long, so a replay within it is refused too."
        ),
    )
    replication_streams: int = Field(
        4, ge=1, le=64, description="Parallel Range requests a transfer fetches chunks over."
    )
    replication_chunks_per_request: int = Field(
        8,
        ge=1,
        le=1024,
        description=(
            "Chunks one Range request asks for at most (each is verified and recorded as it "
            "lands, so a break costs at most the chunk in flight)."
        ),
    )
    replication_poll_seconds: float = Field(
        60.0,
        ge=0.2,
        le=86400,
        description=(
            "How often this site reads each peer's change log without being notified (the only "
            "way a firewalled site learns of changes; a safety net for the others)."
        ),
    )
    replication_rate_limit: int = Field(
        0,
        ge=0,
        description="Bytes per second all incoming transfers of this process share; 0: no limit.",
    )
    replication_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="How long a peer may stay silent during a request."
    )

    @field_validator("replication_stages")
    @classmethod
    def _stages(cls, value: list[str]) -> list[str]:
        for stage in value:
            if not _STAGE.match(stage):
                raise ValueError(f"{stage!r} is not a stage name (letters, digits, . _ -)")
        return sorted(set(value))
