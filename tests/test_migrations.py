"""Migrations on every engine: head matches the models, and the way down and up again works."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import Connection, inspect

from pomona.db import Database
from pomona.migrations import alembic_config, check, upgrade
from pomona.models import metadata
from pomona.titles.services import TitleService
from pomona.titles.values import Actor
from tests.conftest import fixture_text


def _downgrade(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_to_head_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db)
        await upgrade(db)  # a second run is a no-op

        await check(db)  # raises when the models and the migrations disagree

        async with db.engine.connect() as connection:
            tables = await connection.run_sync(_tables)
        assert set(metadata.tables) <= tables
    finally:
        await db.dispose()


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db)
        try:
            async with db.engine.begin() as connection:
                await connection.run_sync(_downgrade, database_url, "base")
            async with db.engine.connect() as connection:
                left = await connection.run_sync(_tables)
            assert left <= {"alembic_version"}
        finally:
            await upgrade(db)  # leave the shared server database usable for the next tests

        await check(db)
        async with db.engine.connect() as connection:
            assert set(metadata.tables) <= await connection.run_sync(_tables)
    finally:
        await db.dispose()


async def test_an_upgraded_database_serves_a_write(database_url: str) -> None:
    """After down and up, the seeded rows a write needs (feed_state) are there again."""
    db = Database(database_url)
    try:
        await upgrade(db)
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, database_url, "base")
        await upgrade(db)

        result = await TitleService(db).create(json.loads(fixture_text("example.json")), Actor("t"))

        assert result.revision == 1
    finally:
        await db.dispose()


def _upload_columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("package_uploads")}


async def test_0007_upload_leases_down_and_up(database_url: str) -> None:
    """0007 adds the upload lease columns; going back to 0006 removes them."""
    db = Database(database_url)
    try:
        await upgrade(db)
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, database_url, "0006")
        async with db.engine.connect() as connection:
            before = await connection.run_sync(_upload_columns)
        assert "offset" in before
        assert not {"lease_holder", "lease_expires"} & before
        await upgrade(db)
        async with db.engine.connect() as connection:
            assert {"lease_holder", "lease_expires"} <= await connection.run_sync(_upload_columns)
        await check(db)
    finally:
        await db.dispose()


async def test_0008_namespaces_down_and_up_puts_existing_titles_in_the_default_one(
    database_url: str,
) -> None:
    """0008 adds namespaces; titles stored before it are backfilled into the default one."""
    db = Database(database_url)
    try:
        await upgrade(db)
        titles = TitleService(db)
        await titles.create(json.loads(fixture_text("example.json")), Actor("t"))
        async with db.engine.begin() as connection:
            await connection.run_sync(_downgrade, database_url, "0007")
        async with db.engine.connect() as connection:
            assert "namespaces" not in await connection.run_sync(_tables)
        await upgrade(db)

        assert (await titles.get("Example")).namespace == "default"
        assert [n.slug for n in await titles.namespaces()] == ["default"]
        await check(db)
    finally:
        await db.dispose()
