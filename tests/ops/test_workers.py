"""A real ``pomona serve --workers 2``: /metrics adds up what both processes counted."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import serving
from tests.ops.scrape import sample

pytestmark = pytest.mark.slow
CLIENTS, EACH = 8, 25


@pytest.mark.parametrize("kind", ["granian", "uvicorn"])
def test_metrics_are_the_sum_of_both_workers(tmp_path: Path, kind: str) -> None:
    with serving(tmp_path, "--workers", "2", "--server", kind) as server:

        def client(_: int) -> list[str]:
            # Several connections at once, so that both processes take some; the request id's
            # prefix names the process that answered.
            with httpx.Client(base_url=server.url, timeout=30) as http:
                answers = [http.get("/jamf/v1/software") for _ in range(EACH)]
            assert all(a.status_code == 200 for a in answers)
            return [a.headers["x-request-id"].split("-")[0] for a in answers]

        with ThreadPoolExecutor(CLIENTS) as pool:
            answered_by = Counter(p for found in pool.map(client, range(CLIENTS)) for p in found)
        text = httpx.get(f"{server.url}/metrics", timeout=30).text
    assert len(answered_by) == 2, answered_by
    labels = {"method": "GET", "route": "/jamf/v1/software", "status": "200"}
    assert sample(text, "pomona_http_requests_total", **labels) == CLIENTS * EACH
