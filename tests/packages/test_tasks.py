"""The package store's queue tasks, run by the embedded queue of an in-process app: the scrub
(a corrupted stored file is quarantined and reported), and S3 publication."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from fastapi import FastAPI

from pomona.packages.storage import blob_key
from tests.packages.conftest import payload, s3_settings, until_published


async def test_scrub_quarantines_changed_bytes(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    good, bad = payload(300_000, seed=50), payload(200_000, seed=51)
    for name, data in (("good.pkg", good), ("bad.pkg", bad)):
        assert (
            await client.put(f"/api/v1/packages/{name}", content=data, headers=admin)
        ).status_code == 201
    path = app.state.services.packages.storage.local_path(blob_key(hashlib.sha256(bad).hexdigest()))
    with path.open("r+b") as stored:  # one flipped byte, as a failing disk would
        stored.seek(1234)
        stored.write(bytes([bad[1234] ^ 0xFF]))

    report = app.state.services.tasks.scrub().get(blocking=True, timeout=60)
    assert report["checked"] == 2
    assert [q["sha256"] for q in report["quarantined"]] == [hashlib.sha256(bad).hexdigest()]

    refused = await client.get("/Packages/bad.pkg")
    assert refused.status_code == 409
    assert "quarantined" in refused.json()["errors"][0]["message"]
    record = (await client.get("/api/v1/packages/bad.pkg", headers=admin)).json()
    assert "changed" in record["quarantined"]
    healthy = (await client.get("/api/v1/packages/good.pkg", headers=admin)).json()
    assert healthy["quarantined"] is None
    assert healthy["verifiedAt"] is not None
    assert (await client.get("/Packages/good.pkg")).content == good
    kinds = [e.kind for e in await app.state.services.packages.catalog.events("bad.pkg")]
    assert kinds[-1] == "quarantined"

    # Uploading the right content again restores the package.
    again = await client.put("/api/v1/packages/bad.pkg", content=bad, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["quarantined"] is None
    assert (await client.get("/Packages/bad.pkg")).content == bad


async def test_s3_upload_is_stored_by_a_task(build: Any, s3_endpoint: str, s3_bucket: str) -> None:
    app, client, admin = await build(**s3_settings(s3_endpoint, s3_bucket))
    data = payload(1_500_000, seed=52)
    put = await client.put("/api/v1/packages/late.pkg", content=data, headers=admin)
    assert put.status_code == 202, put.text
    assert put.json()["outcome"] == "pending"
    assert put.json()["sha256"] == hashlib.sha256(data).hexdigest()
    record = await until_published(client, "late.pkg", admin)
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert (await client.get("/Packages/late.pkg")).content == data
    assert list(app.state.services.packages.uploads.directory.iterdir()) == []
    # Finalising again (a retried task) changes nothing.
    assert await app.state.services.packages.publisher.finalise("0" * 32) is None
