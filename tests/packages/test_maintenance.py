"""The cleanup: expired uploads and their partial files go."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from pomona.db import utcnow
from pomona.packages.models import PackageUpload
from tests.packages.conftest import TUS, tus_metadata


async def test_stale_uploads_cleaned(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/uploads/",
        headers={
            **TUS,
            **admin,
            "Upload-Length": "100",
            "Upload-Metadata": tus_metadata(filename="s.pkg"),
        },
    )
    await client.patch(
        created.headers["location"],
        content=b"x" * 50,
        headers={
            **TUS,
            **admin,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
        },
    )
    packages = app.state.services.packages
    assert (await packages.maintenance.cleanup()).uploads == 0
    async with app.state.services.db.transaction() as session:
        await session.execute(
            update(PackageUpload).values(updated_at=utcnow() - timedelta(hours=25))
        )
    report = await packages.maintenance.cleanup()
    assert report.uploads == 1
    assert list(packages.uploads.directory.iterdir()) == []
    assert (
        await client.head(created.headers["location"], headers={**TUS, **admin})
    ).status_code == 404
