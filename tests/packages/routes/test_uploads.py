"""The upload routes, in process, on every database engine: a plain PUT and the tus protocol."""

from __future__ import annotations

import base64
import hashlib

import httpx
from fastapi import FastAPI

from pomona.app import create_app
from tests.packages.conftest import TUS, MiB, payload, put, tus_metadata


async def test_put_then_record_and_download(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = payload(2 * MiB + 5)
    answer = await put(client, admin, "Firefox 120.pkg", data)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["outcome"] == "created"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert body["sha512"] == hashlib.sha512(data).hexdigest()
    assert body["size"] == len(data)
    assert body["chunkCount"] == 3
    assert body["uploader"] == "token:admin"
    record = (await client.get("/api/v1/packages/Firefox 120.pkg", headers=admin)).json()
    assert record["sha256"] == body["sha256"]
    manifest = (await client.get("/api/v1/packages/Firefox 120.pkg/manifest", headers=admin)).json()
    assert manifest["chunks"] == [
        hashlib.sha256(data[i : i + MiB]).hexdigest() for i in range(0, len(data), MiB)
    ]
    got = await client.get("/Packages/Firefox 120.pkg")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["etag"] == f'"{body["sha256"]}"'
    assert got.headers["content-length"] == str(len(data))
    api = await client.get("/api/v1/packages/Firefox 120.pkg/download", headers=admin)
    assert api.content == data
    assert (await client.get("/api/v1/packages/Firefox 120.pkg/download")).status_code == 401


async def test_tus_protocol(app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    options = await client.options("/api/v1/uploads/")
    assert options.status_code == 204
    assert options.headers["tus-version"] == "1.0.0"
    assert set(options.headers["tus-extension"].split(",")) >= {
        "creation",
        "termination",
        "checksum",
    }
    assert set(options.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256", "md5"}

    assert (
        await client.post("/api/v1/uploads/", headers={**admin, "Upload-Length": "5"})
    ).status_code == 412
    nameless = await client.post("/api/v1/uploads/", headers={**TUS, **admin, "Upload-Length": "5"})
    assert nameless.status_code == 422
    assert nameless.json()["errors"][0]["path"] == "/Upload-Metadata/filename"

    data = payload(3 * MiB + 100, seed=20)
    created = await client.post(
        "/api/v1/uploads/",
        headers={
            **TUS,
            **admin,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": tus_metadata(filename="t.pkg"),
        },
    )
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert url.startswith("http://pomona.test/api/v1/uploads/")
    patch_headers = {**TUS, **admin, "Content-Type": "application/offset+octet-stream"}

    wrong_type = await client.patch(
        url,
        content=data[:10],
        headers={**patch_headers, "Content-Type": "text/plain", "Upload-Offset": "0"},
    )
    assert wrong_type.status_code == 415
    first = await client.patch(
        url, content=data[:MiB], headers={**patch_headers, "Upload-Offset": "0"}
    )
    assert first.status_code == 204
    assert first.headers["upload-offset"] == str(MiB)
    conflict = await client.patch(
        url, content=data[:10], headers={**patch_headers, "Upload-Offset": "0"}
    )
    assert conflict.status_code == 409

    piece = data[MiB : 2 * MiB]
    wrong = base64.b64encode(hashlib.sha1(b"other", usedforsecurity=False).digest()).decode()
    mismatch = await client.patch(
        url,
        content=piece,
        headers={**patch_headers, "Upload-Offset": str(MiB), "Upload-Checksum": f"sha1 {wrong}"},
    )
    assert mismatch.status_code == 460
    head = await client.head(url, headers={**TUS, **admin})
    assert head.headers["upload-offset"] == str(MiB)  # the corrupt piece was discarded
    assert head.headers["upload-length"] == str(len(data))
    right = base64.b64encode(hashlib.sha256(piece).digest()).decode()
    good = await client.patch(
        url,
        content=piece,
        headers={**patch_headers, "Upload-Offset": str(MiB), "Upload-Checksum": f"sha256 {right}"},
    )
    assert good.status_code == 204
    assert good.headers["upload-offset"] == str(2 * MiB)
    unknown = await client.patch(
        url,
        content=b"x",
        headers={**patch_headers, "Upload-Offset": str(2 * MiB), "Upload-Checksum": "crc32 AAAA"},
    )
    assert unknown.status_code == 400

    assert (await client.get("/Packages/t.pkg")).status_code == 404  # not visible before the end
    # Another process (a second app on the same database and data directory) takes the upload
    # up: everything it needs is in the database and the partial file, none in the first's memory.
    second = create_app(app.state.settings)
    async with (
        second.router.lifespan_context(second),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=second), base_url="http://pomona.test"
        ) as elsewhere,
    ):
        resumed = await elsewhere.head(url, headers={**TUS, **admin})
        assert resumed.headers["upload-offset"] == str(2 * MiB)
        last = await elsewhere.patch(
            url, content=data[2 * MiB :], headers={**patch_headers, "Upload-Offset": str(2 * MiB)}
        )
    assert last.status_code == 204
    assert last.headers["upload-offset"] == str(len(data))
    record = (await client.get("/api/v1/packages/t.pkg", headers=admin)).json()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert record["sha512"] == hashlib.sha512(data).hexdigest()
    manifest = (await client.get("/api/v1/packages/t.pkg/manifest", headers=admin)).json()
    assert manifest["chunks"] == [
        hashlib.sha256(data[i : i + MiB]).hexdigest() for i in range(0, len(data), MiB)
    ]
    assert (await client.head(url, headers={**TUS, **admin})).status_code == 404
    assert list(app.state.services.packages.uploads.directory.iterdir()) == []

    # Termination.
    other = await client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            **admin,
            "Upload-Length": "10",
            "Upload-Metadata": tus_metadata(filename="x.zip"),
        },
    )
    assert other.status_code == 201
    assert (
        await client.delete(other.headers["location"], headers={**TUS, **admin})
    ).status_code == 204
    assert (
        await client.head(other.headers["location"], headers={**TUS, **admin})
    ).status_code == 404
