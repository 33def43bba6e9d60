"""Who may do what: token scopes on the API, and the distribution point's own protection."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import make_token
from tests.packages.conftest import TUS, put


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
