"""A real ``pomona serve`` driven by real clients: curl and tuspy."""

from __future__ import annotations

import hashlib
import http.client
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient import client as tus_client

from pomona.packages.partials import WRITE_BLOCK
from tests.conftest import Server
from tests.packages.conftest import payload

pytestmark = [
    pytest.mark.slow,
    # Both HTTP servers `pomona serve` can run, end to end.
    pytest.mark.parametrize("server", ["granian", "uvicorn"], indirect=True),
]
MiB = 1024 * 1024


def _token(server: Server) -> str:
    made = server.pomona("token", "create", "--name", "bb", "--scope", "packages:write")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["curl", "-sS", "--fail-with-body", *args], capture_output=True, timeout=60, check=False
    )


def test_curl_upload_and_downloads(server: Server, tmp_path: Path) -> None:
    token = _token(server)
    data = payload(3 * MiB + 11, seed=40)
    source = tmp_path / "App 1.0.pkg"
    source.write_bytes(data)
    url = f"{server.url}/Packages/App%201.0.pkg"
    put = curl(
        "-T",
        str(source),
        "-H",
        f"Authorization: Bearer {token}",
        f"{server.url}/api/v1/packages/App%201.0.pkg",
    )
    assert put.returncode == 0, put.stdout + put.stderr
    assert hashlib.sha256(data).hexdigest().encode() in put.stdout

    whole = tmp_path / "whole.pkg"
    assert curl("-o", str(whole), url).returncode == 0
    assert whole.read_bytes() == data

    # An interrupted download, resumed with curl -C -.
    partial = tmp_path / "resumed.pkg"
    partial.write_bytes(data[: MiB + 123])
    resumed = curl("-C", "-", "-o", str(partial), url)
    assert resumed.returncode == 0, resumed.stderr
    assert partial.read_bytes() == data

    ranged = curl("-r", "100-199", url)
    assert ranged.stdout == data[100:200]
    head = curl("-I", url)
    assert b"200" in head.stdout.split(b"\r\n")[0]
    assert f'etag: "{hashlib.sha256(data).hexdigest()}"'.encode() in head.stdout.lower()
    assert f"content-length: {len(data)}".encode() in head.stdout.lower()
    not_modified = curl(
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        f'If-None-Match: "{hashlib.sha256(data).hexdigest()}"',
        url,
    )
    assert not_modified.stdout == b"304"
    assert list((server.data_dir / "uploads").iterdir()) == []


def test_tuspy_upload_resumes_after_interruption(server: Server, tmp_path: Path) -> None:
    token = _token(server)
    auth = {"Authorization": f"Bearer {token}"}
    data = payload(2 * WRITE_BLOCK + MiB + 321, seed=41)
    source = tmp_path / "big.dmg"
    source.write_bytes(data)

    # Start an upload and break the connection in the middle of a PATCH.
    client = tus_client.TusClient(f"{server.url}/api/v1/uploads/", headers=auth)
    uploader = client.uploader(
        str(source), chunk_size=MiB, metadata={"filename": "big.dmg"}, upload_checksum=True
    )
    uploader.upload_chunk()  # the first MiB, with a checksum
    assert uploader.offset == MiB
    target = urlsplit(uploader.url)
    raw = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    raw.putrequest("PATCH", target.path)
    for name, value in {
        **auth,
        "Tus-Resumable": "1.0.0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Offset": str(MiB),
        "Content-Length": str(2 * WRITE_BLOCK),
    }.items():
        raw.putheader(name, value)
    raw.endheaders()
    # Part of what was announced, then the line drops: a whole block (written while the next
    # is read) and a partial one (written when the stream breaks off).
    sent = WRITE_BLOCK + MiB // 2 + 7
    raw.send(data[MiB : MiB + sent])
    raw.sock.close()

    # A new client resumes from the offset the server reports, and finishes.
    resumed = tus_client.TusClient(f"{server.url}/api/v1/uploads/", headers=auth).uploader(
        str(source), url=uploader.url, chunk_size=MiB
    )
    assert resumed.offset == MiB + sent  # every byte that arrived was kept
    resumed.upload()
    record = httpx.get(f"{server.url}/api/v1/packages/big.dmg", headers=auth).json()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["md5"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert record["sha512"] == hashlib.sha512(data).hexdigest()
    manifest = httpx.get(f"{server.url}/api/v1/packages/big.dmg/manifest", headers=auth).json()
    assert manifest["chunks"] == [
        hashlib.sha256(data[i : i + MiB]).hexdigest() for i in range(0, len(data), MiB)
    ]
    assert httpx.get(f"{server.url}/Packages/big.dmg").content == data
    assert list((server.data_dir / "uploads").iterdir()) == []
