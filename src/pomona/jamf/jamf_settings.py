"""The settings of the Jamf Pro companion (``jamf_*``) and the key that encrypts secrets at rest
(``secret_key``), inherited by :class:`pomona.settings.Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

MiB = 1024 * 1024


class JamfSettings(BaseModel):
    secret_key: SecretStr | None = Field(
        None,
        description=(
            "Key that encrypts secrets Pomona keeps (Jamf Pro connection secrets): any long "
            "random string; give every process of one server the same. Unset: a random key made "
            "on first use and kept in `<data_dir>/secret.key` (back it up with the database)."
        ),
    )
    jamf_part_mib: int = Field(
        16,
        ge=5,
        le=64,
        description=(
            "Size of each part of a multipart upload to Jamf Cloud (JCDS 2.0), in MiB. 10 to 64 "
            "suits most links; S3 takes at most 10,000 parts, so a larger file gets larger parts."
        ),
    )
    jamf_upload_streams: int = Field(
        4, ge=1, le=16, description="Parts of one upload to Jamf Cloud sent at once."
    )
    jamf_small_file_mib: int = Field(
        8,
        ge=0,
        le=1024,
        description=(
            "A package smaller than this many MiB is sent in one request to Jamf Pro's package "
            "upload endpoint rather than by multipart to JCDS (which it is also sent to when the "
            "server has no JCDS 2.0)."
        ),
    )
    jamf_s3_endpoint_url: str | None = Field(
        None,
        description=(
            "The S3 endpoint JCDS uploads go to. Unset: AWS S3 in the region Jamf Pro names "
            "(what Jamf Cloud uses). Set it only to route uploads through an S3 proxy."
        ),
    )
    jamf_rules_minutes: float = Field(
        15.0,
        ge=0,
        description=(
            "How often the push rules run (every package with a rule's tag that the rule's "
            "connection lacks is pushed). 0 turns the schedule off; `pomona jamf rules apply` "
            "runs them at once."
        ),
    )
    jamf_timeout_seconds: float = Field(
        60.0, gt=0, le=3600, description="Time limit of one request to Jamf Pro, in seconds."
    )
