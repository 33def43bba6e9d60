"""Downloads through HTTP, in process: ranges, conditional requests, S3 proxied or redirected."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from tests.packages.conftest import payload, put, s3_settings, until_published


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


async def test_s3_proxied_downloads(build: Any, s3_endpoint: str, s3_bucket: str) -> None:
    app, client, admin = await build(**s3_settings(s3_endpoint, s3_bucket, s3_prefix="dp"))
    data = payload(2 * 1024 * 1024 + 3, seed=30)
    put = await client.put("/api/v1/packages/s3.pkg", content=data, headers=admin)
    assert put.status_code == 202, put.text  # verified; stored in the bucket by a task
    await until_published(client, "s3.pkg", admin)
    keys = [i.key for i in app.state.services.packages.storage.list()]
    assert keys == [
        f"blobs/{hashlib.sha256(data).hexdigest()[:2]}/{hashlib.sha256(data).hexdigest()}"
    ]
    assert (
        list(app.state.services.packages.uploads.directory.iterdir()) == []
    )  # no copy left behind
    full = await client.get("/Packages/s3.pkg")
    assert full.status_code == 200
    assert full.content == data
    assert full.headers["content-length"] == str(len(data))
    part = await client.get("/Packages/s3.pkg", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    multi = await client.get("/Packages/s3.pkg", headers={"Range": "bytes=0-1,-2"})
    assert multi.status_code == 206
    assert len(multi.content) == int(multi.headers["content-length"])
    assert data[:2] in multi.content
    assert data[-2:] in multi.content
    head = await client.head("/Packages/s3.pkg")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert (
        await client.get("/Packages/s3.pkg", headers={"Range": "bytes=99999999-"})
    ).status_code == 416
    etag = full.headers["etag"]
    assert (
        await client.get("/Packages/s3.pkg", headers={"If-None-Match": etag})
    ).status_code == 304


async def test_s3_presigned_redirect(build: Any, s3_endpoint: str, s3_bucket: str) -> None:
    _app, client, admin = await build(**s3_settings(s3_endpoint, s3_bucket, s3_download="redirect"))
    data = payload(5000, seed=31)
    await client.put("/api/v1/packages/r.pkg", content=data, headers=admin)
    await until_published(client, "r.pkg", admin)
    answer = await client.get("/Packages/r.pkg")
    assert answer.status_code == 307
    async with httpx.AsyncClient() as outside:  # straight to the bucket, not through Pomona
        assert (await outside.get(answer.headers["location"])).content == data
