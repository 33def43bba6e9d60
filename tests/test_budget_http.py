"""The request budget: the caller is known before a body is read, no body is read past its
route's limit, and a silent sender is answered 408."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.budget_http import ARCHIVE, DOCUMENT, KINDS, PACKAGE, SMALL, body_kind
from pomona.settings import Settings
from tests.conftest import Server, fixture_text, serving
from tests.test_house import api_routes

MiB = 1024 * 1024


class Body:
    """A streamed request body that records how much of it the server took."""

    def __init__(
        self, size: int, piece: int = 64 * 1024, pause: float = 0.0, content: bytes = b""
    ) -> None:
        self.size, self.piece, self.pause = size, piece, pause
        self.content = content or b"x" * min(size, piece)
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            if self.pause:
                await asyncio.sleep(self.pause)
            part = self.content[: min(self.piece, self.size - self.sent)]
            if len(self.content) == self.size:
                part = self.content[self.sent : self.sent + self.piece]
            self.sent += len(part)
            yield part


def test_routes_declare_the_body_they_accept() -> None:
    app = create_app(Settings(data_dir=Path("unused")))
    kinds = {(r.path, m): body_kind(r.endpoint) for r in api_routes(app) for m in r.methods}
    assert kinds[("/api/v1/titles", "POST")] is DOCUMENT
    assert kinds[("/api/v1/titles/{title_id}/order", "PUT")] is SMALL
    assert kinds[("/api/v1/imports", "POST")] is ARCHIVE
    assert kinds[("/api/v1/packages/{filename}", "PUT")] is PACKAGE
    assert {k.setting for k in KINDS} <= set(Settings.model_fields)


async def test_no_body_is_read_before_the_caller_is_known(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("PUT", "/api/v1/titles/Firefox/order"),
        ("POST", "/api/v1/imports/remote"),
        ("POST", "/api/v1/titles"),
        ("POST", "/api/v1/imports"),
        ("PUT", "/api/v1/packages/Big.pkg"),
    ]:
        body = Body(30 * MiB)
        answer = await client.request(method, path, content=body)
        assert answer.status_code == 401, (path, answer.text)
        assert answer.json()["errors"][0]["code"] == "token_missing"
        # httpx hands the transport its first piece before the answer; nothing more is taken.
        assert body.sent <= body.piece, (path, body.sent)


async def test_a_token_without_the_scope_is_refused_before_the_body(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, secret = await app.state.services.tokens.create("reader", ["titles:read"])
    body = Body(30 * MiB)
    answer = await client.put(
        "/api/v1/titles/Firefox/order",
        content=body,
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 403
    assert body.sent <= body.piece


async def test_a_declared_length_over_the_limit_is_refused_unread(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = Body(2 * MiB)
    answer = await client.put(
        "/api/v1/titles/Firefox/order",
        content=body,
        headers={**admin, "Content-Length": str(2 * MiB)},
    )
    assert answer.status_code == 413, answer.text
    problem = answer.json()["errors"][0]
    assert problem["code"] == "body_too_large"
    assert "max_request_bytes" in problem["message"]
    assert answer.headers["connection"] == "close"
    assert body.sent <= body.piece


@pytest.mark.parametrize(
    ("method", "path", "setting"),
    [
        ("PUT", "/api/v1/titles/Firefox/order", "max_request_bytes"),
        ("POST", "/api/v1/titles", "max_document_bytes"),
        ("POST", "/api/v1/imports", "archive_max_bytes"),
    ],
)
async def test_a_streamed_body_stops_at_its_routes_limit(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    method: str,
    path: str,
    setting: str,
) -> None:
    setattr(app.state.settings, setting, 256 * 1024)
    body = Body(8 * MiB)  # no Content-Length: counted while it streams
    answer = await client.request(method, path, content=body, headers=admin)
    assert answer.status_code == 413, answer.text
    assert setting in answer.json()["errors"][0]["message"]
    assert body.sent <= 256 * 1024 + 2 * body.piece


async def test_a_silent_sender_is_answered_408(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    app.state.settings.request_body_timeout_seconds = 0.2
    answer = await client.post(
        "/api/v1/titles", content=Body(64, piece=16, pause=1.0), headers=admin
    )
    assert answer.status_code == 408, answer.text
    assert answer.json()["errors"][0]["code"] == "body_timeout"
    # A body that keeps coming, however slowly, is read.
    title = fixture_text("example.json").encode()
    slow = Body(len(title), piece=len(title) // 4 + 1, pause=0.1, content=title)
    answer = await client.post("/api/v1/titles", content=slow, headers=admin)
    assert answer.status_code == 201, answer.text


async def test_a_content_length_that_is_not_a_number_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = await client.post(
        "/api/v1/titles", content=b"{}", headers={**admin, "Content-Length": "2a"}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["code"] == "content_length_invalid"


# -- against a real server --------------------------------------------------------------------


def _rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match
    return int(match.group(1)) * 1024


def _send_unauthenticated(server: Server, method: str, path: str, size: int) -> tuple[int, float]:
    """Send ``size`` bytes as fast as the server takes them; the status and when it came."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.monotonic()
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: pomona.test\r\nContent-Length: {size}\r\n"
            "Content-Type: application/json\r\n\r\n".encode()
        )

        def push() -> None:
            piece = b"x" * MiB
            try:
                for _ in range(size // MiB):
                    sock.sendall(piece)
            except OSError:
                pass  # the server answered and closed

        pusher = threading.Thread(target=push, daemon=True)
        pusher.start()
        sock.settimeout(10)
        head = sock.recv(4096)
        took = time.monotonic() - started
        pusher.join(timeout=5)
    return int(head.split(b" ", 2)[1]), took


@pytest.mark.slow
def test_a_200_mb_unauthenticated_body_costs_the_server_nothing(tmp_path: Path) -> None:
    write_routes = [
        ("POST", "/api/v1/titles"),
        ("PUT", "/api/v1/titles/Firefox"),
        ("PUT", "/api/v1/titles/Firefox/order"),
        ("POST", "/api/v1/titles/Firefox/versions"),
        ("POST", "/api/v1/imports"),
        ("POST", "/api/v1/imports/remote"),
        ("POST", "/api/v1/backups/restore"),
        ("PUT", "/api/v1/packages/Big.pkg"),
        ("PATCH", "/api/v1/packages/Big.pkg"),
        ("POST", "/api/v1/uploads/"),
    ]
    with serving(tmp_path) as server:
        before = _rss(server.process.pid)
        for method, path in write_routes:
            status, took = _send_unauthenticated(server, method, path, 200 * MiB)
            assert status == 401, (method, path, status)
            assert took < 2.0, (method, path, took)
        grown = _rss(server.process.pid) - before
    assert grown < 50 * MiB, grown


async def test_unknown_and_repeated_query_parameters_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = await client.get(
        "/api/v1/audit?perPage=5&perPage=6&acter=me&action=title.*", headers=admin
    )
    assert answer.status_code == 422, answer.text
    problems = {(p["path"], p["code"]) for p in answer.json()["errors"]}
    assert problems == {("/perPage", "query_repeated"), ("/acter", "query_unknown")}
    assert "actor" in answer.json()["errors"][1]["message"]  # it names what it takes
    listed = await client.get("/api/v1/titles?q=a&namespace=default", headers=admin)
    assert listed.status_code == 200, listed.text


async def test_a_number_is_not_a_time(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    answer = await client.get("/api/v1/audit?until=0.5", headers=admin)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["path"] == "/until"
    assert (await client.get("/api/v1/audit?until=2024-05-01T12:00:00Z", headers=admin)).is_success


async def test_a_body_that_is_not_utf8_is_refused_in_words(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = await client.put(
        "/api/v1/titles/Firefox/order",
        content=b"\xff\xfe[",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["code"] == "body_unreadable"


async def test_405_names_every_method_of_the_path(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = await client.request("OPTIONS", "/api/v1/titles/Firefox/versions/1.0", headers=admin)
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}
    answer = await client.request("PATCH", "/api/v1/titles", headers=admin)
    assert set(answer.headers["allow"].split(", ")) == {"GET", "POST"}


def test_the_document_says_what_a_client_must_send() -> None:
    document = create_app(Settings(data_dir=Path("unused"))).openapi()
    head = document["paths"]["/api/v1/uploads/{upload_id}"]["head"]
    [tus] = [p for p in head["parameters"] if p["name"].lower() == "tus-resumable"]
    assert tus["required"] is True
    assert tus["schema"]["enum"] == ["1.0.0"]
    put = document["paths"]["/api/v1/packages/{filename}"]["put"]
    assert all(p["name"].lower() != "content-length" for p in put.get("parameters", []))
    assert {"400", "408", "413"} <= set(put["responses"])
    [version] = [
        p
        for p in document["paths"]["/api/v1/titles/{title_id}/versions/{version}"]["get"][
            "parameters"
        ]
        if p["name"] == "version"
    ]
    assert re.fullmatch(version["schema"]["pattern"], "1.2.3")
    assert not re.fullmatch(version["schema"]["pattern"], "1/2")


async def test_a_redirect_back_from_a_provider_may_carry_parameters_of_its_own(
    client: httpx.AsyncClient,
) -> None:
    # No provider is configured, so the callback is 404: but not a 422 for Google's extras.
    extra = await client.get("/api/v1/session/oidc/callback?code=c&state=s&authuser=0&hd=x.org")
    assert extra.status_code == 404, extra.text
    twice = await client.get("/api/v1/session/oidc/callback?code=c&code=d")
    assert twice.status_code == 422
    assert twice.json()["errors"][0]["code"] == "query_repeated"
