"""One typed settings table.

Values come, highest priority first, from keyword arguments, ``POMONA_*`` environment variables,
the TOML file named by ``POMONA_CONFIG`` (or ``--config``), and the defaults below. The defaults
need no other service: SQLite in the data directory, everything in one process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Every setting Pomona reads. ``docs/configuration.md`` documents each one."""

    model_config = SettingsConfigDict(env_prefix="POMONA_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address `pomona serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `pomona serve` listens on.")
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
        1.0,
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
    log_level: str = Field("info", description="uvicorn log level.")

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pomona.db').resolve()}"

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
