"""The store on S3 (moto's server) and the download protections, through HTTP in process."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from tests.conftest import make_token
from tests.packages.conftest import CREDENTIALS, payload, until_published


def _s3(endpoint: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "package_storage": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "s3_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        **extra,
    }


async def test_s3_proxied_downloads(build: Any, s3_endpoint: str, s3_bucket: str) -> None:
    app, client, admin = await build(**_s3(s3_endpoint, s3_bucket, s3_prefix="dp"))
    data = payload(2 * 1024 * 1024 + 3, seed=30)
    put = await client.put("/api/v1/packages/s3.pkg", content=data, headers=admin)
    assert put.status_code == 202, put.text  # verified; stored in the bucket by a task
    await until_published(client, "s3.pkg", admin)
    keys = [i.key for i in app.state.services.packages.storage.list()]
    assert keys == [
        f"blobs/{hashlib.sha256(data).hexdigest()[:2]}/{hashlib.sha256(data).hexdigest()}"
    ]
    assert list(app.state.services.packages.upload_dir.iterdir()) == []  # no copy left behind
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
    _app, client, admin = await build(**_s3(s3_endpoint, s3_bucket, s3_download="redirect"))
    data = payload(5000, seed=31)
    await client.put("/api/v1/packages/r.pkg", content=data, headers=admin)
    await until_published(client, "r.pkg", admin)
    answer = await client.get("/Packages/r.pkg")
    assert answer.status_code == 307
    async with httpx.AsyncClient() as outside:  # straight to the bucket, not through Pomona
        assert (await outside.get(answer.headers["location"])).content == data


async def test_download_token_required(build: Any) -> None:
    app, client, admin = await build(package_download_auth="token")
    await client.put("/api/v1/packages/a.pkg", content=b"abc", headers=admin)
    assert (await client.get("/Packages/a.pkg")).status_code == 401
    reader = await make_token(app, "reader", "packages:read")
    assert (await client.get("/Packages/a.pkg", headers=reader)).content == b"abc"


async def test_download_basic_auth(build: Any) -> None:
    _app, client, admin = await build(
        package_download_auth="basic",
        package_download_username="jamf",
        package_download_password="s3cret",
    )
    await client.put("/api/v1/packages/a.pkg", content=b"abc", headers=admin)
    refused = await client.get("/Packages/a.pkg")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    assert refused.json()["errors"]
    assert (await client.get("/Packages/a.pkg", auth=("jamf", "wrong"))).status_code == 401
    assert (await client.get("/Packages/a.pkg", auth=("jamf", "s3cret"))).content == b"abc"
    garbage = {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe").decode()}
    assert (await client.get("/Packages/a.pkg", headers=garbage)).status_code == 401


async def test_extensions_setting(build: Any) -> None:
    _app, client, admin = await build(package_extensions=[".pkg", ".mpkg"])
    assert (
        await client.put("/api/v1/packages/a.mpkg", content=b"1", headers=admin)
    ).status_code == 201
    assert (
        await client.put("/api/v1/packages/a.dmg", content=b"1", headers=admin)
    ).status_code == 422
