"""The settings of the package store (storage, uploads, downloads, offload to a front server),
inherited by :class:`pomona.settings.Settings`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class PackageSettings(BaseModel):
    package_storage: Literal["local", "s3"] = Field(
        "local", description="Where package bytes live: a local directory or an S3 bucket."
    )
    package_dir: Path | None = Field(
        None, description="Directory of the local package store. Unset: `<data_dir>/packages`."
    )
    upload_dir: Path | None = Field(
        None,
        description=(
            "Directory for uploads in progress. Unset: `<data_dir>/uploads`. Keep it on the same "
            "file system as `package_dir`, so that publishing is a rename and never a copy."
        ),
    )
    package_extensions: list[str] = Field(
        [".pkg", ".dmg", ".zip"],
        description="Filename extensions accepted for packages (compared case-insensitively).",
    )
    package_max_bytes: int = Field(
        64 * 1024**3, ge=1, description="Largest package accepted, in bytes (default 64 GiB)."
    )
    upload_expiry_hours: float = Field(
        24.0,
        gt=0,
        description=(
            "An unfinished upload untouched for this long is removed by the cleanup; it is also "
            "the grace period before unreferenced stored bytes are removed."
        ),
    )
    package_history_days: float = Field(
        30.0,
        ge=0,
        description="How long the previous content of a replaced or deleted package is kept.",
    )
    package_download_auth: Literal["none", "token", "basic"] = Field(
        "none",
        description=(
            "What `/Packages/<file>` requires: nothing (Jamf Pro's default for HTTP distribution "
            "points), a token with `packages:read`, or HTTP basic auth with the username and "
            "password below."
        ),
    )
    package_download_username: str = Field(
        "", description="Username for `package_download_auth = basic`."
    )
    package_download_password: SecretStr = Field(
        SecretStr(""), description="Password for `package_download_auth = basic`."
    )
    download_offload: Literal["none", "x-accel-redirect", "x-sendfile"] = Field(
        "none",
        description=(
            "Let a front server send package bytes with sendfile once Pomona has checked the "
            "request (authentication, the package being published, If-None-Match): "
            "`x-accel-redirect` for nginx (and Caddy), `x-sendfile` for Apache's mod_xsendfile "
            "and lighttpd. Only requests on which the front server sets `X-Sendfile-Type` to "
            "that header's name are handed over. Local storage only; with S3, "
            "`s3_download = redirect` is the offload."
        ),
    )
    download_offload_location: str = Field(
        "/_pomona_packages/",
        pattern=r"^/([A-Za-z0-9._~-]+/)*$",
        description=(
            "With `download_offload = x-accel-redirect`: the front server's internal location "
            "that maps onto the package directory (`package_dir`); the header is this location "
            "plus the stored content's key."
        ),
    )
    s3_bucket: str = Field("", description="Bucket of the S3 package store.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket, e.g. `pomona/`.")
    s3_endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible service (MinIO, Ceph...); unset: AWS."
    )
    s3_region: str | None = Field(None, description="S3 region; unset: the SDK's default.")
    s3_access_key_id: str | None = Field(
        None, description="S3 access key; unset: the SDK's usual sources (environment, role)."
    )
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret key.")
    s3_download: Literal["proxy", "redirect"] = Field(
        "proxy",
        description=(
            "How downloads from S3 are answered: streamed through Pomona, or a redirect to a "
            "presigned URL (the client then talks to the bucket directly)."
        ),
    )
    s3_presign_seconds: int = Field(
        900, ge=1, le=7 * 24 * 3600, description="Lifetime of presigned download URLs."
    )
