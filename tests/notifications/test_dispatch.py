"""Email notifications against a real SMTP server (aiosmtpd), on every database engine: who is
mailed about which event (patterns, namespaces, admins' default failures), one mail per event
and person however often the dispatcher and the send task run, digests, and people without an
email address skipped with the reason logged. The queue runs no workers: the test drives the
dispatcher and the send task itself."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from pomona.accounts.values import AccountEdit
from pomona.audit.service import Who
from pomona.db import utcnow
from pomona.events.outbox import emit
from pomona.events.types import EventType
from pomona.notifications.service import NotificationService
from pomona.settings import Settings
from tests.accounts.conftest import accounts, make_person, personal_token
from tests.fixtures.smtp import Sink, smtp_sink  # noqa: F401

ME = "/api/v1/users/me/notifications"


class _Probe(BaseModel):
    what: str


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp_sink: Sink) -> Settings:  # noqa: F811
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        queue_embedded_workers=0,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_security="none",
        public_url="https://pomona.example.com",
    )


def _service(app: FastAPI) -> NotificationService:
    found = app.state.services.notifications
    assert isinstance(found, NotificationService)
    return found


async def _emit(app: FastAPI, kind: str, namespace: str | None = None) -> str:
    async with app.state.services.db.transaction() as session:
        return await emit(
            session,
            Who("token:ci"),
            EventType(kind, "probe", _Probe),
            _Probe(what=kind),
            subject=f"probe:{kind}",
            namespace=namespace,
        )


async def _people(app: FastAPI) -> None:
    await make_person(app, "alice", "editor")
    await make_person(app, "bob", "admin")
    await make_person(app, "carol", "viewer")
    for name in ("alice", "bob"):
        await accounts(app).people.edit(name, AccountEdit(email=f"{name}@example.com"))


async def test_who_is_mailed_about_what(
    app: FastAPI,
    client: httpx.AsyncClient,
    smtp_sink: Sink,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _people(app)
    alice = await personal_token(app, "alice")
    carol = await personal_token(app, "carol")
    for body in ({"pattern": "title.*"}, {"pattern": "jamf.*", "namespace": "ns"}):
        made = await client.post(ME, json=body, headers=alice)
        assert made.status_code == 201, made.text
    assert (await client.post(ME, json={"pattern": "*"}, headers=carol)).status_code == 201
    service = _service(app)
    assert (await service.dispatch()).read == 0  # the first run starts at the present

    title = await _emit(app, "title.created")
    await _emit(app, "jamf.patch_title_updated")  # another namespace than alice's
    in_ns = await _emit(app, "jamf.patch_title_updated", "ns")
    failed = await _emit(app, "jamf.action_failed")
    job = await _emit(app, "job.failed")
    with caplog.at_level(logging.INFO, logger="pomona.notifications"):
        found = await service.dispatch()
    assert found.read == 5
    assert found.recorded == 2 + 2 + 5  # alice, bob (admin defaults), carol (skipped)
    assert len(found.immediate) == 4
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 5
    assert all("to carol skipped: no email address" in m for m in skipped)

    for delivery in found.immediate:
        await service.send(delivery)
    mails = smtp_sink.wait(4)
    assert sorted((m["To"], m["Subject"]) for m in mails) == [
        ("alice@example.com", "[Pomona] jamf.patch_title_updated: probe:jamf.patch_title_updated"),
        ("alice@example.com", "[Pomona] title.created: probe:title.created"),
        ("bob@example.com", "[Pomona] jamf.action_failed: probe:jamf.action_failed"),
        ("bob@example.com", "[Pomona] job.failed: probe:job.failed"),
    ]
    text = {m["Subject"]: m for m in mails}
    first = text["[Pomona] title.created: probe:title.created"]
    plain = first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert title in plain
    assert "https://pomona.example.com/api/v1/users/me/notifications" in plain
    assert 'subscribed to "title.*"' in plain
    assert "<code>" + title + "</code>" in html
    patched = text["[Pomona] jamf.patch_title_updated: probe:jamf.patch_title_updated"]
    assert in_ns in patched.get_body(("plain",)).get_content()
    assert failed in text["[Pomona] jamf.action_failed: probe:jamf.action_failed"].as_string()
    assert job in text["[Pomona] job.failed: probe:job.failed"].as_string()

    # Run again, both of them: nothing more is recorded or sent.
    assert (await service.dispatch()).recorded == 0
    for delivery in found.immediate:
        assert "skipped" in await service.send(delivery)
    assert len(smtp_sink.messages) == 4


async def test_off_mutes_what_it_matches(
    app: FastAPI,
    client: httpx.AsyncClient,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    await _people(app)
    bob = await personal_token(app, "bob")
    mute = {"pattern": "job.*", "mode": "off"}
    assert (await client.post(ME, json=mute, headers=bob)).status_code == 201
    service = _service(app)
    await service.dispatch()
    await _emit(app, "job.failed")
    kept = await _emit(app, "replication.failed")
    found = await service.dispatch()
    assert (found.read, found.recorded, len(found.immediate)) == (2, 1, 1)
    await service.send(found.immediate[0])
    [mail] = smtp_sink.wait(1)
    assert (mail["To"], mail["Subject"]) == (
        "bob@example.com",
        "[Pomona] replication.failed: probe:replication.failed",
    )
    assert kept in mail.get_body(("plain",)).get_content()


async def test_an_hourly_digest(
    app: FastAPI,
    client: httpx.AsyncClient,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    await _people(app)
    alice = await personal_token(app, "alice")
    digest = {"pattern": "title.*", "mode": "hourly"}
    assert (await client.post(ME, json=digest, headers=alice)).status_code == 201
    service = _service(app)
    await service.dispatch()
    for kind in ("title.created", "title.version_added", "title.deleted", "package.published"):
        await _emit(app, kind)
    found = await service.dispatch()
    assert (found.read, found.recorded, found.immediate) == (4, 3, [])
    assert await service.digests() == {"digests": 0}  # queued in the current hour
    later = utcnow() + timedelta(hours=1)
    assert await service.digests(later) == {"digests": 1}
    [mail] = smtp_sink.wait(1)
    assert (mail["To"], mail["Subject"]) == (
        "alice@example.com",
        "[Pomona] 3 events (hourly digest)",
    )
    plain = mail.get_body(("plain",)).get_content()
    assert [line.split()[2] for line in plain.splitlines() if line.startswith("- ")] == [
        "title.created",
        "title.version_added",
        "title.deleted",
    ]
    assert await service.digests(later) == {"digests": 0}
    assert len(smtp_sink.messages) == 1


async def test_subscriptions_through_the_api(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _people(app)
    alice = await personal_token(app, "alice")
    made = await client.post(ME, json={"pattern": "title.*", "mode": "daily"}, headers=alice)
    assert made.status_code == 201, made.text
    again = await client.post(ME, json={"pattern": "title.*"}, headers=alice)
    assert again.status_code == 409
    wrong = await client.post(ME, json={"pattern": "title/*"}, headers=alice)
    assert wrong.json()["errors"][0]["code"] == "notification_pattern_invalid"
    mine = (await client.get(ME, headers=alice)).json()
    assert mine["email"] == "alice@example.com"
    assert [(i["pattern"], i["mode"]) for i in mine["items"]] == [("title.*", "daily")]
    assert "*.failed" in mine["adminDefaults"]
    # An admin manages anybody's; a service token is nobody's "me".
    theirs = "/api/v1/users/alice/notifications"
    added = await client.post(theirs, json={"pattern": "package.*"}, headers=admin)
    assert added.status_code == 201, added.text
    assert len((await client.get(theirs, headers=admin)).json()["items"]) == 2
    assert (await client.get(ME, headers=admin)).status_code == 403
    gone = await client.delete(f"{theirs}/{made.json()['id']}", headers=admin)
    assert gone.status_code == 204
    assert (await client.delete(f"{ME}/{made.json()['id']}", headers=alice)).status_code == 404
    audit = (await client.get("/api/v1/audit?action=notification.*", headers=admin)).json()
    assert [a["action"] for a in audit["items"]] == [
        "notification.subscription_delete",
        "notification.subscription_create",
        "notification.subscription_create",
    ]


async def test_a_publisher_is_mailed_about_their_namespaces_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    await make_person(app, "dave", "publisher@acme")
    await accounts(app).people.edit("dave", AccountEdit(email="dave@example.com"))
    dave = await personal_token(app, "dave")
    made = await client.post(ME, json={"pattern": "*"}, headers=dave)
    assert made.status_code == 201, made.text
    service = _service(app)
    await service.dispatch()  # the first run starts at the present

    theirs = await _emit(app, "title.created", "acme")
    await _emit(app, "title.created", "other")
    await _emit(app, "title.created", "default")
    await _emit(app, "package.published")  # the whole site's, not a namespace's
    found = await service.dispatch()
    assert found.read == 4
    assert found.recorded == 1
    for delivery in found.immediate:
        await service.send(delivery)
    (mail,) = smtp_sink.wait(1)
    assert mail["To"] == "dave@example.com"
    assert theirs in mail.get_body(("plain",)).get_content()
