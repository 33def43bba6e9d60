"""The package store through HTTP, in process, on every database engine."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from pomona.db import utcnow
from pomona.packages.models import PackageUpload
from tests.conftest import make_token
from tests.packages.conftest import payload

MiB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}


async def put(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes, **params: str
) -> httpx.Response:
    return await client.put(
        f"/api/v1/packages/{name}", content=data, headers=headers, params=params
    )


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


async def test_ranges_and_conditionals(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    data = payload(300_000, seed=2)
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    assert (await put(client, admin, "r.dmg", data)).status_code == 201
    url = "/Packages/r.dmg"
    one = await client.get(url, headers={"Range": "bytes=100-199"})
    assert one.status_code == 206
    assert one.content == data[100:200]
    assert one.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = await client.get(url, headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    multi = await client.get(url, headers={"Range": "bytes=0-9,1000-1009"})
    assert multi.status_code == 206
    assert multi.headers["content-type"].startswith("multipart/byteranges")
    assert data[:10] in multi.content
    assert data[1000:1010] in multi.content
    bad = await client.get(url, headers={"Range": f"bytes={len(data) + 5}-"})
    assert bad.status_code == 416
    head = await client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["etag"] == etag
    cached = await client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    matching = await client.get(url, headers={"Range": "bytes=0-0", "If-Range": etag})
    assert matching.status_code == 206
    assert matching.content == data[:1]
    stale = await client.get(url, headers={"Range": "bytes=0-0", "If-Range": '"other"'})
    assert stale.status_code == 200
    assert stale.content == data
    missing = await client.get("/Packages/none.pkg")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["message"]


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
    assert "replace=true" in refused.json()["errors"][0]["message"]
    assert (await client.get("/Packages/a.pkg")).content == first
    replaced = await put(client, admin, "a.pkg", second, replace="true")
    assert replaced.status_code == 200
    assert replaced.json()["outcome"] == "replaced"
    assert (await client.get("/Packages/a.pkg")).content == second
    assert len(list(storage.list("blobs/"))) == 2  # the old content stays in the history

    events = [(e.kind, e.filename) for e in await app.state.services.packages.events()]
    assert events == [("uploaded", "a.pkg"), ("uploaded", "copy.pkg"), ("replaced", "a.pkg")]

    # Cleanup keeps history within retention, then drops it once the retention has passed.
    service = app.state.services.packages
    assert (await service.cleanup()).blobs == 0
    later = utcnow() + timedelta(days=service.settings.package_history_days + 1)
    report = await service.cleanup(now=later)
    assert report.history == 1
    assert report.blobs == 0
    assert (await client.delete("/api/v1/packages/copy.pkg", headers=admin)).status_code == 204
    report = await service.cleanup(
        now=later + timedelta(days=service.settings.package_history_days + 1)
    )
    assert report.blobs == 1
    assert [i.key.rsplit("/", 1)[1] for i in storage.list("blobs/")] == [
        hashlib.sha256(second).hexdigest()
    ]


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd.pkg",
        ".hidden.pkg",
        "-rf.pkg",
        "evil\\x.pkg",
        "tab%09name.pkg",
        "nul%00.pkg",
        "rtl%E2%80%AEgkp.exe",
        "script.sh",
        "..",
        " space.pkg",
        "a" * 300 + ".pkg",
    ],
)
async def test_filename_attacks_refused(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], name: str
) -> None:
    answer = await client.put(f"/api/v1/packages/{name}", content=b"x", headers=admin)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["errors"]
    assert list(app.state.services.packages.storage.list()) == []
    assert list(app.state.services.packages.upload_dir.iterdir()) == []


async def test_records_api(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for index, name in enumerate(["Zoom.pkg", "Chrome.dmg", "Slack.zip"]):
        assert (await put(client, admin, name, payload(1000, seed=10 + index))).status_code == 201
    patched = await client.patch(
        "/api/v1/packages/Chrome.dmg",
        json={"notes": "Chrome 131", "tags": ["test", "prod"]},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["tags"] == ["prod", "test"]
    assert patched.json()["notes"] == "Chrome 131"
    await client.patch("/api/v1/packages/Zoom.pkg", json={"tags": ["dev"]}, headers=admin)
    listed = (await client.get("/api/v1/packages", headers=admin)).json()
    assert [i["filename"] for i in listed["items"]] == ["Chrome.dmg", "Slack.zip", "Zoom.pkg"]
    assert listed["total"] == 3
    prod = (await client.get("/api/v1/packages", params={"tag": "prod"}, headers=admin)).json()
    assert [i["filename"] for i in prod["items"]] == ["Chrome.dmg"]
    found = (await client.get("/api/v1/packages", params={"q": "131"}, headers=admin)).json()
    assert [i["filename"] for i in found["items"]] == ["Chrome.dmg"]
    paged = (
        await client.get("/api/v1/packages", params={"perPage": 2, "page": 2}, headers=admin)
    ).json()
    assert [i["filename"] for i in paged["items"]] == ["Zoom.pkg"]
    assert paged["total"] == 3
    bad = await client.patch(
        "/api/v1/packages/Zoom.pkg", json={"tags": ["no spaces"], "x": 1}, headers=admin
    )
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json()["errors"]} == {"/x"}
    bad = await client.patch(
        "/api/v1/packages/Zoom.pkg", json={"tags": ["no spaces"]}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "/tags/0"
    assert (
        await client.patch("/api/v1/packages/none.pkg", json={}, headers=admin)
    ).status_code == 404
    assert (await client.delete("/api/v1/packages/Zoom.pkg", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/packages/Zoom.pkg", headers=admin)).status_code == 404
    assert (await client.get("/Packages/Zoom.pkg")).status_code == 404
    assert (await client.delete("/api/v1/packages/Zoom.pkg", headers=admin)).status_code == 404


async def test_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    reader = await make_token(app, "reader", "packages:read")
    writer = await make_token(app, "writer", "packages:write")
    titles = await make_token(app, "titles", "titles:write")
    assert (await put(client, reader, "a.pkg", b"1")).status_code == 403
    assert (await put(client, titles, "a.pkg", b"1")).status_code == 403
    assert (await put(client, {}, "a.pkg", b"1")).status_code == 401
    assert (await put(client, writer, "a.pkg", b"1")).status_code == 201
    assert (await client.get("/api/v1/packages/a.pkg", headers=reader)).status_code == 200
    assert (await client.get("/api/v1/packages/a.pkg", headers=titles)).status_code == 403
    assert (await client.delete("/api/v1/packages/a.pkg", headers=reader)).status_code == 403
    assert (
        await client.post("/api/v1/uploads/", headers={**TUS, **reader, "Upload-Length": "1"})
    ).status_code == 403


async def test_size_limit_and_declared_length(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    app.state.settings.package_max_bytes = 1000
    big = await put(client, admin, "big.pkg", b"x" * 1001)
    assert big.status_code == 413
    tus = await client.post(
        "/api/v1/uploads/",
        headers={
            **TUS,
            **admin,
            "Upload-Length": "1001",
            "Upload-Metadata": "filename " + base64.b64encode(b"b.pkg").decode(),
        },
    )
    assert tus.status_code == 413
    assert list(app.state.services.packages.upload_dir.iterdir()) == []


def _metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


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
            "Upload-Metadata": _metadata(filename="t.pkg"),
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

    # The process "restarts": the live hash state is gone and is rebuilt from the partial file.
    app.state.services.packages._live.clear()
    assert (await client.get("/Packages/t.pkg")).status_code == 404  # not visible before the end
    last = await client.patch(
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
    assert list(app.state.services.packages.upload_dir.iterdir()) == []

    # Termination.
    other = await client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            **admin,
            "Upload-Length": "10",
            "Upload-Metadata": _metadata(filename="x.zip"),
        },
    )
    assert other.status_code == 201
    assert (
        await client.delete(other.headers["location"], headers={**TUS, **admin})
    ).status_code == 204
    assert (
        await client.head(other.headers["location"], headers={**TUS, **admin})
    ).status_code == 404


async def test_stale_uploads_cleaned(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/uploads/",
        headers={
            **TUS,
            **admin,
            "Upload-Length": "100",
            "Upload-Metadata": _metadata(filename="s.pkg"),
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
    service = app.state.services.packages
    assert (await service.cleanup()).uploads == 0
    async with service.db.transaction() as session:
        await session.execute(
            update(PackageUpload).values(updated_at=utcnow() - timedelta(hours=25))
        )
    report = await service.cleanup()
    assert report.uploads == 1
    assert list(service.upload_dir.iterdir()) == []
    assert (
        await client.head(created.headers["location"], headers={**TUS, **admin})
    ).status_code == 404


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    assert "/Packages/{filename}" in paths
    assert "/api/v1/uploads/{upload_id}" in paths
    for path, operations in paths.items():
        if "packages" in path.lower() or "uploads" in path:
            for method, operation in operations.items():
                if method == "options":
                    continue
                codes = set(operation["responses"])
                assert codes - {"200", "201", "204", "206", "304", "307", "422"}, (path, method)
