"""Package and token writes land in the audit log with actor, token, address and target; a write
that fails leaves no record. On every database engine."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from pomona.packages.storage import blob_key
from pomona.settings import Settings
from tests.conftest import make_token
from tests.packages.conftest import payload, s3_settings, until_published

TUS = {"Tus-Resumable": "1.0.0"}
ASGI_CLIENT = "127.0.0.1"  # the address httpx's ASGI transport reports for its requests


async def _log(client: httpx.AsyncClient, admin: dict[str, str], **query: str) -> list[Any]:
    """Matching audit entries, oldest first."""
    answer = await client.get("/api/v1/audit", params={"perPage": "500", **query}, headers=admin)
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["items"]))


def _tus_create(name: str, length: int, headers: dict[str, str]) -> dict[str, str]:
    encoded = base64.b64encode(name.encode()).decode()
    metadata = f"filename {encoded}"
    return {**TUS, **headers, "Upload-Length": str(length), "Upload-Metadata": metadata}


async def test_every_package_write_is_audited_and_failures_are_not(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ci = await make_token(app, "ci", "packages:write")
    first, second = payload(70_000, seed=90), payload(80_000, seed=91)
    url = "/api/v1/packages/App.pkg"

    assert (await client.put(url, content=first, headers=ci)).status_code == 201
    # Failures: other content without ?replace, a wrong expected SHA-256, a bad filename.
    assert (await client.put(url, content=second, headers=ci)).status_code == 409
    wrong = await client.put(url, content=second, headers=ci, params={"sha256": "0" * 64})
    assert wrong.status_code == 422
    hidden = await client.put("/api/v1/packages/.x.pkg", content=first, headers=ci)
    assert hidden.status_code == 422
    replaced = await client.put(url, content=second, headers=ci, params={"replace": "true"})
    assert replaced.status_code == 200
    # The same content again writes nothing, so it records nothing.
    assert (await client.put(url, content=second, headers=ci)).json()["outcome"] == "unchanged"

    patched = await client.patch(url, json={"notes": "Firefox 128", "tags": ["prod"]}, headers=ci)
    assert patched.status_code == 200
    assert (await client.patch(url, json={"tags": ["no spaces"]}, headers=ci)).status_code == 422
    missing = await client.patch("/api/v1/packages/None.pkg", json={"notes": "x"}, headers=ci)
    assert missing.status_code == 404

    # A tus upload completed in two pieces, and one abandoned.
    data = payload(50_000, seed=92)
    created = await client.post("/api/v1/uploads/", headers=_tus_create("Tus.pkg", len(data), ci))
    assert created.status_code == 201, created.text
    patch = {**TUS, **ci, "Content-Type": "application/offset+octet-stream"}
    for start, end in ((0, 20_000), (20_000, len(data))):
        piece = await client.patch(
            created.headers["location"],
            content=data[start:end],
            headers={**patch, "Upload-Offset": str(start)},
        )
        assert piece.status_code == 204, piece.text
    abandoned = await client.post("/api/v1/uploads/", headers=_tus_create("Gone.pkg", 9_000, ci))
    gone = abandoned.headers["location"]
    await client.patch(gone, content=b"x" * 4_000, headers={**patch, "Upload-Offset": "0"})
    assert (await client.delete(gone, headers={**TUS, **ci})).status_code == 204
    assert (await client.delete(gone, headers={**TUS, **ci})).status_code == 404

    assert (await client.delete(url, headers=ci)).status_code == 204
    assert (await client.delete(url, headers=ci)).status_code == 404

    entries = await _log(client, admin, actor="token:ci")
    assert [(e["action"], e["target"]) for e in entries] == [
        ("package.upload", "package:App.pkg"),
        ("package.replace", "package:App.pkg"),
        ("package.update", "package:App.pkg"),
        ("package.upload", "package:Tus.pkg"),
        ("upload.terminate", "package:Gone.pkg"),
        ("package.delete", "package:App.pkg"),
    ]
    for entry in entries:
        assert (entry["tokenName"], entry["client"]) == ("ci", ASGI_CLIENT), entry
    sha = hashlib.sha256
    assert entries[0]["detail"] == f"70000 bytes, SHA-256 {sha(first).hexdigest()}"
    assert sha(first).hexdigest() in entries[1]["detail"]  # the replaced content is named
    assert entries[2]["detail"] == "notes set; tags: prod"
    assert sha(data).hexdigest() in entries[3]["detail"]
    assert "4000 of 9000 bytes" in entries[4]["detail"]
    # Nothing else was recorded for packages: the failed writes left no trace.
    assert len(await _log(client, admin, action="package.*")) == 5
    assert len(await _log(client, admin, action="upload.*")) == 1


async def test_scrub_quarantine_is_audited_as_the_system(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    data = payload(40_000, seed=93)
    assert (
        await client.put("/api/v1/packages/Rot.pkg", content=data, headers=admin)
    ).status_code == 201
    path = app.state.services.packages.storage.local_path(
        blob_key(hashlib.sha256(data).hexdigest())
    )
    with path.open("r+b") as stored:
        stored.write(bytes([data[0] ^ 0xFF]))

    await app.state.services.packages.maintenance.scrub()
    # Already quarantined: not checked, not recorded again.
    await app.state.services.packages.maintenance.scrub()

    entries = await _log(client, admin, action="package.quarantine")
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["actor"], entry["tokenName"], entry["client"], entry["target"]) == (
        "system:scrub",
        None,
        None,
        "package:Rot.pkg",
    )
    assert "changed" in entry["detail"]


def _pomona(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The server-side CLI on the test's own database, run by the OS user "auditor"."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LOGNAME": "auditor",  # what getpass.getuser() reads first
        "POMONA_DATABASE_URL": settings.database_url,
        "POMONA_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "pomona", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parent,
    )


async def test_token_create_and_revoke_from_the_cli_are_audited(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    made = _pomona(settings, "token", "create", "--name", "autopkg", "--scope", "packages:write")
    assert made.returncode == 0, made.stderr
    again = _pomona(settings, "token", "create", "--name", "autopkg", "--scope", "admin")
    assert again.returncode == 1
    assert "exists" in again.stderr
    bad = _pomona(settings, "token", "create", "--name", "x", "--scope", "nope")
    assert bad.returncode == 1
    revoked = _pomona(settings, "token", "revoke", "autopkg")
    assert revoked.returncode == 0, revoked.stderr
    unknown = _pomona(settings, "token", "revoke", "autopkg")
    assert unknown.returncode == 1

    entries = await _log(client, admin, action="token.*", actor="cli:auditor")
    assert [(e["action"], e["target"], e["detail"]) for e in entries] == [
        ("token.create", "token:autopkg", "scopes: packages:write"),
        ("token.revoke", "token:autopkg", "scopes: packages:write"),
    ]
    for entry in entries:
        # A command run on the server has an operator but no token and no network address.
        assert (entry["tokenName"], entry["client"]) == (None, None)
    # Only the fixture's own admin token was created otherwise, by the system.
    others = await _log(client, admin, action="token.*")
    assert [(e["actor"], e["target"]) for e in others[:1]] == [("system", "token:admin")]
    assert len(others) == 3


async def test_a_package_stored_by_the_queue_keeps_the_uploaders_address(
    build: Any, s3_endpoint: str, s3_bucket: str
) -> None:
    _app, client, admin = await build(**s3_settings(s3_endpoint, s3_bucket))
    data = payload(60_000, seed=94)
    put = await client.put("/api/v1/packages/Late.pkg", content=data, headers=admin)
    assert put.status_code == 202, put.text
    await until_published(client, "Late.pkg", admin)

    entries = await _log(client, admin, action="package.*")
    assert [(e["action"], e["actor"], e["client"], e["target"]) for e in entries] == [
        ("package.upload", "token:admin", ASGI_CLIENT, "package:Late.pkg")
    ]
