"""Rules: a source's webhooks call the actions domains register, by name; a failing action is
recorded on the delivery and emits ``jamf.action_failed``; processing twice does the work once.
On every database engine. The queue runs no workers here: the test processes the deliveries
itself, with actions registered on its own services."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pomona.inbound.actions import ActionRegistry, JamfEvent
from pomona.inbound.events import PatchTitleUpdated
from pomona.inbound.samples import sample
from pomona.settings import Settings
from tests.inbound.conftest import SOURCES, TOKEN, events, make_source, processed

AUTH = {"Authorization": TOKEN}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, queue_embedded_workers=0)


async def test_rules_call_registered_actions_and_record_failures(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    seen: list[JamfEvent] = []

    async def remember(event: JamfEvent) -> None:
        seen.append(event)

    async def explode(_event: JamfEvent) -> None:
        raise RuntimeError("the subscription's server is away")

    actions = app.state.services.inbound.actions
    actions.register("probe.remember", remember)
    actions.register("probe.explode", explode)
    rules = [
        {"on": "PatchSoftwareTitleUpdated", "action": "probe.remember"},
        {"on": "*", "action": "notify"},
        {"on": "Computer*", "action": "probe.explode"},
    ]
    await make_source(client, admin, rules=rules)
    for kind in ("PatchSoftwareTitleUpdated", "ComputerAdded"):
        assert (
            await client.post("/hooks/jamf/prod", json=sample(kind), headers=AUTH)
        ).status_code == 200
    listed = await client.get(f"{SOURCES}/prod/events", headers=admin)
    computer_id, patch_id = (i["id"] for i in listed.json()["items"])
    inbound = app.state.services.inbound
    assert "actions" in await inbound.process(patch_id)
    assert "actions" in await inbound.process(computer_id)
    computer, patch = await processed(client, admin, "prod", 2)
    assert patch["outcome"] == {"actions": {"probe.remember": "ok", "notify": "ok"}}
    assert computer["status"] == "failed"
    assert computer["outcome"]["actions"]["probe.explode"] == (
        "RuntimeError: the subscription's server is away"
    )
    assert [e.webhook_event for e in seen] == ["PatchSoftwareTitleUpdated"]
    assert isinstance(seen[0].typed, PatchTitleUpdated)
    [failed] = [json.loads(e.payload) for e in await events(app, "jamf.action_failed")]
    assert failed == failed | {"action": "probe.explode", "webhookEvent": "ComputerAdded"}
    # Run again by hand (a task retried): nothing changes, nothing is emitted twice.
    again = await inbound.process(patch["id"])
    assert "skipped" in again
    assert len(await events(app, "jamf.patch_title_updated")) == 1


def test_action_names_are_checked() -> None:
    registry = ActionRegistry()
    with pytest.raises(ValueError, match="registered already"):
        registry.register("notify", registry.get("notify"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="snake_case"):
        registry.register("Refresh Now", registry.get("notify"))  # type: ignore[arg-type]
    assert registry.names() == ["notify"]
