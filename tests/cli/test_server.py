"""``pomona token create|list|revoke`` and ``pomona migrate``, on every engine.

These run the real Typer application in process against a real database; the black-box test of
the same commands as a separate process next to a running server is in ``test_server_cli.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from pomona.auth.models import ApiToken
from pomona.cli import app as cli
from pomona.db import Database


@pytest.fixture
def environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"POMONA_DATABASE_URL": database_url, "POMONA_DATA_DIR": str(tmp_path / "data")}


def pomona(environment: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=environment)


def hashes(database_url: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        db = Database(database_url)
        try:
            async with db.sessions() as session:
                rows = await session.scalars(select(ApiToken))
                return {row.name: row.token_hash for row in rows}
        finally:
            await db.dispose()

    return asyncio.run(read())


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_create_prints_the_token_alone_and_stores_its_hash(
    environment: dict[str, str], database_url: str
) -> None:
    result = pomona(environment, "token", "create", "--name", "ci", "--scope", "admin")

    assert result.exit_code == 0, result.output
    secret = result.stdout.removesuffix("\n")
    assert result.stdout == secret + "\n"
    assert secret.startswith("pmn_")
    assert " " not in secret
    assert hashes(database_url) == {"ci": hashlib.sha256(secret.encode()).hexdigest()}


def test_create_with_several_scopes_and_titles(environment: dict[str, str]) -> None:
    created = pomona(
        environment,
        "token",
        "create",
        "--name",
        "limited",
        "--scope",
        "titles:read",
        "--scope",
        "titles:write",
        "--title",
        "Firefox",
        "--title",
        "Chrome",
        "--expires-days",
        "30",
    )
    assert created.exit_code == 0, created.output

    listed = pomona(environment, "token", "list", "--json")

    assert listed.exit_code == 0, listed.output
    [token] = json.loads(listed.stdout)
    assert token["name"] == "limited"
    assert token["scopes"] == ["titles:read", "titles:write"]
    assert token["titles"] == ["Chrome", "Firefox"]
    assert token["lastUsedAt"] is None
    assert token["expiresAt"] > token["createdAt"]
    assert created.stdout.strip() not in listed.stdout


def test_list_as_a_table_never_shows_secrets(environment: dict[str, str]) -> None:
    secret = pomona(environment, "token", "create", "--name", "ci", "--scope", "admin").stdout

    listed = pomona(environment, "token", "list")

    assert listed.exit_code == 0, listed.output
    assert "ci" in listed.stdout
    assert "admin" in listed.stdout
    assert secret.strip() not in listed.output


def test_revoke_removes_the_token(environment: dict[str, str], database_url: str) -> None:
    pomona(environment, "token", "create", "--name", "ci", "--scope", "admin")
    pomona(environment, "token", "create", "--name", "other", "--scope", "admin")

    result = pomona(environment, "token", "revoke", "ci")

    assert result.exit_code == 0, result.output
    assert "revoked" in result.stderr
    assert set(hashes(database_url)) == {"other"}


def test_revoke_of_an_unknown_token_says_how_to_find_names(environment: dict[str, str]) -> None:
    result = pomona(environment, "token", "revoke", "nobody")

    assert result.exit_code == 1
    assert "no token named 'nobody'" in one_line(result.stderr)
    assert "pomona token list" in one_line(result.stderr)


def test_a_taken_name_is_refused(environment: dict[str, str]) -> None:
    pomona(environment, "token", "create", "--name", "ci", "--scope", "admin")

    result = pomona(environment, "token", "create", "--name", "ci", "--scope", "admin")

    assert result.exit_code == 1
    assert result.stdout == ""
    message = one_line(result.stderr)
    assert "--name: a token named 'ci' exists" in message
    assert "pomona token revoke ci" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--name", "ci", "--scope", "root"], "--scope: unknown scope 'root'"),
        (["--name", "has space", "--scope", "admin"], "--name: use letters"),
        (["--name", "ci", "--scope", "admin", "--title", "X"], "--title: an admin token cannot"),
    ],
)
def test_bad_options_are_refused_naming_the_option(
    environment: dict[str, str], args: list[str], expected: str
) -> None:
    result = pomona(environment, "token", "create", *args)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert expected in one_line(result.stderr)
    assert "Traceback" not in result.output


def test_migrate_brings_the_database_up_to_date(environment: dict[str, str]) -> None:
    first = pomona(environment, "migrate")
    again = pomona(environment, "migrate")

    assert (first.exit_code, again.exit_code) == (0, 0), first.output + again.output
    assert "up to date" in again.stderr


def test_an_unreachable_database_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    environment = {
        "POMONA_DATABASE_URL": "postgresql+psycopg://postgres:secret@127.0.0.1:1/nothing",
        "POMONA_DATA_DIR": str(tmp_path),
    }

    result = pomona(environment, "token", "create", "--name", "ci", "--scope", "admin")

    assert result.exit_code == 1
    assert result.stdout == ""
    message = one_line(result.stderr)
    assert "cannot use the database at postgresql+psycopg://postgres:***@127.0.0.1:1" in message
    assert "secret" not in message
    assert "POMONA_DATABASE_URL" in message
