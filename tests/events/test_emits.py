"""Every event type of the catalogue is emitted by a real write through the API, one test per
domain, with the payload its type documents; and the catalogue gathers exactly the domains'
types."""

from __future__ import annotations

import copy
import hashlib

import httpx
import orjson
from fastapi import FastAPI

from pomona.events import catalog
from pomona.events import events as webhook_events
from pomona.inbound import events as inbound_events
from pomona.jamf import events as jamf_events
from pomona.notifications import events as notification_events
from pomona.packages import events as package_events
from pomona.packages.storage import blob_key
from pomona.queue import events as queue_events
from pomona.replication import events as replication_events
from pomona.subscriptions import events as subscription_events
from pomona.titles import events as title_events
from tests.events.conftest import EXAMPLE, events_of, ok, types_of, until
from tests.events.receiver import receiving

TITLE = "/api/v1/titles/Example"


def _version(number: str) -> dict[str, object]:
    patch = copy.deepcopy(EXAMPLE["patches"][0])
    patch["version"] = number
    patch["components"][0]["version"] = number
    return patch


async def test_every_title_write_emits_its_event(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await ok(await client.post("/api/v1/titles", json=EXAMPLE, headers=admin), 201)
    await ok(await client.put(TITLE, json={**EXAMPLE, "name": "Renamed"}, headers=admin))
    await ok(await client.post(f"{TITLE}/versions", json=_version("3.0.0"), headers=admin), 201)
    await ok(await client.put(f"{TITLE}/versions/3.0.0", json=_version("3.0.1"), headers=admin))
    await ok(await client.delete(f"{TITLE}/versions/3.0.1", headers=admin))
    await ok(await client.post(f"{TITLE}/disable", headers=admin))
    await ok(await client.post(f"{TITLE}/enable", headers=admin))
    await ok(await client.post(f"{TITLE}/versions/2.1.0/disable", headers=admin))
    await ok(await client.post(f"{TITLE}/rollback", params={"revision": 1}, headers=admin))
    backup = await client.get("/api/v1/backups", headers=admin)
    await ok(await client.delete(TITLE, headers=admin), 204)
    restored = await client.post(
        "/api/v1/backups/restore",
        content=backup.content,
        headers={**admin, "Content-Type": "application/zip"},
    )
    assert restored.status_code == 200, restored.text

    events = await events_of(app)
    assert [e.type for e in events] == [
        "title.created",
        "title.updated",
        "title.version_added",
        "title.version_edited",
        "title.version_deleted",
        "title.disabled",
        "title.enabled",
        "title.disabled",
        "title.rolled_back",
        "title.deleted",
        "title.restored",
    ]
    assert {e.type for e in events} == {t.name for t in title_events.TYPES}
    payloads = [orjson.loads(e.payload) for e in events]
    # Revisions count 1, 2, ...: each event names the revision its write made.
    assert [p["revision"] for p in payloads] == list(range(1, 12))
    assert payloads[1]["name"] == "Renamed"
    assert payloads[2]["version"] == "3.0.0"
    assert payloads[3]["version"] == "3.0.0"  # the version edited, under its old number
    assert payloads[7]["version"] == "2.1.0"
    assert payloads[9] == {**payloads[9], "currentVersion": None, "versions": 0}
    assert all(e.subject == "title:Example" and e.namespace == "default" for e in events)
    assert all(e.actor == "token:admin" for e in events)
    assert max(len(e.payload) for e in events) < 20_000  # thin: receivers fetch the rest


async def test_every_package_change_emits_its_event(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first, second = b"first content" * 1000, b"second content" * 1000
    await ok(await client.put("/api/v1/packages/App.pkg", content=first, headers=admin), 201)
    replaced = await client.put(
        "/api/v1/packages/App.pkg", content=second, params={"replace": "true"}, headers=admin
    )
    assert replaced.status_code in (200, 201), replaced.text
    await ok(await client.put("/api/v1/packages/Gone.pkg", content=first, headers=admin), 201)
    await ok(await client.delete("/api/v1/packages/Gone.pkg", headers=admin), 204)
    digest = hashlib.sha256(second).hexdigest()
    path = app.state.services.packages.storage.local_path(blob_key(digest))
    path.write_bytes(b"rotten" + second[6:])  # the disk changed a byte under it
    app.state.services.tasks.scrub().get(blocking=True, timeout=60)

    events = await events_of(app)
    assert [e.type for e in events] == [
        "package.published",
        "package.replaced",
        "package.published",
        "package.deleted",
        "package.quarantined",
    ]
    assert {e.type for e in events} == {t.name for t in package_events.TYPES}
    replaced_event = orjson.loads(events[1].payload)
    assert replaced_event["previousSha256"] == hashlib.sha256(first).hexdigest()
    assert replaced_event["sha256"] == digest
    assert "changed" in orjson.loads(events[4].payload)["reason"]
    assert events[4].actor == "system:scrub"


async def test_a_failed_job_emits_job_failed(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with receiving() as source:  # answers GET with 501: the import cannot read it
        answer = await client.post(
            "/api/v1/imports/remote", json={"url": source.url}, headers=admin
        )
        job = await ok(answer, 202)

        async def failed() -> list[str]:
            return [t for t in await types_of(app) if t == "job.failed"]

        await until(failed)
    [event] = [e for e in await events_of(app) if e.type == "job.failed"]
    data = orjson.loads(event.payload)
    assert data["id"] == job["id"]
    assert data["kind"] == "titles.import-remote"
    assert data["errorKind"] == "invalid"
    assert data["message"]
    assert event.subject == f"job:{job['id']}"
    assert {t.name for t in queue_events.TYPES} == {"job.failed"}


async def test_every_endpoint_change_emits_its_event(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    base = "/api/v1/webhooks/endpoints"
    with receiving() as gone:
        gone.answer = lambda _n, _r: (410, {}, b"gone")
        made = await ok(await client.post(base, json={"url": gone.url}, headers=admin), 201)
        endpoint = f"{base}/{made['id']}"
        await ok(await client.patch(endpoint, json={"description": "ci"}, headers=admin))
        await ok(await client.post(f"{endpoint}/rotate", headers=admin))
        webhooks = app.state.services.webhooks
        # Its own creation, edit and rotation are events it takes (it takes every type).
        first, *others = await webhooks.dispatcher.pump()
        assert len(others) == 2
        assert await webhooks.sender.send(first) == "failed: endpoint gone"
        assert await webhooks.sender.send(others[0]) == "endpoint disabled"
        await ok(await client.delete(endpoint, headers=admin), 204)
    events = await events_of(app)
    assert [e.type for e in events] == [
        "webhook.endpoint_created",
        "webhook.endpoint_updated",
        "webhook.secret_rotated",
        "webhook.endpoint_disabled",
        "webhook.endpoint_deleted",
    ]
    assert {e.type for e in events} == {t.name for t in webhook_events.TYPES}
    disabled = orjson.loads(events[3].payload)
    assert disabled == {
        "id": made["id"],
        "kind": "signed",
        "host": "127.0.0.1",
        "enabled": False,
        "reason": "answered 410 Gone",
    }
    assert events[3].actor == "system"


def test_the_catalogue_is_every_domain_s_types_once() -> None:
    declared = [
        *title_events.TYPES,
        *package_events.TYPES,
        *queue_events.TYPES,
        *replication_events.TYPES,
        *subscription_events.TYPES,
        *webhook_events.TYPES,
        *notification_events.TYPES,
        *inbound_events.TYPES,
        *jamf_events.TYPES,
    ]
    assert list(catalog.catalog().values()) == declared
    for event_type in declared:
        schema = event_type.schema()
        assert schema["type"] == "object"
        assert all("description" in field for field in schema["properties"].values()), event_type
