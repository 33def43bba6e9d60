"""Publishing: content stored once, replaced only when asked, kept in the history."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
from fastapi import FastAPI

from pomona.db import utcnow
from tests.packages.conftest import payload, put


async def test_same_content_stored_once_and_replace(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first, second = payload(100_000, seed=3), payload(100_000, seed=4)
    assert (await put(client, admin, "a.pkg", first)).status_code == 201
    again = await put(client, admin, "a.pkg", first)
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"
    assert (await put(client, admin, "copy.pkg", first)).status_code == 201
    storage = app.state.services.packages.storage
    assert len(list(storage.list("blobs/"))) == 1  # two names, one copy of the bytes

    refused = await put(client, admin, "a.pkg", second)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "package_exists"
    assert (await client.get("/Packages/a.pkg")).content == first
    replaced = await put(client, admin, "a.pkg", second, replace="true")
    assert replaced.status_code == 200
    assert replaced.json()["outcome"] == "replaced"
    assert (await client.get("/Packages/a.pkg")).content == second
    assert len(list(storage.list("blobs/"))) == 2  # the old content stays in the history

    events = [(e.kind, e.filename) for e in await app.state.services.packages.catalog.events()]
    assert events == [("uploaded", "a.pkg"), ("uploaded", "copy.pkg"), ("replaced", "a.pkg")]

    # Cleanup keeps history within retention, then drops it once the retention has passed.
    maintenance = app.state.services.packages.maintenance
    retention = timedelta(days=app.state.services.settings.package_history_days + 1)
    assert (await maintenance.cleanup()).blobs == 0
    later = utcnow() + retention
    report = await maintenance.cleanup(now=later)
    assert report.history == 1
    assert report.blobs == 0
    assert (await client.delete("/api/v1/packages/copy.pkg", headers=admin)).status_code == 204
    report = await maintenance.cleanup(now=later + retention)
    assert report.blobs == 1
    assert [i.key.rsplit("/", 1)[1] for i in storage.list("blobs/")] == [
        hashlib.sha256(second).hexdigest()
    ]
