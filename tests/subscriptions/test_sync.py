"""Subscriptions to remote definitions, checked through the service on every engine: a
changed document becomes a revision by ``subscription:<id>``, an unchanged one (304 or the
same body) writes nothing, and an invalid or unreachable one leaves the title as it was while
the failure is recorded, audited and emitted."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from pomona.audit.models import AuditEvent
from pomona.audit.service import Who
from pomona.container import Services
from pomona.errors import Conflict, Invalid
from pomona.events.models import Event
from pomona.subscriptions.values import NewSubscription
from tests.subscriptions.conftest import Upstream, fixture_bytes, fixture_json

WHO = Who("token:test")


def services(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


def newer(document: dict[str, Any], version: str) -> dict[str, Any]:
    """``document`` with ``version`` added as the newest, cloned from its newest."""
    changed = copy.deepcopy(document)
    patch = copy.deepcopy(changed["patches"][0])
    patch["version"] = patch["components"][0]["version"] = version
    changed["patches"].insert(0, patch)
    changed["currentVersion"] = version
    return changed


async def events(app: FastAPI, kind: str) -> list[dict[str, Any]]:
    async with services(app).db.sessions() as session:
        rows = await session.scalars(select(Event).where(Event.type == kind).order_by(Event.pk))
        return [{"actor": r.actor, **orjson.loads(r.payload)} for r in rows]


async def audit_actions(app: FastAPI) -> list[str]:
    async with services(app).db.sessions() as session:
        return list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.pk)))


async def test_a_subscription_creates_then_follows_the_title(
    app: FastAPI, upstream: Upstream
) -> None:
    found = services(app)
    document = fixture_json("definition.json")
    url = upstream.serve("/defs/Example.json", document)
    row = await found.subscriptions.subscribe(NewSubscription(url), WHO)
    assert row.title_id == "Example"  # named by the file

    report = await found.subscriptions.check(row.pk)
    assert report.outcome == "created", report
    record = await found.titles.get("Example")
    assert record.revision == 1
    history, _total = await found.titles.history("Example", offset=0, limit=10)
    assert history[0].actor == f"subscription:{row.pk}"

    # Unchanged upstream: a conditional request, answered 304, writes nothing.
    report = await found.subscriptions.check(row.pk)
    assert report.outcome == "unchanged"
    assert upstream.requests_to("/defs/Example.json")[-1]["if-none-match"]
    assert (await found.titles.get("Example")).revision == 1

    # A new version upstream becomes a new revision, and is announced.
    upstream.serve("/defs/Example.json", newer(document, "2.2.0"))
    report = await found.subscriptions.check(row.pk)
    assert report.outcome == "updated"
    assert report.revision == 2
    assert (await found.titles.get("Example")).title.currentVersion == "2.2.0"
    assert [e["version"] for e in await events(app, "title.version_discovered")] == ["2.2.0"]
    synced = await events(app, "subscription.synced")
    assert [e["changed"] for e in synced] == [True, False, True]
    assert {e["actor"] for e in synced} == {f"subscription:{row.pk}"}
    actions = await audit_actions(app)
    assert "subscription.created" in actions
    assert actions.count("subscription.sync") == 3
    assert "title.replace" in actions


async def test_a_server_without_validators_is_compared_by_content(
    app: FastAPI, upstream: Upstream
) -> None:
    found = services(app)
    upstream.conditional = False
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    row = await found.subscriptions.subscribe(NewSubscription(url), WHO)
    assert (await found.subscriptions.check(row.pk)).outcome == "created"
    assert (await found.subscriptions.check(row.pk)).outcome == "unchanged"
    assert (await found.titles.get("Example")).revision == 1


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("not JSON", b"<html>maintenance</html>"),
        ("wrong types", fixture_bytes("wrong_types.json")),
        ("an array", b"[]"),
        ("no versions", orjson.dumps({**fixture_json("definition.json"), "patches": []})),
    ],
)
async def test_an_invalid_upstream_is_not_applied(
    app: FastAPI, upstream: Upstream, name: str, body: bytes
) -> None:
    found = services(app)
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    row = await found.subscriptions.subscribe(NewSubscription(url), WHO)
    await found.subscriptions.check(row.pk)
    before = await found.titles.row("Example")

    upstream.serve("/patch/Example", body)
    report = await found.subscriptions.check(row.pk)
    assert report.outcome == "failed", name
    assert report.error
    after = await found.titles.row("Example")
    assert (after.revision, after.document) == (before.revision, before.document)
    failed = await found.subscriptions.get(row.pk)
    assert failed.failures == 1
    assert failed.last_error == report.error
    assert [e["failures"] for e in await events(app, "subscription.failed")] == [1]
    assert "subscription.fail" in await audit_actions(app)

    # Fixed upstream: the next check succeeds and the failure count is reset.
    upstream.serve("/patch/Example", newer(fixture_json("definition.json"), "2.2.0"))
    assert (await found.subscriptions.check(row.pk)).outcome == "updated"
    assert (await found.subscriptions.get(row.pk)).failures == 0


async def test_a_dry_run_previews_and_writes_nothing(app: FastAPI, upstream: Upstream) -> None:
    found = services(app)
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    row = await found.subscriptions.subscribe(NewSubscription(url), WHO)
    await found.subscriptions.check(row.pk)
    upstream.serve("/patch/Example", newer(fixture_json("definition.json"), "2.2.0"))

    report = await found.subscriptions.check(row.pk, dry_run=True)
    assert report.outcome == "updated"
    assert report.dry_run
    assert report.revision is None
    assert report.diff is not None
    assert report.diff["versions"]["added"] == ["2.2.0"]
    assert (await found.titles.get("Example")).revision == 1
    assert len(await events(app, "subscription.synced")) == 1  # the first, real check only


async def test_what_a_subscribe_is_refused_for(app: FastAPI, upstream: Upstream) -> None:
    found = services(app)
    with pytest.raises(Invalid) as refused:
        await found.subscriptions.subscribe(
            NewSubscription(upstream.base + "/feed", kind="nonsense", every_seconds=1), WHO
        )
    codes = {p.code for p in refused.value.problems}
    assert codes == {"title_id_required", "kind_unknown", "interval_invalid"}
    with pytest.raises(Invalid):  # a private address is refused before anything is stored
        await found.subscriptions.subscribe(NewSubscription("http://10.1.2.3/patch/X"), WHO)
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    await found.subscriptions.subscribe(NewSubscription(url), WHO)
    with pytest.raises(Conflict):
        await found.subscriptions.subscribe(NewSubscription(url), WHO)
    assert len(await found.subscriptions.search()) == 1


async def test_detached_titles_are_local_until_attached_again(
    app: FastAPI, upstream: Upstream
) -> None:
    found = services(app)
    url = upstream.serve("/patch/Example", fixture_json("definition.json"))
    row = await found.subscriptions.subscribe(NewSubscription(url), WHO)
    await found.subscriptions.check(row.pk)
    await found.subscriptions.set_attached(row.pk, False, WHO)
    with pytest.raises(Conflict):
        await found.subscriptions.check(row.pk)
    assert await found.subscriptions.claim_due(10) == []
    upstream.serve("/patch/Example", newer(fixture_json("definition.json"), "2.2.0"))

    await found.subscriptions.set_attached(row.pk, True, WHO)
    assert await found.subscriptions.claim_due(10) == [row.pk]
    assert await found.subscriptions.claim_due(10) == []  # claimed once
    assert (await found.subscriptions.check(row.pk)).outcome == "updated"
    actions = [e["action"] for e in await events(app, "subscription.changed")]
    assert actions == ["created", "detached", "attached"]
