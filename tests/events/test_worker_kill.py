"""At least once, for real: a ``pomona worker`` killed (SIGKILL) in the middle of a delivery
loses nothing. Another worker sends what it held once its hold runs out, and the receiver, which
deduplicates on ``webhook-id``, ends with every event exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import serving
from tests.events.conftest import EXAMPLE
from tests.events.receiver import Received, receiving

pytestmark = pytest.mark.slow

EVENTS = 10
ENV = {
    "POMONA_QUEUE_EMBEDDED_WORKERS": "0",
    "POMONA_QUEUE_LEASE_SECONDS": "2",
    "POMONA_FETCH_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    "POMONA_WEBHOOK_POLL_SECONDS": "0.2",
    "POMONA_WEBHOOK_TIMEOUT_SECONDS": "3",
    "POMONA_WEBHOOK_RETRY_SCALE": "0.001",
    "POMONA_PACKAGE_SCRUB_HOURS": "0",
    "POMONA_PACKAGE_CLEANUP_HOURS": "0",
}


def worker(env: dict[str, str], folder: Path, n: int) -> subprocess.Popen[bytes]:
    log = (folder / f"worker-{n}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "pomona", "worker", "--workers", "2"],
        cwd=folder,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=log,
    )


def deliveries(url: str, endpoint: str, admin: dict[str, str]) -> list[dict[str, object]]:
    answer = httpx.get(
        f"{url}/api/v1/webhooks/endpoints/{endpoint}/deliveries",
        params={"perPage": 100},
        headers=admin,
    )
    items: list[dict[str, object]] = answer.json()["items"]
    return items


def test_a_worker_killed_mid_delivery_loses_no_event(tmp_path: Path) -> None:
    hung = threading.Event()
    release = threading.Event()

    def answer(number: int, _got: Received) -> tuple[int, dict[str, str], bytes]:
        if number == 0:  # the first request hangs until its worker is dead
            hung.set()
            release.wait(timeout=20)
        return 200, {}, b"ok"

    with serving(tmp_path, **ENV) as server, receiving() as receiver:
        receiver.answer = answer
        created = server.pomona("token", "create", "--name", "admin", "--scope", "admin")
        assert created.returncode == 0, created.stderr
        admin = {"Authorization": f"Bearer {created.stdout.strip()}"}
        made = httpx.post(
            f"{server.url}/api/v1/webhooks/endpoints",
            json={"url": receiver.url, "eventTypes": ["title.created"]},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        first = worker(server.env, tmp_path, 1)
        second: subprocess.Popen[bytes] | None = None
        try:
            for n in range(EVENTS):
                body = {**EXAMPLE, "id": f"T{n}"}
                answer_ = httpx.post(f"{server.url}/api/v1/titles", json=body, headers=admin)
                assert answer_.status_code == 201, answer_.text
            assert hung.wait(timeout=60), (tmp_path / "worker-1.log").read_text()
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            release.set()
            second = worker(server.env, tmp_path, 2)
            # Done is when every delivery is recorded, not when the receiver has every id: a
            # request the dead worker sent but never recorded is sent again once its hold ends.
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                states = [d["state"] for d in deliveries(server.url, made.json()["id"], admin)]
                if len(set(receiver.ids())) == EVENTS and states == ["delivered"] * EVENTS:
                    break
                time.sleep(0.2)
        finally:
            release.set()
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.terminate()
                    process.wait(timeout=15)
        got = list(receiver.received)
        log = deliveries(server.url, made.json()["id"], admin)
    unique = {r.headers["webhook-id"]: r for r in got}
    assert len(unique) == EVENTS, (tmp_path / "worker-2.log").read_text()[-3000:]
    titles = {
        Webhook(made.json()["secret"]).verify(r.body, r.headers)["data"]["id"]
        for r in unique.values()
    }
    assert titles == {f"T{n}" for n in range(EVENTS)}
    # The delivery the dead worker held was sent again, by the other worker, and recorded.
    assert [r.headers["webhook-id"] for r in got].count(got[0].headers["webhook-id"]) >= 2
    assert [d["state"] for d in log] == ["delivered"] * EVENTS
