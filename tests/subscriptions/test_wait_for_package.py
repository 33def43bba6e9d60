"""Wait for package: a version a source finds is added disabled, and Jamf Pro is served it only
once its package is published in the store, so patch policies never point at a version whose
installer is missing."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from pomona.audit.service import Who
from pomona.errors import Invalid
from pomona.subscriptions.values import NewSubscription
from pomona.titles.values import Actor
from tests.subscriptions.conftest import Upstream, fixture_json
from tests.subscriptions.test_sync import services


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
async def test_a_version_waits_for_its_package(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], upstream: Upstream
) -> None:
    found = services(app)
    await found.titles.create(fixture_json("definition.json"), Actor("token:test"))
    url = upstream.serve("/releases", fixture_json("github_releases.json"))
    row = await found.subscriptions.subscribe(
        NewSubscription(url, "Example", "github", {"package": "Example-{version}.pkg"}),
        Who("token:test"),
    )

    report = await found.subscriptions.check(row.pk)
    assert report.outcome == "version_added"
    assert report.notes == ["version 2.2.0 waits for package 'Example-2.2.0.pkg'"]
    feed = (await client.get("/jamf/v1/patch/Example")).json()
    assert feed["currentVersion"] == "2.1.0"  # added, but not served
    assert "2.2.0" not in [p["version"] for p in feed["patches"]]

    # Still missing: the next check (a 304) changes nothing.
    report = await found.subscriptions.check(row.pk)
    assert report.outcome == "unchanged"
    assert (await client.get("/jamf/v1/patch/Example")).json()["currentVersion"] == "2.1.0"

    stored = await client.put("/api/v1/packages/Example-2.2.0.pkg", content=b"pkg", headers=admin)
    assert stored.status_code in (200, 201), stored.text
    report = await found.subscriptions.check(row.pk)
    assert report.notes == ["version 2.2.0 enabled: package 'Example-2.2.0.pkg' is published"]
    assert (await client.get("/jamf/v1/patch/Example")).json()["currentVersion"] == "2.2.0"


async def test_a_package_name_is_one_file_name(app: FastAPI, upstream: Upstream) -> None:
    found = services(app)
    await found.titles.create(fixture_json("definition.json"), Actor("token:test"))
    with pytest.raises(Invalid) as refused:
        await found.subscriptions.subscribe(
            NewSubscription(upstream.base + "/r", "Example", "github", {"package": "../x.pkg"}),
            Who("token:test"),
        )
    assert refused.value.problems[0].path == "/options/package"
