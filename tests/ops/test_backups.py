"""Scheduled backups: what the zip holds, retention, S3, the daily schedule, and verify."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.packages.storage import S3Storage
from pomona.settings import Settings
from pomona.tasks import build_queue
from tests.conftest import fixture_text, make_token
from tests.packages.conftest import new_bucket

MOMENT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


async def _serve(settings: Settings) -> tuple[FastAPI, Any]:
    app = create_app(settings)
    context = app.router.lifespan_context(app)
    await context.__aenter__()
    return app, context


async def _fill(app: FastAPI) -> None:
    """A title with two revisions and a package."""
    admin = await make_token(app, "admin", "admin")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as client:
        document = json.loads(fixture_text("example.json"))
        json_headers = {**admin, "Content-Type": "application/json"}
        made = await client.post("/api/v1/titles", json=document, headers=json_headers)
        assert made.status_code == 201, made.text
        document["name"] = "Example, renamed"
        changed = await client.put(
            f"/api/v1/titles/{document['id']}", json=document, headers=json_headers
        )
        assert changed.status_code == 200, changed.text
        stored = await client.put(
            "/api/v1/packages/Example-1.0.pkg", content=b"x" * 1000, headers=admin
        )
        assert stored.status_code in (200, 201), stored.text


def _read(data: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n: orjson.loads(archive.read(n)) for n in archive.namelist()}


async def test_a_backup_holds_titles_with_history_package_records_and_settings(
    settings: Settings,
) -> None:
    app, context = await _serve(Settings(**{**settings.model_dump(), "metrics_token": "s3cret"}))
    try:
        await _fill(app)
        made = await app.state.services.backups.make(MOMENT)
    finally:
        await context.__aexit__(None, None, None)
    assert made.name == "pomona-backup-20300102-030405.zip"
    path = settings.data_dir / "backups" / made.name
    assert made.where == str((settings.data_dir / "backups").resolve())
    raw = path.read_bytes()
    contents = _read(raw)
    assert contents["patch_archive/Example.json"]["name"] == "Example, renamed"
    assert len(contents["pomona/history/Example.json"]) == 2
    [record] = contents["pomona/packages.json"]
    assert record["filename"] == "Example-1.0.pkg"
    assert record["size"] == 1000
    assert contents["pomona/settings.json"]["metrics_token"] == "**********"
    assert b"s3cret" not in raw
    assert (made.titles, made.packages, made.size) == (1, 1, len(raw))


async def test_only_the_newest_backups_are_kept(settings: Settings) -> None:
    app, context = await _serve(settings.model_copy(update={"backup_keep": 2}))
    try:
        backups = app.state.services.backups
        made = [await backups.make(MOMENT.replace(day=day)) for day in (1, 2, 3)]
    finally:
        await context.__aexit__(None, None, None)
    assert made[-1].removed == ["pomona-backup-20300101-030405.zip"]
    assert backups.names() == [
        "pomona-backup-20300102-030405.zip",
        "pomona-backup-20300103-030405.zip",
    ]


async def test_backups_go_to_an_s3_bucket(s3_endpoint: str, tmp_path: Path) -> None:
    bucket = new_bucket(s3_endpoint)
    settings = Settings(
        data_dir=tmp_path / "data",
        backup_target=f"s3://{bucket}/nightly",
        backup_keep=1,
        s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1",
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
    )
    app, context = await _serve(settings)
    try:
        await _fill(app)
        backups = app.state.services.backups
        first = await backups.make(MOMENT)
        second = await backups.make(MOMENT.replace(hour=4))
    finally:
        await context.__aexit__(None, None, None)
    assert first.where == f"s3://{bucket}/nightly"
    assert second.removed == [first.name]
    store = S3Storage(
        bucket,
        prefix="nightly",
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )
    assert [info.key for info in store.list("")] == [second.name]
    data = b"".join(store.open_range(second.name))
    assert "patch_archive/Example.json" in _read(data)


def test_the_daily_backup_is_claimed_once_a_day(tmp_path: Path) -> None:
    from pomona.queue.service import create_queue_tables

    settings = Settings(data_dir=tmp_path / "data", backup_time="02:30")
    create_queue_tables(settings)
    processes = [build_queue(settings), build_queue(settings)]
    try:
        due = [
            next(t for t in q.queue.huey._registry.periodic_tasks if t.name == "ops.backup.daily")
            for q in processes
        ]
        at = datetime(2030, 1, 1, 2, 30)
        assert [d.validate_datetime(at) for d in due] == [True, False]
        assert [d.validate_datetime(at) for d in due] == [False, False]  # that day is taken
        assert [d.validate_datetime(at.replace(minute=31)) for d in due] == [False, False]
        assert due[1].validate_datetime(at.replace(day=2)) is True  # the next day
    finally:
        for tasks in processes:
            tasks.close()


def test_backup_time_must_be_a_time_of_day() -> None:
    with pytest.raises(ValueError, match="backup_time"):
        Settings(backup_time="25:00")


def _verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona", "backup", "verify", str(path)],
        env={k: v for k, v in os.environ.items() if not k.startswith("POMONA_")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_verify_restores_a_backup_and_finds_it_whole_or_not(
    settings: Settings, tmp_path: Path
) -> None:
    app, context = await _serve(settings)
    try:
        await _fill(app)
        made = await app.state.services.backups.make(MOMENT)
    finally:
        await context.__aexit__(None, None, None)
    path = settings.data_dir / "backups" / made.name

    from anyio import to_thread

    good = await to_thread.run_sync(_verify, path)
    assert good.returncode == 0, good.stderr
    said = " ".join(good.stderr.split())
    assert "ok: 1 titles restored into a scratch database and identical (2 revisions" in said
    assert "ok: 1 package records readable" in said
    assert "the backup restores completely" in said

    broken = tmp_path / "broken.zip"
    contents = _read(path.read_bytes())
    contents["patch_archive/Example.json"]["patches"] = "not a list"
    with zipfile.ZipFile(broken, "w") as archive:
        for name, body in contents.items():
            archive.writestr(name, orjson.dumps(body))
    bad = await to_thread.run_sync(_verify, broken)
    assert bad.returncode == 1, bad.stderr
    assert "restore refused" in bad.stderr

    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"hello")
    assert (await to_thread.run_sync(_verify, not_zip)).returncode == 1
