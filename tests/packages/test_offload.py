"""Download offload: behind nginx with ``download_offload = x-accel-redirect``, Pomona checks
the request and nginx sends the bytes. Byte-exact answers, ranges, HEAD and conditional requests
through the front server; a client reaching Pomona directly still gets the file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.procs import Missing, start_caddy_front, start_nginx_front
from bench.procs import Server as Front

from tests.conftest import Server, serving, unavailable
from tests.packages.conftest import payload

MiB = 1024 * 1024
NAME = "Offload 1.0.pkg"


FRONTS = {"nginx": start_nginx_front, "caddy": start_caddy_front}


@pytest.fixture(scope="module", params=sorted(FRONTS))
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Front, bytes]]:
    """A Pomona with one package, and the front server ``request.param`` before it."""
    folder = tmp_path_factory.mktemp(f"offload-{request.param}")
    with serving(folder, POMONA_DOWNLOAD_OFFLOAD="x-accel-redirect") as pomona:
        made = pomona.pomona("token", "create", "--name", "up", "--scope", "packages:write")
        assert made.returncode == 0, made.stderr
        data = payload(3 * MiB + 17, seed=7)
        put = httpx.put(
            f"{pomona.url}/api/v1/packages/{NAME}",
            content=data,
            headers={"Authorization": f"Bearer {made.stdout.strip()}"},
            timeout=60,
        )
        assert put.status_code in (200, 201), put.text
        try:
            front = FRONTS[request.param](folder, pomona.url, pomona.data_dir / "packages")
        except Missing as missing:
            unavailable(str(missing))
        try:
            yield pomona, front, data
        finally:
            front.stop()


def test_the_front_server_sends_the_file_pomona_names(stack: tuple[Server, Front, bytes]) -> None:
    _pomona, front, data = stack
    url = f"{front.url}/Packages/{NAME}"
    whole = httpx.get(url)
    assert whole.status_code == 200
    assert whole.content == data
    assert "x-accel-redirect" not in whole.headers  # nginx consumed it
    part = httpx.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == data[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    assert whole.headers["etag"] == etag  # Pomona's, the content's SHA-256
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "application/octet-stream"
    same = httpx.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    if front.name == "nginx-front":
        assert same.status_code == 206
        assert same.content == data[:10]
    else:
        # Caddy's file_server compares If-Range with its own ETag, not the one it is told to
        # send, so it sends the whole file: never wrong, only longer (docs/deployment.md).
        assert same.status_code == 200
        assert same.content == data
    other = httpx.get(url, headers={"Range": "bytes=0-9", "If-Range": '"older"'})
    assert other.status_code == 200
    assert other.content == data
    head = httpx.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert head.content == b""


def test_pomona_still_answers_what_needs_it(stack: tuple[Server, Front, bytes]) -> None:
    _pomona, front, data = stack
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    unchanged = httpx.get(f"{front.url}/Packages/{NAME}", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    missing = httpx.get(f"{front.url}/Packages/Nothing.pkg")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "package_not_found"
    # The internal location is not reachable from outside.
    assert httpx.get(f"{front.url}/_pomona_packages/").status_code == 404


def test_a_client_reaching_pomona_directly_gets_the_file(
    stack: tuple[Server, Front, bytes],
) -> None:
    pomona, _front, data = stack
    direct = httpx.get(f"{pomona.url}/Packages/{NAME}")
    assert direct.status_code == 200
    assert direct.content == data
    assert "x-accel-redirect" not in direct.headers
    handed = httpx.get(
        f"{pomona.url}/Packages/{NAME}", headers={"X-Sendfile-Type": "X-Accel-Redirect"}
    )
    assert handed.content == b""
    sha256 = hashlib.sha256(data).hexdigest()
    assert handed.headers["x-accel-redirect"] == f"/_pomona_packages/blobs/{sha256[:2]}/{sha256}"


async def test_x_sendfile_names_the_stored_file_for_apache_and_lighttpd(build: Any) -> None:
    app, client, admin = await build(download_offload="x-sendfile")
    data = payload(4096, seed=3)
    stored = await client.put(f"/api/v1/packages/{NAME}", content=data, headers=admin)
    assert stored.status_code in (200, 201), stored.text
    sha256 = hashlib.sha256(data).hexdigest()
    handed = await client.get(f"/Packages/{NAME}", headers={"X-Sendfile-Type": "X-Sendfile"})
    assert handed.status_code == 200
    assert handed.content == b""
    path = Path(handed.headers["x-sendfile"])
    assert path == app.state.settings.resolved_package_dir.resolve() / "blobs" / sha256[:2] / sha256
    assert path.stat().st_size == len(data)  # noqa: ASYNC240 - a test's one stat
    # A front server announcing the other header is not obeyed: the file is sent.
    other = await client.get(f"/Packages/{NAME}", headers={"X-Sendfile-Type": "X-Accel-Redirect"})
    assert other.content == data
