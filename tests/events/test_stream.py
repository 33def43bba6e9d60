"""The live stream against a real ``pomona serve``: events arrive as they commit, a client
that reconnects with ``Last-Event-ID`` resumes after the last one it had, an idle stream sends
keep-alives, and stopping the server ends open streams so it exits promptly."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, serving
from tests.events.conftest import EXAMPLE

pytestmark = pytest.mark.slow

STREAM_ENV = {
    "POMONA_EVENTS_STREAM_POLL_SECONDS": "0.1",
    "POMONA_EVENTS_STREAM_HEARTBEAT_SECONDS": "0.5",
    "POMONA_WEBHOOK_POLL_SECONDS": "0",
}


@pytest.fixture(params=["granian", "uvicorn"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    with serving(tmp_path, POMONA_SERVER=request.param, **STREAM_ENV) as server:
        created = server.pomona("token", "create", "--name", "admin", "--scope", "admin")
        assert created.returncode == 0, created.stderr
        yield server, {"Authorization": f"Bearer {created.stdout.strip()}"}


def frames(lines: Iterator[str], count: int) -> list[dict[str, str]]:
    """The next ``count`` events of a stream, as {id, event, data}; comments are skipped."""
    found: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        if not line:
            if "id" in current:
                found.append(current)
                if len(found) == count:
                    return found
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            current[name] = value
    raise AssertionError(f"the stream ended after {found}")


def create(server: Server, headers: dict[str, str], title_id: str) -> None:
    answer = httpx.post(
        f"{server.url}/api/v1/titles", json={**EXAMPLE, "id": title_id}, headers=headers
    )
    assert answer.status_code == 201, answer.text


def test_the_stream_follows_resumes_and_keeps_alive(
    live: tuple[Server, dict[str, str]],
) -> None:
    server, admin = live
    follow = {**admin, "Accept": "text/event-stream"}
    url = f"{server.url}/api/v1/events/stream"
    with httpx.stream(
        "GET", url, headers=follow, params={"type": "title.*"}, timeout=10
    ) as live_stream:
        assert live_stream.headers["content-type"].startswith("text/event-stream")
        lines = live_stream.iter_lines()
        create(server, admin, "First")
        create(server, admin, "Second")
        got = frames(lines, 2)
        assert [json.loads(f["data"])["data"]["id"] for f in got] == ["First", "Second"]
        assert [f["event"] for f in got] == ["title.created"] * 2
        # Idle: a keep-alive comment within the heartbeat.
        started = time.monotonic()
        assert next(line for line in lines if line.startswith(": keep-alive"))
        assert time.monotonic() - started < 5
    create(server, admin, "Third")  # while no one listens
    resumed = {**follow, "Last-Event-ID": got[0]["id"]}
    with httpx.stream("GET", url, headers=resumed, timeout=10) as again:
        later = frames(again.iter_lines(), 2)
    assert [json.loads(f["data"])["data"]["id"] for f in later] == ["Second", "Third"]


def test_stopping_the_server_ends_open_streams(live: tuple[Server, dict[str, str]]) -> None:
    server, admin = live
    ended = threading.Event()

    def listen() -> None:
        headers = {**admin, "Accept": "text/event-stream"}
        try:
            with httpx.stream(
                "GET", f"{server.url}/api/v1/events/stream", headers=headers, timeout=30
            ) as stream:
                for _ in stream.iter_lines():
                    pass
        except httpx.HTTPError:
            pass
        ended.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1.0)  # the stream is open
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=15)
    assert ended.wait(timeout=5)
    assert time.monotonic() - started < 10
