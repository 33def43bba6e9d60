"""The Grafana dashboard in docs/ asks only for metrics the server exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.ops.scrape import families

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


async def test_every_metric_of_the_dashboard_is_exposed(client: httpx.AsyncClient) -> None:
    await client.get("/jamf/v1/software")
    exposed = families((await client.get("/metrics")).text)
    dashboard = json.loads(DASHBOARD.read_text())
    asked = {
        re.sub(r"(_bucket|_count|_sum|_total)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"pomona_[a-z_]+", target["expr"])
    }
    assert len(asked) >= 8
    assert asked <= exposed, asked - exposed
