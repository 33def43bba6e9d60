"""Fixtures of the subscriptions tests: an upstream HTTP server on loopback that serves any
document at any path, answers conditional requests as real servers do (``ETag``,
``Last-Modified``, 304), and plays hostile (huge, slow, redirecting in a loop)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pomona.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/json"
    location: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds between chunks of the body
    chunks: int = 1  # the body is sent this many times


@dataclass
class Upstream:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    conditional: bool = True  # answer 304 to matching validators

    def serve(self, path: str, body: bytes | Any, content_type: str = "application/json") -> str:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
        self.routes[path] = Route(data, content_type=content_type, etag=tag, last_modified=stamp)
        return self.base + path

    def redirect(self, path: str, target: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, location=target)
        return self.base + path

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [headers for hit, headers in self.hits if hit == path]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    found = Upstream("")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            found.hits.append((path, {k.lower(): v for k, v in self.headers.items()}))
            route = found.routes.get(path)
            if route is None:
                return self._answer(404, b'{"error": "not found"}')
            if route.location is not None:
                self.send_response(route.status)
                self.send_header("Location", route.location)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if (
                found.conditional
                and route.etag
                and (self.headers.get("If-None-Match") == route.etag)
            ):
                self.send_response(304)
                self.send_header("ETag", route.etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body) * route.chunks))
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            self.end_headers()
            try:
                for _ in range(route.chunks):
                    if route.delay:
                        time.sleep(route.delay)
                    self.wfile.write(route.body)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
            return None

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    found.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield found
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Loopback may be fetched (the upstream is there); small limits so hostile answers fail
    fast; no periodic scan, so a test decides when checks run; a feed that reads the
    database on every request."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        fetch_allowed_networks=["127.0.0.0/8"],
        fetch_timeout_seconds=2.0,
        fetch_max_bytes=256 * 1024,
        fetch_max_redirects=3,
        subscription_scan_seconds=0,
        subscription_min_interval_seconds=60,
        feed_refresh_seconds=0.0,
        queue_retry_delay=0.2,
    )
