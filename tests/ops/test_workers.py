"""A real ``pomona serve --workers 2``: /metrics adds up what both processes counted."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import serving
from tests.ops.scrape import sample

pytestmark = pytest.mark.slow
CLIENTS, EACH = 8, 10


@pytest.mark.parametrize("kind", ["granian", "uvicorn"])
def test_metrics_are_the_sum_of_both_workers(tmp_path: Path, kind: str) -> None:
    with serving(tmp_path, "--workers", "2", "--server", kind) as server:

        def client(_: int) -> list[str]:
            # A new connection for each request, several at once, so that both processes take
            # some; the request id's prefix names the process that answered.
            answers = [httpx.get(f"{server.url}/jamf/v1/software", timeout=30) for _ in range(EACH)]
            assert all(a.status_code == 200 for a in answers)
            return [a.headers["x-request-id"].split("-")[0] for a in answers]

        answered_by: Counter[str] = Counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            while len(answered_by) < 2 and sum(answered_by.values()) < 2000:
                answered_by.update(p for found in pool.map(client, range(CLIENTS)) for p in found)
        sent = sum(answered_by.values())
        # Each process moves its counts to the shared files every second (FLUSH_SECONDS).
        labels = {"method": "GET", "route": "/jamf/v1/software", "status": "200"}
        deadline = time.monotonic() + 10
        while True:
            text = httpx.get(f"{server.url}/metrics", timeout=30).text
            counted = sample(text, "pomona_http_requests_total", **labels)
            if counted >= sent or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    assert len(answered_by) == 2, answered_by
    assert counted == sent
    bytes_sent = sample(text, "pomona_http_response_bytes_total", route="/jamf/v1/software")
    assert bytes_sent > 0
