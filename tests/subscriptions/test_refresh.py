"""``subscriptions.refresh``, what inbound triggers (Jamf Pro's PatchSoftwareTitleUpdated)
call: it makes the title's subscription due and queues its check, which the app's embedded
queue runs."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from pomona.audit.service import Who
from pomona.errors import NotFound
from pomona.inbound.samples import sample
from pomona.subscriptions.actions import refresh
from pomona.subscriptions.values import NewSubscription
from tests.inbound.conftest import TOKEN, make_source, processed
from tests.subscriptions.conftest import Upstream, fixture_json
from tests.subscriptions.test_sync import newer, services


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_refresh_queues_a_check_of_the_title(app: FastAPI, upstream: Upstream) -> None:
    found = services(app)
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    row = await found.subscriptions.subscribe(NewSubscription(url), Who("token:test"))
    await found.subscriptions.check(row.pk)
    upstream.serve("/patch/Example", newer(fixture_json("definition.json"), "2.2.0"))

    assert await refresh(found, "Example") == {
        "subscription": row.pk,
        "titleId": "Example",
        "queued": True,
    }
    for _ in range(200):
        if (await found.titles.get("Example")).title.currentVersion == "2.2.0":
            break
        await asyncio.sleep(0.05)
    assert (await found.titles.get("Example")).title.currentVersion == "2.2.0"
    with pytest.raises(NotFound):
        await refresh(found, "Unknown")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_scan_checks_what_is_due(app: FastAPI, upstream: Upstream) -> None:
    """The periodic task's work: due subscriptions are claimed and checked by the queue."""
    found = services(app)
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    row = await found.subscriptions.subscribe(NewSubscription(url), Who("token:test"))
    found.tasks.subscriptions.scan()
    for _ in range(200):
        if (await found.subscriptions.get(row.pk)).last_success_at is not None:
            break
        await asyncio.sleep(0.05)
    checked = await found.subscriptions.get(row.pk)
    assert checked.last_success_at is not None
    assert checked.next_check_at > checked.last_success_at  # due again in an hour
    assert (await found.titles.get("Example")).revision == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_jamf_pro_saying_a_title_was_updated_refreshes_its_subscription(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], upstream: Upstream
) -> None:
    """A Jamf Pro webhook source whose rule names ``subscriptions.refresh``: the title Jamf Pro
    names is checked at once, through the real queue."""
    found = services(app)
    definition = fixture_json("definition.json")
    url = upstream.serve("/patch/Example", definition)
    row = await found.subscriptions.subscribe(NewSubscription(url), Who("token:test"))
    await found.subscriptions.check(row.pk)
    upstream.serve("/patch/Example", newer(definition, "2.2.0"))
    rules = [{"on": "PatchSoftwareTitleUpdated", "action": "subscriptions.refresh"}]
    await make_source(client, admin, rules=rules)
    hook = sample("PatchSoftwareTitleUpdated")
    hook["event"]["name"] = definition["name"]
    answer = await client.post("/hooks/jamf/prod", json=hook, headers={"Authorization": TOKEN})
    assert answer.status_code == 200, answer.text
    (delivery,) = await processed(client, admin, "prod", 1)
    assert delivery["outcome"]["actions"] == {"subscriptions.refresh": "ok"}
    for _ in range(200):
        if (await found.titles.get("Example")).title.currentVersion == "2.2.0":
            break
        await asyncio.sleep(0.05)
    assert (await found.titles.get("Example")).title.currentVersion == "2.2.0"
