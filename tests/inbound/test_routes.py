"""Jamf Pro webhooks in, over HTTP, on every database engine: every event type Jamf Pro sends,
as JSON and as XML, stored and processed; the typed patch events in the outbox; each way a
source authenticates, and the refusals (wrong credentials, unknown source, unreadable or
oversized bodies)."""

from __future__ import annotations

import base64
import json
import logging
import random

import httpx
import orjson
import pytest
from fastapi import FastAPI

from pomona.inbound.samples import EVENT_TYPES, sample, to_xml
from tests.conftest import SHARED
from tests.inbound.conftest import SOURCES, TOKEN, events, make_source, processed

EXAMPLES = SHARED / "reference" / "examples" / "jamf_webhooks"
AUTH = {"Authorization": TOKEN}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_every_event_type_as_json_and_xml_is_stored_and_processed(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_source(client, admin, rules=[{"on": "Patch*", "action": "notify"}])
    rng = random.Random(7)
    sent = 0
    for kind in EVENT_TYPES:
        webhook = sample(kind, rng=rng)
        as_json = await client.post("/hooks/jamf/prod", json=webhook, headers=AUTH)
        as_xml = await client.post(
            "/hooks/jamf/prod",
            content=to_xml(webhook),
            headers=AUTH | {"Content-Type": "text/xml"},
        )
        for answer in (as_json, as_xml):
            assert answer.status_code == 200, (kind, answer.text)
            assert answer.json()["webhookEvent"] == kind
            assert answer.json()["eventId"].startswith("evt_")
        sent += 2
    # An event this server has never heard of is stored all the same.
    future = {"webhook": {"id": 9, "webhookEvent": "ComputerTeleported"}, "event": {"x": 1}}
    assert (await client.post("/hooks/jamf/prod", json=future, headers=AUTH)).status_code == 200
    sent += 1

    items = await processed(client, admin, "prod", sent)
    assert len(items) == sent
    assert sorted({i["webhookEvent"] for i in items}) == sorted(
        [*EVENT_TYPES, "ComputerTeleported"]
    )
    assert {i["contentType"] for i in items} == {"json", "xml"}
    assert all(i["status"] == "processed" for i in items), items
    assert items[0]["body"] == orjson.dumps(future).decode()
    assert len(await events(app, "jamf.webhook_received")) == sent

    titles = [json.loads(e.payload) for e in await events(app, "jamf.patch_title_updated")]
    assert len(titles) == 2  # the JSON one and the XML one
    assert titles[0] == titles[0] | {"source": "prod"}
    for found in titles:
        assert found["reportUrls"][0].startswith("https://example.jamfcloud.com//patch.html?id=")
        assert found["name"]
        assert found["latestVersion"]
        assert isinstance(found["jssID"], int)
    policies = [json.loads(e.payload) for e in await events(app, "jamf.patch_policy_completed")]
    assert len(policies) == 2
    for found in policies:
        assert len(found["eventActions"]) == 2
        assert isinstance(found["successful"], bool)
        assert len(found["computer"]["serialNumber"]) == 12
    rules = [i["outcome"] for i in items if i["webhookEvent"].startswith("Patch")]
    assert rules == [{"actions": {"notify": "ok"}}] * 2


@pytest.mark.parametrize(
    ("example", "urls"),
    [
        (
            "PatchSoftwareTitleUpdated.real_2025.json",
            ["https://myjamf.mycompany.com:8443//patch.html?id=145&o=r"],
        ),
        (
            "PatchSoftwareTitleUpdated.legacy_docs_2019.json",
            ["https://company.jamfcloud.com//view/patch/1/report"],
        ),
    ],
)
async def test_report_urls_and_the_older_report_url_both_read(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], example: str, urls: list[str]
) -> None:
    await make_source(client, admin)
    body = (EXAMPLES / example).read_bytes()
    answer = await client.post("/hooks/jamf/prod", content=body, headers=AUTH)
    assert answer.status_code == 200, answer.text
    await processed(client, admin, "prod", 1)
    [found] = [json.loads(e.payload) for e in await events(app, "jamf.patch_title_updated")]
    assert found["reportUrls"] == urls
    assert found["lastUpdate"].endswith("Z")


async def test_missing_and_unreadable_keys_are_tolerated_and_said(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_source(client, admin)
    webhook = {
        "webhook": {"webhookEvent": "PatchSoftwareTitleUpdated"},
        "event": {"jssID": "not a number", "name": "Zoom"},
    }
    assert (await client.post("/hooks/jamf/prod", json=webhook, headers=AUTH)).status_code == 200
    [item] = await processed(client, admin, "prod", 1)
    assert item["outcome"]["unreadable"] == ["/event/jssID: 'not a number' was not readable"]
    [found] = [json.loads(e.payload) for e in await events(app, "jamf.patch_title_updated")]
    assert found == found | {"name": "Zoom", "jssID": None, "reportUrls": [], "latestVersion": None}


async def test_the_reference_templates_are_stored(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_source(client, admin)
    for example in ("ComputerPolicyFinished.template.json", "RestAPIOperation.template.json"):
        body = (EXAMPLES / example).read_bytes()
        answer = await client.post("/hooks/jamf/prod", content=body, headers=AUTH)
        assert answer.status_code == 200, answer.text
    items = await processed(client, admin, "prod", 2)
    assert [i["webhookEvent"] for i in items] == ["RestAPIOperation", "ComputerPolicyFinished"]
    assert items[0]["eventTimestamp"] is None  # the template's 0 is no time


async def test_basic_authentication(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_source(
        client,
        admin,
        "basic",
        auth="basic",
        headers=None,
        username="jamf",
        password="long enough pw",
    )
    assert made["auth"] == "basic"
    assert "password" not in made
    assert "password_hash" not in json.dumps(made)
    webhook = sample("ComputerAdded")
    ok = await client.post(
        "/hooks/jamf/basic", json=webhook, headers=_basic("jamf", "long enough pw")
    )
    assert ok.status_code == 200, ok.text
    for headers in (_basic("jamf", "wrong password!"), _basic("other", "long enough pw"), {}, AUTH):
        refused = await client.post("/hooks/jamf/basic", json=webhook, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.json()["errors"][0]["code"] == "inbound_auth_failed"


async def test_header_authentication(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    made = await make_source(
        client, admin, headers={"Authorization": TOKEN, "X-Jamf-Tenant": "acme"}
    )
    assert made["headerNames"] == ["authorization", "x-jamf-tenant"]
    assert TOKEN not in json.dumps(made)
    webhook = sample("JSSStartup")
    both = AUTH | {"X-Jamf-Tenant": "acme"}
    assert (await client.post("/hooks/jamf/prod", json=webhook, headers=both)).status_code == 200
    for headers in (AUTH, both | {"X-Jamf-Tenant": "acmf"}, {"Authorization": TOKEN + "x"}, {}):
        refused = await client.post("/hooks/jamf/prod", json=webhook, headers=headers)
        assert refused.status_code == 401, refused.text


async def test_no_authentication_only_when_allowed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    refused = await client.post(SOURCES, json={"name": "open", "auth": "none"}, headers=admin)
    assert refused.status_code == 422
    assert [p["code"] for p in refused.json()["errors"]] == ["inbound_auth_none_refused"]
    await make_source(client, admin, "open", auth="none", headers=None, allowUnauthenticated=True)
    answer = await client.post("/hooks/jamf/open", json=sample("PushSent"))
    assert answer.status_code == 200, answer.text


async def test_refused_headers_and_every_problem_listed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {
        "name": "Bad Name",
        "auth": "header",
        "headers": {"Content-Type": "a", "host": "b", "X-Ok": "", "User-Agent": "c"},
        "rules": [{"on": "Patch*", "action": "launch.rockets"}],
    }
    answer = await client.post(SOURCES, json=body, headers=admin)
    assert answer.status_code == 422
    found = {(p["path"], p["code"]) for p in answer.json()["errors"]}
    assert found == {
        ("/name", "inbound_name_invalid"),
        ("/headers/Content-Type", "inbound_header_refused"),
        ("/headers/host", "inbound_header_refused"),
        ("/headers/User-Agent", "inbound_header_refused"),
        ("/headers/X-Ok", "inbound_header_value"),
        ("/rules/0/action", "inbound_rule_action"),
    }
    assert (await client.get(SOURCES, headers=admin)).json()["items"] == []


async def test_refusals_of_the_hook(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await make_source(client, admin)
    unknown = await client.post("/hooks/jamf/nowhere", json=sample("PushSent"), headers=AUTH)
    assert unknown.status_code == 404
    cases = {
        b"not json at all": "",
        b'{"webhook": {"id": 1}, "event": []}': "/webhook/webhookEvent",
        b"<JSSEvent><webhook><id>1</id></webhook></JSSEvent>": "/webhook/webhookEvent",
        b"<other/>": "",
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><JSSEvent>&a;</JSSEvent>': "",
        b"<JSSEvent><webhook>": "",
    }
    for body, path in cases.items():
        answer = await client.post("/hooks/jamf/prod", content=body, headers=AUTH)
        assert answer.status_code == 400, (body, answer.text)
        problems = answer.json()["errors"]
        assert path in [p["path"] for p in problems], (body, problems)
        assert {p["code"] for p in problems} == {"webhook_unreadable"}
    array = await client.post(
        "/hooks/jamf/prod", content=b'{"webhook": {"id": 1}, "event": []}', headers=AUTH
    )
    assert {p["path"] for p in array.json()["errors"]} == {"/webhook/webhookEvent", "/event"}
    assert (await client.get(f"{SOURCES}/prod/events", headers=admin)).json()["total"] == 0


async def test_an_oversized_body_is_refused(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_source(client, admin)
    limit = app.state.settings.max_request_bytes
    webhook = sample("ComputerAdded")
    webhook["event"]["padding"] = "x" * limit
    answer = await client.post("/hooks/jamf/prod", json=webhook, headers=AUTH)
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["code"] == "body_too_large"
    assert (await client.get(f"{SOURCES}/prod/events", headers=admin)).json()["total"] == 0


async def test_disabled_and_edited_sources(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_source(client, admin)
    off = await client.patch(f"{SOURCES}/prod", json={"enabled": False}, headers=admin)
    assert off.status_code == 200, off.text
    assert (
        await client.post("/hooks/jamf/prod", json=sample("PushSent"), headers=AUTH)
    ).status_code == 404
    # To Basic: the header secret no longer works, the password does.
    basic = {"enabled": True, "auth": "basic", "username": "jamf", "password": "long enough pw"}
    edited = await client.patch(f"{SOURCES}/prod", json=basic, headers=admin)
    assert edited.status_code == 200, edited.text
    assert edited.json()["headerNames"] == []
    webhook = sample("PushSent")
    assert (await client.post("/hooks/jamf/prod", json=webhook, headers=AUTH)).status_code == 401
    good = _basic("jamf", "long enough pw")
    assert (await client.post("/hooks/jamf/prod", json=webhook, headers=good)).status_code == 200
    half = await client.patch(f"{SOURCES}/prod", json={"auth": "header"}, headers=admin)
    assert half.status_code == 422
    assert half.json()["errors"][0]["code"] == "inbound_headers_missing"
    assert (await client.delete(f"{SOURCES}/prod", headers=admin)).status_code == 204
    assert (await client.get(f"{SOURCES}/prod", headers=admin)).status_code == 404


async def test_deliveries_are_paged(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    await make_source(client, admin)
    for kind in EVENT_TYPES[:5]:
        assert (
            await client.post("/hooks/jamf/prod", json=sample(kind), headers=AUTH)
        ).status_code == 200
    page = await client.get(f"{SOURCES}/prod/events?page=2&perPage=2", headers=admin)
    assert page.status_code == 200
    found = page.json()
    assert (found["total"], found["page"], found["perPage"]) == (5, 2, 2)
    assert [i["webhookEvent"] for i in found["items"]] == [EVENT_TYPES[2], EVENT_TYPES[1]]
    missing = await client.get(f"{SOURCES}/nowhere/events", headers=admin)
    assert missing.json()["errors"][0]["code"] == "inbound_source_not_found"


async def test_source_writes_are_audited_and_emit_events(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await make_source(client, admin)
    await client.patch(f"{SOURCES}/prod", json={"enabled": False}, headers=admin)
    await client.delete(f"{SOURCES}/prod", headers=admin)
    audit = (await client.get("/api/v1/audit?action=inbound.*", headers=admin)).json()["items"]
    assert [a["action"] for a in audit] == [
        "inbound.source_delete",
        "inbound.source_edit",
        "inbound.source_create",
    ]
    for kind in ("jamf.source_created", "jamf.source_updated", "jamf.source_deleted"):
        assert len(await events(app, kind)) == 1


async def test_signature_like_headers_are_logged(
    client: httpx.AsyncClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    await make_source(client, admin)
    signed = AUTH | {"X-Jamf-Signature": "sha256=0f1e2d", "X-Other": "quiet"}
    with caplog.at_level(logging.WARNING, logger="pomona.inbound"):
        answer = await client.post("/hooks/jamf/prod", json=sample("PushSent"), headers=signed)
    assert answer.status_code == 200
    logged = [r.getMessage() for r in caplog.records]
    assert logged == [
        "inbound source prod: unchecked signature-like header x-jamf-signature: sha256=0f1e2d"
    ]
