"""granian's two ways of calling Pomona give the same answers: RSGI (the default: the feed
answered in one call, everything else through the ASGI bridge in ``pomona/rsgi.py``) and ASGI.

Two real ``pomona serve`` processes, one per interface, get the same requests; their answers
must agree in status, body and every header but the date and the request id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Server, fixture_text, serving

pytestmark = pytest.mark.slow

VARYING = {"date", "x-request-id", "server"}
PACKAGE = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(100_000))  # 3.2 MB
SHA = hashlib.sha256(PACKAGE).hexdigest()


@dataclass(frozen=True)
class Site:
    server: Server
    token: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Site]]:
    """Both servers serve one data directory (one SQLite database, one package store), so
    that their answers can be compared byte for byte, ETags and times included."""
    folders = {name: tmp_path_factory.mktemp(name) for name in ("rsgi", "asgi")}
    with serving(folders["rsgi"], POMONA_GRANIAN_INTERFACE="rsgi") as rsgi:
        secret = rsgi.pomona("token", "create", "--name", "ci", "--scope", "admin").stdout
        first = Site(rsgi, secret.strip())
        made = httpx.post(
            f"{first.url}/api/v1/titles",
            content=fixture_text("example.json"),
            headers=first.auth | {"Content-Type": "application/json"},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        put = httpx.put(
            f"{first.url}/api/v1/packages/Example%20App.pkg",
            content=iter([PACKAGE[i : i + 65536] for i in range(0, len(PACKAGE), 65536)]),
            headers=first.auth,
            timeout=60,
        )
        assert put.status_code == 201, put.text
        shared = {"POMONA_DATA_DIR": str(rsgi.data_dir)}
        with serving(folders["asgi"], POMONA_GRANIAN_INTERFACE="asgi", **shared) as asgi:
            yield {"rsgi": first, "asgi": Site(asgi, first.token)}


def _seen(answer: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((k, v) for k, v in answer.headers.multi_items() if k not in VARYING)
    return answer.status_code, answer.content, headers


REQUESTS = [
    ("GET", "/jamf/v1/software", {}),
    ("GET", "/jamf/v1/software/", {}),
    ("HEAD", "/jamf/v1/software", {}),
    ("GET", "/jamf/v1/software", {"Accept-Encoding": "gzip"}),
    ("GET", "/jamf/v1/software/Example,Nope", {}),
    ("GET", "/jamf/v1/patch/Example", {}),
    ("GET", "/jamf/v1/patch/Nope", {}),
    ("POST", "/jamf/v1/software", {}),
    ("GET", "/jamf/v1/", {}),
    ("HEAD", "/jamf/v1", {}),
    ("GET", "/jamf/v1/nowhere/software", {}),
    ("GET", "/api/v1/titles/Example", {"auth": "yes"}),
    ("GET", "/api/v1/titles/Example", {}),
    ("GET", "/Packages/Example%20App.pkg", {}),
    ("HEAD", "/Packages/Example%20App.pkg", {}),
    ("GET", "/Packages/Example%20App.pkg", {"Range": "bytes=1000-1999"}),
    # One range is sent by granian itself under RSGI (pathsend_range); the rest by Starlette.
    ("GET", "/Packages/Example%20App.pkg", {"Range": "bytes=-500"}),
    ("GET", "/Packages/Example%20App.pkg", {"Range": "bytes=3000000-"}),
    ("GET", "/Packages/Example%20App.pkg", {"Range": "bytes=3199000-9999999"}),
    ("GET", "/Packages/Example%20App.pkg", {"Range": "bytes=5000000-5000001"}),
    ("GET", "/Packages/Example%20App.pkg", {"Range": "bytes=1-0"}),
    ("GET", "/Packages/Example%20App.pkg", {"Range": "bytes=0-9", "If-Range": f'"{SHA}"'}),
    ("GET", "/Packages/Example%20App.pkg", {"Range": "bytes=0-9", "If-Range": '"stale"'}),
    ("HEAD", "/Packages/Example%20App.pkg", {"Range": "bytes=0-9"}),
    ("GET", "/Packages/Nope.pkg", {}),
    ("GET", "/", {}),
]


@pytest.mark.parametrize(("method", "path", "headers"), REQUESTS)
def test_both_interfaces_answer_alike(
    servers: dict[str, Site], method: str, path: str, headers: dict[str, str]
) -> None:
    seen = []
    for server in servers.values():
        sent = dict(headers)
        if sent.pop("auth", None):
            sent |= server.auth
        answer = httpx.request(method, server.url + path, headers=sent, timeout=30)
        seen.append(_seen(answer))
    assert seen[0] == seen[1]


def test_conditional_feed_requests_answer_304_on_both(servers: dict[str, Site]) -> None:
    for server in servers.values():
        first = httpx.get(f"{server.url}/jamf/v1/patch/Example")
        again = httpx.get(
            f"{server.url}/jamf/v1/patch/Example",
            headers={"If-None-Match": first.headers["etag"], "X-Request-ID": "abc-123"},
        )
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["x-request-id"] == "abc-123"


def test_a_package_comes_back_whole_through_the_bridge(servers: dict[str, Site]) -> None:
    for server in servers.values():
        got = httpx.get(f"{server.url}/Packages/Example%20App.pkg", timeout=60)
        assert got.status_code == 200
        assert hashlib.sha256(got.content).digest() == hashlib.sha256(PACKAGE).digest()


@pytest.mark.parametrize(
    ("asked", "start", "end"),
    [("bytes=0-0", 0, 1), ("bytes=1048576-2097151", 1048576, 2097152), ("bytes=-7", 3199993, None)],
)
def test_one_range_of_a_package_is_those_bytes(
    servers: dict[str, Site], asked: str, start: int, end: int | None
) -> None:
    for server in servers.values():
        got = httpx.get(
            f"{server.url}/Packages/Example%20App.pkg", headers={"Range": asked}, timeout=60
        )
        assert got.status_code == 206
        assert got.content == PACKAGE[start:end]
        last = (end or len(PACKAGE)) - 1
        assert got.headers["content-range"] == f"bytes {start}-{last}/{len(PACKAGE)}"
        assert got.headers["content-length"] == str(len(got.content))


def test_the_event_stream_streams_through_the_bridge(servers: dict[str, Site]) -> None:
    server = servers["rsgi"]
    with httpx.stream(
        "GET",
        f"{server.url}/api/v1/events/stream",
        headers=server.auth | {"Last-Event-ID": "0"},
        timeout=30,
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = ""
        for piece in stream.iter_text():
            text += piece
            if "title.created" in text:
                break
    assert "title.created" in text
