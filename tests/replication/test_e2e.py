"""Replication end to end: real ``pomona serve`` sites on loopback, each with its own database
and storage, paired through the API."""

from __future__ import annotations

from pathlib import Path

from tests.replication.sites import pair, payload, sites, wait_until


def test_a_chain_relays_a_package_and_the_listing_shows_both_sides(tmp_path: Path) -> None:
    with sites(tmp_path, ("hq", {}), ("branch", {}), ("edge", {})) as (a, b, c):
        pair(a, b)
        pair(b, c)
        assert [p["name"] for p in a.peer_list()] == ["branch"]
        listed = b.peer_list()
        assert sorted(p["name"] for p in listed) == ["edge", "hq"]
        assert {(p["state"], p["remoteState"]) for p in listed} == {("paired", "paired")}
        data = payload(3 * 1024 * 1024 + 123)
        sha = a.upload("Tool.pkg", data, tags=["prod"])
        wait_until(lambda: c.has("Tool.pkg", sha), 20, "the package at the end of the chain")
        assert c.download("Tool.pkg") == data
        assert c.package("Tool.pkg")["tags"] == ["prod"]
        shown = a.package("Tool.pkg")["peers"]
        assert [(p["peer"], p["direction"]) for p in shown] == [("branch", "to")]
        wait_until(lambda: a.package("Tool.pkg")["peers"][0]["state"] == "done", 10, "report")
