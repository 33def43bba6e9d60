"""``pomona users`` and ``pomona roles`` on the server's database: the first admin made from the
command line (password from stdin, as a script would), then managed, every change audited."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pomona.accounts.signin import Attempt
from pomona.audit.service import AuditService
from pomona.cli.server import app
from pomona.db import Database
from pomona.settings import Settings

PASSWORD = "correct horse battery"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"POMONA_DATA_DIR": str(tmp_path / "data")}


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_the_first_admin_and_the_life_of_an_account(env: dict[str, str]) -> None:
    code, _, said = _run(
        env, "users", "create", "alice", "--admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert code == 0, said
    assert "created with roles: admin" in said
    code, _, said = _run(
        env,
        "users",
        "create",
        "bob",
        "--role",
        "editor@mac-team",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, said
    code, out, _ = _run(env, "users", "show", "bob", "--json")
    assert code == 0
    assert '"editor@mac-team"' in out
    assert _run(env, "users", "disable", "bob")[0] == 0
    code, out, _ = _run(env, "users", "list", "--json")
    assert '"disabled": true' in out
    assert _run(env, "users", "enable", "bob")[0] == 0
    code, _, said = _run(
        env, "users", "reset-password", "bob", "--password-stdin", stdin="another long one\n"
    )
    assert code == 0, said

    settings = Settings(data_dir=Path(env["POMONA_DATA_DIR"]))

    async def check() -> None:
        from pomona.accounts.service import Accounts

        db = Database(settings.resolved_database_url)
        try:
            opened = await Accounts.build(db, settings).signin(Attempt("bob", "another long one"))
            assert opened.secret
            log = await AuditService(db).search(target="user:*")
            assert [e.action for e in reversed(log.items)] == [
                "user.create",
                "user.create",
                "user.edit",
                "user.edit",
                "user.password_reset",
            ]
            assert all(e.actor.startswith("cli:") for e in log.items)
        finally:
            await db.dispose()

    asyncio.run(check())
    assert _run(env, "users", "delete", "bob", "--yes")[0] == 0
    code, _, said = _run(env, "users", "delete", "alice", "--yes")
    assert code == 1  # the last enabled admin stays
    assert "no enabled admin" in said


def test_refusals_name_the_option_and_the_character(env: dict[str, str]) -> None:
    code, _, said = _run(env, "users", "create", "al ice", "--password-stdin", stdin="short\n")
    assert code == 1
    assert "U+0020 SPACE" in said
    assert "at least 10 characters" in said
    code, _, said = _run(env, "users", "create", "carol")  # no terminal, no --password-stdin
    assert code == 2
    assert "--password-stdin" in said


def test_roles_lists_every_role() -> None:
    code, out, _ = _run({}, "roles")
    assert code == 0
    for role in ("admin", "editor", "packager", "publisher@NAMESPACE", "viewer"):
        assert role in out
