"""Alembic migrations, run by ``pomona migrate``, by ``pomona serve`` on start, and by tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from pomona.db import Database

HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _check(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.check(config)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision``; safe to run again, and on every engine."""
    config = alembic_config(database.url)
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade, config, revision)


async def check(database: Database) -> None:
    """Raise when the models and the migrations disagree (``alembic check``)."""
    config = alembic_config(database.url)
    async with database.engine.connect() as connection:
        await connection.run_sync(_check, config)
