"""Receiving uploads: what is refused before any byte is kept."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.packages.conftest import TUS, put


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
    assert list(app.state.services.packages.uploads.directory.iterdir()) == []


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
    assert list(app.state.services.packages.uploads.directory.iterdir()) == []


async def test_extensions_setting(build: Any) -> None:
    _app, client, admin = await build(package_extensions=[".pkg", ".mpkg"])
    assert (
        await client.put("/api/v1/packages/a.mpkg", content=b"1", headers=admin)
    ).status_code == 201
    assert (
        await client.put("/api/v1/packages/a.dmg", content=b"1", headers=admin)
    ).status_code == 422
