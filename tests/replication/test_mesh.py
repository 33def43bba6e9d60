"""A triangle of sites: a package reaches every site once and the loop ends; a chunk that comes
corrupted from one peer is fetched from another that has the content."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bench.sites import Site, pair, payload, sites, wait_until

pytestmark = pytest.mark.slow

MIB = 1024 * 1024


def _writes(site: Site, filename: str) -> list[str]:
    found = site.call("GET", "/api/v1/audit", params={"target": f"package:{filename}"})
    assert found.status_code == 200, found.text
    return sorted(f"{e['action']} by {e['actor']}" for e in found.json()["items"])


def test_a_triangle_replicates_once_and_heals_a_corrupted_chunk_from_another_peer(
    tmp_path: Path,
) -> None:
    prod_only = {"replication_stages": '["prod"]'}
    # No scrub at hq: it would find the corruption first and quarantine the package there.
    no_scrub = {"package_scrub_hours": "0"}
    with sites(tmp_path, ("hq", no_scrub), ("b", {}), ("c", prod_only)) as (hq, b, c):
        pair(hq, b)
        pair(b, c)
        pair(hq, c)
        # c hears of changes from hq only, so the corrupted source below is the one it uses.
        quiet = b.call("PATCH", f"/api/v1/peers/{b.peers['c']}", json={"notify": False})
        assert quiet.status_code == 200, quiet.text

        data = payload(2 * MIB + 9, seed=5)
        sha = hq.upload("T.pkg", data, tags=["prod"])
        for site in (b, c):
            wait_until(lambda site=site: site.has("T.pkg", sha), what=f"T.pkg at {site.name}")
        wait_until(lambda: c.package("T.pkg")["tags"] == ["prod"], what="the tags at c")
        # Every site wrote it once: the loop ended where the content was found.
        assert _writes(hq, "T.pkg") == [
            "package.update by token:admin",
            "package.upload by token:admin",
        ]
        assert _writes(b, "T.pkg").count("package.upload by peer:hq") == 1
        assert len([w for w in _writes(c, "T.pkg") if w.startswith("package.upload")]) == 1

        second = payload(3 * MIB + 1, seed=6)
        second_sha = hq.upload("Second.pkg", second)  # no stage yet: c does not take it
        wait_until(lambda: b.has("Second.pkg", second_sha), what="Second.pkg at b")
        assert c.package("Second.pkg") is None
        blob = hq.folder / "pomona-data" / "packages" / "blobs" / second_sha[:2] / second_sha
        with blob.open("r+b") as stored:
            stored.seek(MIB + 10)
            stored.write(b"corrupted")
        # Sites compare record times kept to the second, and a tie takes the peer's state: the
        # promotion comes a second after b's copy, as a person's would (docs/replication.md).
        time.sleep(1.1)
        hq.tag("Second.pkg", ["prod"])
        wait_until(lambda: c.has("Second.pkg", second_sha), 30, "Second.pkg healed at c")
        assert c.download("Second.pkg") == second
        assert "does not match its SHA-256; trying another peer" in c.logs()
