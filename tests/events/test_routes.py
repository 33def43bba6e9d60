"""The event log's API: filters (wildcard types, subject, namespace, time), the cursor that
never skips nor repeats, the catalogue with its schemas, and refusals that list every problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from pomona.events.catalog import catalog
from pomona.events.models import Event
from tests.conftest import make_token
from tests.events.conftest import EXAMPLE, events_of, ok


async def _titles(client: httpx.AsyncClient, admin: dict[str, str], count: int) -> None:
    for n in range(count):
        body = {**EXAMPLE, "id": f"T{n}"}
        await ok(await client.post("/api/v1/titles", json=body, headers=admin), 201)


async def test_the_cursor_pages_through_every_event_once_oldest_first(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _titles(client, admin, 7)
    seen: list[str] = []
    after, pages = 0, 0
    while True:
        page = await ok(
            await client.get("/api/v1/events", params={"after": after, "perPage": 3}, headers=admin)
        )
        seen += [e["data"]["id"] for e in page["items"]]
        pages += 1
        if page["next"] is None:
            break
        after = page["next"]
    assert seen == [f"T{n}" for n in range(7)]
    assert pages == 3


async def test_filters_by_type_pattern_subject_namespace_and_time(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _titles(client, admin, 2)
    await ok(await client.put("/api/v1/packages/A.pkg", content=b"a" * 10, headers=admin), 201)
    await ok(await client.delete("/api/v1/titles/T1", headers=admin), 204)

    async def types(**params: str) -> list[str]:
        page = await ok(await client.get("/api/v1/events", params=params, headers=admin))
        return [e["type"] for e in page["items"]]

    assert await types(type="title.*") == ["title.created", "title.created", "title.deleted"]
    assert await types(type="package.published,title.deleted") == [
        "package.published",
        "title.deleted",
    ]
    # A wildcard anywhere, the way notification subscriptions and rules write them.
    assert await types(type="*.deleted") == ["title.deleted"]
    assert await types(type="*ed") == [
        "title.created",
        "title.created",
        "package.published",
        "title.deleted",
    ]
    assert await types(subject="title:T1") == ["title.created", "title.deleted"]
    assert await types(subject="package:*") == ["package.published"]
    assert await types(namespace="default", type="*") == ["title.created"] * 2 + ["title.deleted"]
    assert await types(since="2000-01-01T00:00:00Z", until="2001-01-01T00:00:00Z") == []
    assert len(await types(since="2000-01-01T00:00:00")) == 4


async def test_a_bad_filter_is_refused_with_its_problem(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    answer = await client.get("/api/v1/events", params={"type": "titles.*"}, headers=admin)
    assert answer.status_code == 422
    [problem] = answer.json()["errors"]
    assert (problem["path"], problem["location"], problem["code"]) == (
        "/type",
        "query",
        "event_type_unknown",
    )
    stream = await client.get(
        "/api/v1/events/stream", headers={**admin, "Last-Event-ID": "yesterday"}
    )
    assert stream.status_code == 422
    assert stream.json()["errors"][0]["code"] == "last_event_id_invalid"


async def test_the_catalogue_serves_every_type_with_its_schema(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    viewer = await make_token(app, "reader", "events:read")
    listed = await ok(await client.get("/api/v1/events/types", headers=viewer))
    assert [t["name"] for t in listed["items"]] == list(catalog())
    one = await ok(await client.get("/api/v1/events/types/title.version_added", headers=viewer))
    assert one["domain"] == "title"
    assert {"id", "name", "namespace", "revision", "version"} <= set(one["schema"]["properties"])
    missing = await client.get("/api/v1/events/types/title.nothing", headers=viewer)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "event_type_not_found"
    refused = await client.get("/api/v1/events", headers=await make_token(app, "t", "titles:read"))
    assert refused.status_code == 403


async def test_the_stream_without_follow_answers_the_backlog_as_server_sent_events(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _titles(client, admin, 3)
    seqs = [
        e["seq"] for e in (await ok(await client.get("/api/v1/events", headers=admin)))["items"]
    ]
    answer = await client.get(
        "/api/v1/events/stream", params={"lastEventId": seqs[0], "type": "title.*"}, headers=admin
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in answer.text.split("\n\n") if f.startswith("id:")]
    assert [f.splitlines()[0] for f in frames] == [f"id: {seq}" for seq in seqs[1:]]
    assert frames[0].splitlines()[1] == "event: title.created"


async def test_the_prune_removes_events_past_the_retention_with_their_deliveries(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _titles(client, admin, 3)
    old = await events_of(app)
    async with app.state.services.db.transaction() as session:
        await session.execute(
            update(Event)
            .where(Event.pk.in_([e.pk for e in old[:2]]))
            .values(at=datetime.now(UTC) - timedelta(days=91))
        )
    events = app.state.services.events
    assert await events.prune(0) == 0  # 0 keeps every event
    assert await events.prune(90) == 2
    assert [e.pk for e in await events_of(app)] == [old[2].pk]
    report = app.state.services.tasks.events.prune().get(blocking=True, timeout=60)
    assert report == {"removed": 0}


async def test_a_caller_limited_to_namespaces_or_titles_reads_only_their_events(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    made = await client.post(
        "/api/v1/namespaces", json={"slug": "acme", "displayName": "Acme"}, headers=admin
    )
    await ok(made, 201)
    await _titles(client, admin, 2)  # T0, T1 on the default feed
    body = {**EXAMPLE, "id": "Tool"}
    await ok(
        await client.post("/api/v1/titles", json=body, params={"namespace": "acme"}, headers=admin),
        201,
    )
    await ok(await client.put("/api/v1/packages/A.pkg", content=b"a" * 10, headers=admin), 201)
    tokens = app.state.services.tokens
    _, secret = await tokens.create("acme", ["events:read"], namespaces=["acme"])
    publisher = {"Authorization": f"Bearer {secret}"}
    titled = await make_token(app, "t1", "events:read", titles=["T1"])

    async def seen(headers: dict[str, str], **params: str) -> list[tuple[str, str]]:
        page = await ok(await client.get("/api/v1/events", params=params, headers=headers))
        return [(e["type"], e["subject"]) for e in page["items"]]

    everything = await seen(admin)
    assert ("package.published", "package:A.pkg") in everything
    assert await seen(publisher) == [("title.created", "title:Tool")]
    assert await seen(publisher, type="package.*") == []
    assert await seen(titled) == [("title.created", "title:T1")]
    # The stream keeps to the same limits.
    streamed = await client.get(
        "/api/v1/events/stream", params={"lastEventId": "0"}, headers=publisher
    )
    assert streamed.status_code == 200
    assert "title:Tool" in streamed.text
    assert "package:A.pkg" not in streamed.text
    assert "title:T0" not in streamed.text
    # Asking for another namespace is refused, and says which it may read.
    refused = await client.get("/api/v1/events", params={"namespace": "default"}, headers=publisher)
    assert refused.status_code == 403
    problem = refused.json()["errors"][0]
    assert problem["code"] == "namespace_forbidden"
    assert problem["path"] == "/namespace"
    assert "acme" in problem["message"]
