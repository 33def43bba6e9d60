"""A receiver killed with SIGKILL half way through a transfer resumes from the chunks it has:
counted at a proxy in front of the origin, at most one chunk per stream is fetched twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.sites import pair, payload, sites, wait_until

from tests.conftest import free_port
from tests.replication.proxy import counting

pytestmark = pytest.mark.slow

MIB = 1024 * 1024
STREAMS = 2


def test_a_receiver_killed_half_way_fetches_again_at_most_a_chunk_per_stream(
    tmp_path: Path,
) -> None:
    port = free_port()
    with counting(port) as proxy:
        origin = {"port": str(port), "replication_site_url": f"http://127.0.0.1:{proxy.port}"}
        receiver = {
            "replication_streams": str(STREAMS),
            "replication_chunks_per_request": "1",
        }
        with sites(tmp_path, ("hq", origin), ("branch", receiver)) as (hq, br):
            pair(hq, br)
            limited = br.call(
                "PATCH", f"/api/v1/peers/{br.peers['hq']}", json={"rateLimit": 2 * MIB}
            )
            assert limited.status_code == 200, limited.text
            size = 16 * MIB + 3
            data = payload(size, seed=4)
            before = proxy.served
            sha = hq.upload("Big.pkg", data)

            def progress() -> int:
                queues = br.call("GET", "/api/v1/replication").json()["peers"]
                return sum(t["bytes"] for p in queues for t in p["incoming"])

            wait_until(lambda: progress() >= size // 2, 30, "half of the transfer")
            br.kill()
            had = progress_at_kill = proxy.served - before
            assert progress_at_kill < size  # killed before the end
            br.start()
            wait_until(lambda: br.has("Big.pkg", sha), 60, "the resumed transfer")
            assert br.download("Big.pkg") == data
            fetched = proxy.served - before
            # Everything once, plus what was in flight on each stream, plus the small answers
            # (change log, manifest, reports).
            assert fetched <= size + STREAMS * MIB + 64 * 1024, (fetched, had)
            shown = hq.package("Big.pkg")["peers"]
            wait_until(
                lambda: hq.package("Big.pkg")["peers"][0]["state"] == "done", 10, "the report"
            )
            assert shown[0]["peer"] == "branch"
