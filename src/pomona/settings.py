"""One typed settings table.

Values come, highest priority first, from keyword arguments, ``POMONA_*`` environment variables,
the TOML file named by ``POMONA_CONFIG`` (or ``--config``), and the defaults below. The defaults
need no other service: SQLite in the data directory, everything in one process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pomona.accounts.directory import DirectorySettings
from pomona.accounts.mail_settings import MailSettings
from pomona.events.event_settings import EventSettings
from pomona.inbound.settings import InboundSettings
from pomona.jamf.jamf_settings import JamfSettings
from pomona.notifications.settings import NotificationSettings
from pomona.packages.package_settings import PackageSettings
from pomona.replication.replication_settings import ReplicationSettings


class Settings(
    BaseSettings,
    DirectorySettings,
    MailSettings,
    EventSettings,
    InboundSettings,
    NotificationSettings,
    PackageSettings,
    ReplicationSettings,
    JamfSettings,
):
    """Every setting Pomona reads. ``docs/configuration.md`` documents each one.

    The settings of directory sign-in (``ldap_*``, ``group_roles``) are declared with the
    directories, in :class:`pomona.accounts.directory.DirectorySettings`; those of email,
    sign-up and rate limits in :class:`pomona.accounts.mail_settings.MailSettings`; those of
    events and webhooks in :class:`pomona.events.event_settings.EventSettings`.
    the Jamf Pro companion (``jamf_*``, ``secret_key``) in
    :class:`pomona.jamf.jamf_settings.JamfSettings`.
    """

    model_config = SettingsConfigDict(env_prefix="POMONA_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address `pomona serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `pomona serve` listens on.")
    server: Literal["granian", "uvicorn"] = Field(
        "granian",
        description=(
            "HTTP server `pomona serve` runs: `granian` (HTTP in Rust; sends package files "
            "without Python touching the bytes) or `uvicorn`."
        ),
    )
    granian_interface: Literal["rsgi", "asgi"] = Field(
        "rsgi",
        description=(
            "How granian calls Pomona: `rsgi` (the Jamf feed answered in one call, the rest "
            "through ASGI; faster on the feed) or `asgi` (every request through ASGI)."
        ),
    )
    forwarded_allow_ips: list[str] = Field(
        ["127.0.0.1"],
        description=(
            "Addresses (or networks) of reverse proxies whose `X-Forwarded-For` and "
            "`X-Forwarded-Proto` are believed; `*` believes any. Others' are ignored."
        ),
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description=(
            "Processes `pomona serve` runs on its port. Each process notices the others' "
            "writes within `feed_refresh_seconds`."
        ),
    )
    data_dir: Path = Field(
        Path("pomona-data"), description="Directory for the embedded database and local files."
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL. Unset means SQLite at `<data_dir>/pomona.db`. Examples: "
            "`postgresql+psycopg://user:pass@db/pomona`, `mysql+aiomysql://user:pass@db/pomona`."
        ),
    )
    database_echo: bool = Field(False, description="Log every SQL statement (debugging only).")
    migrate_on_start: bool = Field(
        True,
        description=(
            "`pomona serve` brings the database schema up to date before it listens. Turn off "
            "when several processes share one database and `pomona migrate` runs at deploy time."
        ),
    )
    feed_refresh_seconds: float = Field(
        0.5,
        ge=0.0,
        le=60.0,
        description=(
            "How often a process checks the database for changes made by other processes before "
            "answering a Jamf feed request. Changes made through the same process show at once."
        ),
    )
    page_size_max: int = Field(
        500, ge=1, le=10_000, description="Largest page the list endpoints return."
    )
    max_document_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest definition body the API accepts."
    )
    max_request_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description=(
            "Largest body of any other API request (edits, commands, the order of versions). "
            "Definitions, archives and packages have limits of their own."
        ),
    )
    request_body_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description=(
            "Longest wait for the next part of a request body; a client silent for longer is "
            "answered 408 and its connection closed."
        ),
    )
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = Field(
        "info", description="How much the server logs."
    )

    # -- operations: logs, metrics ---------------------------------------------------------------
    log_format: Literal["text", "json"] = Field(
        "text",
        description=(
            "How the server writes its log: `text` (lines a person reads) or `json` (one JSON "
            "object a line, for a log system). Both carry each request's id."
        ),
    )
    public_url: str | None = Field(
        None,
        description=(
            "The address Jamf Pro and Macs reach Pomona at, e.g. `https://patch.example.com` "
            "(a TLS proxy in front). `pomona doctor` checks TLS and the clock through it."
        ),
    )
    backup_time: str | None = Field(
        None,
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description=(
            "Time of day (UTC, `HH:MM`) of the daily backup: every title with its history, the "
            "package records and the settings, as one zip. Unset: no scheduled backup."
        ),
    )
    backup_keep: int = Field(
        7, ge=1, le=10_000, description="How many scheduled backups to keep; older ones go."
    )
    backup_target: str = Field(
        "",
        description=(
            "Where scheduled backups go: a directory, or `s3://bucket/prefix` (with the "
            "`s3_*` credentials and endpoint). Empty: `<data_dir>/backups`."
        ),
    )
    static_feed_dir: Path | None = Field(
        None,
        description=(
            "Publish the Jamf feed of every namespace as static files in this directory on "
            "every change, for nginx or a CDN to serve. Unset: not published to a directory."
        ),
    )
    static_feed_url: str = Field(
        "",
        description=(
            "Publish the Jamf feed to `s3://bucket/prefix` (with the `s3_*` credentials and "
            "endpoint) on every change. Empty: not published to S3."
        ),
    )
    metrics_enabled: bool = Field(
        True, description="Count requests and jobs and serve them at `/metrics` (Prometheus)."
    )
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description=(
            "When set, `/metrics` answers only requests with `Authorization: Bearer <this>`."
        ),
    )
    metrics_allowed_networks: list[str] = Field(
        [],
        description=(
            "When set, `/metrics` answers only clients in these networks (CIDR, e.g. "
            "`10.0.0.0/8`, or single addresses). Empty: any client."
        ),
    )

    # -- definition lifecycle: preview feed, archives, imports, outbound fetches -----------------
    preview_feed: bool = Field(
        True,
        description=(
            "Serve the preview feed at `/jamf/preview/v1`: the same endpoints as the Jamf feed, "
            "including disabled titles and versions, for a Jamf Pro test instance."
        ),
    )
    archive_max_bytes: int = Field(
        256 * 1024**2, ge=1024, description="Largest backup or import archive accepted, in bytes."
    )
    archive_max_members: int = Field(
        10_000, ge=1, description="Most files an uploaded archive may contain."
    )
    archive_max_uncompressed_bytes: int = Field(
        1024**3,
        ge=1024,
        description="Largest total size of an archive's files once uncompressed, in bytes.",
    )
    archive_max_ratio: float = Field(
        200.0,
        ge=1.0,
        description=(
            "Largest compression ratio of a file in an archive; higher ratios are refused as "
            "zip bombs (real definitions compress about 10:1)."
        ),
    )
    import_max_parsed_bytes: int = Field(
        256 * 1024**2,
        ge=1024 * 1024,
        description=(
            "Most memory the documents of one restore or import (all its files) may cost once "
            "parsed, estimated before parsing each: its bytes plus 64 per JSON value."
        ),
    )
    import_document_floor_bytes: int = Field(
        16 * 1024,
        ge=0,
        description="Least each document of a restore or import counts against its budget.",
    )
    fetch_allowed_networks: list[str] = Field(
        [],
        description=(
            "Networks (CIDR, e.g. `10.0.0.0/8`) and host names that outbound fetches (remote "
            "imports) may reach although they are loopback, link-local or private. Empty: "
            "only public addresses."
        ),
    )
    fetch_timeout_seconds: float = Field(
        30.0, gt=0, le=600, description="Time limit of one outbound request, in seconds."
    )
    fetch_max_bytes: int = Field(
        64 * 1024**2, ge=1024, description="Largest answer an outbound request may return."
    )
    fetch_max_redirects: int = Field(
        5, ge=0, le=20, description="Most redirects an outbound request follows."
    )
    remote_import_max_titles: int = Field(
        2000, ge=1, description="Most titles one import from another patch source may fetch."
    )
    subscription_interval_seconds: int = Field(
        3600,
        ge=60,
        description=(
            "How often a subscription or version source is checked unless it says otherwise "
            "(`every`), in seconds."
        ),
    )
    subscription_min_interval_seconds: int = Field(
        300, ge=1, description="The shortest `every` a subscription may ask for, in seconds."
    )
    subscription_scan_seconds: int = Field(
        300,
        ge=0,
        description=(
            "How often the server looks for subscriptions due for a check, in seconds "
            "(0: never; checks then run only on demand)."
        ),
    )
    subscription_scan_batch: int = Field(
        200, ge=1, description="Most subscriptions one scan queues for a check."
    )
    patchserver_compat: bool = Field(
        True,
        description=(
            "Serve PatchServer's API paths (`/api/v1/title`, `/api/v1/backup`, "
            "`/api/v1/restore`) and its landing page at `/`, so its clients keep working."
        ),
    )
    patchserver_token_endpoint: bool = Field(
        False,
        description=(
            "Serve PatchServer's token route (`/api/v1/token`): while no token exists, the first "
            "caller gets a `titles:write` token. Off by default: create tokens with "
            "`pomona token create`."
        ),
    )

    package_scrub_hours: float = Field(
        24.0,
        ge=0,
        description=(
            "How often every stored package is read back and its SHA-256 checked; a package whose "
            "bytes no longer match is quarantined (no longer served). 0 turns the scrub off."
        ),
    )
    package_cleanup_hours: float = Field(
        1.0,
        ge=0,
        description=(
            "How often expired uploads, expired history and unreferenced bytes are removed. "
            "0 turns the scheduled cleanup off."
        ),
    )

    # -- people: sessions and sign-in ----------------------------------------------------------
    session_idle_minutes: float = Field(
        60.0, gt=0, description="A browser session with no request for this long ends."
    )
    session_max_hours: float = Field(
        12.0, gt=0, description="A browser session ends this long after sign-in, used or not."
    )
    session_recheck_seconds: float = Field(
        300.0,
        ge=0,
        description=(
            "How often a directory person's session is checked against the directory: gone "
            "from it, or left in no group that grants a role, and the session ends."
        ),
    )
    signin_lockout_failures: int = Field(
        5, ge=1, le=1000, description="Failed sign-ins in a row before a username is locked out."
    )
    signin_lockout_seconds: float = Field(
        30.0,
        gt=0,
        description="The first lockout; each further failure doubles it (up to the maximum).",
    )
    signin_lockout_max_seconds: float = Field(
        3600.0,
        gt=0,
        description="The longest lockout; failures older than this are forgotten.",
    )

    # -- job queue ------------------------------------------------------------------------------
    queue_url: str | None = Field(
        None,
        description=(
            "Where the job queue keeps its tasks. Unset: SQLite at `<data_dir>/queue.db`. "
            "Examples: `redis://127.0.0.1:6379/0`, `postgresql://user:pass@db/pomona`."
        ),
    )
    queue_name: str = Field(
        "pomona",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description=(
            "Name of the queue; also the key prefix in Redis. Processes sharing it share work."
        ),
    )
    queue_embedded_workers: int = Field(
        2,
        ge=0,
        le=64,
        description=(
            "Worker threads `pomona serve` runs to process tasks in its own process. Set 0 when "
            "separate `pomona worker` processes do the work."
        ),
    )
    queue_lease_seconds: float = Field(
        60.0,
        ge=1.0,
        description=(
            "A running task's lease, renewed while its worker lives; when a worker dies (killed, "
            "machine lost) another worker runs the task again once the lease has run out."
        ),
    )
    queue_retries: int = Field(
        5, ge=0, le=100, description="How many times a failed task is tried again."
    )
    queue_retry_delay: float = Field(
        10.0,
        ge=0,
        description="Seconds before the first retry; each further retry waits twice as long.",
    )

    @property
    def resolved_package_dir(self) -> Path:
        return self.package_dir or self.data_dir / "packages"

    @property
    def resolved_upload_dir(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("static_feed_url")
    @classmethod
    def _one_static_feed(cls, value: str, info: ValidationInfo) -> str:
        if value and not re.fullmatch(r"s3://[^/]+(/.*)?", value):
            raise ValueError(f"{value!r}: write it as s3://bucket or s3://bucket/prefix")
        if value and info.data.get("static_feed_dir") is not None:
            raise ValueError("set static_feed_dir or static_feed_url, not both")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pomona.db').resolve()}"

    @property
    def resolved_queue_url(self) -> str:
        if self.queue_url:
            return self.queue_url
        return f"sqlite:///{(self.data_dir / 'queue.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from ``config_file`` (TOML; default ``$POMONA_CONFIG``) and the environment.

    Environment variables win over the file so that one file can serve several deployments.
    """
    if config_file is None and os.environ.get("POMONA_CONFIG"):
        config_file = Path(os.environ["POMONA_CONFIG"])
    if config_file is None:
        return Settings(**overrides)
    if not config_file.is_file():
        raise FileNotFoundError(f"configuration file {config_file} does not exist")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return FileSettings(**overrides)
