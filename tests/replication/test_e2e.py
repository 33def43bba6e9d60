"""Replication end to end: real ``pomona serve`` sites on loopback, each with its own database
and storage, paired through the API (see :mod:`bench.sites`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from bench.sites import pair, payload, sites, wait_until

pytestmark = pytest.mark.slow

EDGE = {"replication_stages": '["prod"]', "replication_firewalled": "true"}


def test_a_chain_with_a_firewalled_prod_site_filters_promotes_replaces_and_deletes(
    tmp_path: Path,
) -> None:
    edge_settings = {**EDGE, "replication_poll_seconds": "1"}
    with sites(tmp_path, ("hq", {}), ("branch", {}), ("edge", edge_settings)) as (hq, br, edge):
        pair(hq, br)
        pair(br, edge)
        # Both sides list the pairing; nobody notifies the firewalled site, it polls.
        assert [(p["name"], p["state"], p["remoteState"]) for p in hq.peer_list()] == [
            ("branch", "paired", "paired")
        ]
        seen_by_branch = {p["name"]: p for p in br.peer_list()}
        assert sorted(seen_by_branch) == ["edge", "hq"]
        assert seen_by_branch["edge"]["notify"] is False
        assert seen_by_branch["edge"]["stages"] == ["prod"]

        dev = payload(2 * 1024 * 1024 + 5, seed=1)
        prod = payload(3 * 1024 * 1024 + 7, seed=2)
        dev_sha = hq.upload("Dev.pkg", dev, tags=["dev"])
        prod_sha = hq.upload("Prod.pkg", prod, tags=["prod"])
        wait_until(lambda: br.has("Dev.pkg", dev_sha), what="dev at the branch")
        wait_until(lambda: edge.has("Prod.pkg", prod_sha), what="prod at the edge")
        assert edge.download("Prod.pkg") == prod
        assert edge.package("Prod.pkg")["tags"] == ["prod"]
        # The hashes Jamf Pro's records take come along with the bytes, two hops on.
        at_edge = edge.package("Prod.pkg")
        assert at_edge["md5"] == hashlib.md5(prod, usedforsecurity=False).hexdigest()
        assert at_edge["sha512"] == hashlib.sha512(prod).hexdigest()
        # The edge accepts prod only: it never sees the dev package, not even its name in
        # the change log (the branch offered it nothing of the kind).
        assert edge.package("Dev.pkg") is None
        assert "edge" not in {p["peer"] for p in br.package("Dev.pkg")["peers"]}
        shown = {(p["peer"], p["direction"]) for p in br.package("Prod.pkg")["peers"]}
        assert {("edge", "to"), ("hq", "from")} <= shown

        # Promotion replicates onward; demotion removes it where it no longer belongs.
        hq.tag("Dev.pkg", ["prod"])
        wait_until(lambda: edge.has("Dev.pkg", dev_sha), what="promoted package at the edge")
        hq.tag("Prod.pkg", ["dev"])
        wait_until(lambda: edge.package("Prod.pkg") is None, what="demoted package removed")
        wait_until(lambda: br.package("Prod.pkg")["tags"] == ["dev"], what="branch keeps it")

        # A replace propagates as a replace; a delete as a tombstone of that content.
        new = payload(1024 * 1024 + 1, seed=3)
        new_sha = hq.upload("Dev.pkg", new, replace=True)
        wait_until(lambda: edge.has("Dev.pkg", new_sha), what="the replacement at the edge")
        assert edge.download("Dev.pkg") == new
        deleted = hq.call("DELETE", "/api/v1/packages/Dev.pkg")
        assert deleted.status_code == 204
        wait_until(lambda: edge.package("Dev.pkg") is None, what="the delete at the edge")
        assert br.package("Dev.pkg") is None
        assert hq.package("Dev.pkg") is None
