"""The token commands as a separate process beside a running ``pomona serve`` (black box)."""

from __future__ import annotations

import hashlib
import sqlite3

import httpx
import pytest

from tests.conftest import Server, fixture_text

pytestmark = pytest.mark.slow


def test_a_token_from_the_cli_works_on_the_running_server_until_revoked(server: Server) -> None:
    created = server.pomona("token", "create", "--name", "ci", "--scope", "admin")

    assert created.returncode == 0, created.stderr
    secret = created.stdout.removesuffix("\n")
    assert created.stdout == secret + "\n"
    assert secret.startswith("pmn_")
    headers = {"Authorization": f"Bearer {secret}"}

    posted = httpx.post(
        f"{server.url}/api/v1/titles",
        content=fixture_text("example.json"),
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert posted.status_code == 201, posted.text

    # Only the SHA-256 is kept: the secret is in no file of the data directory (WAL included).
    files = sorted(p for p in server.data_dir.rglob("*") if p.is_file())
    assert any(p.name == "pomona.db" for p in files)
    for path in files:
        content = path.read_bytes()
        assert secret.encode() not in content, path
        assert secret[4:].encode() not in content, path
    with sqlite3.connect(server.data_dir / "pomona.db") as db:
        stored = db.execute("SELECT token_hash FROM api_tokens WHERE name = 'ci'").fetchone()
    assert stored == (hashlib.sha256(secret.encode()).hexdigest(),)

    revoked = server.pomona("token", "revoke", "ci")
    assert revoked.returncode == 0, revoked.stderr
    refused = httpx.get(f"{server.url}/api/v1/titles", headers=headers, timeout=30)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
