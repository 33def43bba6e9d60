"""Delivery to real receivers on loopback, step by step (the dispatcher's poll is off here):
signatures a `standardwebhooks` receiver verifies, rotation, the retry rules (3xx, 410, 429,
downtime, the end of the schedule, the endpoint disabled), replay, the chat and PatchServer
bodies, filters, the outbound guard, and a dispatcher that never delivers a pair twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pomona.audit.service import SYSTEM
from pomona.errors import Invalid
from pomona.events.cursors import committed_run
from pomona.events.delivery import SCHEDULE, Sender
from pomona.events.dispatch import Dispatcher
from pomona.events.endpoints import EndpointSpec, WebhookEndpoints
from pomona.events.models import Event, WebhookDelivery, WebhookEndpoint
from pomona.settings import Settings
from tests.events.conftest import EXAMPLE, ok, types_of
from tests.events.receiver import receiving

ENDPOINTS = "/api/v1/webhooks/endpoints"


async def endpoint(
    client: httpx.AsyncClient, admin: dict[str, str], url: str, **body: Any
) -> dict[str, Any]:
    made: dict[str, Any] = await ok(
        await client.post(ENDPOINTS, json={"url": url, **body}, headers=admin), 201
    )
    return made


async def create_title(client: httpx.AsyncClient, admin: dict[str, str], **changes: Any) -> None:
    await ok(await client.post("/api/v1/titles", json={**EXAMPLE, **changes}, headers=admin), 201)


async def deliver(app: FastAPI) -> list[str]:
    """One poll of the dispatcher and one attempt of each delivery it found due."""
    webhooks = app.state.services.webhooks
    return [await webhooks.sender.send(pk) for pk in await webhooks.dispatcher.pump()]


async def deliveries(app: FastAPI) -> list[WebhookDelivery]:
    async with app.state.services.db.sessions() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.pk)))


async def make_due(app: FastAPI) -> None:
    """Bring every pending delivery's next attempt to now, as time passing would."""
    async with app.state.services.db.transaction() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.state == "pending")
            .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def test_a_signed_delivery_verifies_with_standardwebhooks(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with receiving() as receiver:
        made = await endpoint(client, admin, receiver.url, eventTypes=["title.*"])
        assert made["secret"].startswith("whsec_")
        await create_title(client, admin)
        assert await deliver(app) == ["delivered"]
        [got] = receiver.received
    payload = Webhook(made["secret"]).verify(got.body, got.headers)
    [event] = [e for e in await _events(app) if e.type == "title.created"]
    assert got.headers["webhook-id"] == event.event_id
    assert payload["type"] == "title.created"
    assert payload["data"]["id"] == "Example"
    assert set(payload) == {"type", "timestamp", "data"}
    with pytest.raises(WebhookVerificationError):
        Webhook(made["secret"]).verify(got.body.replace(b"Example", b"Exampl3"), got.headers)
    log = await ok(await client.get(f"{ENDPOINTS}/{made['id']}/deliveries", headers=admin))
    [delivery] = log["items"]
    assert (delivery["state"], delivery["eventId"], delivery["lastStatus"]) == (
        "delivered",
        event.event_id,
        200,
    )
    [attempt] = delivery["attempts"]
    assert (attempt["status"], attempt["answer"], attempt["error"]) == (200, "ok", None)
    listed = await ok(await client.get(ENDPOINTS, headers=admin))
    assert "secret" not in listed["items"][0]


async def _events(app: FastAPI) -> list[Event]:
    async with app.state.services.db.sessions() as session:
        return list(await session.scalars(select(Event).order_by(Event.pk)))


async def test_a_rotated_secret_signs_beside_the_new_one_for_the_overlap(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    with receiving() as receiver:
        made = await endpoint(client, admin, receiver.url, eventTypes=["title.*"])
        rotated = await ok(await client.post(f"{ENDPOINTS}/{made['id']}/rotate", headers=admin))
        assert rotated["secret"] != made["secret"]
        assert rotated["previousSecretUntil"] is not None
        await create_title(client, admin)
        await deliver(app)
        [got] = receiver.received
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        for secret in (made["secret"], rotated["secret"]):
            assert Webhook(secret).verify(got.body, got.headers)["type"] == "title.created"
        # Once the overlap is over, only the new secret signs.
        async with app.state.services.db.transaction() as session:
            await session.execute(
                update(WebhookEndpoint).values(
                    previous_until=datetime.now(UTC) - timedelta(seconds=1)
                )
            )
        await ok(await client.delete("/api/v1/titles/Example", headers=admin), 204)
        await deliver(app)
        later = receiver.received[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated["secret"]).verify(later.body, later.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(made["secret"]).verify(later.body, later.headers)


async def test_a_redirect_fails_and_is_never_followed_then_retried_until_it_succeeds(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with receiving() as elsewhere, receiving() as receiver:
        receiver.answer = lambda n, _r: (
            (302, {"Location": elsewhere.url}, b"") if n == 0 else (200, {}, b"ok")
        )
        made = await endpoint(client, admin, receiver.url, eventTypes=["title.created"])
        await create_title(client, admin)
        [outcome] = await deliver(app)
        assert outcome.startswith("pending: answered 302")
        [pending] = await deliveries(app)
        assert (pending.state, pending.tries, pending.last_status) == ("pending", 1, 302)
        await make_due(app)
        assert await deliver(app) == ["delivered"]
        assert elsewhere.received == []
        assert receiver.ids()[0] == receiver.ids()[1]  # the same event id: one to keep
    log = await ok(await client.get(f"{ENDPOINTS}/{made['id']}/deliveries", headers=admin))
    attempts = log["items"][0]["attempts"]
    assert [a["status"] for a in attempts] == [302, 200]
    assert "not followed" in attempts[0]["error"]


async def test_too_many_requests_waits_as_retry_after_says(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with receiving() as receiver:
        receiver.answer = lambda _n, _r: (429, {"Retry-After": "120"}, b"slow down")
        await endpoint(client, admin, receiver.url, eventTypes=["title.created"])
        await create_title(client, admin)
        before = datetime.now(UTC)
        await deliver(app)
    [pending] = await deliveries(app)
    assert pending.state == "pending"
    wait = (pending.due_at - before).total_seconds()
    assert 115 <= wait <= 125, wait  # not the 5 s (scaled to 5 ms) of the schedule


async def test_a_receiver_down_is_retried_later_and_gets_the_event(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with receiving() as receiver:
        url = receiver.url
    # The receiver is gone: nothing listens on its port.
    made = await endpoint(client, admin, url, eventTypes=["title.created"])
    await create_title(client, admin)
    [outcome] = await deliver(app)
    assert outcome.startswith("pending: cannot reach")
    [pending] = await deliveries(app)
    assert (pending.tries, pending.last_status) == (1, None)
    with receiving() as back:
        await ok(
            await client.patch(f"{ENDPOINTS}/{made['id']}", json={"url": back.url}, headers=admin)
        )
        await asyncio.sleep(0.05)  # the scaled schedule's first retry is due in 5 ms
        assert await deliver(app) == ["delivered"]
        assert len(back.received) == 1


async def test_the_schedule_ends_in_failure_and_a_long_failing_endpoint_is_disabled(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    with receiving() as receiver:
        receiver.answer = lambda _n, _r: (500, {}, b"x" * 5000)
        made = await endpoint(client, admin, receiver.url, eventTypes=["title.created"])
        await create_title(client, admin)
        webhooks = app.state.services.webhooks
        [pk] = await webhooks.dispatcher.pump()
        for _ in SCHEDULE:
            await webhooks.sender.send(pk)
            await make_due(app)
        [failed] = await deliveries(app)
        assert (failed.state, failed.tries) == ("failed", len(SCHEDULE))
        assert await webhooks.sender.send(pk) == "not due, taken or finished"
        log = await ok(await client.get(f"{ENDPOINTS}/{made['id']}/deliveries", headers=admin))
        attempts = log["items"][0]["attempts"]
        assert len(attempts) == len(SCHEDULE)
        assert len(attempts[0]["answer"]) == 1024  # an excerpt, not the whole answer
        # Failing longer than the setting allows: disabled, with an event.
        await ok(await client.delete("/api/v1/titles/Example", headers=admin), 204)
        impatient = Sender(
            app.state.services.db, settings.model_copy(update={"webhook_disable_after_hours": 1e-9})
        )
        await make_due(app)
        await create_title(client, admin)
        [again] = await webhooks.dispatcher.pump()
        await impatient.send(again)
    shown = await ok(await client.get(f"{ENDPOINTS}/{made['id']}", headers=admin))
    assert shown["enabled"] is False
    assert "every delivery failed" in shown["disabledReason"]
    assert "webhook.endpoint_disabled" in await types_of(app)
    # Enabled again by a person, it starts afresh.
    enabled = await ok(
        await client.patch(f"{ENDPOINTS}/{made['id']}", json={"enabled": True}, headers=admin)
    )
    assert (enabled["enabled"], enabled["failingSince"], enabled["disabledReason"]) == (
        True,
        None,
        None,
    )


async def test_replay_sends_a_delivery_again_with_the_same_id(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with receiving() as receiver:
        made = await endpoint(client, admin, receiver.url, eventTypes=["title.created"])
        await create_title(client, admin)
        await deliver(app)
        [done] = await deliveries(app)
        path = f"{ENDPOINTS}/{made['id']}/deliveries/{done.pk}/replay"
        assert (await client.post(path, headers=admin)).status_code == 202
        assert await deliver(app) == ["delivered"]
        assert len(receiver.received) == 2
        assert receiver.ids()[0] == receiver.ids()[1]
    missing = await client.post(f"{ENDPOINTS}/{made['id']}/deliveries/999/replay", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "webhook_delivery_not_found"


async def test_slack_teams_and_patchserver_endpoints_get_their_own_bodies(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with receiving("/slack") as slack, receiving("/teams") as teams, receiving("/ps") as legacy:
        await endpoint(client, admin, slack.url, kind="slack", eventTypes=["title.*"])
        await endpoint(client, admin, teams.url, kind="teams", eventTypes=["title.created"])
        hook = await ok(
            await client.post(
                "/api/v1/webhooks",
                json={"url": legacy.url, "enabled": True, "send_definition": True},
                headers=admin,
            ),
            201,
        )
        await create_title(client, admin, name="<!channel> & co")
        await ok(await client.delete("/api/v1/titles/Example", headers=admin), 204)
        await deliver(app)
        slack_bodies = [orjson.loads(r.body) for r in slack.wait_for(2)]
        [teams_body] = [orjson.loads(r.body) for r in teams.wait_for(1)]
        legacy_bodies = [orjson.loads(r.body) for r in legacy.wait_for(2)]
    created = slack_bodies[0]
    assert created["text"].startswith("Title <!channel> & co (Example): created")
    assert "&lt;!channel&gt; &amp; co" in created["blocks"][0]["text"]["text"]
    assert "title.created" in created["blocks"][1]["elements"][0]["text"]
    assert "deleted" in slack_bodies[1]["text"]
    [attachment] = teams_body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["body"][0]["text"].startswith("Title <!channel> & co (Example)")
    assert [b["event"] for b in legacy_bodies] == ["new_title", "title_deleted"]
    assert legacy_bodies[0]["software_title"] == "Example"
    assert legacy_bodies[0]["version:"] == "2.1.0"
    assert legacy_bodies[0]["patch_definition"]["id"] == "Example"
    assert "patch_definition" not in legacy_bodies[1]
    listed = await ok(await client.get("/api/v1/webhooks", headers=admin))
    assert listed == [
        {"id": hook["id"], "url": legacy.url, "enabled": True, "send_definition": True}
    ]
    assert (await client.delete(f"/api/v1/webhooks/{hook['id']}", headers=admin)).status_code == 204
    assert await ok(await client.get("/api/v1/webhooks", headers=admin)) == []


async def test_endpoints_take_only_the_types_and_namespace_they_filter_on(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await ok(
        await client.post(
            "/api/v1/namespaces", json={"slug": "mac-team", "displayName": "Mac"}, headers=admin
        ),
        201,
    )
    with receiving() as packages, receiving() as mac, receiving() as everything:
        await endpoint(client, admin, packages.url, eventTypes=["package.*"])
        await endpoint(client, admin, mac.url, eventTypes=["title.*"], namespace="mac-team")
        await endpoint(client, admin, everything.url, eventTypes=["*"])
        await create_title(client, admin)
        answer = await client.post(
            "/api/v1/titles",
            params={"namespace": "mac-team"},
            json={**EXAMPLE, "id": "Mac"},
            headers=admin,
        )
        assert answer.status_code == 201, answer.text
        await ok(await client.put("/api/v1/packages/A.pkg", content=b"a" * 100, headers=admin), 201)
        await deliver(app)
        assert [orjson.loads(r.body)["type"] for r in packages.received] == ["package.published"]
        assert [orjson.loads(r.body)["data"]["id"] for r in mac.received] == ["Mac"]
        taken = [orjson.loads(r.body)["type"] for r in everything.received]
        # Besides the endpoints' own creation (of the same second as its own, or later):
        assert [t for t in taken if not t.startswith("webhook.")] == [
            "title.created",
            "title.created",
            "package.published",
        ]


async def test_bad_filters_and_refused_urls_are_refused_with_every_problem(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    answer = await client.post(
        ENDPOINTS,
        json={
            "url": "http://127.0.0.1:1/x",
            "eventTypes": ["titles.*", "Bad Type"],
            "namespace": "Not A Slug",
            "kind": "signed",
        },
        headers=admin,
    )
    assert answer.status_code == 422, answer.text
    problems = {(p["path"], p["code"]) for p in answer.json()["errors"]}
    assert ("/eventTypes/0", "event_type_unknown") in problems
    assert ("/eventTypes/1", "event_type_invalid") in problems
    assert any(path == "/namespace" for path, _ in problems)
    guarded = WebhookEndpoints(
        app.state.services.db, settings.model_copy(update={"fetch_allowed_networks": []})
    )
    with pytest.raises(Invalid) as refused:
        await guarded.create(EndpointSpec(url="http://127.0.0.1:9/hook"), SYSTEM)
    assert refused.value.problems[0].code == "url_refused"
    assert "fetch_allowed_networks" in refused.value.problems[0].message


async def test_a_delivery_to_an_address_refused_since_is_not_sent(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], settings: Settings
) -> None:
    with receiving() as receiver:
        await endpoint(client, admin, receiver.url, eventTypes=["title.created"])
        await create_title(client, admin)
        [pk] = await app.state.services.webhooks.dispatcher.pump()
        guarded = Sender(
            app.state.services.db, settings.model_copy(update={"fetch_allowed_networks": []})
        )
        outcome = await guarded.send(pk)
        assert receiver.received == []
    assert outcome.startswith("pending:")
    assert "fetch_allowed_networks" in outcome


async def test_dispatchers_racing_add_each_delivery_once(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    with receiving() as receiver:
        await endpoint(client, admin, receiver.url, eventTypes=["title.*"])
    for n in range(5):
        await create_title(client, admin, id=f"T{n}")
    db = app.state.services.db
    await asyncio.gather(*(Dispatcher(db).pump() for _ in range(4)))
    await asyncio.gather(*(Dispatcher(db).pump() for _ in range(4)))
    pairs = [(d.event_pk, d.endpoint_pk) for d in await deliveries(app)]
    assert len(pairs) == len(set(pairs)) == 5


def test_the_cursor_waits_at_a_young_gap_and_passes_an_old_one() -> None:
    now = datetime.now(UTC)

    def at(pk: int, age: float) -> Event:
        return Event(pk=pk, at=now - timedelta(seconds=age))

    assert committed_run(10, [at(11, 0), at(12, 0)], now) == 12
    assert committed_run(10, [at(11, 0), at(13, 0), at(14, 0)], now) == 11  # 12 may yet commit
    assert committed_run(10, [at(11, 0), at(13, 60), at(14, 0)], now) == 14  # 12 rolled back
    assert committed_run(10, [at(12, 0)], now) == 10
