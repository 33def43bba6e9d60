"""Alembic migrations, run by ``pomona migrate``, by ``pomona serve`` on start, and by tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from pomona.db import Database
from pomona.settings import Settings

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


async def upgrade(
    database: Database, revision: str = "head", *, settings: Settings | None = None
) -> None:
    """Bring the schema up to ``revision``; safe to run again, and on every engine.

    Given ``settings``, also create the job queue's tables (SQLite or PostgreSQL storage), so
    that workers never start before them or race to create them.
    """
    config = alembic_config(database.url)
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade, config, revision)
    if settings is not None:
        from anyio import to_thread

        from pomona.queue.service import create_queue_tables

        await to_thread.run_sync(create_queue_tables, settings)


async def check(database: Database) -> None:
    """Raise when the models and the migrations disagree (``alembic check``)."""
    config = alembic_config(database.url)
    async with database.engine.connect() as connection:
        await connection.run_sync(_check, config)
