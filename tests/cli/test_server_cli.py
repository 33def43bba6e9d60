"""The token commands as a separate process beside a running ``pomona serve`` (black box)."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, fixture_text, serving

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


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        children = Path(f"/proc/{current}/task/{current}/children")
        kids = [int(x) for x in children.read_text().split()] if children.exists() else []
        found += kids
        todo += kids
    return found


@pytest.mark.parametrize("kind", ["granian", "uvicorn"])
def test_serve_runs_several_worker_processes_on_one_port(tmp_path: Path, kind: str) -> None:
    """``--workers 2``: the parent migrates, two processes answer, and a write made through one
    is served by both within ``feed_refresh_seconds``."""
    with serving(tmp_path, "--workers", "2", "--server", kind) as server:
        workers = [p for p in _descendants(server.process.pid) if _is_pomona(p)]
        assert len(workers) >= 2, workers
        secret = server.pomona("token", "create", "--name", "ci", "--scope", "admin").stdout
        posted = httpx.post(
            f"{server.url}/api/v1/titles",
            content=fixture_text("example.json"),
            headers={"Authorization": f"Bearer {secret.strip()}"},
            timeout=30,
        )
        assert posted.status_code == 201, posted.text
        time.sleep(0.6)  # feed_refresh_seconds is 0.5 by default
        # A new connection for each request, so that both processes answer some of them.
        for _ in range(40):
            assert "Example" in httpx.get(f"{server.url}/jamf/v1/software").text
    log = (tmp_path / "server.log").read_text()
    assert log.count("created a new database at") == 1, log  # migrated once, by the parent


def _is_pomona(pid: int) -> bool:
    try:
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
