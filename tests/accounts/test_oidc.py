"""OpenID Connect sign-in against a real provider (npm oidc-provider, tests/fixtures/oidc/):
the whole browser flow through its sign-in form, roles from groups, and the refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pomona.app import create_app
from pomona.settings import Settings
from tests.accounts.conftest import accounts, make_person
from tests.fixtures.oidc_provider import (
    POMONA,
    OidcProvider,
    oidc_provider,  # noqa: F401 (the session's one provider)
    sign_in_at_provider,
)

pytestmark = pytest.mark.slow

ENTRA_GROUP = "3F1C2A9E-5B7D-4C1E-9A2B-7D6E5F4C3B2A"  # object ids match whatever their case


@pytest.fixture
async def app(oidc_provider: OidcProvider, tmp_path: Path) -> AsyncIterator[FastAPI]:  # noqa: F811
    settings = Settings(
        data_dir=tmp_path / "data",
        group_roles={"pomona-admins": ["admin"], "mac-team": ["editor"], ENTRA_GROUP: ["viewer"]},
        **oidc_provider.settings(),  # type: ignore[arg-type]
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=POMONA) as c:
        yield c


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """The browser's side at the provider: its own cookies there."""
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


async def provider_answer(client: httpx.AsyncClient, browser: httpx.AsyncClient, who: str) -> str:
    """Start at Pomona, sign in at the provider; the callback URL the provider sends back."""
    login = await client.get("/api/v1/session/oidc/login")
    assert login.status_code == 303, login.text
    assert "pomona_oidc" in client.cookies
    start = login.headers["location"]
    assert "code_challenge_method=S256" in start
    assert "nonce=" in start
    assert "state=" in start
    return await sign_in_at_provider(browser, start, who)


async def test_the_whole_flow_opens_a_session_with_the_roles_of_the_groups(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    oidc_provider: OidcProvider,  # noqa: F811
) -> None:
    back = await provider_answer(client, browser, "bob")
    done = await client.get(back)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/ui/"
    assert "pomona_session" in client.cookies

    me = (await client.get("/api/v1/session")).json()
    assert me["user"]["source"] == "oidc"
    assert me["user"]["roles"] == ["editor"]
    assert me["user"]["email"] == "bob@example.org"
    assert me["via"] == "oidc"
    # The same session as a password sign-in's: writes need its CSRF token.
    refused = await client.delete("/api/v1/titles/Nothing")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "csrf_missing"
    allowed = await client.delete(
        "/api/v1/titles/Nothing", headers={"X-CSRF-Token": me["csrfToken"]}
    )
    assert allowed.status_code == 404

    ended = await client.post(
        "/api/v1/session/oidc/logout", headers={"X-CSRF-Token": me["csrfToken"]}
    )
    assert ended.status_code == 303
    end = ended.headers["location"]
    assert end.startswith(f"{oidc_provider.issuer}/session/end?client_id=pomona&")
    assert (await browser.get(end)).status_code == 200  # the provider accepts it: its own form
    assert (await client.get("/api/v1/session")).status_code == 401


async def test_entra_object_ids_map_as_they_are(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    assert (await client.get(await provider_answer(client, browser, "erin"))).status_code == 303
    assert (await client.get("/api/v1/session")).json()["user"]["roles"] == ["viewer"]


async def test_a_wrong_state_is_refused(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    back = await provider_answer(client, browser, "alice")
    forged = back.replace("state=", "state=x")
    answer = await client.get(forged)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "oidc_state_mismatch"
    assert "pomona_session" not in client.cookies


async def test_a_replayed_code_is_refused(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    back = await provider_answer(client, browser, "alice")
    flow = client.cookies["pomona_oidc"]
    assert (await client.get(back)).status_code == 303
    client.cookies.clear()
    client.cookies.set("pomona_oidc", flow, path="/api/v1/session/oidc")
    again = await client.get(back)
    assert again.status_code == 401
    assert again.json()["errors"][0]["code"] == "oidc_code_refused"
    assert "pomona_session" not in client.cookies


async def test_a_person_whose_groups_map_to_nothing_gets_no_rights(
    app: FastAPI, client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    answer = await client.get(await provider_answer(client, browser, "carol"))
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "no_role"
    assert "pomona_session" not in client.cookies
    # Known now (an admin sees who tried), with nothing granted.
    carol = await accounts(app).people.get("carol")
    assert carol.source == "oidc"
    assert carol.roles == []


async def test_a_group_overage_is_reported_not_read_as_no_group(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    answer = await client.get(await provider_answer(client, browser, "overage"))
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "oidc_groups_overage"


async def test_a_provider_name_cannot_take_over_a_local_account(
    app: FastAPI, client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    await make_person(app, "alice", "viewer")
    answer = await client.get(await provider_answer(client, browser, "alice"))
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["code"] == "oidc_name_taken"


async def test_without_an_issuer_the_routes_say_so(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=POMONA) as c:
            answer = await c.get("/api/v1/session/oidc/login")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "oidc_not_configured"


async def test_a_tampered_flow_cookie_is_refused(
    client: httpx.AsyncClient, browser: httpx.AsyncClient
) -> None:
    back = await provider_answer(client, browser, "alice")
    flow = client.cookies["pomona_oidc"]
    body, _, signature = flow.partition(".")
    client.cookies.clear()
    client.cookies.set("pomona_oidc", f"{body}x.{signature}", path="/api/v1/session/oidc")
    answer = await client.get(back)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "oidc_flow_missing"


async def test_grants_follow_the_groups_at_the_next_sign_in(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    oidc_provider: OidcProvider,  # noqa: F811
) -> None:
    oidc_provider.set_groups("dana", ["pomona-admins"])
    assert (await client.get(await provider_answer(client, browser, "dana"))).status_code == 303
    assert (await client.get("/api/v1/session")).json()["user"]["roles"] == ["admin"]

    oidc_provider.set_groups("dana", ["mac-team"])
    client.cookies.clear()
    browser.cookies.clear()  # a fresh sign-in at the provider too
    assert (await client.get(await provider_answer(client, browser, "dana"))).status_code == 303
    me = (await client.get("/api/v1/session")).json()
    assert me["user"]["roles"] == ["editor"]
    assert "admin" not in me["scopes"]
