"""Migration 0006: jobs that failed before errors had kinds keep their failure, as a kind."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, text

from pomona.db import Database
from pomona.errors import NotFound
from pomona.migrations import alembic_config, upgrade
from pomona.queue.jobs import JobService, failure_of


def _migrate(connection: Connection, url: str, revision: str, *, down: bool) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


_JOB = (
    "INSERT INTO jobs (job_id, kind, status, actor, rights, params, error_status, errors, "
    "attempts, created_at) VALUES (:id, 'titles.import-remote', 'failed', 'token:ci', '{}', "
    "'{}', :status, :errors, 1, CURRENT_TIMESTAMP)"
)


async def test_a_failed_job_keeps_its_failure_across_the_upgrade(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade(db)
        async with db.engine.begin() as connection:
            await connection.run_sync(_migrate, database_url, "0005", down=True)
            problems = '[{"path": "/ids/0", "message": "no title", "location": "body"}]'
            await connection.execute(
                text(_JOB), {"id": "a" * 32, "status": 404, "errors": problems}
            )
            await connection.execute(text(_JOB), {"id": "b" * 32, "status": None, "errors": None})
        await upgrade(db)

        failed = await JobService(db).get("a" * 32)
        error = failure_of(failed)
        assert isinstance(error, NotFound)
        assert [(p.path, p.message, p.code) for p in error.problems] == [
            ("/ids/0", "no title", "not_found")
        ]
        assert failure_of(await JobService(db).get("b" * 32)) is None
    finally:
        await db.dispose()
