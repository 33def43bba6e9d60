"""Server commands say which database they use, and when they just created it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _pomona(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
    return subprocess.run(
        [sys.executable, "-m", "pomona", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_migrate_says_it_created_a_database_and_where(tmp_path: Path) -> None:
    database = tmp_path / "pomona-data" / "pomona.db"
    first = _pomona(tmp_path, "migrate")
    again = _pomona(tmp_path, "migrate")
    assert first.returncode == again.returncode == 0, first.stderr
    assert _one_line(first.stderr) == f"created a new database at {database}"
    assert _one_line(again.stderr) == f"the database at {database} is up to date"


def test_a_token_made_in_another_directory_points_at_the_likely_cause(tmp_path: Path) -> None:
    server, elsewhere = tmp_path / "server", tmp_path / "elsewhere"
    server.mkdir()
    elsewhere.mkdir()
    assert _pomona(server, "migrate").returncode == 0
    there = _pomona(server, "token", "create", "--name", "a", "--scope", "admin")
    assert there.returncode == 0
    assert "note:" not in there.stderr  # the server's own database: nothing to say

    stray = _pomona(elsewhere, "token", "create", "--name", "b", "--scope", "admin")
    assert stray.returncode == 0
    assert stray.stdout.strip().startswith("pmn_")  # stdout still carries the token alone
    said = _one_line(stray.stderr)
    assert f"created {elsewhere / 'pomona-data' / 'pomona.db'}" in said
    assert "--data-dir" in said

    given = _pomona(
        elsewhere,
        "token",
        "create",
        "--name",
        "c",
        "--scope",
        "admin",
        "--data-dir",
        str(server / "pomona-data"),
    )
    assert given.returncode == 0
    assert "note:" not in given.stderr
