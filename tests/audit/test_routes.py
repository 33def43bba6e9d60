"""The audit log records every title write with actor, token, client and target."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.net import FetchPolicy, forbidden
from pomona.settings import Settings
from tests.conftest import fixture_text, make_token


async def test_every_title_write_is_audited_and_queryable(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    writer = await make_token(app, "autopkg", "titles:write")
    await client.post("/api/v1/titles", content=fixture_text("example.json"), headers=writer)
    await client.post("/api/v1/titles/Example/disable", headers=admin)
    await client.delete("/api/v1/titles/Example", headers=admin)
    failed = await client.delete("/api/v1/titles/Example", headers=admin)
    assert failed.status_code == 404  # a failed write leaves no record
    titles = {"action": "title.*"}  # the fixtures' token creations are in the log too
    log = (await client.get("/api/v1/audit", params=titles, headers=admin)).json()
    assert [e["action"] for e in log["items"]] == ["title.delete", "title.disable", "title.create"]
    created = log["items"][-1]
    assert (created["actor"], created["tokenName"], created["target"]) == (
        "token:autopkg",
        "autopkg",
        "title:Example",
    )
    assert created["client"] == "127.0.0.1"
    only = await client.get("/api/v1/audit", params={"action": "title.d*"}, headers=admin)
    assert only.json()["total"] == 2
    assert (await client.get("/api/v1/audit", headers=writer)).status_code == 403


@pytest.mark.parametrize(
    ("trusted", "recorded"),
    [
        (["127.0.0.1"], "203.0.113.9"),  # the default: a proxy on the same host
        (["10.0.0.0/8"], "127.0.0.1"),  # a proxy elsewhere: the header is not believed
        (["*"], "203.0.113.9"),
    ],
)
async def test_forwarded_for_is_believed_from_trusted_proxies_only(
    settings: Settings, trusted: list[str], recorded: str
) -> None:
    app = create_app(settings.model_copy(update={"forwarded_allow_ips": trusted}))
    async with app.router.lifespan_context(app):
        admin = await make_token(app, "admin", "admin")
        transport = httpx.ASGITransport(app=app)  # requests come from 127.0.0.1
        async with httpx.AsyncClient(transport=transport, base_url="http://pomona.test") as http:
            created = await http.post(
                "/api/v1/titles",
                content=fixture_text("example.json"),
                headers={**admin, "X-Forwarded-For": "203.0.113.9"},
            )
            assert created.status_code == 201, created.text
            log = await http.get("/api/v1/audit", params={"action": "title.*"}, headers=admin)
    assert [e["client"] for e in log.json()["items"]] == [recorded]


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("169.254.169.254", True),
        ("224.0.0.1", True),
        ("0.0.0.0", True),  # noqa: S104 (an address checked, not bound)
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::", True),  # 6to4 around 127.0.0.1
        ("93.184.215.14", False),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False),
    ],
)
def test_outbound_address_policy(address: str, refused: bool) -> None:
    assert forbidden(ipaddress.ip_address(address)) is refused


def test_allowed_networks_parse_hosts_and_cidrs() -> None:
    policy = FetchPolicy.from_settings(
        ["10.0.0.0/8", "patch.internal"], timeout=1, max_bytes=1024, max_redirects=0
    )
    assert policy.allowed_hosts == {"patch.internal"}
    assert ipaddress.ip_address("10.2.3.4") in policy.allowed_networks[0]
