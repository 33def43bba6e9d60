"""``pomona doctor``: each check on real engines, and a report that says what to fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from anyio import to_thread

from pomona.db import Database
from pomona.migrations import upgrade
from pomona.ops.doctor import examine
from pomona.settings import Settings


def _doctor(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona", "doctor"],
        env={**os.environ, "POMONA_DATA_DIR": str(tmp_path / "data"), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _migrated(settings: Settings) -> None:
    db = Database(settings.resolved_database_url)
    try:
        await upgrade(db, settings=settings)
    finally:
        await db.dispose()


async def test_a_migrated_server_passes_every_check(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    await _migrated(settings)
    findings = await to_thread.run_sync(examine, settings, "test")
    assert [(f.name, f.ok) for f in findings] == [
        ("settings", True),
        ("database", True),
        ("migrations", True),
        ("storage", True),
        ("queue", True),
        ("clock", True),
        ("tls", True),
    ], findings
    assert "wrote, read back and deleted" in findings[3].detail
    assert list((tmp_path / "data" / "packages").glob("pomona-doctor-*")) == []


def test_a_fresh_directory_says_which_one_and_what_to_run(tmp_path: Path) -> None:
    done = _doctor(tmp_path)
    assert done.returncode == 1
    out = done.stdout
    assert f"data directory {tmp_path / 'data'}" in out
    assert f"FAIL database   no database at {tmp_path / 'data' / 'pomona.db'}" in out
    assert "--data-dir or POMONA_DATA_DIR" in out
    assert "migrations not checked: the database is unreachable" in " ".join(out.split())
    assert not (tmp_path / "data" / "pomona.db").exists()  # the doctor made no database


def test_each_failure_comes_with_a_fix(tmp_path: Path) -> None:
    assert (
        subprocess.run(
            [sys.executable, "-m", "pomona", "migrate"],
            env={**os.environ, "POMONA_DATA_DIR": str(tmp_path / "data")},
            capture_output=True,
            check=False,
            timeout=120,
        ).returncode
        == 0
    )
    (tmp_path / "not-a-dir").write_text("a file where the package directory should be")
    done = _doctor(
        tmp_path,
        POMONA_PACKAGE_DIR=str(tmp_path / "not-a-dir"),
        POMONA_QUEUE_URL="redis://127.0.0.1:1/0",
        POMONA_PUBLIC_URL="http://patch.example.com",
    )
    assert done.returncode == 1, done.stdout
    lines = done.stdout.splitlines()
    failed = [line.split()[1] for line in lines if line.startswith("FAIL")]
    assert failed == ["storage", "queue", "tls"]
    fixes = [line.split("fix: ", 1)[1] for line in lines if "fix: " in line]
    assert len(fixes) == 3
    assert "package_dir" in fixes[0]
    assert "queue_url" in fixes[1]
    assert "TLS proxy" in fixes[2]
    assert lines[-1] == "3 of 7 checks failed: storage, queue, tls"
