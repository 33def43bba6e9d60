"""What the client prints: whole values when piped, warnings naming their file, and a login
without a terminal that says what to do instead of warning about passwords."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pomona.cli import backup
from pomona.cli.client import table, warnings
from pomona.cli.packages import _time


def test_tables_keep_whole_values_when_not_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    long_id = "Chronolis__AdobePhotoshopLightroomClassic_" * 4
    table("id", "name", rows=[[long_id, "Adobe Photoshop Lightroom Classic"]])
    printed = capsys.readouterr().out
    assert long_id in printed
    assert "…" not in printed


def test_an_import_warning_names_the_file_it_came_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    item = {
        "source": "patch_archive/Firefox.json",
        "warnings": [{"path": "/patches/0/releaseDate", "message": "repaired", "code": "x"}],
    }
    warnings(item)
    said = " ".join(capsys.readouterr().err.split())
    assert "warning: patch_archive/Firefox.json: /patches/0/releaseDate: repaired" in said


def test_times_keep_their_utc_mark() -> None:
    assert _time("2026-11-30T08:00:00.123456Z") == "2026-11-30T08:00:00Z"
    assert _time("2026-11-30T08:00:00Z") == "2026-11-30T08:00:00Z"


def test_a_backup_goes_to_a_folder_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    target = backup._default_target()
    assert target.parent == tmp_path / "pomona-backups"
    assert target.parent.is_dir()
    assert target.name.startswith("pomona-backup-")


def test_login_without_a_terminal_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POMONA_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "pomona", "login", "http://127.0.0.1:9"],
        env={**env, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "GetPassWarning" not in done.stderr
    assert "--token -" in " ".join(done.stderr.split())
